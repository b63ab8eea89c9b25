"""How fast we answer, in public: the statement's section, its JSON, the open data, the snapshot.

The suite's day is Wednesday 9 December 2026; cases are stored as the site stores them
(`staff_site.case`), and the figures worked out by hand in each test's comments.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, format_decimal, format_percent
from sqlalchemy import select

from gvisite import create_app
from gvisite.extensions import db
from gvisite.handling_snapshot import recompute_handling, refresh_if_new_day, snapshots
from gvisite.i18n import LOCALES
from gvisite.models import Case
from gvisite.open_data import render_csv
from gvisite.prebuilt.stamp import stamp_file
from tests.conftest import app_config, close_database, migrate
from tests.feedback.test_faults import database_down
from tests.fixtures_staff import StaffSite, post_action
from tests.helpers import parse, translate

T = dt.datetime
STATEMENT = "/{locale}/tillganglighet"
HIDDEN_COUNT = "<5"


def handling_table(client: FlaskClient, locale: str = "sv") -> dict[str, list[str]]:
    """Return the statement's figures as {figure: [last 12 months, this year]}."""
    page = get_statement(client, locale)
    return {
        row["data-figure"]: [" ".join(td.get_text().split()) for td in row.find_all("td")]
        for row in page.select("#handling tbody tr")
    }


def get_statement(client: FlaskClient, locale: str = "sv") -> BeautifulSoup:
    """GET the statement, check it is a cookie-free 200, and parse it."""
    response = client.get(STATEMENT.format(locale=locale))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    return parse(response.data)


def handling_json(client: FlaskClient, locale: str = "sv") -> dict[str, Any] | None:
    """Return the statement JSON's `handling` object."""
    response = client.get(f"/{locale}/tillganglighet.json")
    assert response.status_code == 200
    handling: dict[str, Any] | None = json.loads(response.data)["handling"]
    return handling


def csv_rows(client: FlaskClient, locale: str = "sv") -> dict[str, dict[str, str]]:
    """Download the open data CSV and return its rows by month, checked for Swedish Excel."""
    response = client.get(f"/{locale}/tillganglighet/statistik.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="jarfalla-gvi-svarstider.csv"'
    )
    assert "Set-Cookie" not in response.headers
    assert response.data.startswith("\ufeff".encode())
    text = response.data.decode("utf-8-sig")
    return {row["månad"]: row for row in csv.DictReader(io.StringIO(text), delimiter=";")}


def answered_cases(staff_site: StaffSite) -> None:
    """Store ten cases received in September 2026 (working days by hand, due in 5).

    Reports on Tuesday 1 September, due Tuesday 8: answered after 1, 2, 3, 4 and 8 working
    days (the last one late). Format requests on Tuesday 15 September, due Tuesday 22:
    answered after 1, 1 and 2 days, two never answered (late). Received 5 + 5, answered 8;
    days 1 1 1 2 2 3 4 8: median 2, 9 in 10 within 8; judged 10, within 7: 70 %. A spam
    case counts nowhere.
    """
    for day in (2, 3, 4, 7, 11):
        staff_site.case(created_at=T(2026, 9, 1, 9), first_reply_at=T(2026, 9, day, 10))
    for day in (16, 16, 17):
        staff_site.case("format", created_at=T(2026, 9, 15, 9), first_reply_at=T(2026, 9, day, 9))
    for _ in range(2):
        staff_site.case("format", created_at=T(2026, 9, 15, 9))
    staff_site.case(created_at=T(2026, 9, 10, 9), first_reply_at=T(2026, 9, 30, 9), spam=True)


def decimal(app: Flask, locale: str, value: float) -> str:
    """Format a number as the page's `decimalformat` does in a locale."""
    with app.test_request_context(f"/{locale}/"), force_locale(locale):
        return str(format_decimal(value))


def percent(app: Flask, locale: str, value: int) -> str:
    """Format a share as the page does in a locale ("70 %" in Swedish), spaces as the tests read."""
    with app.test_request_context(f"/{locale}/"), force_locale(locale):
        return " ".join(str(format_percent(value / 100)).split())


def test_small_counts_are_fewer_than_5_on_the_page_in_the_json_and_in_the_csv(
    staff_site: StaffSite,
) -> None:
    """Three reports and six format requests, each answered the next working day."""
    for _ in range(3):
        staff_site.case(created_at=T(2026, 9, 1, 9), first_reply_at=T(2026, 9, 2, 9))
    for _ in range(6):
        staff_site.case("format", created_at=T(2026, 10, 6, 9), first_reply_at=T(2026, 10, 7, 9))
    client, app = staff_site.client(), staff_site.app
    for locale in LOCALES:
        fewer = translate(app, locale, "fewer than %(number)s", number=5)
        not_shown = translate(app, locale, "not shown")
        table = handling_table(client, locale)
        assert table["reports_received"] == [fewer, fewer]
        assert table["requests_received"] == ["6", "6"]
        assert table["answered"] == ["9", "9"]
        assert table["answered_within_target_percent"] == [percent(app, locale, 100)] * 2
        assert table["problems_published"] == ["0", "0"]  # a zero points at no one
        assert table["median_working_days_to_fix"] == [not_shown, not_shown]
    handling = handling_json(client)
    assert handling is not None and handling["fewer_than"] == 5
    assert handling["last_12_months"]["reports_received"] is None
    assert handling["last_12_months"]["requests_received"] == 6
    assert handling["this_year"]["from"] == "2026-01-01"
    assert handling["this_year"]["to"] == handling["computed_on"] == "2026-12-09"
    rows = csv_rows(client)
    # Each month alone: September's three reports are fewer than 5, and so are its answers;
    # its median and share rest on three cases and are not shown.
    assert rows["2026-09"]["anmälda_brister"] == HIDDEN_COUNT
    assert rows["2026-09"]["besvarade"] == HIDDEN_COUNT
    assert rows["2026-09"]["median_arbetsdagar_till_första_svar"] == ""
    assert rows["2026-09"]["andel_besvarade_i_tid_procent"] == ""
    assert rows["2026-10"]["begäran_om_annat_format"] == "6"
    assert rows["2026-10"]["andel_besvarade_i_tid_procent"] == "100"
    assert rows["2026-10"]["anmälda_brister"] == "0"
    # Since the statement was published (25 November 2026) or the first case, if earlier.
    assert (min(rows), max(rows)) == ("2026-09", "2026-12")


def test_the_page_shows_the_hand_worked_median_and_share(staff_site: StaffSite) -> None:
    answered_cases(staff_site)
    app = staff_site.app
    for locale in ("sv", "ar"):
        table = handling_table(staff_site.client(), locale)
        assert table["reports_received"] == ["5", "5"]
        assert table["requests_received"] == ["5", "5"]
        assert table["answered"] == ["8", "8"]
        assert table["median_working_days_to_first_answer"] == [decimal(app, locale, 2)] * 2
        assert table["p90_working_days_to_first_answer"] == ["8", "8"]
        assert table["answered_within_target_percent"] == [percent(app, locale, 70)] * 2


def test_every_link_of_the_section_answers_without_a_cookie(staff_site: StaffSite) -> None:
    answered_cases(staff_site)
    client = staff_site.client()
    for locale in LOCALES:
        links = [a["href"] for a in get_statement(client, locale).select(".handling a[href]")]
        assert links == [
            f"/{locale}/tillganglighet/statistik.csv",
            f"/{locale}/tillganglighet/statistik.json",
        ]
        for link in links:
            response = client.get(link)
            assert response.status_code == 200, link
            assert "Set-Cookie" not in response.headers
    data = json.loads(client.get("/en/tillganglighet/statistik.json").data)
    assert data["licence"] == "CC0-1.0" and data["fewer_than"] == 5
    september = next(m for m in data["months"] if m["month"] == "2026-09")
    assert september["reports_received"] == 5
    assert september["median_working_days_to_first_answer"] == 2


def stamp_size(app: Flask) -> int:
    """Return how many changes the pre-built pages' stamp has counted."""
    path = stamp_file(app.config["FORMATS_DIR"])
    return path.stat().st_size if path.exists() else 0


def test_answering_a_case_recomputes_the_figures_and_the_kept_statement(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    """A handler records a phone answer today, to a request due on 22 September: late."""
    answered_cases(staff_site)
    app, client = staff_site.app, staff_site.client()
    first = client.get("/sv/tillganglighet")
    assert client.get("/sv/tillganglighet").headers["ETag"] == first.headers["ETag"]  # kept
    with app.app_context():
        query = select(Case.reference).where(Case.first_reply_at.is_(None), Case.spam.is_(False))
        reference = db.session.scalars(query).first()
    url = f"/staff/cases/{reference}/answered"
    assert post_action(handler_client, url, {"how": "phone"}).status_code == 303
    # Answered 9 now: the days 1 1 1 2 2 3 4 8 and 61 (Wednesday 16 September to Wednesday
    # 9 December: 12 weeks and a day); the median stays 2, 9 in 10 within 61; 7 of 10 on time.
    table = handling_table(client)  # the kept page was dropped: this is a new one
    assert table["answered"] == ["9", "9"]
    assert table["p90_working_days_to_first_answer"] == ["61", "61"]
    assert client.get("/sv/tillganglighet").headers["ETag"] != first.headers["ETag"]
    handling = handling_json(client)
    assert handling is not None
    assert handling["last_12_months"]["answered_within_target_percent"] == 70


def test_a_change_no_shown_figure_shows_keeps_the_kept_pages(staff_site: StaffSite) -> None:
    """One case, then a second: both "fewer than 5", so nothing published changed."""
    staff_site.case(created_at=T(2026, 12, 1, 9))
    app, client = staff_site.app, staff_site.client()
    kept = client.get("/sv/tillganglighet").headers["ETag"]
    before = (stamp_size(app), snapshots(app).path.stat().st_mtime_ns)  # type: ignore[union-attr]  # the app has one
    staff_site.case(created_at=T(2026, 12, 2, 9))
    assert (stamp_size(app), snapshots(app).path.stat().st_mtime_ns) == before  # type: ignore[union-attr]  # the app has one
    assert client.get("/sv/tillganglighet").headers["ETag"] == kept
    assert recompute_handling(app) is False
    assert refresh_if_new_day(app) is False  # computed today already


def test_a_new_day_recomputes_once(staff_site: StaffSite) -> None:
    store = snapshots(staff_site.app)
    assert store is not None
    yesterday = {**(store.read() or {}), "computed_on": "2026-12-08"}
    store.write(yesterday)
    assert refresh_if_new_day(staff_site.app) is True
    assert (store.read() or {})["computed_on"] == "2026-12-09"
    assert refresh_if_new_day(staff_site.app) is False


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_without_figures_the_statement_says_so_and_is_not_kept(
    staff_site: StaffSite, locale: str
) -> None:
    """A fresh site (no snapshot yet), and the database down: a 200 without figures."""
    app = staff_site.app
    store = snapshots(app)
    assert store is not None
    store.path.unlink()
    client = staff_site.client()
    with database_down(app):
        assert recompute_handling(app) is False  # logged; nothing written, nothing raised
        assert not store.path.exists()
        page = get_statement(client, locale)
        section = page.select_one("section.handling")
        assert section is not None and section.select_one("table") is None
        message = translate(
            app, locale, "The figures are not available right now. Please try again later."
        )
        assert message in section.get_text()
        assert handling_json(client, locale) is None
        response = client.get(f"/{locale}/tillganglighet/statistik.csv")
        assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    # Not kept: once the figures are there, the next request shows them.
    assert recompute_handling(app) is True
    assert get_statement(client, locale).select_one("#handling") is not None


def test_a_site_not_migrated_yet_starts_without_a_warning_and_computes_once_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # `make run` checks the content before `flask db upgrade`: a newcomer saw two warnings of
    # "cannot recompute" on a fresh machine, about tables that were about to be made.
    config = app_config(tmp_path / "instance", FORMATS_DIR=str(tmp_path / "formats"))
    with caplog.at_level(logging.INFO):
        fresh = create_app(config)
    try:
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        store = snapshots(fresh)
        assert store is not None and not store.path.exists()
        migrate(fresh)
    finally:
        close_database(fresh)
    migrated = create_app(config)  # the next start, after the upgrade, computes them
    try:
        store = snapshots(migrated)
        assert store is not None and (store.read() or {}).get("computed_on") == "2026-12-09"
    finally:
        close_database(migrated)


def test_all_four_outputs_agree(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    """The statement, its JSON, the CSV and the staff statistics on the same September."""
    answered_cases(staff_site)
    app, client = staff_site.app, staff_site.client()

    def words(message: str, **values: object) -> str:
        return translate(app, "sv", message, **values)

    table = handling_table(client)
    period = (handling_json(client) or {})["last_12_months"]
    row = csv_rows(client)["2026-09"]
    staff = parse(handler_client.get("/staff/statistik?start=2026-09-01&end=2026-09-30").data)
    shown = {
        tag.get_text(strip=True): " ".join(tag.find_next_sibling("dd").get_text().split())
        for tag in staff.select("main dl dt")
    }
    two = decimal(app, "sv", 2)
    assert [
        table["reports_received"][0],
        str(period["reports_received"]),
        row["anmälda_brister"],
        shown[words("Reports received")],
    ] == ["5"] * 4
    assert [
        table["requests_received"][0],
        str(period["requests_received"]),
        row["begäran_om_annat_format"],
        shown[words("Format requests received")],
    ] == ["5"] * 4
    assert [
        table["answered"][0],
        str(period["answered"]),
        row["besvarade"],
        shown[words("Answered")],
    ] == ["8"] * 4
    assert [
        table["median_working_days_to_first_answer"][0],
        format_number(period["median_working_days_to_first_answer"]),
        row["median_arbetsdagar_till_första_svar"],
    ] == [two] * 3
    assert shown[words("Median time to first answer")] == words("%(days)s working days", days=two)
    assert [
        table["answered_within_target_percent"][0],
        f"{period['answered_within_target_percent']} %",
        f"{row['andel_besvarade_i_tid_procent']} %",
    ] == ["70 %"] * 3
    assert shown[words("Answered within the target")].startswith("70 %")  # fmt: skip


def format_number(value: float) -> str:
    """Write a JSON number as the Swedish page and CSV do (2.0 is 2, 2.5 is 2,5)."""
    return f"{value:g}".replace(".", ",")


def test_the_csv_writes_a_decimal_comma_and_hides_small_counts() -> None:
    """As Swedish Excel reads it: 2,5 is a number, "<5" and an empty cell are not."""
    month = {
        "month": "2026-09", "from": "2026-09-01", "to": "2026-09-30",
        "reports_received": None, "requests_received": 7, "answered": 6,
        "median_working_days_to_first_answer": 2.5, "p90_working_days_to_first_answer": 4,
        "answered_within_target_percent": 83, "problems_published": 0,
        "problems_fixed": 0, "median_working_days_to_fix": None,
    }  # fmt: skip
    text = render_csv({"months": [month]})
    assert text.startswith("\ufeffmånad;anmälda_brister;")
    assert text.splitlines()[1] == "2026-09;<5;7;6;2,5;4;83;0;0;"
