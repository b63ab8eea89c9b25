"""The second factor of a local (password) login: one-time codes, recovery codes, the guard's check.

A password login starts a session row whose `second_factor` is None. Until the row says how a
second factor was shown, `second_step_check` (one of area.py's CHECKS) lets the session reach
only the second step (an account with a passkey or a one-time-code secret) or the enrolment
pages (an account with none, while STAFF_REQUIRE_MFA is on), and logging out. So a session that
knows only the password can neither read anything nor add or remove a factor on an account that
has one. With STAFF_REQUIRE_MFA off, an account that has no factor logs in with its password
alone: its sessions stay at `second_factor` None and are full sessions.

Passkeys are in passkeys.py; the pages are in mfa_pages.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

import pyotp
from flask import current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import or_, update
from werkzeug.wrappers import Response

from ..database import changed_rows
from ..errors import RETRY_AFTER_SECONDS
from ..extensions import db
from ..models import StaffRecoveryCode, StaffSession, StaffUser, utcnow
from . import throttle
from .audit import account_tag, audit
from .auth import has_factor, safe_next
from .sessions import current_session

TOTP_STEP_SECONDS = 30  # the step every authenticator app uses (RFC 6238)
TOTP_WINDOW = 1  # a code of the step before or after is taken too: clocks drift, people are slow
RECOVERY_CODES = 10
# Recovery codes: 10 letters and digits, without the look-alikes (0/o, 1/l/i), in two halves.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10

# The endpoints a session without its second factor may reach, by what the account has.
STEP_ENDPOINTS = frozenset(
    {"mfa.second_step", "mfa.recovery_step", "passkeys.login_options", "passkeys.login_verify"}
)
ENROL_ENDPOINTS = frozenset(
    {
        "mfa.enrol",
        "mfa.confirm_totp",
        "passkeys.register_options",
        "passkeys.register_verify",
    }
)


def require_mfa() -> bool:
    """Tell whether every local account must have a second factor (STAFF_REQUIRE_MFA)."""
    return bool(current_app.config["STAFF_REQUIRE_MFA"])


def pending(row: StaffSession | None = None) -> bool:
    """Tell whether this request's session still has to show (or enrol) a second factor."""
    row = row or current_session()
    if row is None or not current_user.is_authenticated or row.second_factor is not None:
        return False
    return has_factor(current_user) or require_mfa()


def second_factor_done() -> bool:
    """Tell the staff layout whether the whole menu may be shown (the login is complete)."""
    return current_user.is_authenticated and not pending()


def second_step_check() -> Response | None:
    """Send a session without its second factor to the second step or enrolment (area.CHECKS)."""
    row = current_session()
    if row is None or not pending(row):
        return None
    if has_factor(current_user):
        allowed, page = STEP_ENDPOINTS, "mfa.second_step"
    else:
        allowed, page = ENROL_ENDPOINTS, "mfa.enrol"
    if request.endpoint in allowed:
        return None
    # Where they were going, kept for after the second step (the step pages keep their own);
    # an action (a POST) is not repeated after it, so its page's `next`, or the inbox.
    target = request.args.get("next")
    if not target and request.method == "GET":
        target = request.full_path.rstrip("?")
    return redirect(url_for(page, next=safe_next(target)))


def next_target() -> str:
    """Return where to go after the second step: this request's `next`, if it is safe."""
    return safe_next(request.args.get("next"))


def complete(user: StaffUser, factor: str, response: Response) -> Response:
    """Mark this session's second factor as shown and trust the browser (commits)."""
    # Only the row changes: the cookie's token stays, so nothing else needs rotating.
    row = current_session()
    assert row is not None  # the guard lets no request without a session here
    row.second_factor = factor
    audit(f"mfa:{factor}", actor=user)  # the actor names the account
    db.session.commit()
    # The login is complete only now: a password alone earns no trusted device (throttle.py).
    throttle.remember_device(response, account_tag(user.email))
    return response


# --- Throttling --------------------------------------------------------------------------------


class Refused(Exception):
    """A second-step attempt refused before it was checked: over the limit, or not countable."""

    def __init__(self, status: int, retry_after: int) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def checked_attempt(user: StaffUser) -> throttle.Attempt:
    """Return the attempt's counters, or raise Refused (429 over a limit, 503 not countable)."""
    # The login's own counters (throttle.py): a wrong code costs what a wrong password costs,
    # and the owner's trusted browser is slowed down by its own failures only.
    tag = account_tag(user.email)
    try:
        attempt = throttle.attempt(tag)
        wait = throttle.seconds_to_wait(attempt)
    except throttle.CannotCount as exc:
        throttle.uncounted("mfa-uncounted", tag, exc, actor=user)
        raise Refused(503, RETRY_AFTER_SECONDS) from exc
    if wait is not None:
        audit("mfa-throttled", tag, actor=user, level=logging.WARNING)
        db.session.commit()
        raise Refused(429, wait)
    return attempt


def failed(user: StaffUser, attempt: throttle.Attempt, factor: str) -> None:
    """Count and audit a wrong code or passkey (raises Refused 503 if it cannot be counted)."""
    tag = account_tag(user.email)
    # The refused attempt's conditional UPDATE changed nothing, yet it holds a write lock
    # (SQLite) that the counter store, on its own connection, would wait for.
    db.session.rollback()
    try:
        throttle.count_failure(attempt)
    except throttle.CannotCount as exc:
        throttle.uncounted("mfa-uncounted", tag, exc, actor=user)
        raise Refused(503, RETRY_AFTER_SECONDS) from exc
    audit(f"mfa-failed:{factor}", actor=user, level=logging.WARNING)
    db.session.commit()


# --- One-time codes (TOTP) ---------------------------------------------------------------------


def new_totp_secret() -> str:
    """Return a fresh one-time-code secret (base32, 160 bits as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, user: StaffUser) -> str:
    """Return the otpauth:// address an authenticator app reads from the QR code."""
    issuer = current_app.config.get("STAFF_TOTP_ISSUER") or "GVI Järfälla"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def current_step() -> int:
    """Return the current 30-second step by the site's clock (tests run on a shifted clock)."""
    moment = utcnow().replace(tzinfo=dt.UTC)
    return int(moment.timestamp()) // TOTP_STEP_SECONDS


def normalized_code(code: str | None) -> str:
    """Return a typed code without spaces (apps show "123 456"); digits only or empty."""
    digits = "".join((code or "").split())
    return digits if digits.isascii() and digits.isdigit() and len(digits) == 6 else ""


def matching_step(secret: str, code: str, after: int | None = None) -> int | None:
    """Return the step (now ±1, later than `after`) whose code is `code`, or None."""
    code = normalized_code(code)
    if not code:
        return None
    totp = pyotp.TOTP(secret)
    now = current_step()
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if after is not None and step <= after:
            continue  # used already, or older than a code that was: a code is taken once
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_code(user: StaffUser, code: str) -> bool:
    """Take a one-time code for the account once: True if it is right and not used before."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    # Two requests with the same code at once: only the one that moves the step on wins.
    moved = db.session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return changed_rows(moved) == 1


# --- Recovery codes ----------------------------------------------------------------------------


def recovery_hash(code: str) -> str:
    """Hash a recovery code with a key (HMAC-SHA256 under SECRET_KEY), for the table."""
    # The codes are random (50 bits), so a slow hash adds nothing against guessing, while a
    # keyed one finds the code by its hash and makes a copy of the table useless without the key.
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else str(key).encode("utf-8")
    return hmac.new(key, b"staff-recovery\0" + code.encode(), hashlib.sha256).hexdigest()


def normalized_recovery(code: str | None) -> str:
    """Return a typed recovery code in lower case, without spaces or the hyphen."""
    text = "".join((code or "").split()).replace("-", "").lower()
    return text if len(text) == RECOVERY_LENGTH and text.isascii() and text.isalnum() else ""


def new_recovery_codes(user: StaffUser) -> list[str]:
    """Replace the account's recovery codes with ten new ones; return them (shown once)."""
    user.recovery_codes.clear()
    codes = []
    for _number in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        user.recovery_codes.append(StaffRecoveryCode(code_hash=recovery_hash(raw)))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_left(user: StaffUser) -> int:
    """Count the account's recovery codes not used yet."""
    return sum(1 for code in user.recovery_codes if code.used_at is None)


def use_recovery_code(user: StaffUser, typed: str) -> bool:
    """Use one of the account's recovery codes: True if it is right and was not used before."""
    code = normalized_recovery(typed)
    if not code:
        return False
    used = db.session.execute(
        update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.user_id == user.id,
            StaffRecoveryCode.code_hash == recovery_hash(code),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return changed_rows(used) == 1


def forget_factors(user: StaffUser) -> None:
    """Remove every factor of the account: passkeys, code secret, recovery codes (reset-mfa)."""
    user.passkeys.clear()
    user.recovery_codes.clear()
    user.totp_secret = None
    user.totp_last_step = None
