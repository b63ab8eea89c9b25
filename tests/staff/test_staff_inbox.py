"""The inbox: filters, counts, order by due date, overdue cases, and hostile text shown as text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup, Tag
from flask.testing import FlaskClient

from gvisite.models import utcnow
from tests.fixtures_forms import send_case
from tests.fixtures_staff import HOSTILE, StaffSite, add_account, post_action, today
from tests.helpers import parse, translate


@dataclass
class Row:
    """One case as the inbox lists it."""

    reference: str
    kind: str
    page: str
    received: str
    due: str
    status: str
    assignee: str
    cells: list[Tag]


def inbox(client: FlaskClient, query: str = "") -> BeautifulSoup:
    """GET the inbox and parse it."""
    response = client.get(f"/staff/{query}")
    assert response.status_code == 200
    return parse(response.data)


def rows(soup: BeautifulSoup) -> list[Row]:
    """Return the inbox table's rows."""
    found = []
    for tr in soup.select("table.cases tbody tr"):
        cells = tr.find_all(["th", "td"], recursive=False)
        texts = [" ".join(cell.get_text().split()) for cell in cells]
        found.append(Row(*texts, cells=cells))
    return found


def days_ago(days: int) -> dt.datetime:
    """Return a moment some days back."""
    return utcnow() - dt.timedelta(days=days)


@pytest.fixture
def cases(staff_site: StaffSite) -> dict[str, str]:
    """Six cases that differ in kind, status, assignee, due date and spam; name -> reference."""
    mine, colleague = staff_site.ids["handler"], staff_site.ids["colleague"]
    made = {
        "new": staff_site.case("report"),
        "late-format-mine": staff_site.case(
            "format", status="pagaende", assignee_id=mine, created_at=days_ago(30)
        ),
        "late-waiting": staff_site.case(
            "report", status="vantar", assignee_id=colleague, created_at=days_ago(20)
        ),
        "closed": staff_site.case(
            "report",
            status="avslutad",
            assignee_id=mine,
            created_at=days_ago(40),
            closed_at=days_ago(35),
        ),
        "spam": staff_site.case("format", spam=True),
        "new-mine": staff_site.case("report", assignee_id=mine, created_at=days_ago(2)),
    }
    return {name: case.reference for name, case in made.items()}


FILTERS = [
    # (query, the cases listed, earliest due first)
    ("", ["late-format-mine", "late-waiting", "new-mine", "new"]),
    ("?kind=report", ["late-waiting", "new-mine", "new"]),
    ("?kind=format", ["late-format-mine"]),
    ("?status=ny", ["new-mine", "new"]),
    ("?status=pagaende", ["late-format-mine"]),
    ("?status=vantar", ["late-waiting"]),
    ("?status=avslutad", ["closed"]),
    ("?status=alla", ["closed", "late-format-mine", "late-waiting", "new-mine", "new"]),
    ("?mine=1", ["late-format-mine", "new-mine"]),
    ("?overdue=1", ["late-format-mine", "late-waiting"]),
    ("?spam=1", ["spam"]),
    ("?kind=report&mine=1", ["new-mine"]),
    ("?overdue=1&mine=1", ["late-format-mine"]),
    ("?overdue=1&status=avslutad", []),
    ("?spam=1&kind=report", []),
    ("?kind=nonsense&status=nonsense", ["late-format-mine", "late-waiting", "new-mine", "new"]),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[q or "default" for q, _ in FILTERS])
def test_inbox_filters(
    handler_client: FlaskClient, cases: dict[str, str], query: str, expected: list[str]
) -> None:
    soup = inbox(handler_client, query)
    assert [row.reference for row in rows(soup)] == [cases[name] for name in expected]


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ("?kind=format", "select#kind option[selected]", "format"),
        ("?status=vantar", "select#status option[selected]", "vantar"),
        ("?mine=1", "input#mine[checked]", "1"),
        ("?overdue=1", "input#overdue[checked]", "1"),
        ("?spam=1", "input#spam[checked]", "1"),
    ],
)
def test_inbox_form_keeps_the_filter(
    handler_client: FlaskClient, cases: dict[str, str], query: str, field: str, value: str
) -> None:
    chosen = inbox(handler_client, query).select_one(f"form.filters {field}")
    assert chosen is not None and chosen["value"] == value


def test_mine_is_per_account(staff_site: StaffSite, cases: dict[str, str]) -> None:
    colleague = staff_site.client("colleague")
    assert [row.reference for row in rows(inbox(colleague, "?mine=1"))] == [cases["late-waiting"]]
    assert rows(inbox(staff_site.client("admin"), "?mine=1")) == []


def test_counts_at_the_top(
    staff_site: StaffSite, handler_client: FlaskClient, cases: dict[str, str]
) -> None:
    soup = inbox(handler_client)
    counts = {
        " ".join(li.get_text(" ").split()[1:]): int(li.strong.get_text())
        for li in soup.select("ul.counts li")
    }
    expected = {"open": 4, "new": 2, "overdue": 2, "spam": 1}
    assert counts == {translate(staff_site.app, "sv", k): v for k, v in expected.items()}


def test_inbox_rows_and_overdue_in_words(
    staff_site: StaffSite, handler_client: FlaskClient, cases: dict[str, str]
) -> None:
    overdue = translate(staff_site.app, "sv", "Overdue")
    listed = {row.reference: row for row in rows(inbox(handler_client))}
    late = listed[cases["late-format-mine"]]
    assert late.kind == translate(staff_site.app, "sv", "Format")
    assert late.page == "/sv/om-gvi"
    assert late.status == translate(staff_site.app, "sv", "In progress")
    assert late.assignee == "Hanna Handläggare"
    # Not by colour alone: the word is in the due-date cell, inside the row.
    assert late.due.endswith(overdue)
    assert late.cells[4].select_one(".tag-overdue").get_text(strip=True) == overdue
    assert listed[cases["late-waiting"]].due.endswith(overdue)
    for name in ("new", "new-mine"):
        assert overdue not in listed[cases[name]].due
        assert listed[cases[name]].assignee in {"–", "Hanna Handläggare"}
    # The reference is the row header and links to the case.
    link = late.cells[0].select_one("a")
    assert late.cells[0].name == "th" and late.cells[0]["scope"] == "row"
    assert link["href"] == f"/staff/cases/{late.reference}"


def test_sorted_by_due_date(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    for days in (3, 40, 0, 12, 25, 1):
        staff_site.case(created_at=days_ago(days))
    dues = [row.due.split()[0] for row in rows(inbox(handler_client))]
    assert dues == sorted(dues)
    assert len(dues) == 6


def test_cases_due_the_same_day_come_oldest_first(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    # Stored newest first, so the database's own order (by id) would show them the wrong way.
    due = today() + dt.timedelta(days=3)
    newest = staff_site.case(created_at=days_ago(0), due_on=due)
    middle = staff_site.case(created_at=days_ago(1), due_on=due)
    oldest = staff_site.case(created_at=days_ago(2), due_on=due)
    listed = [row.reference for row in rows(inbox(handler_client))]
    assert listed == [oldest.reference, middle.reference, newest.reference]


def test_pagination_keeps_the_filters(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    for number in range(55):
        staff_site.case("report", created_at=days_ago(number % 10))
    staff_site.case("format")
    first = inbox(handler_client, "?kind=report")
    assert len(rows(first)) == 50
    next_link = first.select_one("nav.pagination a")
    assert next_link is not None
    assert "kind=report" in next_link["href"] and "page=2" in next_link["href"]
    second = inbox(handler_client, next_link["href"].removeprefix("/staff/"))
    assert len(rows(second)) == 5
    listed = {row.reference for row in rows(first)} | {row.reference for row in rows(second)}
    assert len(listed) == 55


def test_empty_inbox_says_so(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    soup = inbox(handler_client)
    assert soup.select_one("table.cases") is None
    assert translate(staff_site.app, "sv", "No cases match the filter.") in soup.main.get_text()


# --- A resident's markup is text on every staff page -------------------------------------------


def assert_inert(soup: BeautifulSoup, where: str) -> None:
    """Fail if the page holds anything a resident could have injected."""
    for tag in soup.find_all(True):
        handlers = [name for name in tag.attrs if name.lower().startswith("on")]
        assert not handlers, f"{where}: event handler on <{tag.name}>"
    for script in soup.find_all("script"):
        assert script.get("src", "").startswith("/static/"), f"{where}: {script}"
        assert not script.get_text(strip=True), f"{where}: inline script {script}"
    assert soup.select("main img, main iframe, main object") == [], where


@pytest.fixture
def hostile_cases(staff_site: StaffSite) -> list[str]:
    """Cases whose every free-text answer is markup: one sent through the form, one stored."""
    resident = staff_site.app.test_client()
    sent = send_case(
        resident,
        "sv",
        "report",
        problem=HOSTILE,
        assistive_tech=HOSTILE,
        browser=HOSTILE,
        name=HOSTILE,
    )
    stored = staff_site.case(
        "format",
        name=HOSTILE,
        phone=HOSTILE,
        address=HOSTILE,
        email=None,
        page='/sv/om-gvi"><script>alert(2)</script>',
        answers={
            "format": HOSTILE,
            "format_other": HOSTILE,
            "language": HOSTILE,
            "delivery": HOSTILE,
            "message": HOSTILE,
        },
    )
    return [sent, stored.reference]


def test_hostile_text_is_shown_as_text(staff_site: StaffSite, hostile_cases: list[str]) -> None:
    # A member of staff with markup in the name, too: nothing on these pages is trusted.
    markup = add_account(staff_site.app, "markup@jarfalla.se", HOSTILE, role="admin")
    admin = staff_site.client("admin")
    for reference in hostile_cases:
        url = f"/staff/cases/{reference}"
        for action, data in [
            ("assign", {"assignee": str(markup)}),
            ("note", {"note": HOSTILE}),
            ("status", {"status": "vantar", "reason": HOSTILE}),
        ]:
            assert post_action(admin, f"{url}/{action}", data).status_code == 303, action
    reply = post_action(admin, f"/staff/cases/{hostile_cases[0]}/reply", {"reply": HOSTILE})
    assert reply.status_code == 303
    pages = [
        "/staff/",
        "/staff/?status=alla",
        "/staff/statistik",
        "/staff/logg",
        *(f"/staff/cases/{reference}" for reference in hostile_cases),
    ]
    for url in pages:
        response = admin.get(url)
        assert response.status_code == 200, url
        soup = parse(response.data)
        assert_inert(soup, url)
    for reference in hostile_cases:
        soup = parse(admin.get(f"/staff/cases/{reference}").data)
        # The markup is there, as text the handler can read.
        texts = [dd.get_text() for dd in soup.select("main dd")]
        assert HOSTILE in texts, reference
        assert any(HOSTILE in pre.get_text() for pre in soup.select("ol.history .pre"))
    inbox_soup = parse(admin.get("/staff/").data)
    assert '/sv/om-gvi"><script>alert(2)</script>' in [row.page for row in rows(inbox_soup)]
    assert HOSTILE in [row.assignee for row in rows(inbox_soup)]
