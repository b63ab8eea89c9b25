"""Staff see Stockholm's clock: times, received and due days, overdue and statistics (#15)."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from gvisite.extensions import db
from gvisite.models import AuditEntry
from tests.conftest import Clock
from tests.fixtures_staff import StaffSite
from tests.helpers import parse, translate

T = dt.datetime
D = dt.date

# (stored naive UTC, what staff read, the <time datetime> with Stockholm's offset)
SHOWN = [
    (T(2026, 12, 1, 22, 30), "2026-12-01 23:30", "2026-12-01T23:30+01:00"),
    (T(2026, 12, 1, 23, 30), "2026-12-02 00:30", "2026-12-02T00:30+01:00"),
    (T(2026, 6, 30, 21, 30), "2026-06-30 23:30", "2026-06-30T23:30+02:00"),
    (T(2026, 6, 30, 22, 30), "2026-07-01 00:30", "2026-07-01T00:30+02:00"),
]


def get(client: FlaskClient, path: str) -> BeautifulSoup:
    """GET a staff page and parse it."""
    response = client.get(path)
    assert response.status_code == 200, path
    return parse(response.data)


def text(tag: object) -> str:
    """Return a tag's text with its white space collapsed, as it reads."""
    return " ".join(tag.get_text().split())  # type: ignore[attr-defined]


def fact(soup: BeautifulSoup, term: str) -> BeautifulSoup:
    """Return the `<dd>` after the `<dt>` with this text."""
    for dt_tag in soup.select("main dt"):
        if dt_tag.get_text(strip=True) == term:
            return dt_tag.find_next_sibling("dd")
    raise AssertionError(f"no <dt>{term}</dt>")


def inbox_cell(soup: BeautifulSoup, reference: str, column: int) -> BeautifulSoup:
    """Return the inbox cell of a case in a column (0 is the reference)."""
    for row in soup.select("table.cases tbody tr"):
        cells = row.find_all(["th", "td"], recursive=False)
        if cells[0].get_text(strip=True) == reference:
            return cells[column]
    raise AssertionError(f"{reference} is not in the inbox")


@pytest.mark.parametrize(("stored", "shown", "machine"), SHOWN, ids=[s[1] for s in SHOWN])
def test_case_page_shows_stockholm_time(
    staff_site: StaffSite,
    handler_client: FlaskClient,
    stored: dt.datetime,
    shown: str,
    machine: str,
) -> None:
    case = staff_site.case(created_at=stored)
    soup = get(handler_client, f"/staff/cases/{case.reference}")
    received = fact(soup, translate(staff_site.app, "sv", "Received"))
    assert text(received) == shown
    assert received.time["datetime"] == machine
    first = soup.select_one("ol.history > li")
    assert text(first).startswith(shown + " ")
    assert first.time["datetime"] == machine
    assert "UTC" not in soup.main.get_text()


@pytest.mark.parametrize(("stored", "shown", "machine"), SHOWN, ids=[s[1] for s in SHOWN])
def test_inbox_shows_the_stockholm_day_received(
    staff_site: StaffSite,
    handler_client: FlaskClient,
    stored: dt.datetime,
    shown: str,
    machine: str,
) -> None:
    case = staff_site.case(created_at=stored)
    cell = inbox_cell(get(handler_client, "/staff/?status=alla"), case.reference, 3)
    assert text(cell) == shown[:10]
    assert cell.time["datetime"] == machine[:10]


def test_audit_log_shows_stockholm_time_to_the_second(
    staff_site: StaffSite, admin_client: FlaskClient
) -> None:
    with staff_site.app.app_context():
        db.session.add(AuditEntry(at=T(2026, 10, 25, 1, 30, 5), action="export", target="csv"))
        db.session.commit()
    soup = get(admin_client, "/staff/logg")
    rows = [row.find_all("td") for row in soup.select("main table tbody tr")]
    exported = translate(staff_site.app, "sv", "downloaded every case")  # the action, in words
    export = next(cells for cells in rows if text(cells[2]) == exported)
    # 01:30 UTC on the night summer time ends is 02:30 CET, the second 02:30 of that night.
    assert text(export[0]) == "2026-10-25 02:30:05"
    assert export[0].time["datetime"] == "2026-10-25T02:30:05+01:00"
    headers = [text(th) for th in soup.select("main table thead th")]
    assert headers[0] == translate(staff_site.app, "sv", "Time")


# (the clock in UTC, whether a case due on Tuesday 1 December is overdue then)
MIDNIGHT = [
    (T(2026, 12, 1, 22, 30), False),  # 23:30 on 1 December in Stockholm: still due today
    (T(2026, 12, 1, 23, 30), True),  # 00:30 on 2 December in Stockholm: overdue
]


@pytest.mark.parametrize(("now", "late"), MIDNIGHT, ids=["23.30 Stockholm", "00.30 Stockholm"])
def test_overdue_turns_at_stockholm_midnight(
    staff_site: StaffSite,
    handler_client: FlaskClient,
    clock: Clock,
    now: dt.datetime,
    late: bool,
) -> None:
    case = staff_site.case(created_at=T(2026, 11, 24, 9, 0), due_on=D(2026, 12, 1))
    clock.now = now  # the day staff see "today" and overdue by
    app = staff_site.app
    soup = get(handler_client, "/staff/")
    assert bool(inbox_cell(soup, case.reference, 4).select(".tag-overdue")) is late
    counts = {
        " ".join(li.get_text().split()[1:]): li.strong.get_text()
        for li in soup.select(".counts li")
    }
    assert counts[translate(app, "sv", "overdue")] == ("1" if late else "0")
    only_overdue = get(handler_client, "/staff/?overdue=1")
    listed = [a.get_text(strip=True) for a in only_overdue.select("table.cases tbody th a")]
    assert listed == ([case.reference] if late else [])
    page = get(handler_client, f"/staff/cases/{case.reference}")
    assert bool(page.select("main .warning")) is late
    statistics = get(handler_client, "/staff/statistik")
    overdue_now = fact(statistics, translate(app, "sv", "Overdue now"))
    assert text(overdue_now) == ("1" if late else "0")


def test_statistics_count_stockholm_months_and_days(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    """A case sent at 00:30 on 1 May (summer time) and answered at 00:30 on 5 May."""
    staff_site.case(
        created_at=T(2026, 4, 30, 22, 30),
        first_reply_at=T(2026, 5, 4, 22, 30),
        due_on=D(2026, 5, 4),
        status="avslutad",
        closed_at=T(2026, 5, 4, 22, 30),
    )
    app = staff_site.app
    soup = get(handler_client, "/staff/statistik")
    months = {
        text(row.th): [text(td) for td in row.find_all("td")]
        for row in soup.select("main table#received tbody tr")
    }
    assert (months["2026-04"], months["2026-05"]) == (["0", "0"], ["1", "0"])
    # 1 May is a holiday: the working days after it up to 5 May are 4 and 5 May.
    median = fact(soup, translate(app, "sv", "Median time to first answer"))
    assert text(median) == translate(app, "sv", "%(days)s working days", days="2")
    # Answered on 5 May, after the due day: not within the target.
    on_time = fact(soup, translate(app, "sv", "Answered within the target"))
    assert text(on_time).startswith("0 %")


def test_time_filters_in_mail_text_and_on_resident_pages(staff_site: StaffSite) -> None:
    """Plain text in a mail template; `local_date` gives the Stockholm day for other pages."""
    app = staff_site.app
    with app.test_request_context("/sv/"):
        plain = app.jinja_env.overlay(autoescape=False)
        template = plain.from_string("Mottaget: {{ at|staff_time }}, {{ at|local_date|long_date }}")
        assert template.render(at=T(2026, 12, 1, 23, 30)) == (
            "Mottaget: 2026-12-02 00:30, 2 december 2026"
        )


def test_a_chosen_month_starts_at_midnight_in_stockholm(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    """Midnight on 1 May is 22:00 UTC the day before (summer time): on each side of it."""
    staff_site.case(created_at=T(2026, 4, 30, 21, 59))  # 23:59 on 30 April
    staff_site.case(created_at=T(2026, 4, 30, 22, 0))  # 00:00 on 1 May
    staff_site.case(created_at=T(2026, 5, 31, 21, 59))  # 23:59 on 31 May
    staff_site.case(created_at=T(2026, 5, 31, 22, 0))  # 00:00 on 1 June
    app = staff_site.app
    may = get(handler_client, "/staff/statistik?period=2026-05")
    assert text(fact(may, translate(app, "sv", "Reports received"))) == "2"
    april = get(handler_client, "/staff/statistik?period=2026-04")
    assert text(fact(april, translate(app, "sv", "Reports received"))) == "1"
