"""Staff sessions: one row per login in `staff_sessions`, found by the cookie, ended on the server.

The signed cookie holds only a random token whose SHA-256 finds the row. So logging out,
deactivating an account or ending a session from the list ends it on the server: a copy of the
cookie kept elsewhere no longer opens anything. Each request checks the row's lifetime and
idle time, and the cookie's own last use (a stale copy dies of idleness).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import current_app, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select, update
from werkzeug.wrappers import Response

from ..cases import hash_secret
from ..database import changed_rows
from ..extensions import db
from ..models import SessionEnd, StaffSession, StaffUser, utcnow
from .browsers import browser_of

ROW_KEY = "staff_session"  # the cookie session's key for the token of the session row
STAMP_KEY = "last_seen"  # and for this cookie's own last request (seconds since the epoch)
# What the login page says, by the flag in its address, when a session timed out.
_EXPIRED_FLAGS = {SessionEnd.TIMEOUT: "timeout", SessionEnd.LIFETIME: "lifetime"}


def _stamp(moment: dt.datetime) -> float:
    """Return a stored (naive UTC) time as seconds since the epoch, for the cookie."""
    return moment.replace(tzinfo=dt.UTC).timestamp()


def _from_stamp(value: object) -> dt.datetime | None:
    """Read the cookie's time stamp back; None if it is missing or not a time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def start_session(user: StaffUser, second_factor: str | None = None) -> StaffSession:
    """Store a new session row for a login and put its token in the (fresh) cookie session."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = StaffSession(
        user_id=user.id,
        token_hash=hash_secret(token),
        created_at=now,
        last_seen_at=now,
        browser=browser_of(request.user_agent.string),
        second_factor=second_factor,  # a SecondFactor value, or None until one is shown
    )
    db.session.add(row)
    session[ROW_KEY] = token
    session[STAMP_KEY] = _stamp(now)
    g.staff_session = row
    return row


def current_session() -> StaffSession | None:
    """Return the open session row this request's cookie points at, if any."""
    if "staff_session" not in g:
        token = session.get(ROW_KEY)
        row = None
        if isinstance(token, str) and token:
            row = db.session.scalar(
                select(StaffSession).where(
                    StaffSession.token_hash == hash_secret(token), StaffSession.ended_at.is_(None)
                )
            )
        g.staff_session = row
    return g.staff_session


def end_session(row: StaffSession, reason: str) -> None:
    """Mark one session row as ended (the caller commits)."""
    row.ended_at = utcnow()
    row.ended_reason = reason


def end_sessions(user_id: int, reason: str, keep: StaffSession | None = None) -> int:
    """End every open session of an account, but `keep`; return how many (the caller commits)."""
    query = update(StaffSession).where(
        StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(StaffSession.id != keep.id)
    result = db.session.execute(query.values(ended_at=utcnow(), ended_reason=reason))
    return changed_rows(result)


def row_expiry(row: StaffSession, now: dt.datetime | None = None) -> str | None:
    """Tell why an open session row may no longer be used (a SessionEnd value), or None."""
    now = now or utcnow()
    config = current_app.config
    if now - row.created_at >= dt.timedelta(hours=config["STAFF_SESSION_HOURS"]):
        return SessionEnd.LIFETIME
    if now - row.last_seen_at > dt.timedelta(minutes=config["STAFF_IDLE_MINUTES"]):
        return SessionEnd.TIMEOUT
    return None


def _cookie_idle(now: dt.datetime) -> bool:
    """Tell whether this copy of the cookie was last used longer ago than the idle limit."""
    # A copy of the cookie taken earlier carries an older stamp, so it dies of idleness even
    # while its owner keeps the row alive (and the owner, whose copy is fresh, is not harmed).
    last = _from_stamp(session.get(STAMP_KEY))
    idle = dt.timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    return last is None or now - last > idle


def _refusal(row: StaffSession, now: dt.datetime) -> str | None:
    """Tell why this request's session is refused, ending the row if the session is over."""
    reason = row_expiry(row, now)
    if reason is not None:
        end_session(row, reason)
        db.session.commit()
        return reason
    # A stale copy of the cookie is refused, but the row (and its owner's copy) lives on.
    return SessionEnd.TIMEOUT if _cookie_idle(now) else None


def enforce_idle_timeout() -> Response | None:
    """End a session idle longer than STAFF_IDLE_MINUTES or older than STAFF_SESSION_HOURS."""
    row = current_session()
    if not current_user.is_authenticated or row is None:
        return None
    now = utcnow()
    reason = _refusal(row, now)
    if reason is not None:
        logout_user()
        session.clear()
        flag: dict[str, Any] = {_EXPIRED_FLAGS[reason]: 1}  # a query argument, not an option
        return redirect(url_for("auth.login", **flag))
    row.last_seen_at = now
    session[STAMP_KEY] = _stamp(now)
    db.session.commit()
    return None
