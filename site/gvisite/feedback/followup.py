"""What a resident can do on their private status page: add information, or withdraw the case.

The page has no login and keeps no session: the status link's secret, posted back in the form's
body (never in a URL the server logs), is what proves the resident may act on the case.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from ..cases import (
    RECEIPT_VALID,
    erase_personal_data,
    hash_secret,
    is_reference,
    receipt_ticket_for,
    secret_matches,
)
from ..database import forget_old_versions
from ..extensions import db
from ..forms import BaseForm, PostedForm, Required
from ..models import WITHDRAWN, Case, CaseEvent, Receipt, Status, utcnow
from ..outbox import forget_copies
from .forms import kept_answers, too_long
from .mail import compose_addition, compose_withdrawal

ADDITION_MAX = 5000
# The history's actions for what a resident did (the staff case page names them).
ADDED = "resident:added"
REOPENED = f"status:{Status.IN_PROGRESS}"  # a status change, as staff record one
# What the staff area audits of these (staff/audit.py): the public site cannot import it.
RESIDENT_ACTIONS = frozenset({ADDED, WITHDRAWN, REOPENED})
# Invisible control characters (from copying, or a robot) that no one means to send; line
# breaks and tabs are text. NUL is already dropped by the forms' strip filter.
_INVISIBLE = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def drop_invisible(value: Any) -> Any:
    """Remove control characters other than line breaks and tabs; end lines the Unix way."""
    if not isinstance(value, str):
        return value
    # Browsers send a textarea's line breaks as CRLF: the staff mail and page want one kind.
    return _INVISIBLE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


class AddInformationForm(BaseForm):
    """Add information to a case: one text, the honeypot and the signed start time."""

    class Meta(BaseForm.Meta):
        # Flask-WTF keeps its token in a session, and the status page has none (sessions.py):
        # the posted status-link secret does that job, since no other site can know it.
        csrf = False

    information = TextAreaField(
        _l("What do you want to add?"),
        filters=[drop_invisible],
        validators=[
            Required(_l("Write what you want to add.")),
            Length(max=ADDITION_MAX, message=too_long(ADDITION_MAX)),
        ],
    )


class WithdrawForm(PostedForm):
    """Withdraw a case: sent once to be asked "are you sure?", then again with the answer."""

    class Meta(PostedForm.Meta):
        csrf = False  # as for AddInformationForm: the posted secret is the proof

    confirmed = HiddenField()

    def is_confirmed(self) -> bool:
        """Tell whether the resident answered yes on the confirmation page."""
        return self.confirmed.data == "yes"


def find_case(reference: str, secret: str) -> Case | None:
    """Return the case the status link names, or None for any wrong or unknown link."""
    case = None
    if is_reference(reference):  # anything else (a NUL, a long string) must not reach the database
        case = db.session.scalar(select(Case).where(Case.reference == reference))
    if not secret_matches(case, secret or "") or case is None or case.spam:
        return None  # a wrong secret looks exactly like an unknown reference
    return case


def was_withdrawn(case: Case) -> bool:
    """Tell whether the resident withdrew the case."""
    return any(event.action == WITHDRAWN for event in case.events)


def addition_stored(submission: str | None) -> bool:
    """Tell whether this submission of the form was stored already (a resend, a double click)."""
    if not submission:
        return False
    found = db.session.scalar(
        select(CaseEvent.id).where(CaseEvent.submission_hash == hash_secret(submission))
    )
    return found is not None


def thanks_ticket(submission: str | None) -> str:
    """Return the one-time marker that thanks for an addition: the same for the same form."""
    if not submission:
        return secrets.token_urlsafe(24)
    return receipt_ticket_for(f"addition:{submission}")  # keyed, so no one can guess another


def take_thanks(case: Case, ticket: str) -> bool:
    """Tell whether a fresh thanks marker of this case came with the page; it is gone after."""
    if not ticket or len(ticket) > 100:
        return False
    # A receipt without a secret: shown once, then deleted, and purged unshown like the others.
    marker = Receipt.ticket_hash == hash_secret(ticket), Receipt.case_id == case.id
    thanks = Receipt.secret.is_(None), Receipt.kept.is_(None)
    found = db.session.scalar(select(Receipt.created_at).where(*marker, *thanks))
    if found is None:
        return False
    db.session.execute(delete(Receipt).where(*marker))
    db.session.commit()
    return utcnow() - found <= RECEIPT_VALID


def keep_refused(case: Case, kept: dict[str, Any]) -> str:
    """Keep a refused addition to show once after the redirect; return its one-time marker."""
    # One per case, the latest: a resident sending again and again keeps one text, not many.
    db.session.execute(delete(Receipt).where(Receipt.case_id == case.id, Receipt.kept.is_not(None)))
    ticket = secrets.token_urlsafe(24)
    db.session.add(Receipt(case=case, ticket_hash=hash_secret(ticket), kept=kept))
    db.session.commit()
    return ticket


def take_refused(case: Case, ticket: str) -> dict[str, Any] | None:
    """Return a refused addition of this case kept under this marker, once; then it is gone."""
    if not ticket or len(ticket) > 100:
        return None
    marker = Receipt.ticket_hash == hash_secret(ticket), Receipt.case_id == case.id
    found = db.session.execute(
        select(Receipt.kept, Receipt.created_at).where(*marker, Receipt.kept.is_not(None))
    ).first()
    if found is None:
        return None
    db.session.execute(delete(Receipt).where(*marker))
    db.session.commit()
    kept, created = found
    return kept if utcnow() - created <= RECEIPT_VALID else None


def store_addition(case: Case, text: str, submission: str | None, thanks: str) -> None:
    """Store what the resident added, its staff mail and the thanks marker in one transaction."""
    if case.erased:  # withdrawn or purged: it takes no more text (the page offers no form)
        return
    now = utcnow()
    db.session.add(Receipt(case=case, ticket_hash=hash_secret(thanks), created_at=now))
    reopened = case.status == Status.WAITING
    db.session.add(
        CaseEvent(
            case=case,
            at=now,
            action=ADDED,
            detail=text,
            submission_hash=hash_secret(submission) if submission else None,
        )
    )
    if reopened:
        # What staff waited for has come: back to their list, recorded as a status change.
        case.status = Status.IN_PROGRESS
        db.session.add(CaseEvent(case=case, at=now, action=REOPENED))
    db.session.add(compose_addition(case, text, now, reopened))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not addition_stored(submission):  # not the same form arriving twice at once
            raise


def withdraw(case: Case) -> None:
    """Close the case as withdrawn by the resident and remove its personal data at once."""
    now = utcnow()
    case.status, case.closed_at = Status.CLOSED, now
    # The same removal as after the retention time (cases.erase_personal_data), for one case.
    mailed = erase_personal_data([case], now, kept_answers)
    db.session.add(CaseEvent(case=case, at=now, action=WITHDRAWN))
    notice = compose_withdrawal(case)  # after the removal: it names only the reference
    notice.created_at = now  # stamped with the erasure: a later purge leaves it (cases.py)
    db.session.add(notice)
    db.session.commit()
    forget_copies(mailed)  # after the commit: a file is only removed once its row is blank
    forget_old_versions()  # and the database's own old copies of the rows
