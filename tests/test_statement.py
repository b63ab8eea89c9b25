"""The accessibility statement: facts from content/tillganglighet.yaml, shown in every locale."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from gvisite import create_app
from gvisite.i18n import LOCALES
from gvisite.pages.load import ContentError
from gvisite.workdays import local_date, utcnow
from tests.conftest import close_database, migrate
from tests.fixtures_forms import copy_content, forms_config, page_text
from tests.helpers import parse, translate

UPDATED_ON = dt.date(2019, 3, 4)  # long before any test runs: it cannot come from the clock
PROBLEM_SV = "Kartan över Järfälla saknar en textbeskrivning."
PROBLEM_EN = "The map of Järfälla has no text description."
INSTEAD_SV = "Ring Servicecenter så beskriver vi kartan."
COMPLIANCE_PHRASES = {
    "helt förenlig": "The website fully complies with the Act on accessibility to digital public"
    " services.",
    "delvis förenlig": "The website partially complies with the Act on accessibility to digital"
    " public services, because of the problems listed below.",
    "inte förenlig": "The website does not comply with the Act on accessibility to digital public"
    " services.",
}
DIGG = "https://www.digg.se/tdosanmalan"


def edit_statement(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """Return an edit of the statement's data that sets `changes`."""

    def edit(data: dict[str, Any]) -> None:
        data.update(changes)

    return edit


def long_date(app: Flask, locale: str, day: dt.date) -> str:
    """Format a date as the statement does in a locale."""
    from gvisite.i18n import long_date as written

    with app.test_request_context(f"/{locale}/"):
        return written(day)


@pytest.fixture(scope="module")
def statement_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app whose statement was updated long ago and has one half-translated known problem."""
    folder = tmp_path_factory.mktemp("statement")
    problem = {
        "id": "karta",
        "what": {"sv": PROBLEM_SV, "en": PROBLEM_EN},
        "criteria": ["1.1.1"],
        "instead": {"sv": INSTEAD_SV},
        "fix_by": dt.date(2027, 6, 30),
    }
    edit = edit_statement(
        updated_on=UPDATED_ON,
        published_on=dt.date(2018, 9, 23),
        assessment={"method": {"sv": "Vi granskade själva."}, "assessed_on": dt.date(2019, 2, 1)},
        known_problems=[problem],
        response_target_days=4,
    )
    content = copy_content(folder, edit)
    app = create_app(forms_config(folder / "instance", CONTENT_DIR=str(content)))
    migrate(app)
    yield app
    close_database(app)


@pytest.mark.parametrize("locale", LOCALES)
def test_statement_renders_in_every_locale_with_its_facts_and_links(
    statement_app: Flask, locale: str
) -> None:
    response = statement_app.test_client().get(f"/{locale}/tillganglighet")
    assert response.status_code == 200
    soup = parse(response.data)
    assert soup.html["lang"] == locale
    assert soup.select_one("main h1").get_text(strip=True) == translate(
        statement_app, locale, "Accessibility statement"
    )
    text = page_text(response.data)

    phrases = [translate(statement_app, locale, phrase) for phrase in COMPLIANCE_PHRASES.values()]
    assert sum(phrase in text for phrase in phrases) == 1
    assert phrases[1] in text  # the real data says "delvis förenlig"

    assert soup.select(f'main a[href="{DIGG}"]'), "the Tillsyn section links to DIGG"
    hrefs = {a["href"].split("?")[0] for a in soup.select("main a[href]")}
    assert f"/{locale}/tillganglighet/rapportera" in hrefs
    assert f"/{locale}/tillganglighet/alternativt-format" in hrefs

    updated = translate(
        statement_app,
        locale,
        "The statement was last updated on %(date)s.",
        date=long_date(statement_app, locale, UPDATED_ON),
    )
    assert updated in text
    today = long_date(statement_app, locale, local_date(utcnow()))
    assert today not in text, "a date on the statement came from the clock"
    promise = translate(statement_app, locale, "We answer within %(days)s working days.", days=4)
    assert promise in text


def language_of(soup: Any, text: str) -> str:
    """Return the language a text on the page is marked as (its nearest `lang`)."""
    node = soup.select_one("main").find(string=lambda s: s is not None and text in s)
    assert node is not None, f"not on the page: {text!r}"
    return node.find_parent(attrs={"lang": True})["lang"]


@pytest.mark.parametrize(
    ("locale", "what", "what_lang", "instead_lang"),
    [
        ("sv", PROBLEM_SV, "sv", "sv"),
        ("en", PROBLEM_EN, "en", "sv"),  # the English "instead" is missing
        ("fi", PROBLEM_SV, "sv", "sv"),
        ("ar", PROBLEM_SV, "sv", "sv"),
    ],
)
def test_known_problem_missing_in_a_locale_is_shown_in_swedish_marked_as_swedish(
    statement_app: Flask, locale: str, what: str, what_lang: str, instead_lang: str
) -> None:
    soup = parse(statement_app.test_client().get(f"/{locale}/tillganglighet").data)
    assert language_of(soup, what) == what_lang
    assert language_of(soup, INSTEAD_SV) == instead_lang
    if locale != "sv":
        # The fallback is marked on the element itself, not just inherited from <html>.
        marked = [tag for tag in soup.select("main [lang=sv]") if INSTEAD_SV in tag.get_text()]
        assert marked


@pytest.mark.parametrize("compliance", list(COMPLIANCE_PHRASES))
def test_exactly_one_compliance_phrase_matches_the_data(
    make_forms_app, tmp_path: Path, compliance: str
) -> None:
    content = copy_content(tmp_path / "c", edit_statement(compliance=compliance))
    app = make_forms_app(CONTENT_DIR=str(content))
    for locale in ("sv", "en"):
        text = page_text(app.test_client().get(f"/{locale}/tillganglighet").data)
        shown = [
            status
            for status, phrase in COMPLIANCE_PHRASES.items()
            if translate(app, locale, phrase) in text
        ]
        assert shown == [compliance]


def drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    """Return an edit that removes keys (dotted for nested ones)."""

    def edit(data: dict[str, Any]) -> None:
        for key in keys:
            node = data
            *parents, last = key.split(".")
            for part in parents:
                node = node[part]
            node.pop(last)

    return edit


def first_problem(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """Return an edit of the first known problem."""

    def edit(data: dict[str, Any]) -> None:
        data["known_problems"][0].update(changes)

    return edit


BROKEN_STATEMENTS = [
    pytest.param(edit_statement(compliance="nästan förenlig"), "compliance", id="bad-compliance"),
    pytest.param(edit_statement(compliance=None), "compliance", id="no-compliance"),
    pytest.param(drop("updated_on"), "updated_on", id="missing-updated-on"),
    pytest.param(edit_statement(updated_on="igår"), "updated_on", id="updated-on-not-a-date"),
    pytest.param(drop("assessment.assessed_on"), "assessed_on", id="missing-assessed-on"),
    pytest.param(edit_statement(response_target_days="fem"), "response_target_days", id="days"),
    pytest.param(edit_statement(response_target_days=0), "response_target_days", id="zero-days"),
    pytest.param(drop("responsible"), "responsible", id="no-responsible"),
    pytest.param(first_problem(what={"en": "English only"}), "what", id="problem-without-sv"),
    pytest.param(first_problem(criteria=[]), "criteria", id="problem-without-criteria"),
]


@pytest.mark.parametrize(("edit", "reason"), BROKEN_STATEMENTS)
def test_broken_statement_stops_start_up_and_names_the_file(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], reason: str
) -> None:
    content = copy_content(tmp_path, edit)
    with pytest.raises(ContentError) as caught:
        create_app(forms_config(tmp_path / "instance", CONTENT_DIR=str(content)))
    assert caught.value.source == str(content / "tillganglighet.yaml")
    assert str(content / "tillganglighet.yaml") in str(caught.value)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("compliance: [oavslutad\n", id="bad-yaml"),
        pytest.param("- en lista\n", id="list"),
    ],
)
def test_unreadable_statement_stops_start_up_and_names_the_file(tmp_path: Path, text: str) -> None:
    content = copy_content(tmp_path)
    (content / "tillganglighet.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        create_app(forms_config(tmp_path / "instance", CONTENT_DIR=str(content)))
    assert str(content / "tillganglighet.yaml") in str(caught.value)


def test_missing_statement_stops_start_up_and_names_the_file(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    (content / "tillganglighet.yaml").unlink()
    with pytest.raises(ContentError) as caught:
        create_app(forms_config(tmp_path / "instance", CONTENT_DIR=str(content)))
    assert str(content / "tillganglighet.yaml") in str(caught.value)


def test_real_statement_data_is_valid() -> None:
    """The repository's own statement has one compliance level and real dates."""
    from tests.conftest import REAL_CONTENT

    data = yaml.safe_load((REAL_CONTENT / "tillganglighet.yaml").read_text(encoding="utf-8"))
    assert data["compliance"] in COMPLIANCE_PHRASES
    assert isinstance(data["updated_on"], dt.date)
