"""Cases (what residents send) and their outgoing mail, stored together in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import JSON, ForeignKey, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .workdays import add_working_days, local_date

KINDS = {"report": "TG", "format": "AF"}  # kind -> reference prefix (tillgänglighet / alt. format)
# Unambiguous characters only: no 0/O, 1/I/L or U, so a reference read over the phone survives.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6
# How long the one-time receipt waits to be shown after the form was sent.
RECEIPT_VALID = dt.timedelta(minutes=30)

# Routing rules as data: which configured mailboxes get each kind, besides the page owner.
ROUTING: dict[str, tuple[str, ...]] = {
    "report": ("STAFF_MAILBOX",),
    "format": ("ALT_FORMAT_MAILBOX",),
}


def response_target_days() -> int:
    """Return the promised response time from the statement's data."""
    return int(current_app.extensions["gvisite.statement"].data["response_target_days"])


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
    due_on: Mapped[dt.date | None] = mapped_column(index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    first_reply_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    purged_at: Mapped[dt.datetime | None]
    # The resident's status link carries a random secret; only its SHA-256 is kept.
    secret_hash: Mapped[str | None] = mapped_column(String(64))

    messages: Mapped[list[OutboxMessage]] = relationship(
        back_populates="case", order_by="OutboxMessage.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    assignee: Mapped[StaffUser | None] = relationship()
    receipts: Mapped[list[Receipt]] = relationship(back_populates="case")
    # Set only in the request that created the case: shown once on the receipt and in its mail.
    secret = None  # str | None; not a column
    receipt_ticket = None  # str | None; not a column: goes into the form session once

    @property
    def is_open(self) -> bool:
        """Tell whether the case still waits for staff."""
        return self.status != "avslutad" and not self.spam

    def overdue(self, today: dt.date) -> bool:
        """Tell whether an open case has passed its due date."""
        return self.is_open and self.due_on is not None and today > self.due_on


class Receipt(db.Model):
    """A receipt waiting to be shown once, so no reference or secret needs to sit in a cookie."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The status-link secret, kept only until the receipt is shown (or expires and is purged).
    secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    case: Mapped[Case] = relationship(back_populates="receipts")


class StaffUser(db.Model):
    """A member of staff who handles cases."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default="handler")  # handler | admin
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    # Flask-Login's interface.
    @property
    def is_active(self) -> bool:
        """Tell Flask-Login whether the account may log in."""
        return self.active

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session."""
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        """Tell whether the account may use the admin pages."""
        return self.role == "admin"


class CaseEvent(db.Model):
    """One line of a case's history: a status change, an assignment, a note, a reply."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text)  # free text: purged with the case

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[StaffUser | None] = relationship()


class AuditEntry(db.Model):
    """Who viewed, changed, replied to, exported or purged what: no personal data kept here."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    action: Mapped[str] = mapped_column(String(30))
    target: Mapped[str | None] = mapped_column(String(40))  # a case reference, never its content

    actor: Mapped[StaffUser | None] = relationship()


class PublishedProblem(db.Model):
    """A confirmed problem staff published to the accessibility statement."""

    __tablename__ = "published_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    what: Mapped[dict[str, str]] = mapped_column(JSON)  # locale -> text; Swedish required
    criteria: Mapped[list[str]] = mapped_column(JSON)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(index=True)


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


def mailboxes_for(kind: str) -> list[str]:
    """Return the configured mailboxes that handle a kind of case (by the routing rules)."""
    config = current_app.config
    return [config.get(key) or config["STAFF_MAILBOX"] for key in ROUTING[kind]]


def staff_recipients(kind: str, owner_email: str | None) -> list[str]:
    """Return who on the staff side receives a case of this kind, without duplicates."""
    addresses = mailboxes_for(kind)
    if owner_email:
        addresses.append(owner_email)
    return list(dict.fromkeys(a.strip() for a in addresses if a and a.strip()))


def hash_secret(secret: str) -> str:
    """Hash a status-link secret for storage (it is random, so a plain SHA-256 suffices)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(case: Case | None, secret: str) -> bool:
    """Compare a status-link secret in constant time."""
    expected = case.secret_hash if case and case.secret_hash else "0" * 64
    return hmac.compare_digest(expected, hash_secret(secret or "")) and case is not None


def store_case(case: Case, compose: Callable[[Case], list[OutboxMessage]]) -> Case:
    """Store a case and its outgoing mail in one transaction, retrying a reference clash."""
    case.created_at = case.created_at or utcnow()  # the mail quotes it before the flush
    case.due_on = add_working_days(local_date(case.created_at), response_target_days())
    case.secret = secrets.token_urlsafe(24)
    case.secret_hash = hash_secret(case.secret)
    case.receipt_ticket = secrets.token_urlsafe(24)
    ticket_hash = hash_secret(case.receipt_ticket)
    case.receipts = [
        Receipt(ticket_hash=ticket_hash, secret=case.secret, created_at=case.created_at)
    ]
    for _attempt in range(5):
        case.reference = new_reference(case.kind)
        # Replace, not append: a retry after a clash must not keep the first attempt's mail.
        case.messages = compose(case)
        db.session.add(case)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if db.session.scalar(select(Case.id).where(Case.reference == case.reference)) is None:
                raise
            continue
        return case
    raise RuntimeError("could not find a free reference")


def take_receipt(ticket: str | None) -> tuple[Case, str] | None:
    """Return a fresh receipt's case and status secret once; the receipt is gone afterwards."""
    if not ticket or len(ticket) > 100:
        return None
    receipt = db.session.scalar(select(Receipt).where(Receipt.ticket_hash == hash_secret(ticket)))
    if receipt is None:
        return None
    case, secret, created = receipt.case, receipt.secret, receipt.created_at
    # Detached before the commit, the case keeps what was read: no second trip to show it.
    db.session.expunge_all()
    db.session.execute(delete(Receipt).where(Receipt.id == receipt.id))
    db.session.commit()
    if utcnow() - created > RECEIPT_VALID:
        return None
    return case, secret or ""
