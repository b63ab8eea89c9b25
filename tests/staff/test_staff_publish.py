"""Publishing a confirmed problem: what to do instead, the planned fix, WCAG 2.2 criteria with
their EN 301 549 clauses, a preview in each language, and a stop for personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup, Tag
from flask.testing import FlaskClient
from sqlalchemy import select

from gvisite.extensions import db
from gvisite.i18n import LOCALES
from gvisite.models import PublishedProblem
from gvisite.wcag import CRITERIA
from tests.fixtures_staff import StaffSite, long_date_in, post_action, publish, today
from tests.helpers import parse, translate

SV_TEXT = "Sökrutan saknar en synlig etikett."
SV_INSTEAD = "Använd menyn för att hitta sidan."
EN_INSTEAD = "Use the menu to find the page."


def stored(site: StaffSite) -> list[PublishedProblem]:
    """Return the problems published so far."""
    with site.app.app_context():
        found = list(db.session.scalars(select(PublishedProblem)))
        db.session.expunge_all()
        return found


def preview(client: FlaskClient, reference: str, form: dict[str, str]) -> BeautifulSoup:
    """Ask for the preview and return the page."""
    url = f"/staff/cases/{reference}/publish"
    response = post_action(client, url, {**form, "action": "preview"})
    assert response.status_code == 200, response.status_code
    return parse(response.data)


def collapsed(tag: Tag) -> str:
    """Return a tag's text, white space collapsed."""
    return " ".join(tag.get_text(" ").split())


def problem_item(client: FlaskClient, locale: str, text: str) -> Tag:
    """Return the statement's list item for a problem, in a locale."""
    soup = parse(client.get(f"/{locale}/tillganglighet").data)
    for item in soup.select("main li"):
        if text in item.get_text():
            return item
    raise AssertionError(f"{text!r} is not in the {locale} statement")


# --- Preview before publishing -----------------------------------------------------------------


def test_nothing_is_published_without_a_preview_of_exactly_that_text(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    url = f"/staff/cases/{case.reference}/publish"
    form = {"what_sv": SV_TEXT, "criteria": "1.3.1"}
    straight = post_action(handler_client, url, {**form, "action": "publish"})
    assert straight.status_code == 200 and stored(staff_site) == []  # the preview, first
    digest = parse(straight.data).select_one("input[name=previewed]")["value"]
    changed = {**form, "what_sv": SV_TEXT + " Och mer.", "previewed": digest, "action": "publish"}
    again = post_action(handler_client, url, changed)
    assert again.status_code == 200 and stored(staff_site) == []  # changed since: shown again
    assert publish(handler_client, case.reference, form).status_code == 303
    assert [p.what for p in stored(staff_site)] == [{"sv": SV_TEXT}]


def test_the_preview_shows_each_language_as_its_statement_will(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    form = {
        "what_sv": SV_TEXT, "what_en": "The search box has no visible label.",
        "instead_sv": SV_INSTEAD, "instead_en": EN_INSTEAD,
        "fix_by": "2099-03-31", "criteria": "1.3.1, 2.5.8",
    }  # fmt: skip
    soup = preview(handler_client, case.reference, form)
    shown = {
        section.select_one("[lang]")["lang"]: section.select_one("[lang]")
        for section in soup.select("#preview section")
    }
    assert set(shown) == set(LOCALES)
    assert shown["ar"]["dir"] == "rtl"
    app = staff_site.app
    for locale, part in shown.items():
        said = collapsed(part)
        assert translate(app, locale, "What you can do instead:") in said, locale
        fix = long_date_in(app, locale, dt.date(2099, 3, 31))
        assert translate(app, locale, "We plan to fix this by %(date)s.", date=fix) in said
    assert EN_INSTEAD in collapsed(shown["en"])
    # Finnish has no text of its own: the Swedish one, marked as Swedish, as the statement does.
    marked = shown["fi"].select_one("[lang=sv]")
    assert marked is not None and marked.get_text(strip=True) == SV_TEXT
    criteria = [collapsed(li) for li in soup.select("#preview > ul li")]
    assert criteria[0].startswith("1.3.1 Info and Relationships (A)")
    assert criteria[0].endswith("EN 301 549 9.1.3.1")
    assert criteria[1].startswith("2.5.8 Target Size (Minimum) (AA)")
    assert translate(app, "sv", "new in WCAG 2.2, no EN 301 549 clause yet") in criteria[1]


def test_every_criterion_is_listed_with_its_clause(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    soup = parse(handler_client.get(f"/staff/cases/{case.reference}").data)
    listed = [collapsed(li) for li in soup.select("details.criteria-list li")]
    assert len(listed) == len(CRITERIA) == 86  # WCAG 2.2 without the removed 4.1.1
    assert "1.4.3 Contrast (Minimum) (AA): EN 301 549 9.1.4.3" in listed
    assert not any(line.startswith("4.1.1 ") for line in listed)


# --- Personal data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "found"),
    [
        ("what_sv", "Åsa skrev från asa.oberg@example.se om knappen.", "asa.oberg@example.se"),
        ("what_en", "Call 070-123 45 67 about the button.", "070-123 45 67"),
        ("instead_sv", "Fråga efter 19811218-9876 i receptionen.", "19811218-9876"),
        ("what_sv", "Personnummer 811218-9876 syns på sidan.", "811218-9876"),
        ("what_ar", "اتصل على +46 70 123 45 67", "+46 70 123 45 67"),
    ],
)  # fmt: skip
def test_what_looks_like_personal_data_stops_publishing_until_confirmed(
    staff_site: StaffSite, handler_client: FlaskClient, field: str, text: str, found: str
) -> None:
    case = staff_site.case()
    form = {"what_sv": SV_TEXT, "criteria": "1.3.1", field: text}
    soup = preview(handler_client, case.reference, form)
    warning = soup.select_one("#preview .warning")
    assert warning is not None and found in warning.get_text()
    assert warning.select_one(f"a[href='#{field}']") is not None  # leads to the field
    refused = publish(handler_client, case.reference, form)
    assert refused.status_code == 400 and stored(staff_site) == []
    links = [a["href"] for a in parse(refused.data).select(".error-summary a")]
    assert links == ["#personal_ok"]
    assert publish(handler_client, case.reference, form, confirm=True).status_code == 303
    assert len(stored(staff_site)) == 1


def test_our_own_contact_details_are_no_personal_data(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    form = {
        "what_sv": SV_TEXT,
        "instead_sv": "Ring Servicecenter på 08-580 285 00 eller mejla kontaktcenter@jarfalla.se.",
        "fix_by": "2099-12-31",
        "criteria": "1.3.1",
    }
    soup = preview(handler_client, case.reference, form)
    assert soup.select_one("#preview .warning") is None
    assert publish(handler_client, case.reference, form).status_code == 303


# --- What to do instead, and when it is fixed: the page and the data agree -------------------


def test_the_alternative_and_the_fix_date_reach_the_page_and_the_data(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    form = {
        "what_sv": SV_TEXT, "instead_sv": SV_INSTEAD, "instead_en": EN_INSTEAD,
        "fix_by": "2099-03-31", "criteria": "1.3.1",
    }  # fmt: skip
    assert publish(handler_client, case.reference, form).status_code == 303
    public = staff_site.client()
    for locale in LOCALES:
        item = problem_item(public, locale, SV_TEXT)
        instead = EN_INSTEAD if locale == "en" else SV_INSTEAD
        assert instead in item.get_text(), locale
        [problem] = [
            p
            for p in public.get(f"/{locale}/tillganglighet.json").get_json()["known_problems"]
            if p["description"]["text"] == SV_TEXT
        ]
        assert problem["alternative"] == {"text": instead, "lang": "en" if locale == "en" else "sv"}
        assert problem["fix_by"] == "2099-03-31"


@pytest.mark.parametrize("locale", list(LOCALES))
def test_without_an_alternative_the_data_says_what_the_page_says(
    staff_site: StaffSite, handler_client: FlaskClient, locale: str
) -> None:
    case = staff_site.case()
    response = publish(handler_client, case.reference, {"what_sv": SV_TEXT, "criteria": "1.3.1"})
    assert response.status_code == 303
    public = staff_site.client()
    item = problem_item(public, locale, SV_TEXT)
    label = translate(staff_site.app, locale, "What you can do instead:")
    [paragraph] = [p for p in item.select("p") if label in p.get_text()]
    on_page = " ".join(paragraph.get_text().split()).removeprefix(label).strip()
    data = public.get(f"/{locale}/tillganglighet.json").get_json()["known_problems"]
    [problem] = [p for p in data if p["description"]["text"] == SV_TEXT]
    assert problem["alternative"] is not None  # was null for every problem staff published
    assert problem["alternative"]["lang"] == locale
    assert " ".join(problem["alternative"]["text"].split()) == on_page  # isolates and all


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"instead_en": EN_INSTEAD}, "#instead_sv"),  # Swedish is every language's fallback
        ({"fix_by": "31/3/2099"}, "#fix_by"),
        ({"fix_by": "2099-02-30"}, "#fix_by"),
        ({"fix_by": "2001-01-01"}, "#fix_by"),
    ],
)
def test_a_wrong_alternative_or_date_is_refused(
    staff_site: StaffSite, handler_client: FlaskClient, form: dict[str, str], error: str
) -> None:
    case = staff_site.case()
    data = {"what_sv": SV_TEXT, "criteria": "1.3.1", "action": "preview", **form}
    response = post_action(handler_client, f"/staff/cases/{case.reference}/publish", data)
    assert response.status_code == 400
    assert [a["href"] for a in parse(response.data).select(".error-summary a")] == [error]
    assert stored(staff_site) == []


def test_a_date_today_is_accepted(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case()
    form = {"what_sv": SV_TEXT, "criteria": "1.3.1", "fix_by": today().isoformat()}
    assert publish(handler_client, case.reference, form).status_code == 303
    assert [p.fix_by for p in stored(staff_site)] == [today()]
