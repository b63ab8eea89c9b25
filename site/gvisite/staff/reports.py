"""What staff read about cases in bulk: the inbox, its counts, the statistics and the export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from ..cases import REFERENCE_LENGTH
from ..extensions import db
from ..forms import CONTROL
from ..handling_figures import by_month, handling_figures, read_cases, read_problems
from ..models import Case, StaffUser, Status, utcnow

# Swedish Excel opens the CSV by double-click with these, as it does the public open data.
from ..open_data import CSV_BOM, CSV_DELIMITER
from ..progress import Track, unchanged
from ..workdays import local_date, local_time

PAGE_SIZE = 50
EVERY_STATUS = "alla"  # the inbox's status filter that shows closed cases too
SEARCH_MAX = 320  # the longest e-mail address: nothing longer can match


def today() -> dt.date:
    """Return today's date in Stockholm, the day due dates and "overdue" are counted in."""
    return local_date(utcnow())


def search_term(text: str | None) -> str:
    """Return a search as the inbox uses it: trimmed, one line, bounded (or "" for none)."""
    return " ".join(CONTROL.sub(" ", text or "").split())[:SEARCH_MAX]


def _matching(term: str) -> ColumnElement[bool]:
    """Match a reference from its start (or its code alone), or a name or address anywhere."""
    upper, lower = term.upper(), term.lower()
    found = [
        Case.reference.startswith(upper, autoescape=True),
        func.lower(Case.name).contains(lower, autoescape=True),
        func.lower(Case.email).contains(lower, autoescape=True),
    ]
    if len(upper) == REFERENCE_LENGTH:  # the code a caller reads out, without kind and year
        found.append(Case.reference.endswith("-" + upper, autoescape=True))
    return or_(*found)


def inbox_query(filters: dict[str, str], user: StaffUser, today: dt.date) -> Select[Any]:
    """Build the inbox's query from its filters; sorted by due date, then oldest received first.

    A search (`q`) looks through closed cases too unless a status is chosen: a caller may
    ring about a case that was closed.
    """
    query = select(Case).where(Case.spam.is_(filters.get("spam") == "1"))
    term = search_term(filters.get("q"))
    if term:
        query = query.where(_matching(term))
    if filters.get("kind") in {"report", "format"}:
        query = query.where(Case.kind == filters["kind"])
    if filters.get("status") in Status.ALL:
        query = query.where(Case.status == filters["status"])
    elif filters.get("status") != EVERY_STATUS and not term:
        query = query.where(Case.status != Status.CLOSED)
    if filters.get("mine") == "1":
        query = query.where(Case.assignee_id == user.id)
    if filters.get("overdue") == "1":
        query = query.where(Case.status != Status.CLOSED, Case.due_on < today)
    # Cases due the same day (a weekend makes many) come in the order they arrived, as in a queue.
    return query.order_by(Case.due_on.is_(None), Case.due_on, Case.created_at, Case.id)


def counts(today: dt.date) -> dict[str, int]:
    """Count open, new, overdue and spam cases for the top of the inbox."""
    open_ = (Case.status != Status.CLOSED) & Case.spam.is_(False)
    row = db.session.execute(
        select(
            func.count().filter(open_),
            func.count().filter(open_ & (Case.status == Status.NEW)),
            func.count().filter(open_ & (Case.due_on < today)),
            func.count().filter(Case.spam.is_(True)),
        ).select_from(Case)
    ).one()
    return dict(zip(("open", "new", "overdue", "spam"), row, strict=True))


def statistics(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """Return a period's handling figures, each of its months, and the inbox's counts now."""
    # Only the period's cases: a year's page need not read every case since the site began.
    cases, problems = read_cases(start), read_problems()
    # Staff see every count: the rule against small counts protects residents in public.
    return {
        "period": handling_figures(cases, problems, start, end, today, smallest=1),
        "months": by_month(cases, problems, start, end, today, smallest=1),
        "counts": counts(today),
    }


def first_case_day() -> dt.date | None:
    """Return the Stockholm day the first case that is not spam arrived, if any."""
    first = db.session.scalar(select(func.min(Case.created_at)).where(Case.spam.is_(False)))
    return local_date(first) if first is not None else None


EXPORT_FIELDS = (
    "reference", "kind", "locale", "page", "status", "spam", "created_at", "due_on",
    "first_reply_at", "closed_at", "purged_at", "assignee", "name", "email", "phone",
    "address", "answers",
)  # fmt: skip


def _local_iso(utc: dt.datetime | None) -> str | None:
    """Return a stored (naive UTC) time as Stockholm's ISO 8601 time with its offset, or None."""
    # Seconds are enough for a person and keep every row the same width (isoformat drops
    # microseconds only when they are 0); the offset keeps the hour unambiguous across DST.
    return local_time(utc).isoformat(timespec="seconds") if utc is not None else None


def export_rows(track: Track = unchanged) -> list[dict[str, Any]]:
    """Return one row per case; purged data is simply gone."""
    rows = []
    cases = db.session.scalars(select(Case).order_by(Case.id)).all()
    for case in track(cases, "Exporting the cases"):
        rows.append(
            {
                "reference": case.reference,
                "kind": case.kind,
                "locale": case.locale,
                "page": case.page,
                "status": case.status,
                "spam": case.spam,
                "created_at": _local_iso(case.created_at),
                "due_on": case.due_on.isoformat() if case.due_on else None,
                "first_reply_at": _local_iso(case.first_reply_at),
                "closed_at": _local_iso(case.closed_at),
                "purged_at": _local_iso(case.purged_at),
                "assignee": case.assignee.email if case.assignee else None,
                "name": case.name,
                "email": case.email,
                "phone": case.phone,
                "address": case.address,
                "answers": case.answers,
            }
        )
    return rows


def render_export(fmt: str, rows: list[dict[str, Any]]) -> str:
    """Write the export rows as JSON text, or as CSV text for Swedish Excel (BOM first)."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)  # JSON takes no BOM (RFC 8259)
    out = io.StringIO()
    out.write(CSV_BOM)
    # A value holding a semicolon is quoted, so it cannot spill into the next column.
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, delimiter=CSV_DELIMITER)
    writer.writeheader()
    for row in rows:
        row = {**row, "answers": json.dumps(row["answers"], ensure_ascii=False)}
        writer.writerow({key: _spreadsheet_safe(value) for key, value in row.items()})
    return out.getvalue()


def _spreadsheet_safe(value: Any) -> Any:
    """Keep a resident's text from running as a spreadsheet formula (=, +, -, @)."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value
