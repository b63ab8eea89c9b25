"""What staff do to a case: assign, change status, note, reply, retry, spam, publish, resolve."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..extensions import db
from ..feedback.mail import compose_closing, compose_reply
from ..i18n import DEFAULT_LOCALE
from ..models import (
    Answer,
    Case,
    CaseEvent,
    OutboxMessage,
    PublishedProblem,
    StaffUser,
    Status,
    utcnow,
)
from .audit import audit


class CaseErased(Exception):
    """The case's personal data was removed: it takes no more notes, replies or status changes."""

    def __init__(self, case: Case) -> None:
        super().__init__(case.reference)
        self.reference = case.reference


def takes_text(case: Case) -> None:
    """Refuse free text (and reopening) for a case whose personal data was removed."""
    if case.erased:
        raise CaseErased(case)


def record(case: Case, actor: StaffUser | None, action: str, detail: str | None = None) -> None:
    """Add a line to the case's history and the audit log (the audit line without details)."""
    actor_id = actor.id if actor else None
    if case.erased:
        detail = None  # an erased case keeps no text: not even an assignee's name or a summary
    db.session.add(CaseEvent(case=case, actor_id=actor_id, action=action, detail=detail))
    audit(action, case.reference, actor)


def assign(case: Case, assignee: StaffUser | None, actor: StaffUser) -> None:
    """Give the case to a handler (or to nobody)."""
    case.assignee = assignee
    record(case, actor, "assign", assignee.name if assignee else None)
    if case.status == Status.NEW and assignee is not None:
        case.status = Status.IN_PROGRESS


def set_status(case: Case, status: str, reason: str | None, actor: StaffUser) -> None:
    """Move the case to a status; closing needs a reason, which a resident with an address gets."""
    if status not in Status.ALL:
        raise ValueError(status)
    takes_text(case)
    closing = status == Status.CLOSED and case.status != Status.CLOSED
    case.status = status
    case.closed_at = utcnow() if status == Status.CLOSED else None
    record(case, actor, f"status:{status}", reason or None)
    # The status page shows the reason too; spam is never mailed (its address may be anyone's).
    if closing and reason and case.email and not case.spam:
        db.session.add(compose_closing(case, reason))


def add_note(case: Case, text: str, actor: StaffUser) -> None:
    """Add an internal note, seen only by staff."""
    takes_text(case)
    record(case, actor, "note", text)


def reply(case: Case, text: str, actor: StaffUser) -> OutboxMessage:
    """Queue a reply to the resident in their language, with the reference in the subject."""
    takes_text(case)
    message = compose_reply(case, text)
    db.session.add(message)
    _first_answer(case, Answer.EMAIL)
    record(case, actor, "reply", text)
    return message


def _first_answer(case: Case, how: str) -> None:
    """Note when and how the case was first answered (the due date and the statistics count it)."""
    if case.first_reply_at is None:
        case.first_reply_at, case.answered_by = utcnow(), how


def record_answer(case: Case, how: str, note: str | None, actor: StaffUser) -> None:
    """Record an answer given outside the site: a call, or a letter sent."""
    if how not in (Answer.PHONE, Answer.LETTER):
        raise ValueError(how)
    takes_text(case)
    _first_answer(case, how)
    record(case, actor, f"answered:{how}", note or None)


def retry(message: OutboxMessage, actor: StaffUser) -> None:
    """Queue a failed message again, from the first attempt."""
    if message.case and not message.recipients:
        takes_text(message.case)  # blanked by an erasure: there is nothing left to send
    message.status, message.attempts, message.next_attempt_at = "pending", 0, utcnow()
    message.claimed_by = message.claimed_until = None
    if message.case:
        record(message.case, actor, "retry", None)


def mark_spam(case: Case, spam: bool, actor: StaffUser) -> None:
    """Mark a case as spam (hidden from the inbox) or bring it back."""
    case.spam = spam
    record(case, actor, "spam" if spam else "not-spam")


def publish_problem(
    case: Case,
    texts: dict[str, str],
    criteria: list[str],
    actor: StaffUser,
    instead: dict[str, str] | None = None,
    fix_by: dt.date | None = None,
) -> PublishedProblem:
    """Publish a confirmed problem to the accessibility statement."""
    alternative = {k: v for k, v in (instead or {}).items() if v}
    problem = PublishedProblem(
        case_id=case.id,
        what={k: v for k, v in texts.items() if v},
        criteria=criteria,
        instead=alternative or None,  # None: the statement's standard advice, in every language
        fix_by=fix_by,
    )
    db.session.add(problem)
    record(case, actor, "publish", texts.get(DEFAULT_LOCALE))  # statement.py announces it
    return problem


def resolve_problem(problem: PublishedProblem, case: Case, actor: StaffUser) -> None:
    """Take a fixed problem off the statement."""
    problem.resolved_at = utcnow()
    record(case, actor, "resolve")  # statement.py announces it once saved


def handlers() -> list[StaffUser]:
    """Return the active accounts cases can be assigned to."""
    query = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
    return list(db.session.scalars(query))
