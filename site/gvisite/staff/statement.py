"""The statement's staff side: the yearly review the law asks for, shown in the inbox.

The public statement (statement.py) shows the facts; staff are reminded here when the facts
in `content/tillganglighet.yaml` are due for their review.
"""

from __future__ import annotations

import calendar
import datetime as dt

from ..statement import current_statement

# The yearly review the law asks for: staff are warned once the data is older than this.
REVIEW_WARNING_MONTHS = 11


def review_overdue(today: dt.date) -> dt.date | None:
    """Return the date of the last review if it is more than 11 months old, else None."""
    reviewed: dt.date = current_statement().data["updated_on"]
    return reviewed if today > add_months(reviewed, REVIEW_WARNING_MONTHS) else None


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the same day `months` later, or that month's last day if it is shorter."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
