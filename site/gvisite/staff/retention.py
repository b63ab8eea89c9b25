"""How long data is kept: case data purged after the retention time; old spam, sessions deleted."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import delete, func, or_, select

from ..cases import RECEIPT_VALID, erase_personal_data, erased_with_text_since
from ..database import forget_old_versions
from ..extensions import db
from ..feedback.forms import kept_answers
from ..models import Case, Receipt, StaffSession, Status
from ..outbox import forget_copies
from ..progress import Track, unchanged
from ..ratelimits import forget_expired
from .audit import audit

SPAM_KEEP_DAYS = 30


def forget_old_sessions(now: dt.datetime, cutoff: dt.datetime) -> None:
    """Delete staff sessions over before `cutoff`: they say no more than the audit log does.

    A session still in use is never deleted, whatever the retention time (0 days included):
    the purge erases case data, and must not log anyone out.
    """
    config = current_app.config
    idle_since = now - dt.timedelta(minutes=config["STAFF_IDLE_MINUTES"])
    born_since = now - dt.timedelta(hours=config["STAFF_SESSION_HOURS"])
    over = or_(
        StaffSession.ended_at.is_not(None),
        StaffSession.last_seen_at < idle_since,
        StaffSession.created_at <= born_since,
    )
    last_use = func.coalesce(StaffSession.ended_at, StaffSession.last_seen_at)
    db.session.execute(delete(StaffSession).where(over, last_use < cutoff))


def purge(now: dt.datetime, retention_days: int, track: Track = unchanged) -> tuple[int, int, int]:
    """Remove personal data from cases closed long enough ago; delete old spam and sessions.

    `track` wraps the cases erased and the spam deleted (the command's progress bar).

    Return how many cases were erased, how many spam cases deleted, and how many erased
    cases had text again (added while they were being erased) and were erased once more.
    """
    cutoff = now - dt.timedelta(days=retention_days)
    closed = list(
        db.session.scalars(
            select(Case).where(
                Case.status == Status.CLOSED, Case.closed_at < cutoff, Case.purged_at.is_(None)
            )
        )
    )
    mailed = erase_personal_data(closed, now, kept_answers, track)
    again = erased_with_text_since()
    mailed.extend(erase_personal_data(again, now, kept_answers))
    # A receipt not shown in time still holds a status secret: drop it, and any of spam cases.
    db.session.execute(delete(Receipt).where(Receipt.created_at < now - RECEIPT_VALID))
    spam_cutoff = now - dt.timedelta(days=SPAM_KEEP_DAYS)
    old_spam = list(
        db.session.scalars(select(Case).where(Case.spam.is_(True), Case.created_at < spam_cutoff))
    )
    for case in track(old_spam, "Deleting the old spam"):
        mailed.extend(message.id for message in case.messages)  # marked spam after mailing
        for child in (*case.messages, *case.events, *case.receipts):
            db.session.delete(child)
        db.session.delete(case)
    forget_expired()  # rate-limit counters whose window is over (they hold addresses)
    forget_old_sessions(now, cutoff)
    audit("purge", f"{len(closed)}+{len(old_spam)}" + (f"+{len(again)}" if again else ""))
    db.session.commit()
    forget_copies(mailed)  # after the commit: a file is only removed once the row is blank
    forget_old_versions()  # the erased rows' old versions: SQLite's WAL, PostgreSQL's dead rows
    return len(closed), len(old_spam), len(again)
