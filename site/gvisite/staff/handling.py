"""What staff do with cases: assign, change status, note, reply, publish, purge, export, count."""

from __future__ import annotations

import datetime as dt
import statistics as stats
from collections import Counter
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import Select, delete, func, select, update

from ..cases import RECEIPT_VALID, mailboxes_for
from ..extensions import db
from ..models import (
    AuditEntry,
    Case,
    CaseEvent,
    OutboxMessage,
    PublishedProblem,
    Receipt,
    StaffUser,
    utcnow,
)
from ..outbox import forget_copies
from ..statement import statement_changes_on_commit
from ..workdays import local_date, local_time, working_days_between

STATUSES = ("ny", "pagaende", "vantar", "avslutad")
SPAM_KEEP_DAYS = 30
PAGE_SIZE = 50


def record(case: Case, actor: StaffUser | None, action: str, detail: str | None = None) -> None:
    """Add a line to the case's history and the audit log (the audit line without details)."""
    actor_id = actor.id if actor else None
    db.session.add(CaseEvent(case=case, actor_id=actor_id, action=action, detail=detail))
    db.session.add(AuditEntry(actor_id=actor_id, action=action, target=case.reference))


def assign(case: Case, assignee: StaffUser | None, actor: StaffUser) -> None:
    """Give the case to a handler (or to nobody)."""
    case.assignee = assignee
    record(case, actor, "assign", assignee.name if assignee else None)
    if case.status == "ny" and assignee is not None:
        case.status = "pagaende"


def set_status(case: Case, status: str, reason: str | None, actor: StaffUser) -> None:
    """Move the case to a status; closing needs a reason."""
    if status not in STATUSES:
        raise ValueError(status)
    case.status = status
    case.closed_at = utcnow() if status == "avslutad" else None
    record(case, actor, f"status:{status}", reason or None)


def add_note(case: Case, text: str, actor: StaffUser) -> None:
    """Add an internal note, seen only by staff."""
    record(case, actor, "note", text)


def reply(case: Case, text: str, actor: StaffUser) -> OutboxMessage:
    """Queue a reply to the resident in their language, with the reference in the subject."""
    with force_locale(case.locale):
        subject = render_template("emails/reply_subject.txt", case=case).strip()
        body = render_template("emails/reply.txt", case=case, text=text)
    message = OutboxMessage(
        case=case,
        purpose="reply",
        recipients=[case.email],
        reply_to=mailboxes_for(case.kind)[0],  # the resident's answer reaches the right team
        subject=subject,
        body=body,
    )
    db.session.add(message)
    case.first_reply_at = case.first_reply_at or utcnow()
    record(case, actor, "reply", text)
    return message


def retry(message: OutboxMessage, actor: StaffUser) -> None:
    """Queue a failed message again, from the first attempt."""
    message.status, message.attempts, message.next_attempt_at = "pending", 0, utcnow()
    message.claimed_by = message.claimed_until = None
    if message.case:
        record(message.case, actor, "retry", None)


def mark_spam(case: Case, spam: bool, actor: StaffUser) -> None:
    """Mark a case as spam (hidden from the inbox) or bring it back."""
    case.spam = spam
    record(case, actor, "spam" if spam else "not-spam")


def publish_problem(
    case: Case, texts: dict[str, str], criteria: list[str], actor: StaffUser
) -> PublishedProblem:
    """Publish a confirmed problem to the accessibility statement."""
    problem = PublishedProblem(
        case_id=case.id, what={k: v for k, v in texts.items() if v}, criteria=criteria
    )
    db.session.add(problem)
    record(case, actor, "publish", texts.get("sv"))
    statement_changes_on_commit()
    return problem


def resolve_problem(problem: PublishedProblem, case: Case, actor: StaffUser) -> None:
    """Take a fixed problem off the statement."""
    problem.resolved_at = utcnow()
    record(case, actor, "resolve")
    statement_changes_on_commit()


def inbox_query(filters: dict[str, str], user: StaffUser, today: dt.date) -> Select[Any]:
    """Build the inbox's query from its filters; sorted by due date, oldest first."""
    query = select(Case).where(Case.spam.is_(filters.get("spam") == "1"))
    if filters.get("kind") in {"report", "format"}:
        query = query.where(Case.kind == filters["kind"])
    if filters.get("status") in STATUSES:
        query = query.where(Case.status == filters["status"])
    elif filters.get("status") != "alla":
        query = query.where(Case.status != "avslutad")
    if filters.get("mine") == "1":
        query = query.where(Case.assignee_id == user.id)
    if filters.get("overdue") == "1":
        query = query.where(Case.status != "avslutad", Case.due_on < today)
    return query.order_by(Case.due_on.is_(None), Case.due_on, Case.id)


def counts(today: dt.date) -> dict[str, int]:
    """Count open, new, overdue and spam cases for the top of the inbox."""
    open_ = (Case.status != "avslutad") & Case.spam.is_(False)
    row = db.session.execute(
        select(
            func.count().filter(open_),
            func.count().filter(open_ & (Case.status == "ny")),
            func.count().filter(open_ & (Case.due_on < today)),
            func.count().filter(Case.spam.is_(True)),
        ).select_from(Case)
    ).one()
    return dict(zip(("open", "new", "overdue", "spam"), row, strict=True))


def purge(now: dt.datetime, retention_days: int) -> tuple[int, int]:
    """Remove personal data from cases closed long enough ago; delete old spam."""
    cutoff = now - dt.timedelta(days=retention_days)
    closed = list(
        db.session.scalars(
            select(Case).where(
                Case.status == "avslutad", Case.closed_at < cutoff, Case.purged_at.is_(None)
            )
        )
    )
    for case in closed:
        case.name = case.email = case.phone = case.address = None
        case.answers = {k: v for k, v in case.answers.items() if k in {"format", "delivery"}}
        case.purged_at = now
    ids = [case.id for case in closed]
    mailed: list[int] = []
    if ids:
        db.session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(ids)).values(detail=None))
        mailed = list(
            db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.case_id.in_(ids)))
        )
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.case_id.in_(ids))
            .values(body="", subject="", recipients=[], reply_to=None)
        )
    # A receipt not shown in time still holds a status secret: drop it, and any of spam cases.
    db.session.execute(delete(Receipt).where(Receipt.created_at < now - RECEIPT_VALID))
    spam_cutoff = now - dt.timedelta(days=SPAM_KEEP_DAYS)
    old_spam = list(
        db.session.scalars(select(Case).where(Case.spam.is_(True), Case.created_at < spam_cutoff))
    )
    for case in old_spam:
        mailed.extend(message.id for message in case.messages)  # marked spam after mailing
        for child in (*case.messages, *case.events, *case.receipts):
            db.session.delete(child)
        db.session.delete(case)
    db.session.add(AuditEntry(action="purge", target=f"{len(closed)}+{len(old_spam)}"))
    db.session.commit()
    forget_copies(mailed)  # after the commit: a file is only removed once the row is blank
    return len(closed), len(old_spam)


EXPORT_FIELDS = (
    "reference", "kind", "locale", "page", "status", "spam", "created_at", "due_on",
    "first_reply_at", "closed_at", "purged_at", "assignee", "name", "email", "phone",
    "address", "answers",
)  # fmt: skip


def export_rows() -> list[dict[str, Any]]:
    """Return one row per case; purged data is simply gone."""
    rows = []
    for case in db.session.scalars(select(Case).order_by(Case.id)):
        rows.append(
            {
                "reference": case.reference,
                "kind": case.kind,
                "locale": case.locale,
                "page": case.page,
                "status": case.status,
                "spam": case.spam,
                "created_at": case.created_at.isoformat(),
                "due_on": case.due_on.isoformat() if case.due_on else None,
                "first_reply_at": case.first_reply_at.isoformat() if case.first_reply_at else None,
                "closed_at": case.closed_at.isoformat() if case.closed_at else None,
                "purged_at": case.purged_at.isoformat() if case.purged_at else None,
                "assignee": case.assignee.email if case.assignee else None,
                "name": case.name,
                "email": case.email,
                "phone": case.phone,
                "address": case.address,
                "answers": case.answers,
            }
        )
    return rows


def statistics(today: dt.date) -> dict[str, Any]:
    """Figures a municipality reports to DIGG: per month and kind, reply times, on-time share."""
    rows = db.session.execute(
        select(Case.created_at, Case.kind, Case.first_reply_at, Case.closed_at, Case.due_on).where(
            Case.spam.is_(False)
        )
    ).all()
    per_month: Counter[tuple[str, str]] = Counter()
    reply_days: list[int] = []
    on_time = answered = 0
    for created, kind, first_reply, closed, due in rows:
        # Months and days are Stockholm's: a case sent at 00:30 on 1 May counts in May.
        per_month[(local_time(created).strftime("%Y-%m"), kind)] += 1
        answered_at = first_reply or closed
        if answered_at is not None:
            answered += 1
            answered_on = local_date(answered_at)
            reply_days.append(working_days_between(local_date(created), answered_on))
            on_time += due is None or answered_on <= due
    months = sorted({month for month, _ in per_month}, reverse=True)
    return {
        "months": [
            {"month": m, "report": per_month[(m, "report")], "format": per_month[(m, "format")]}
            for m in months
        ],
        "median_reply_days": stats.median(reply_days) if reply_days else None,
        "on_time_share": round(100 * on_time / answered) if answered else None,
        "answered": answered,
        "counts": counts(today),
    }


def handlers() -> list[StaffUser]:
    """Return the active accounts cases can be assigned to."""
    query = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
    return list(db.session.scalars(query))
