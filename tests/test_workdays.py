"""Due dates in working days: weekends and Swedish public holidays (and the de facto ones)."""

from __future__ import annotations

import datetime as dt

import pytest

from gvisite.workdays import (
    add_working_days,
    is_working_day,
    local_date,
    local_time,
    utcnow,
    working_days_between,
)
from tests.conftest import Clock
from tests.fixtures_forms import send_case
from tests.fixtures_staff import StaffSite, load_case

D = dt.date
T = dt.datetime

# (received, working days promised, due date), worked out by hand from a calendar.
DUE_DATES = [
    (D(2026, 11, 23), 5, D(2026, 11, 30)),  # Monday: over one weekend
    (D(2026, 11, 20), 5, D(2026, 11, 27)),  # Friday: the weekend comes first
    (D(2026, 11, 28), 1, D(2026, 11, 30)),  # received on a Saturday
    (D(2026, 11, 29), 5, D(2026, 12, 4)),  # received on a Sunday
    (D(2026, 11, 25), 0, D(2026, 11, 25)),  # nothing to add
    (D(2026, 6, 18), 1, D(2026, 6, 22)),  # midsommarafton (Fri 19 June), then the weekend
    (D(2026, 6, 17), 5, D(2026, 6, 25)),  # over midsommarafton
    (D(2027, 6, 24), 1, D(2027, 6, 28)),  # midsommarafton 2027 (Fri 25 June)
    (D(2026, 12, 23), 1, D(2026, 12, 28)),  # julafton, juldagen, then annandag on a Saturday
    (D(2026, 12, 22), 5, D(2027, 1, 4)),  # Christmas, nyårsafton, nyårsdagen, into a new year
    (D(2027, 1, 5), 1, D(2027, 1, 7)),  # trettondedag jul (Wed 6 January)
    (D(2026, 4, 2), 1, D(2026, 4, 7)),  # skärtorsdag: långfredag and annandag påsk are off
    (D(2026, 4, 1), 5, D(2026, 4, 10)),  # over Easter
    (D(2026, 4, 30), 1, D(2026, 5, 4)),  # första maj (a Friday)
    (D(2026, 5, 13), 1, D(2026, 5, 15)),  # Kristi himmelsfärd (Thu 14 May)
    (D(2026, 5, 22), 1, D(2026, 5, 25)),  # annandag pingst has been a working day since 2005
    (D(2025, 6, 5), 1, D(2025, 6, 9)),  # nationaldagen on a Friday (6 June 2025)
]


@pytest.mark.parametrize(("received", "days", "due"), DUE_DATES, ids=[str(r[0]) for r in DUE_DATES])
def test_due_date_in_working_days(received: dt.date, days: int, due: dt.date) -> None:
    assert add_working_days(received, days) == due
    assert is_working_day(due) or days == 0


@pytest.mark.parametrize(("received", "days", "due"), DUE_DATES, ids=[str(r[0]) for r in DUE_DATES])
def test_working_days_between_counts_back(received: dt.date, days: int, due: dt.date) -> None:
    assert working_days_between(received, due) == days


DAYS_OFF = [
    D(2026, 11, 28),  # Saturday
    D(2026, 11, 29),  # Sunday
    D(2026, 1, 1),  # nyårsdagen
    D(2026, 1, 6),  # trettondedag jul
    D(2026, 4, 3),  # långfredagen
    D(2026, 4, 6),  # annandag påsk
    D(2026, 5, 1),  # första maj
    D(2026, 5, 14),  # Kristi himmelsfärds dag
    D(2026, 6, 19),  # midsommarafton
    D(2026, 12, 24),  # julafton
    D(2026, 12, 25),  # juldagen
    D(2026, 12, 31),  # nyårsafton
    D(2025, 6, 6),  # nationaldagen
]
WORKING_DAYS = [
    D(2026, 11, 25),  # an ordinary Wednesday
    D(2026, 4, 2),  # skärtorsdagen
    D(2026, 4, 30),  # valborgsmässoafton
    D(2026, 5, 25),  # annandag pingst
    D(2026, 12, 23),  # the day before julafton
    D(2026, 6, 18),  # the day before midsommarafton
]


@pytest.mark.parametrize("day", DAYS_OFF, ids=str)
def test_days_off(day: dt.date) -> None:
    assert not is_working_day(day)


@pytest.mark.parametrize("day", WORKING_DAYS, ids=str)
def test_working_days(day: dt.date) -> None:
    assert is_working_day(day)


def test_working_days_between_is_zero_backwards() -> None:
    assert working_days_between(D(2026, 11, 30), D(2026, 11, 23)) == 0
    assert working_days_between(D(2026, 11, 23), D(2026, 11, 23)) == 0


# (stored naive UTC time, Stockholm's wall clock then, its UTC offset in hours, zone name)
STOCKHOLM_TIMES = [
    (T(2026, 12, 1, 22, 30), T(2026, 12, 1, 23, 30), 1, "CET"),  # winter, before midnight
    (T(2026, 12, 1, 23, 30), T(2026, 12, 2, 0, 30), 1, "CET"),  # after midnight: the next day
    (T(2026, 6, 30, 21, 30), T(2026, 6, 30, 23, 30), 2, "CEST"),  # summer, before midnight
    (T(2026, 6, 30, 22, 30), T(2026, 7, 1, 0, 30), 2, "CEST"),  # summer, the next day
    (T(2026, 3, 29, 0, 59), T(2026, 3, 29, 1, 59), 1, "CET"),  # the last minute of winter time
    (T(2026, 3, 29, 1, 0), T(2026, 3, 29, 3, 0), 2, "CEST"),  # clocks jump from 02:00 to 03:00
    (T(2026, 10, 25, 0, 30), T(2026, 10, 25, 2, 30), 2, "CEST"),  # 02:30 summer time...
    (T(2026, 10, 25, 1, 30), T(2026, 10, 25, 2, 30), 1, "CET"),  # ...and 02:30 again in winter
]


@pytest.mark.parametrize(
    ("utc", "wall", "offset", "zone"), STOCKHOLM_TIMES, ids=[str(t[0]) for t in STOCKHOLM_TIMES]
)
def test_stored_times_are_read_in_stockholm(
    utc: dt.datetime, wall: dt.datetime, offset: int, zone: str
) -> None:
    local = local_time(utc)
    assert local.replace(tzinfo=None) == wall
    assert local.utcoffset() == dt.timedelta(hours=offset)
    assert local.tzname() == zone
    assert local_date(utc) == wall.date()


# (the clock in UTC when a resident sends the form, the day it is received in Stockholm)
RECEIVED = [
    (T(2026, 12, 1, 22, 30), D(2026, 12, 1)),  # 23:30 on Tuesday 1 December
    (T(2026, 12, 1, 23, 30), D(2026, 12, 2)),  # 00:30 on Wednesday 2 December
    (T(2026, 6, 4, 21, 30), D(2026, 6, 4)),  # 23:30 summer time on Thursday 4 June
    (T(2026, 6, 4, 22, 30), D(2026, 6, 5)),  # 00:30 summer time on Friday 5 June
]


@pytest.mark.parametrize(("now", "received"), RECEIVED, ids=[str(r[0]) for r in RECEIVED])
def test_a_submission_is_due_counted_from_the_stockholm_date(
    staff_site: StaffSite, clock: Clock, now: dt.datetime, received: dt.date
) -> None:
    """A submission through the form gets its due date from the statement's target."""
    clock.now = now  # the moment store_case stamps the case with
    reference = send_case(staff_site.app.test_client(), "sv", "report")
    case = load_case(staff_site.app, reference)
    target = staff_site.app.extensions["gvisite.statement"].response_target_days
    assert case.created_at == now
    assert case.due_on == add_working_days(received, target)
    assert working_days_between(received, case.due_on) == target


def test_the_suite_runs_on_its_own_clock(pytestconfig: pytest.Config) -> None:
    # Every test sees the day given by --clock, not the machine's: a weekend cannot fail the suite.
    wanted = dt.datetime.fromisoformat(pytestconfig.getoption("--clock"))
    shown = local_time(utcnow()).replace(tzinfo=None)
    assert dt.timedelta(0) <= shown - wanted < dt.timedelta(hours=2)
