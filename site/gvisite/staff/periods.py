"""The periods staff can read statistics for: the last 12 months, a month, a quarter, a year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date
from flask_babel import gettext as _

from ..handling_figures import last_12_months_start, month_end, month_starts
from ..i18n import DEFAULT_LOCALE, long_date

LAST_12_MONTHS = "12m"


@dataclass(frozen=True)
class Period:
    """A period by its value in the address (`?period=`), its name, and its days."""

    value: str
    label: str
    start: dt.date
    end: dt.date


def last_12_months(today: dt.date) -> Period:
    """Return this month and the 11 before it, up to today (the page's default)."""
    return Period(LAST_12_MONTHS, _("The last 12 months"), last_12_months_start(today), today)


def month(start: dt.date) -> Period:
    """Return the month that begins on `start`."""
    # The staff area is in Swedish: "december 2026".
    label = format_date(start, "LLLL y", locale=DEFAULT_LOCALE)
    return Period(f"{start:%Y-%m}", label, start, month_end(start))


def quarter(year: int, number: int) -> Period:
    """Return a quarter of a year (1 to 4)."""
    start = dt.date(year, 3 * number - 2, 1)
    end = month_end(dt.date(year, 3 * number, 1))
    label = _("Quarter %(number)s %(year)s", number=number, year=year)
    return Period(f"{year}-q{number}", label, start, end)


def year(number: int) -> Period:
    """Return a calendar year."""
    return Period(str(number), str(number), dt.date(number, 1, 1), dt.date(number, 12, 31))


def choices(first: dt.date | None, today: dt.date) -> list[tuple[str, list[Period]]]:
    """Return the periods to choose from, newest first, grouped, since the first case arrived."""
    since = min(first or today, today).replace(day=1)
    months = [month(start) for start in reversed(month_starts(since, today))]
    quarters = [
        quarter(y, n)
        for y in range(today.year, since.year - 1, -1)
        for n in range(4, 0, -1)
        if dt.date(y, 3 * n - 2, 1) <= today and dt.date(y, 3 * n, 1) >= since.replace(day=1)
    ]
    years = [year(y) for y in range(today.year, since.year - 1, -1)]
    return [
        (_("Overview"), [last_12_months(today)]),
        (_("Months"), months),
        (_("Quarters"), quarters),
        (_("Years"), years),
    ]


def chosen(value: str | None, first: dt.date | None, today: dt.date) -> Period:
    """Return the period an address names, or the last 12 months for any other value."""
    for _group, periods in choices(first, today):
        for period in periods:
            if period.value == value:
                return period
    return last_12_months(today)


def between(start: dt.date, end: dt.date) -> Period:
    """Return the days from `start` to `end`, both included, as a period."""
    return Period(
        "", _("%(start)s to %(end)s", start=long_date(start), end=long_date(end)), start, end
    )
