"""How fast cases are answered: the figures the statement, open data and the staff area show.

One set of rules for every place that shows them, so they always agree:
- a case counts in the period it was received in (Stockholm's day); spam never counts;
- its first answer is the first reply, or an answer recorded as given by phone or letter
  (`first_reply_at`); closing a case is not answering it;
- a withdrawn case counts as received, but never as answered, and is never judged on time;
- a case is judged against its own due date (the promise made when it arrived) once it was
  answered, or once its due date passed without an answer (then it was late);
- days are working days in Stockholm with Swedish holidays (workdays.py, as the due dates).

The figures themselves are computed from plain values (`CaseDays`, `ProblemDays`), so they can
be tested with hand-built cases and hand-worked answers; `read_cases()` and `read_problems()`
turn the database's rows into them.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Executable, select

from .extensions import db
from .models import WITHDRAWN, Case, CaseEvent, PublishedProblem
from .workdays import local_date, working_days_between

KINDS = ("report", "format")
# Counts below this are published as "fewer than 5": a smaller count could point at a person.
SMALLEST_SHOWN = 5


@dataclass(frozen=True)
class CaseDays:
    """The days in a case's life the figures need, and nothing about who sent it."""

    kind: str
    received: dt.date
    due: dt.date | None
    answered: dt.date | None = None
    withdrawn: bool = False


@dataclass(frozen=True)
class ProblemDays:
    """When a problem was published to the statement, and when it was fixed."""

    published: dt.date
    fixed: dt.date | None = None


@dataclass(frozen=True)
class HandlingFigures:
    """The figures for one period; small counts are kept here and hidden where shown."""

    start: dt.date
    end: dt.date
    received: dict[str, int] = field(default_factory=dict)  # by kind
    answered: int = 0
    median_days: float | None = None  # working days to the first answer
    p90_days: int | None = None
    judged: int = 0  # answered, or past due without an answer
    within_target: int = 0
    problems_published: int = 0
    problems_fixed: int = 0
    median_fix_days: float | None = None  # working days from published to fixed
    smallest: int = SMALLEST_SHOWN

    @property
    def total(self) -> int:
        """Return every case received in the period."""
        return sum(self.received.values())

    @property
    def share_within_target(self) -> int | None:
        """Return the percentage answered within the target, of those judged (None: too few)."""
        if self.judged == 0 or self.judged < self.smallest:
            return None
        return round(100 * self.within_target / self.judged)

    def shown_median(self) -> float | None:
        """Return the median, or None when too few answers make it one person's figure."""
        return self.median_days if self.answered >= self.smallest else None

    def shown_p90(self) -> int | None:
        """Return the 90th percentile, or None when too few answers."""
        return self.p90_days if self.answered >= self.smallest else None

    def shown_fix_days(self) -> float | None:
        """Return the median days to a fix, or None when too few fixes."""
        return self.median_fix_days if self.problems_fixed >= self.smallest else None


def shown(count: int, smallest: int = SMALLEST_SHOWN) -> int | None:
    """Return a count as published: None from 1 to smallest - 1 ("fewer than 5")."""
    # A zero points at no one, and says more than "fewer than 5".
    return None if 0 < count < smallest else count


def nearest_rank(values: Sequence[int], percent: int) -> int:
    """Return the nearest-rank percentile: the smallest value at least `percent` % reach."""
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def handling_figures(
    cases: Iterable[CaseDays],
    problems: Iterable[ProblemDays],
    start: dt.date,
    end: dt.date,
    today: dt.date,
    smallest: int = SMALLEST_SHOWN,
) -> HandlingFigures:
    """Compute the figures for cases received and problems published from `start` to `end`."""
    received: Counter[str] = Counter()
    days: list[int] = []
    judged = within = 0
    for case in cases:
        if not start <= case.received <= end:
            continue
        received[case.kind] += 1
        if case.withdrawn:
            continue  # withdrawn: never answered, and no promise left to keep
        answered = case.answered if case.answered and case.answered <= today else None
        if answered is not None:
            days.append(working_days_between(case.received, answered))
            judged += 1
            within += case.due is None or answered <= case.due
        elif case.due is not None and case.due < today:
            judged += 1  # its due date passed without an answer: late, whenever it comes
    published = 0
    fixes: list[int] = []
    for problem in problems:
        if start <= problem.published <= end:
            published += 1
        if problem.fixed is not None and start <= problem.fixed <= end and problem.fixed <= today:
            fixes.append(working_days_between(problem.published, problem.fixed))
    return HandlingFigures(
        start=start,
        end=end,
        received={kind: received[kind] for kind in KINDS},
        answered=len(days),
        median_days=statistics.median(days) if days else None,
        p90_days=nearest_rank(days, 90) if days else None,
        judged=judged,
        within_target=within,
        problems_published=published,
        problems_fixed=len(fixes),
        median_fix_days=statistics.median(fixes) if fixes else None,
        smallest=smallest,
    )


def _execute(query: Executable, connection: Connection | None) -> list[Any]:
    """Return a query's rows, read in the app's session or on a connection of its own."""
    # A connection of its own: the session's transaction may have just ended (after_commit).
    # All at once: iterating a result fetches row by row, which took half the time here.
    return list((connection or db.session).execute(query).all())


def read_cases(
    start: dt.date | None = None, connection: Connection | None = None
) -> list[CaseDays]:
    """Read every case that is not spam (received on or after `start`) as plain days."""
    withdrawn = select(CaseEvent.case_id).where(CaseEvent.action == WITHDRAWN)
    query = select(
        Case.kind, Case.created_at, Case.due_on, Case.first_reply_at, Case.id.in_(withdrawn)
    ).where(Case.spam.is_(False))
    if start is not None:
        # A day's cases in Stockholm begin at most two hours before its UTC midnight.
        query = query.where(
            Case.created_at >= dt.datetime.combine(start, dt.time()) - dt.timedelta(hours=2)
        )
    return [
        CaseDays(
            kind=kind,
            received=local_date(created),
            due=due,
            answered=local_date(reply) if reply is not None else None,
            withdrawn=bool(was_withdrawn),
        )
        for kind, created, due, reply, was_withdrawn in _execute(query, connection)
    ]


def read_problems(connection: Connection | None = None) -> list[ProblemDays]:
    """Read every problem staff published to the statement as plain days."""
    query = select(PublishedProblem.published_at, PublishedProblem.resolved_at)
    rows = _execute(query, connection)
    return [
        ProblemDays(local_date(published), local_date(fixed) if fixed else None)
        for published, fixed in rows
    ]


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """Return the first day of every month from `first`'s month to `last`'s, oldest first."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def last_12_months_start(today: dt.date) -> dt.date:
    """Return the first day of the month 11 months before today's (12 months with this one)."""
    # From the first of the month: a year before 29 February is no day.
    return month_starts(today.replace(year=today.year - 1, day=1), today)[1]


def month_end(month: dt.date) -> dt.date:
    """Return the last day of a month."""
    return (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def by_month(
    cases: Sequence[CaseDays],
    problems: Sequence[ProblemDays],
    first: dt.date,
    last: dt.date,
    today: dt.date,
    smallest: int = SMALLEST_SHOWN,
) -> list[HandlingFigures]:
    """Return the figures of every month from `first` to `last`, oldest first (cut to them)."""
    # Each month looks only at its own cases: years of cases stay one pass, not one per month.
    received: dict[dt.date, list[CaseDays]] = {}
    for case in cases:
        received.setdefault(case.received.replace(day=1), []).append(case)
    return [
        handling_figures(
            received.get(month, []),
            problems,
            max(month, first),
            min(month_end(month), last),
            today,
            smallest,
        )
        for month in month_starts(first, last)
    ]
