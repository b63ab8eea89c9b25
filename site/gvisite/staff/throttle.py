"""Failed logins are slowed down, yet no stranger can lock a member of staff out.

This follows OWASP's "Slow Down Online Guessing Attacks with Device Cookies". A browser that
logged in to an account keeps a device cookie for it, signed with SECRET_KEY. A failed attempt
with a valid device cookie for the account counts against that cookie only, so an attacker's
failures, from however many addresses, never stop the owner's own browser. Attempts without one
count per address, per address and account, and per account: a stranger (or the owner on a new
computer) then waits until the window ends, which bounds the guesses an attacker gets.

The counts live in RATELIMIT_STORAGE_URI, Flask-Limiter's store (Redis, or the database). If
the store cannot count, logging in is refused: an attempt that is not counted is a free guess.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from ..database import discard_session
from ..extensions import db, limiter
from ..models import StaffUser
from .audit import audit

# A browser with a device cookie for the account: 5 failures in 15 minutes, then it is trusted no
# more. Without one: 20 failures per address, 5 per address and account, and 30 per account an
# hour, from all addresses together. That last limit is what an attacker gets at one account.
DEVICE_LIMIT = parse("5 per 15 minutes")
ADDRESS_LIMIT = parse("20 per 15 minutes")
ADDRESS_ACCOUNT_LIMIT = parse("5 per 15 minutes")
ACCOUNT_LIMIT = parse("30 per hour")
DEVICE_DAYS = 365  # how long a browser stays trusted after its last login
DEVICE_ACCOUNTS = 5  # a shared computer is trusted for the last few accounts that logged in


class CannotCount(Exception):
    """The counter store failed, so an attempt can be neither checked nor counted."""


@dataclass(frozen=True)
class Attempt:
    """A login attempt's counters (a limit and a key each) and whether its browser is trusted."""

    counters: tuple[tuple[RateLimitItem, str], ...]
    trusted: bool


@contextmanager
def _counting() -> Iterator[None]:
    """Turn any failure of the counter store (Redis down, a database error) into CannotCount."""
    try:
        yield
    except Exception as exc:  # each store raises its own errors; all mean "not counted"
        raise CannotCount(type(exc).__name__) from exc


def cookie_name() -> str:
    """Return the device cookie's name (`__Secure-` under HTTPS, as the session cookie)."""
    secure = current_app.config.get("SESSION_COOKIE_SECURE")
    return "__Secure-staff_device" if secure else "staff_device"


def _serializer() -> URLSafeTimedSerializer:
    """Sign device cookies with the app's key, under a salt of their own."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="staff-device")


def _devices() -> list[tuple[str, str]]:
    """Return the (account tag, nonce) pairs of this browser's device cookie, if it is valid."""
    value = request.cookies.get(cookie_name())
    if not value:
        return []
    try:
        pairs = _serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:  # forged, altered or expired (SignatureExpired is one too)
        return []
    if not isinstance(pairs, list):
        return []
    return [
        (pair[0], pair[1])
        for pair in pairs
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
    ]


def attempt(tag: str) -> Attempt:
    """Return the counters of an attempt at the account `tag` from this browser."""
    for account, nonce in _devices():
        if account == tag:
            device = (DEVICE_LIMIT, f"login-device:{nonce}")
            with _counting():
                # A device cookie that has guessed too often is trusted no more (OWASP).
                if limiter.limiter.test(*device):
                    return Attempt((device,), trusted=True)
            break
    address = get_remote_address()
    return Attempt(
        (
            (ADDRESS_LIMIT, f"login-address:{address}"),
            (ADDRESS_ACCOUNT_LIMIT, f"login:{address}:{tag}"),
            (ACCOUNT_LIMIT, f"login-account:{tag}"),
        ),
        trusted=False,
    )


def seconds_to_wait(attempt: Attempt) -> int | None:
    """Return how long the attempt must wait (a limit is used up), or None if it may go on."""
    strategy = limiter.limiter
    with _counting():
        full = [counter for counter in attempt.counters if not strategy.test(*counter)]
        if not full:
            return None
        reset = max(strategy.get_window_stats(*counter).reset_time for counter in full)
    return max(1, math.ceil(reset - time.time()))


def count_failure(attempt: Attempt) -> None:
    """Count a failed attempt against each of its counters."""
    with _counting():
        for counter in attempt.counters:
            limiter.limiter.hit(*counter)


def uncounted(action: str, target: str, error: CannotCount, actor: StaffUser | None = None) -> None:
    """Log and audit an attempt refused because it could not be counted (fail closed)."""
    # The audit line below names the action and the account (by its tag); this one says why.
    current_app.logger.error("attempt refused: the rate-limit store failed (%s)", error)
    audit(action, target, actor=actor, level=logging.ERROR)
    try:
        db.session.commit()  # the store may be the database itself: the log line is what counts
    except SQLAlchemyError:
        discard_session()


def remember_device(response: Response, tag: str) -> None:
    """Give this browser a fresh device cookie that names the account that just logged in."""
    others = [[account, nonce] for account, nonce in _devices() if account != tag]
    pairs = [[tag, secrets.token_urlsafe(16)], *others[: DEVICE_ACCOUNTS - 1]]
    response.set_cookie(
        cookie_name(),
        _serializer().dumps(pairs),
        max_age=DEVICE_DAYS * 86400,
        path=url_for("auth.login"),  # sent to the login form only
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )
