"""Site search: the box on every page, stemmed and typo-tolerant results, hostile queries."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gvisite.i18n import LOCALES
from tests.helpers import assert_no_axe_violations, nu_errors, parse, translate


def results(client: FlaskClient, locale: str, query: str) -> list[str]:
    """Search and return the addresses of the results, best first."""
    response = client.get(f"/{locale}/sok", query_string={"q": query})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"  # not kept on a shared computer
    return [a["href"] for a in parse(response.data).select("main .search-results h3 a")]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_has_a_search_box_that_works_without_javascript(
    site_app: Flask, site_client: FlaskClient, locale: str
) -> None:
    """A plain GET form with a visible label, in the header of home, statement and 404 pages."""
    for path in (f"/{locale}/", f"/{locale}/tillganglighet", f"/{locale}/finns-inte"):
        form = parse(site_client.get(path).data).select_one("header form[role=search]")
        assert form is not None, path
        assert (form["method"], form["action"]) == ("get", f"/{locale}/sok")
        field = form.select_one("input[type=search][name=q]")
        label = form.select_one(f"label[for={field['id']}]")
        assert label.get_text(strip=True) == translate(site_app, locale, "Search the website")


def test_a_newcomer_searching_stod_lands_on_the_support_page(site_client: FlaskClient) -> None:
    """The issue's path: "stöd" on /sv/ → the page about support to leave crime first."""
    found = results(site_client, "sv", "stöd")
    assert found[0] == "/sv/lamna-kriminalitet"
    page = parse(site_client.get("/sv/sok", query_string={"q": "stöd"}).data)
    first = page.select_one("main .search-results li")
    assert [m.get_text() for m in first.select("mark")] == ["stöd"]
    count = page.select_one("main h2#search-count").get_text(strip=True)
    assert count.startswith(f"{len(found)} ")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("våldet", {"våld", "våldet"}),  # an inflection the Swedish stemmer leaves
        ("kriminalitett", {"kriminalitet"}),  # one letter too many
        ("kriminaltet", {"kriminalitet"}),  # one letter too few
        ("krimimalitet", {"kriminalitet"}),  # one letter wrong
    ],
)
def test_swedish_words_are_found_in_other_forms_and_with_one_typo(
    site_client: FlaskClient, query: str, words: set[str]
) -> None:
    """Every result shows a marked word from the family the resident meant."""
    page = parse(site_client.get("/sv/sok", query_string={"q": query}).data)
    items = page.select("main .search-results li")
    assert items, query
    for item in items:
        marked = {m.get_text().lower() for m in item.select("mark")}
        assert marked and all(any(w.startswith(word) for word in words) for w in marked), marked


@pytest.mark.parametrize(
    ("locale", "query", "expected"),
    [
        ("fi", "väkivalta", "/fi/om-gvi"),
        ("en", "support", "/en/lamna-kriminalitet"),
        ("ar", "العنف", "/ar/om-gvi"),
    ],
)
def test_each_language_searches_its_own_pages(
    site_client: FlaskClient, locale: str, query: str, expected: str
) -> None:
    """Stemming per language; every result is a page in the visitor's language."""
    found = results(site_client, locale, query)
    assert expected in found
    assert all(url.startswith(f"/{locale}/") for url in found)


def test_swedish_only_pages_come_after_marked_as_swedish(site_client: FlaskClient) -> None:
    """Lättläst exists only in Swedish: an English search finds it, in Swedish, marked so."""
    page = parse(site_client.get("/en/sok", query_string={"q": "lättläst"}).data)
    swedish = [li for li in page.select("main .search-results li") if li.get("lang") == "sv"]
    assert swedish
    for item in swedish:
        link = item.select_one("h3 a")
        assert link["href"].startswith("/sv/") and link["hreflang"] == "sv"


def test_a_search_that_finds_nothing_offers_the_main_pages_and_a_phone_number(
    site_app: Flask, site_client: FlaskClient
) -> None:
    """No dead end: the main menu's pages and Servicecenter's number."""
    page = parse(site_client.get("/sv/sok?q=xylofonorkester").data)
    main = page.select_one("main")
    assert main.select_one("h2#search-count").get_text(strip=True).startswith("0 ")
    assert main.select_one(".search-results") is None
    links = {a["href"] for a in main.select("ul a")}
    assert {"/sv/om-gvi", "/sv/lamna-kriminalitet"} <= links
    assert main.select_one("a[href^='tel:']") is not None


@pytest.mark.parametrize(
    "query",
    [
        "a" * 10_000,
        "<script>alert(1)</script>",
        "stöd\x00\x1b[31m\r\nSet-Cookie: x=1",
        "%" * 300,
        "\ufeff\u202e" + "våld" * 100,
    ],
)
def test_hostile_queries_give_a_clean_page(site_client: FlaskClient, query: str) -> None:
    """Never a 500, never markup from the query, and a query cut to a sane length."""
    response = site_client.get("/sv/sok", query_string={"q": query})
    assert response.status_code == 200
    page = parse(response.data)
    assert page.select_one("main script") is None
    shown = page.select_one("main input[name=q]")["value"]
    assert len(shown) <= 200
    assert not any(ord(c) < 32 for c in shown)


def test_invalid_utf8_in_the_query_is_no_error(site_client: FlaskClient) -> None:
    """Bytes that are no text at all."""
    response = site_client.get("/sv/sok?q=%ff%fe%c3")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/sv/sok", {"q": "hemligt namn"}),  # what someone searched for: a name, a threat
        ("/sv/arende/TG-2026-ABCDEF", {"nyckel": "hemligt-nyckel"}),  # a status page's key
    ],
)
def test_query_strings_are_not_logged(
    live_server: Any, caplog: pytest.LogCaptureFixture, path: str, query: dict[str, str]
) -> None:
    """Search words and status keys stay out of every log line; the path is logged."""
    with caplog.at_level(logging.DEBUG):
        try:
            urllib.request.urlopen(f"{live_server.url}{path}?{urlencode(query)}", timeout=30)
        except urllib.error.HTTPError as error:  # an unknown case answers 404: logged all the same
            error.close()
    assert path in caplog.text  # the request was logged, without what was asked
    assert "hemligt" not in caplog.text


def test_the_search_pages_are_valid_html(site_client: FlaskClient) -> None:
    """Empty, with results, without results, in Swedish and Arabic."""
    documents = {}
    for locale, query in (("sv", ""), ("sv", "stöd"), ("sv", "xylofon"), ("ar", "العنف")):
        documents[f"{locale} {query!r}"] = site_client.get(
            f"/{locale}/sok", query_string={"q": query}
        ).data
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", ["/sv/sok?q=stöd", "/sv/sok?q=xylofon", "/ar/sok?q=العنف"])
def test_the_search_pages_pass_axe(browser: Any, live_server: Any, path: str) -> None:
    """Results are an accessible list under a heading with the count."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        tab = context.new_page()
        response = tab.goto(live_server.url + path, wait_until="load")
        assert response is not None and response.status == 200
        assert_no_axe_violations(tab)
    finally:
        context.close()
