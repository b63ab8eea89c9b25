"""Storing what residents send: references, routing rules, status secrets, receipts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Collection

from flask import current_app
from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import Case, CaseEvent, OutboxMessage, Receipt, utcnow
from .progress import Track, unchanged
from .workdays import add_working_days, local_date

KINDS = {"report": "TG", "format": "AF"}  # kind -> reference prefix (tillgänglighet / alt. format)
# Unambiguous characters only: no 0/O, 1/I/L or U, so a reference read over the phone survives.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6
_REFERENCE = re.compile(
    rf"^(?:{'|'.join(KINDS.values())})-\d{{4}}-[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}$"
)
# The answer that holds what a resident wrote for "which page" when it is not a site path.
PAGE_DESCRIPTION = "page_description"
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


def new_reference(kind: str, now: dt.datetime | None = None) -> str:
    """Return a fresh random reference such as `TG-2026-7KQ4MA`."""
    year = (now or utcnow()).year
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{KINDS[kind]}-{year}-{code}"


def is_reference(text: str) -> bool:
    """Tell whether a text has the form of a reference, before any database sees it."""
    # Anything else (a NUL, a long string) would be refused by PostgreSQL with an error.
    return bool(_REFERENCE.match(text))


def kind_of(reference: str) -> str | None:
    """Return the kind of case a reference names by its prefix (TG-…: a report), or None."""
    prefix = reference.partition("-")[0]
    return next((kind for kind, code in KINDS.items() if code == prefix), None)


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


def status_secret(reference: str) -> str:
    """Return the status-link secret of a reference: the same each time, for every later mail."""
    # Keyed with SECRET_KEY, so the database (which keeps only the secret's hash) cannot give it.
    # Derived rather than random, so a reply or a closing mail weeks later can carry the link.
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"status-link:" + reference.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()  # 32 characters, as before


def case_secret(case: Case) -> str | None:
    """Return a stored case's status-link secret, or None if it cannot be made again."""
    # A case stored before secrets were derived, or under another SECRET_KEY, has none here.
    secret = status_secret(case.reference)
    return secret if secret_matches(case, secret) else None


def secret_matches(case: Case | None, secret: str) -> bool:
    """Compare a status-link secret in constant time."""
    expected = case.secret_hash if case and case.secret_hash else "0" * 64
    return hmac.compare_digest(expected, hash_secret(secret or "")) and case is not None


class AlreadyStored(Exception):
    """The same submission was stored before; its receipt ticket goes with the exception."""

    def __init__(self, ticket: str) -> None:
        super().__init__("submission already stored")
        self.ticket = ticket


def receipt_ticket_for(submission: str) -> str:
    """Return the receipt ticket of a submission: the same one each time it arrives."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"receipt:" + submission.encode(), hashlib.sha256).hexdigest()


def check_not_stored(submission: str | None) -> None:
    """Raise AlreadyStored if a case was stored for this submission key already."""
    if not submission:
        return
    found = db.session.scalar(
        select(Case.id).where(Case.submission_hash == hash_secret(submission))
    )
    if found is not None:
        raise AlreadyStored(receipt_ticket_for(submission))


def store_case(
    case: Case, compose: Callable[[Case], list[OutboxMessage]], submission: str | None = None
) -> Case:
    """Store a case and its outgoing mail in one transaction, retrying a reference clash."""
    case.created_at = case.created_at or utcnow()  # the mail quotes it before the flush
    case.due_on = add_working_days(local_date(case.created_at), response_target_days())
    case.submission_hash = hash_secret(submission) if submission else None
    case.receipt_ticket = (
        receipt_ticket_for(submission) if submission else secrets.token_urlsafe(24)
    )
    receipt = Receipt(ticket_hash=hash_secret(case.receipt_ticket), created_at=case.created_at)
    case.receipts = [receipt]
    for _attempt in range(5):
        case.reference = new_reference(case.kind)
        # The secret goes with the reference: a retry after a clash gets both anew.
        case.secret = receipt.secret = status_secret(case.reference)
        case.secret_hash = hash_secret(case.secret)
        # Replace, not append: a retry after a clash must not keep the first attempt's mail.
        case.messages = compose(case)
        db.session.add(case)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            # The same submission committed meanwhile (a double click): that one counts.
            check_not_stored(submission)
            if db.session.scalar(select(Case.id).where(Case.reference == case.reference)) is None:
                raise
            continue
        return case
    raise RuntimeError("could not find a free reference")


def take_receipt(ticket: str | None) -> tuple[Case, str] | None:
    """Return a fresh receipt's case and status secret once; the receipt is gone afterwards."""
    if not ticket or len(ticket) > 100:
        return None
    # Only a receipt holds the secret: the status page's one-time markers (thanks, a refused
    # addition) share the table but open no receipt.
    mine = Receipt.ticket_hash == hash_secret(ticket), Receipt.secret.is_not(None)
    receipt = db.session.scalar(select(Receipt).where(*mine))
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


def reissue_receipt(case_id: int, secret: str) -> str:
    """Return a new one-time ticket for a receipt just shown, for its language menu to post."""
    # Random and only in the page, not in the cookie: the resident who sees the receipt can
    # show it again in another language, once; Back, a reload or the next person cannot.
    ticket = secrets.token_urlsafe(24)
    db.session.add(
        Receipt(
            case_id=case_id, ticket_hash=hash_secret(ticket), secret=secret, created_at=utcnow()
        )
    )
    db.session.commit()
    return ticket


def erase_personal_data(
    cases: list[Case],
    now: dt.datetime,
    kept: Callable[[str], Collection[str]],
    track: Track = unchanged,
) -> list[int]:
    """Blank what identifies a resident in these cases; return their mail's ids (to forget).

    `kept` names the answers a kind of case keeps (feedback.forms.kept_answers: the forms
    declare it, no free text); every other answer goes.
    """
    # Every copy: the case's columns and free answers, the history's texts, the receipts
    # (they hold the status secret) and the mail, which is also never sent once blank.
    for case in track(cases, "Erasing personal data"):
        case.name = case.email = case.phone = case.address = None
        keep = kept(case.kind)
        case.answers = {k: v for k, v in case.answers.items() if k in keep}
        case.purged_at = case.purged_at or now  # erased again: still erased on the first day
    ids = [case.id for case in cases]
    if not ids:
        return []
    db.session.flush()
    db.session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(ids)).values(detail=None))
    db.session.execute(delete(Receipt).where(Receipt.case_id.in_(ids)))
    mail = _erasable_mail(ids)
    mailed = list(db.session.scalars(select(OutboxMessage.id).where(mail)))
    db.session.execute(
        update(OutboxMessage).where(mail).values(body="", subject="", recipients=[], reply_to=None)
    )
    db.session.execute(
        update(OutboxMessage)
        .where(mail, OutboxMessage.status == "pending")
        .values(status="cancelled", claimed_by=None, claimed_until=None)
    )
    return mailed


def _erasable_mail(case_ids: list[int]) -> ColumnElement[bool]:
    """Select the mail of these cases except the notice sent at the moment of their erasure."""
    # The notice that a resident withdrew (feedback/mail.py) is stamped with the erasure's
    # time and names only the reference: staff must still get it.
    notices = (
        select(OutboxMessage.id)
        .join(Case, Case.id == OutboxMessage.case_id)
        .where(Case.id.in_(case_ids), OutboxMessage.created_at == Case.purged_at)
    )
    return OutboxMessage.case_id.in_(case_ids) & OutboxMessage.id.not_in(notices)


def erased_with_text_since() -> list[Case]:
    """Return erased cases that hold text again (it arrived during or after their erasure)."""
    # The app takes no text for an erased case (Case.erased); this catches a note that raced
    # the erasure, or a row written by an older version: the purge erases it again.
    texts = select(CaseEvent.case_id).where(CaseEvent.detail.is_not(None))
    receipts = select(Receipt.case_id)
    mail = (
        select(OutboxMessage.case_id)
        .join(Case, Case.id == OutboxMessage.case_id)
        .where(
            or_(OutboxMessage.subject != "", OutboxMessage.body != ""),
            OutboxMessage.created_at != Case.purged_at,
        )
    )
    return list(
        db.session.scalars(
            select(Case).where(
                Case.purged_at.is_not(None),
                or_(
                    Case.id.in_(texts),
                    Case.id.in_(receipts),
                    Case.id.in_(mail),
                    Case.name.is_not(None),
                    Case.email.is_not(None),
                    Case.phone.is_not(None),
                    Case.address.is_not(None),
                ),
            )
        )
    )
