"""The statistics a municipality reports to DIGG, and the audit log."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from flask_babel import force_locale, format_decimal

from gvisite.extensions import db
from gvisite.models import WITHDRAWN, Case, CaseEvent, utcnow
from gvisite.workdays import CLOCK_SHIFT_VAR, system_time
from tests.fixtures_staff import ACCOUNTS, StaffSite, audit_rows, post_action
from tests.helpers import parse, translate

T = dt.datetime


def statistics(client: FlaskClient, query: str = "") -> BeautifulSoup:
    """GET the statistics page (with a query string) and parse it."""
    response = client.get("/staff/statistik" + query)
    assert response.status_code == 200
    return parse(response.data)


def figures(soup: BeautifulSoup) -> dict[str, str]:
    """Return the key figures as {term: value}."""
    return {
        dt_tag.get_text(strip=True): " ".join(dt_tag.find_next_sibling("dd").get_text().split())
        for dt_tag in soup.select("main dl dt")
    }


def month_table(soup: BeautifulSoup, table: str = "received") -> dict[str, list[str]]:
    """Return a per-month table as {month: [its cells]}."""
    return {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in soup.select(f"main table#{table} tbody tr")
    }


def withdraw(staff_site: StaffSite, case_id: int, at: dt.datetime) -> None:
    """Record that a case's resident withdrew it, as the status page does."""
    with staff_site.app.app_context():
        case = db.session.get(Case, case_id)
        db.session.add(CaseEvent(case=case, at=at, action=WITHDRAWN))
        db.session.commit()


def test_statistics_figures(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    """The suite's day is 9 December 2026: the page shows the 12 months up to it."""
    now = utcnow()
    # Answered after 2 working days, due on 8 September: on time.
    staff_site.case(
        created_at=T(2026, 9, 1, 9),
        first_reply_at=T(2026, 9, 3, 10),
        status="avslutad",
        closed_at=T(2026, 9, 4, 8),
    )
    # Answered after 8 working days, due on 22 September: late, and still open (overdue).
    staff_site.case(
        created_at=T(2026, 9, 15, 9), first_reply_at=T(2026, 9, 25, 14), status="pagaende"
    )
    # Closed without an answer the next working day: not answered, and late once due.
    staff_site.case(
        "format", created_at=T(2026, 10, 5, 9), status="avslutad", closed_at=T(2026, 10, 6, 9)
    )
    # Not answered, due on 27 October: overdue, late.
    staff_site.case("format", created_at=T(2026, 10, 20, 9))
    # Withdrawn by its resident the next day: received, never answered, never judged.
    withdrawn = staff_site.case(
        created_at=T(2026, 11, 2, 9), status="avslutad", closed_at=T(2026, 11, 3, 9)
    )
    withdraw(staff_site, withdrawn.id, T(2026, 11, 3, 9))
    # Received now: open, not overdue, not judged yet.
    staff_site.case(created_at=now)
    # Spam counts nowhere.
    staff_site.case(created_at=T(2026, 9, 10, 9), first_reply_at=T(2026, 9, 30, 9), spam=True)

    soup = statistics(handler_client)
    app = staff_site.app

    def words(message: str, **values: object) -> str:
        return translate(app, "sv", message, **values)

    assert soup.select_one("#period-heading").get_text() == words("The last 12 months")
    judged = words("%(within)s of %(judged)s", within=1, judged=4)
    assert figures(soup) == {
        words("Open now"): "3",
        words("Overdue now"): "2",
        words("Reports received"): "4",
        words("Format requests received"): "2",
        words("Answered"): "2",
        # 2 and 8 working days.
        words("Median time to first answer"): words("%(days)s working days", days=5),
        words("9 in 10 were answered within"): words("%(days)s working days", days=8),
        # Judged: the two answered, and the two unanswered past due. The withdrawn case is
        # not one of them (it once showed "100 %" after two replies and one withdrawal).
        words("Answered within the target"): f"25 % ({judged})",
        words("Problems published to the statement"): "0",
        words("Problems fixed"): "0",
        words("Median time from published to fixed"): "–",
    }
    months = month_table(soup)
    assert (min(months), max(months), len(months)) == ("2026-01", "2026-12", 12)
    assert {month: cells for month, cells in months.items() if cells != ["0", "0"]} == {
        "2026-09": ["2", "0"],
        "2026-10": ["0", "2"],
        "2026-11": ["1", "0"],
        "2026-12": ["1", "0"],
    }
    assert month_table(soup, "days")["2026-09"] == ["2", "5", "8"]
    assert month_table(soup, "target")["2026-09"] == ["50 %", "2"]
    assert month_table(soup, "target")["2026-11"] == ["–", "0"]
    digg = soup.select_one("textarea#digg").get_text()
    assert f"{words('Answered within the target')}: 1 / 4 (25 %)" in digg
    assert f"{words('Reports of accessibility problems received')}: 4" in digg


def test_a_chosen_period_and_days_typed_wrong(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    staff_site.case(created_at=T(2025, 11, 3, 9), first_reply_at=T(2025, 11, 4, 9))
    staff_site.case(created_at=T(2026, 9, 1, 9), first_reply_at=T(2026, 9, 2, 9))
    staff_site.case(created_at=T(2026, 10, 1, 9))
    app = staff_site.app

    def words(message: str, **values: object) -> str:
        return translate(app, "sv", message, **values)

    def received(query: str) -> str:
        return figures(statistics(handler_client, query))[words("Reports received")]

    # The list offers every month, quarter and year since the first case, newest first.
    options = [o["value"] for o in statistics(handler_client).select("select#period option")]
    assert options[:3] == ["12m", "2026-12", "2026-11"]
    assert {"2025-11", "2025-q4", "2026-q4", "2025", "2026"} <= set(options)
    assert "2025-10" not in options and "2025-q3" not in options
    assert received("?period=2026-09") == "1"
    assert received("?period=2026-q4") == "1"
    assert received("?period=2025") == "1"
    assert received("?period=12m") == "2"
    assert received("?period=1999-01") == "2"  # not offered: the default period instead
    soup = statistics(handler_client, "?start=2025-11-01&end=2026-09-30")
    assert received("?start=2025-11-01&end=2026-09-30") == "2"
    assert words("%(start)s to %(end)s", start="1 november 2025", end="30 september 2026") == (
        soup.select_one("#period-heading").get_text()
    )
    for query, field, message in [
        ("?start=2026-10-01&end=2026-09-01", "end",
         words("The last day must be the same as the first, or later.")),
        ("?start=2026-13-01&end=2026-12-31", "start",
         words("Write the date as YYYY-MM-DD, like 2026-03-31.")),
        ("?start=2026-10-01", "end", words("Write the last day too, or choose a period.")),
        ("?end=2026-10-01", "start",
         words("Write the first day too, or choose a period instead.")),
        # A handler's thousand years would be a 5 MB page of 12,000 months.
        ("?start=2000-01-01&end=2999-12-31", "end",
         words("Choose at most %(years)s years at a time.", years=10)),
    ]:  # fmt: skip
        soup = statistics(handler_client, query)
        assert soup.title.get_text().startswith(words("Error:")), query
        summary = soup.select_one(".error-summary a")
        assert summary["href"] == f"#{field}" and summary.get_text() == message, query
        # What was typed stays, to be put right; the figures shown are the default period's.
        for name, value in parse_qs(query[1:]).items():
            assert soup.select_one(f"input#{name}")["value"] == value[0], query
        assert figures(soup)[words("Reports received")] == "2", query


def test_statistics_without_cases(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    soup = statistics(handler_client)
    shown = figures(soup)
    assert shown[translate(staff_site.app, "sv", "Median time to first answer")] == "–"
    assert shown[translate(staff_site.app, "sv", "Answered within the target")] == "–"
    assert set(map(tuple, month_table(soup).values())) == {("0", "0")}
    assert len(month_table(soup)) == 12


def test_median_is_written_the_swedish_way(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    """Four answers after 1, 2, 3 and 8 working days: the median is 2,5 (a decimal comma)."""
    for start, reply in [
        (T(2026, 9, 1, 9), T(2026, 9, 2, 9)),
        (T(2026, 9, 1, 9), T(2026, 9, 3, 9)),
        (T(2026, 9, 1, 9), T(2026, 9, 4, 9)),
        (T(2026, 9, 15, 9), T(2026, 9, 25, 9)),
    ]:
        staff_site.case(created_at=start, first_reply_at=reply)
    app = staff_site.app
    with app.test_request_context("/staff/"), force_locale("sv"):
        two_and_a_half = format_decimal(2.5)
    shown = figures(statistics(handler_client))
    assert shown[translate(app, "sv", "Median time to first answer")] == translate(
        app, "sv", "%(days)s working days", days=two_and_a_half
    )


def test_export_links_only_for_admins(staff_site: StaffSite) -> None:
    def links(who: str) -> list[str]:
        return [a["href"] for a in statistics(staff_site.client(who)).select("main a[href]")]

    assert links("admin") == ["/staff/export.csv", "/staff/export.json"]
    assert links("handler") == []


# --- The audit log -----------------------------------------------------------------------------

RESIDENT = {"name": "Åsa Öberg", "email": "asa.oberg@example.se", "phone": "070-123 45 67"}
PROBLEM = "Knappen går inte att nå med tangentbordet."
REPLY = "Tack, vi har rättat knappen."
NOTE = "Åsa ringde och berättade mer."


def audit_table(client: FlaskClient) -> list[tuple[str, str, str, str]]:
    """Return the audit log page's rows as (time, who, what, target)."""
    response = client.get("/staff/logg")
    assert response.status_code == 200
    soup = parse(response.data)
    return [
        tuple(td.get_text(strip=True) for td in tr.find_all("td"))  # type: ignore[misc]
        for tr in soup.select("main table tbody tr")
    ]


def test_audit_log_records_who_did_what_without_personal_data(staff_site: StaffSite) -> None:
    app = staff_site.app
    case = staff_site.case(answers={"problem": PROBLEM}, **RESIDENT)
    handler = staff_site.client("handler")
    handler.get(f"/staff/cases/{case.reference}")
    url = f"/staff/cases/{case.reference}"
    post_action(handler, f"{url}/assign", {"assignee": str(staff_site.ids["handler"])})
    post_action(handler, f"{url}/reply", {"reply": REPLY})
    post_action(handler, f"{url}/note", {"note": NOTE})
    post_action(handler, f"{url}/status", {"status": "avslutad", "reason": "Klart, " + NOTE})
    admin = staff_site.client("admin")
    assert admin.get("/staff/export.json").status_code == 200
    assert app.test_cli_runner().invoke(args=["cases", "purge"]).exit_code == 0

    handler_email, admin_email = ACCOUNTS["handler"][0], ACCOUNTS["admin"][0]
    rows = audit_table(admin)
    # Newest first.
    assert [row[0] for row in rows] == sorted((row[0] for row in rows), reverse=True)
    entries = {(who, what, target) for _, who, what, target in rows}
    system = translate(app, "sv", "System")

    def words(message: str, **values: object) -> str:
        return translate(app, "sv", message, **values)

    # Staff read what happened in words, never a stored code such as `status:avslutad`.
    for expected in [
        (handler_email, words("logged in"), "–"),
        (handler_email, words("opened the case"), case.reference),
        (handler_email, words("assigned the case"), case.reference),
        (handler_email, words("replied to the resident"), case.reference),
        (handler_email, words("wrote a note"), case.reference),
        (
            handler_email,
            words("changed the status to %(value)s", value=words("Closed")),
            case.reference,
        ),
        (admin_email, words("downloaded every case"), "json"),
        (system, words("removed personal data kept long enough, and old spam"), "0+0"),
    ]:
        assert expected in entries, expected
    codes = {"login", "view", "assign", "reply", "note", "status:avslutad", "export", "purge"}
    assert not codes & {what for _, _, what, _ in rows}
    page = admin.get("/staff/logg").get_data(as_text=True)
    for private in [*RESIDENT.values(), PROBLEM, REPLY, NOTE]:
        assert private not in page, private
    # In the table, too: only references and short codes, never text from the case.
    target = re.compile(r"^((TG|AF)-\d{4}-[0-9A-Z]{6}|csv|json|cli-csv|cli-json|\d+\+\d+)$")
    for action, stored_target, _actor in audit_rows(app):
        assert stored_target is None or target.match(stored_target), (action, stored_target)


def test_audit_log_is_for_admins_only(staff_site: StaffSite) -> None:
    assert staff_site.client("handler").get("/staff/logg").status_code == 403
    nav = parse(staff_site.client("handler").get("/staff/").data).select("nav a[href]")
    assert "/staff/logg" not in [a["href"] for a in nav]
    nav = parse(staff_site.client("admin").get("/staff/").data).select("nav a[href]")
    assert "/staff/logg" in [a["href"] for a in nav]


def test_the_statistics_page_on_a_leap_day(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The site's clock seam: its time moved to a morning on 29 February 2028 (UTC), before
    # logging in (a session from the suite's day would have run out by then).
    monkeypatch.setenv(CLOCK_SHIFT_VAR, str((T(2028, 2, 29, 8) - system_time()).total_seconds()))
    soup = statistics(staff_site.client("handler"))
    assert soup.select_one("select#period option[selected]")["value"] == "12m"
    months = month_table(soup)
    assert (min(months), max(months), len(months)) == ("2027-03", "2028-02", 12)
