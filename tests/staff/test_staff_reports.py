"""The statistics a municipality reports to DIGG, and the audit log."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from flask_babel import force_locale, format_decimal

from gvisite.models import utcnow
from tests.fixtures_staff import ACCOUNTS, StaffSite, audit_rows, post_action
from tests.helpers import parse, translate

T = dt.datetime


def statistics(client: FlaskClient) -> BeautifulSoup:
    """GET the statistics page and parse it."""
    response = client.get("/staff/statistik")
    assert response.status_code == 200
    return parse(response.data)


def figures(soup: BeautifulSoup) -> dict[str, str]:
    """Return the key figures as {term: value}."""
    return {
        dt_tag.get_text(strip=True): " ".join(dt_tag.find_next_sibling("dd").get_text().split())
        for dt_tag in soup.select("main dl dt")
    }


def month_table(soup: BeautifulSoup) -> list[tuple[str, int, int]]:
    """Return the per-month table as (month, reports, format requests) rows."""
    found = []
    for tr in soup.select("main table tbody tr"):
        month = tr.find("th")
        if month is None:
            continue
        reports, formats = (int(td.get_text(strip=True)) for td in tr.find_all("td"))
        found.append((month.get_text(strip=True), reports, formats))
    return found


def test_statistics_figures(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    now = utcnow()
    # Answered after 2 working days, on time.
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
    # Closed without a reply the next working day: answered on time after 1 working day.
    staff_site.case(
        "format", created_at=T(2026, 10, 5, 9), status="avslutad", closed_at=T(2026, 10, 6, 9)
    )
    # Not answered, due on 27 October: overdue.
    staff_site.case("format", created_at=T(2026, 10, 20, 9))
    # Received now: open, not overdue.
    staff_site.case(created_at=now)
    # Spam counts nowhere.
    staff_site.case(created_at=T(2026, 9, 10, 9), first_reply_at=T(2026, 9, 30, 9), spam=True)

    soup = statistics(handler_client)
    app = staff_site.app
    answered = translate(app, "sv", "of %(count)s answered", count=3)
    assert figures(soup) == {
        translate(app, "sv", "Open now"): "3",
        translate(app, "sv", "Overdue now"): "2",
        translate(app, "sv", "Median time to first reply"): translate(
            app, "sv", "%(days)s working days", days=2
        ),
        translate(app, "sv", "Answered within the target"): f"67 % ({answered})",
    }
    per_month: Counter[tuple[str, str]] = Counter(
        {("2026-09", "report"): 2, ("2026-10", "format"): 2}
    )
    per_month[(now.strftime("%Y-%m"), "report")] += 1
    months = sorted({month for month, _ in per_month}, reverse=True)
    assert month_table(soup) == [
        (month, per_month[(month, "report")], per_month[(month, "format")]) for month in months
    ]


def test_statistics_without_cases(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    soup = statistics(handler_client)
    shown = figures(soup)
    assert shown[translate(staff_site.app, "sv", "Median time to first reply")] == "–"
    assert shown[translate(staff_site.app, "sv", "Answered within the target")] == "–"
    assert month_table(soup) == []
    assert translate(staff_site.app, "sv", "No cases yet.") in soup.select_one("main table").text


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
    assert shown[translate(app, "sv", "Median time to first reply")] == translate(
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
