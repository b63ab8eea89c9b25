"""The statement as data (`/<locale>/tillganglighet.json`) and the yearly review reminder."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from gvisite.extensions import db
from gvisite.i18n import LOCALES
from gvisite.models import PublishedProblem
from gvisite.staff.statement import REVIEW_WARNING_MONTHS, add_months
from tests.fixtures_forms import REPORT_ANSWERS, copy_content, form_url, submit
from tests.fixtures_staff import StaffSite, today
from tests.helpers import parse, translate

STATEMENT = yaml.safe_load(Path("content/tillganglighet.yaml").read_text(encoding="utf-8"))


def statement_json(client: FlaskClient, locale: str) -> dict[str, Any]:
    """GET the statement's data and return it parsed."""
    response = client.get(f"/{locale}/tillganglighet.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers
    return json.loads(response.data)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_statement_data_holds_the_facts_of_the_page(
    site_client: FlaskClient, locale: str
) -> None:
    """Status, problems with criteria and dates, assessment, contact, response time."""
    data = statement_json(site_client, locale)
    assert data["schema_version"] == 1
    assert data["language"] == locale
    assert data["compliance"] == {"status": "partially_compliant", "sv": STATEMENT["compliance"]}
    [problem] = data["known_problems"]
    assert problem["wcag_criteria"] == ["3.1.2"]
    assert problem["fix_by"] == STATEMENT["known_problems"][0]["fix_by"].isoformat()
    assert problem["description"]["lang"] == locale  # written in every language
    assert data["assessment"]["assessed_on"] == (STATEMENT["assessment"]["assessed_on"].isoformat())
    assert data["response_target_working_days"] == STATEMENT["response_target_days"]
    assert data["reviewed_on"] == STATEMENT["updated_on"].isoformat()
    assert data["feedback"]["report_url"].endswith(f"/{locale}/tillganglighet/rapportera")
    assert data["supervision"]["report_url"] == "https://www.digg.se/tdosanmalan"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_statement_page_links_to_its_data(site_client: FlaskClient, locale: str) -> None:
    """Tools find the data from the page: rel=alternate, type application/json."""
    page = parse(site_client.get(f"/{locale}/tillganglighet").data)
    link = page.select_one("head link[rel=alternate][type='application/json']")
    assert link is not None and link["href"] == f"/{locale}/tillganglighet.json"
    assert site_client.get(link["href"]).status_code == 200


def test_a_problem_staff_publish_is_in_the_data_with_its_swedish_text_marked(
    make_forms_app: Callable[..., Flask],
) -> None:
    """Published from a case, the problem joins the data at once; its Swedish text says sv."""
    app = make_forms_app()
    with app.app_context():
        db.session.add(PublishedProblem(what={"sv": "Knappen saknar fokus."}, criteria=["2.4.7"]))
        db.session.commit()
    data = statement_json(app.test_client(), "en")
    published = data["known_problems"][-1]
    assert published["description"] == {"text": "Knappen saknar fokus.", "lang": "sv"}
    assert published["wcag_criteria"] == ["2.4.7"]
    assert data["updated_on"] == today().isoformat()  # publishing changed the statement today


def reviewed(months_ago: int) -> Callable[[dict[str, Any]], None]:
    """Return a statement edit that sets its review date `months_ago` months back."""

    def edit(data: dict[str, Any]) -> None:
        now = today()
        month = now.month - 1 - months_ago
        data["updated_on"] = dt.date(now.year + month // 12, month % 12 + 1, 1)

    return edit


def test_the_statement_data_names_the_one_mailbox_the_forms_name(make_forms_app) -> None:
    """A form that cannot be sent names a mailbox to write to; the statement's data names it too."""
    app = make_forms_app(SUBMISSION_RATE_LIMIT="1 per hour")
    client, url = app.test_client(), form_url("sv", "report")
    assert submit(client, url, REPORT_ANSWERS).status_code == 303
    refused = parse(submit(client, url, REPORT_ANSWERS).data)
    named = {
        a["href"].removeprefix("mailto:")
        for a in refused.select("main [data-error-summary] a[href^='mailto:']")
    }
    assert named == {app.config["STAFF_MAILBOX"]}
    for locale in LOCALES:
        assert statement_json(client, locale)["contact"]["email"] == app.config["STAFF_MAILBOX"]


@pytest.mark.parametrize(("months_ago", "warned"), [(12, True), (10, False)])
def test_staff_are_told_when_the_yearly_review_is_due(
    make_staff_app: Callable[..., StaffSite], tmp_path: Path, months_ago: int, warned: bool
) -> None:
    """More than 11 months since the last review: the inbox says so, and what to do."""
    content = copy_content(tmp_path / "edited", statement=reviewed(months_ago))
    staff = make_staff_app(CONTENT_DIR=str(content))
    page = parse(staff.client("handler").get("/staff/").data)
    heading = translate(staff.app, "sv", "Time to review the accessibility statement")
    shown = [h2.get_text(strip=True) for h2 in page.select("main h2")]
    assert (heading in shown) is warned


@pytest.mark.parametrize(
    ("reviewed", "last_quiet_day"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 12, 31)),
        (dt.date(2027, 3, 31), dt.date(2028, 2, 29)),  # a leap year's February has 29 days
        (dt.date(2026, 3, 31), dt.date(2027, 2, 28)),
        (dt.date(2026, 5, 31), dt.date(2027, 4, 30)),
    ],
)
def test_the_review_warning_counts_eleven_calendar_months(
    reviewed: dt.date, last_quiet_day: dt.date
) -> None:
    """The warning starts the day after the same date eleven months on (or that month's end)."""
    assert add_months(reviewed, REVIEW_WARNING_MONTHS) == last_quiet_day
