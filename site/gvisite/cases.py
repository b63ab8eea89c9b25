"""Cases (what residents send) and their outgoing mail, stored together in one transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

KINDS = {"report": "TG", "format": "AF"}  # kind -> reference prefix (tillgänglighet / alt. format)
# Unambiguous characters only: no 0/O, 1/I/L or U, so a reference read over the phone survives.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6

# Routing rules as data: which configured mailboxes get each kind, besides the page owner.
ROUTING: dict[str, tuple[str, ...]] = {
    "report": ("STAFF_MAILBOX",),
    "format": ("ALT_FORMAT_MAILBOX",),
}


def utcnow() -> dt.datetime:
    """Return the current time in UTC, without tzinfo (stored as UTC everywhere)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Case(db.Model):
    """A report of an accessibility problem or a request for an alternative format."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    locale: Mapped[str] = mapped_column(String(5))
    page: Mapped[str] = mapped_column(String(500))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="ny", index=True)
    spam: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    messages: Mapped[list[OutboxMessage]] = relationship(back_populates="case")


class OutboxMessage(db.Model):
    """An e-mail waiting to be delivered, or delivered, or given up on."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # staff | receipt | reply
    recipients: Mapped[list[str]] = mapped_column(JSON)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]

    case: Mapped[Case | None] = relationship(back_populates="messages")


def new_reference(kind: str, now: dt.datetime | None = None) -> str:
    """Return a fresh random reference such as `TG-2026-7KQ4MA`."""
    year = (now or utcnow()).year
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{KINDS[kind]}-{year}-{code}"


def staff_recipients(kind: str, owner_email: str | None) -> list[str]:
    """Return who on the staff side receives a case of this kind, without duplicates."""
    config = current_app.config
    addresses = [config.get(key) or config["STAFF_MAILBOX"] for key in ROUTING[kind]]
    if owner_email:
        addresses.append(owner_email)
    return list(dict.fromkeys(a.strip() for a in addresses if a and a.strip()))


def store_case(case: Case, compose: Callable[[Case], list[OutboxMessage]]) -> Case:
    """Store a case and its outgoing mail in one transaction, retrying a reference clash."""
    case.created_at = case.created_at or utcnow()  # the mail quotes it before the flush
    for _attempt in range(5):
        case.reference = new_reference(case.kind)
        db.session.add(case)
        for message in compose(case):
            message.case = case
            db.session.add(message)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if db.session.scalar(select(Case.id).where(Case.reference == case.reference)) is None:
                raise
            continue
        return case
    raise RuntimeError("could not find a free reference")
