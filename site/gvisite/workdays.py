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
    # The statistics ask this for every case of several years: on all but two days a year one
    # offset holds for the whole UTC day, so adding it is enough (and four times as quick).
    offset = _whole_day_offset(utc.date())
    return (utc + offset).date() if offset is not None else local_time(utc).date()


@lru_cache(maxsize=4096)
def _whole_day_offset(day: dt.date) -> dt.timedelta | None:
    """Return Stockholm's offset from UTC for a whole UTC day, or None on a day it changes."""
    first, last = (
        dt.datetime.combine(day, moment, dt.UTC).astimezone(STOCKHOLM).utcoffset()
        for moment in (dt.time(), dt.time.max)
    )
    return first if first == last else None


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
    # The statistics count this for every case of several years: two look-ups, not a walk.
    return max(_working_days_up_to(end) - _working_days_up_to(start), 0)


_BASE_YEAR = 2000  # any year: only differences of the counts below are used


@lru_cache(maxsize=64)
def _year_counts(year: int) -> tuple[int, ...]:
    """Return, for each day of a year, how many working days the year has up to it."""
    counts, total, day = [], 0, dt.date(year, 1, 1)
    while day.year == year:
        total += is_working_day(day)
        counts.append(total)
        day += dt.timedelta(days=1)
    return tuple(counts)


@lru_cache(maxsize=64)
def _working_days_before(year: int) -> int:
    """Return the working days from 1 January of the base year to the year's start."""
    if year >= _BASE_YEAR:
        return sum(_year_counts(y)[-1] for y in range(_BASE_YEAR, year))
    return -sum(_year_counts(y)[-1] for y in range(year, _BASE_YEAR))


@lru_cache(maxsize=8192)
def _working_days_up_to(day: dt.date) -> int:
    """Return the working days from the base year's start up to and including `day`."""
    return _working_days_before(day.year) + _year_counts(day.year)[day.timetuple().tm_yday - 1]
