"""The site's tables: cases and their history, receipts, staff, the audit log, the outbox.

The case statuses, staff roles and why a staff session ended are named here once, beside
the columns that hold them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Float, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .extensions import db
from .workdays import utcnow as utcnow  # the one clock; the tables' defaults read it

if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskModel

    from .extensions import Base

    class Model(_FlaskModel, Base):
        """What `db.Model` is at run time: our base with Flask-SQLAlchemy's mixins."""

        __abstract__ = True

else:
    Model = db.Model  # mypy takes no attribute as a base class (python/mypy#8603)

# A mail subject's longest: mail programs show far less, and the page a resident described may
# run to 500 characters (the body quotes it whole), more than the outbox's subject column holds.
SUBJECT_MAX = 150


class Status:
    """Where a case stands; the values are stored, and the resident's status page shows them."""

    NEW = "ny"
    IN_PROGRESS = "pagaende"
    WAITING = "vantar"
    CLOSED = "avslutad"
    ALL = (NEW, IN_PROGRESS, WAITING, CLOSED)


class Answer:
    """How staff first answered a resident; the values are stored, the status page names them."""

    EMAIL = "email"
    PHONE = "phone"
    LETTER = "letter"
    ALL = (EMAIL, PHONE, LETTER)


class Role:
    """What a staff account may do: handle cases, or also export and read the audit log."""

    HANDLER = "handler"
    ADMIN = "admin"
    ALL = (HANDLER, ADMIN)


class Case(Model):
    """A report of an accessibility problem or a request for an alternative format."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    locale: Mapped[str] = mapped_column(String(5))
    # A path of a page on the site, checked when the form was sent, or "": what a resident wrote
    # instead (a letter, a document) is free text, kept in `answers` and erased with them.
    page: Mapped[str] = mapped_column(String(500), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW, index=True)
    spam: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    due_on: Mapped[dt.date | None] = mapped_column(index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    first_reply_at: Mapped[dt.datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(10))  # an Answer value, with the above
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    purged_at: Mapped[dt.datetime | None]
    # The resident's status link carries a random secret; only its SHA-256 is kept.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the form's submission key: the same answers arriving twice (a resend after a
    # lost answer, a double click) find the case stored the first time instead of a new one.
    submission_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    messages: Mapped[list[OutboxMessage]] = relationship(
        back_populates="case", order_by="OutboxMessage.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    assignee: Mapped[StaffUser | None] = relationship()
    receipts: Mapped[list[Receipt]] = relationship(back_populates="case")
    # Set only in the request that created the case: shown once on the receipt and in its mail.
    # Not columns: the ORM would map an annotation it can see, so only mypy reads these types.
    if TYPE_CHECKING:
        secret: str | None
        receipt_ticket: str | None
    secret = None
    receipt_ticket = None  # goes into the form session once

    @property
    def erased(self) -> bool:
        """Tell whether the case's personal data was removed (withdrawn, or kept long enough)."""
        # Final: an erased case takes no more free text, and cannot be reopened.
        return self.purged_at is not None

    @property
    def is_open(self) -> bool:
        """Tell whether the case still waits for staff."""
        return self.status != Status.CLOSED and not self.spam

    def overdue(self, today: dt.date) -> bool:
        """Tell whether an open case has passed its due date."""
        return self.is_open and self.due_on is not None and today > self.due_on


class Receipt(Model):
    """A receipt waiting to be shown once, so no reference or secret needs to sit in a cookie."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The status-link secret, kept only until the receipt is shown (or expires and is purged).
    secret: Mapped[str | None] = mapped_column(String(64))
    # A refused addition (its text, why, its form's start token), to be shown once on the status
    # page's own address after the post: the text never goes into an address.
    kept: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    case: Mapped[Case] = relationship(back_populates="receipts")


class StaffUser(Model):
    """A member of staff who handles cases."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default=Role.HANDLER)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The identity provider's stable subject (`sub`), stored at the first single sign-on that
    # matched this account on a verified e-mail address; from then on only it is matched.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    # A one-time-code secret (base32), and the last 30-second step a code was accepted for:
    # a code is taken once, and never one older than the last.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column()

    passkeys: Mapped[list[StaffPasskey]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="StaffPasskey.id"
    )
    recovery_codes: Mapped[list[StaffRecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="StaffRecoveryCode.id"
    )

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


class SecondFactor:
    """How a staff session showed a second factor; the values are stored on the session row."""

    PASSKEY = "passkey"
    TOTP = "totp"
    RECOVERY = "recovery"
    SSO = "sso"  # the identity provider's own multi-factor, shown in the ID token's amr/acr
    ALL = (PASSKEY, TOTP, RECOVERY, SSO)


class StaffPasskey(Model):
    """A passkey (WebAuthn credential) of a local staff account: its public key, never a secret."""

    __tablename__ = "staff_passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(60), default="")  # the owner's own label
    transports: Mapped[str] = mapped_column(String(200), default="")  # space-separated
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()

    user: Mapped[StaffUser] = relationship(back_populates="passkeys")


class StaffRecoveryCode(Model):
    """One of a local account's recovery codes, shown once; only its hash is kept."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column()

    user: Mapped[StaffUser] = relationship(back_populates="recovery_codes")


class SessionEnd:
    """Why a staff session ended; the values are stored."""

    LOGOUT = "logout"
    TIMEOUT = "timeout"
    LIFETIME = "lifetime"
    DEACTIVATED = "deactivated"
    ENDED_BY_USER = "ended-by-user"
    PASSWORD = "password"  # noqa: S105 (why a session ended: the password was changed)
    MFA_RESET = "mfa-reset"  # `flask staff reset-mfa`: the factors it showed are gone
    FACTOR_REMOVED = "factor-removed"  # its owner removed a factor: the other sessions end


class StaffSession(Model):
    """One login of a staff account; the cookie holds a random token, only its SHA-256 is kept."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A session means nothing without its account (accounts are deactivated, not deleted).
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # a SessionEnd value
    # Browser and system names from the User-Agent ("Firefox/Windows"), for the staff's own
    # list of sessions; never the address or the full header.
    browser: Mapped[str] = mapped_column(String(60), default="")
    # How this login showed a second factor (a SecondFactor value); None until it has: a
    # session without one opens only the pages that ask for it or enrol one (staff/area.py).
    second_factor: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[StaffUser] = relationship()


# The history's action for a case its resident withdrew (feedback/followup.py records it; the
# handling figures never count such a case as answered).
WITHDRAWN = "resident:withdrawn"


class CaseEvent(Model):
    """One line of a case's history: a status change, an assignment, a note, a reply."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text)  # free text: purged with the case
    # SHA-256 of the status page form's submission key: information a resident added arrives
    # once however often the same form is sent (a resend after a lost answer, a double click).
    submission_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[StaffUser | None] = relationship()


class AuditEntry(Model):
    """Who viewed, changed, replied to, exported or purged what: no personal data kept here."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    action: Mapped[str] = mapped_column(String(30))
    target: Mapped[str | None] = mapped_column(String(40))  # a case reference, never its content

    actor: Mapped[StaffUser | None] = relationship()


class PublishedProblem(Model):
    """A confirmed problem staff published to the accessibility statement."""

    __tablename__ = "published_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    what: Mapped[dict[str, str]] = mapped_column(JSON)  # locale -> text; Swedish required
    criteria: Mapped[list[str]] = mapped_column(JSON)
    # What a reader can do instead, locale -> text (None: the statement's standard advice).
    instead: Mapped[dict[str, str] | None] = mapped_column(JSON)
    fix_by: Mapped[dt.date | None]  # when the problem is planned to be fixed, if known
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(index=True)


class OutboxMessage(Model):
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

    @validates("subject")
    def _short_subject(self, _key: str, value: str) -> str:
        """Keep every subject on one line and within SUBJECT_MAX, the reference first."""
        line = " ".join(value.split())
        return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1].rstrip() + "…"


class RateLimitCounter(Model):
    """A rate-limit count in its fixed window (see ratelimits.py), under a hashed key."""

    __tablename__ = "rate_limits"

    # A hash of Flask-Limiter's key (the limit, and the client address or the account tried).
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[float] = mapped_column(Float(), index=True)  # Unix time the window ends
