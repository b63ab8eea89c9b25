"""Swedish time and working days: Stockholm's clock, weekends, public and de facto holidays."""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Times are stored as naive UTC; days (received, due, today, overdue) are Stockholm's days.
# ZoneInfo raises at import if the system has no time zone data (then install `tzdata`).
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Moves the site's clock (seconds, may be negative) without touching the machine's: the test
# suite runs every process on the same fixed day this way, and a rehearsal can try a weekend
# or a holiday. Read on every call, so a process sees it however early it imported this module.
CLOCK_SHIFT_VAR = "CLOCK_SHIFT_SECONDS"


def system_time() -> dt.datetime:
    """Return the machine's time in UTC, without tzinfo: the site's one reading of it."""
    # The seam tests stop the clock at: everything that asks "now" goes through utcnow().
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def utcnow() -> dt.datetime:
    """Return the site's current time in UTC, without tzinfo (stored as UTC everywhere)."""
    shift = float(os.environ.get(CLOCK_SHIFT_VAR) or 0)
    return system_time() + dt.timedelta(seconds=shift)


def local_time(utc: dt.datetime) -> dt.datetime:
    """Return a stored (naive UTC) time as Stockholm's time, CET or CEST as the day has it."""
    return utc.replace(tzinfo=dt.UTC).astimezone(STOCKHOLM)


def local_date(utc: dt.datetime) -> dt.date:
    """Return the Stockholm date of a stored (naive UTC) time."""
    return local_time(utc).date()


@lru_cache(maxsize=16)
def _holidays(year: int) -> holidays.HolidayBase:
    """Return Sweden's days off for a year from the maintained `holidays` package."""
    # "de_facto" adds midsommarafton, julafton and nyårsafton, which Swedish offices close on.
    return holidays.Sweden(years=year, categories=("public", "de_facto"), include_sundays=False)


def is_working_day(day: dt.date) -> bool:
    """Tell whether offices are open on a day."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """Return the date `days` working days after `start` (the start day itself not counted)."""
    day = start
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Count working days after `start` up to and including `end` (0 if end is not later)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count
