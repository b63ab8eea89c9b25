"""Easy-to-read pages (lättläst, selkosuomi): each one and the page it retells link to each other,
in the header and in the page; every one is reached from the home pages; the new states are valid
HTML with no axe violations. (That the Swedish ones stay easy to read, LIX 25 or under, is
tests/pages/test_readability.py's, with every other page's line.)"""

from __future__ import annotations

import re
from collections import deque
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient

from gvisite.i18n import LOCALES
from gvisite.pages.load import load_site, missing_translations
from gvisite.pages.model import Page
from gvisite.pages.model import is_easy_to_read as is_easy
from tests.conftest import REAL_CONTENT
from tests.helpers import (
    app_sitemap_paths,
    assert_no_axe_violations,
    desktop_tab,
    nu_errors,
    parse,
    translate,
)

TO_EASY = "Read this page in easy-to-read language"
TO_ORDINARY = "Read this page in standard language"
# Read the real content at collection time, so each page is its own test case.
REAL_SITE = load_site(REAL_CONTENT)[0]
# The statement and its forms: pages that are not Markdown but have easy-to-read versions too.
OTHER_PATHS = {
    path
    for path in app_sitemap_paths()
    if REAL_SITE.get(*path.strip("/").partition("/")[::2]) is None
}


def folder_of(locale: str) -> str | None:
    """Return the easy-to-read folder of a locale, if it has one."""
    easy = LOCALES[locale].easy_to_read
    return easy.folder if easy else None


def retold_url(page: Page) -> str | None:
    """Return the address of the ordinary page an easy-to-read page retells, if there is one."""
    path = page.path.removeprefix(folder_of(page.locale) or "").strip("/")
    if (ordinary := REAL_SITE.get(page.locale, path)) is not None:
        return ordinary.url
    address = f"/{page.locale}/{path}"
    return address if address in OTHER_PATHS else None


EASY_PAGES = sorted((p for p in REAL_SITE.pages.values() if is_easy(p)), key=lambda p: p.url)
TWINS = [(page.url, url) for page in EASY_PAGES if (url := retold_url(page))]
TWIN_IDS = [easy for easy, _ordinary in TWINS]
RETOLD = {ordinary for _easy, ordinary in TWINS}
# Ordinary pages with no easy-to-read version: in a locale with a folder, and in one without.
ALONE = sorted(
    page.url for page in REAL_SITE.pages.values() if not is_easy(page) and page.url not in RETOLD
)


def menu_links(app: Flask, soup: BeautifulSoup, locale: str) -> list[Tag]:
    """Return the links of the language menu."""
    menu = soup.find("nav", attrs={"aria-label": translate(app, locale, "Languages")})
    assert menu is not None, "no language menu"
    return menu.find_all("a")


def easy_link(app: Flask, soup: BeautifulSoup, locale: str) -> Tag | None:
    """Return the language menu's easy-to-read link (Lättläst, Selkosuomi), if it has one."""
    name = LOCALES[locale].easy_to_read.name if LOCALES[locale].easy_to_read else None
    found = [a for a in menu_links(app, soup, locale) if a.get_text(strip=True) == name]
    assert len(found) <= 1
    return found[0] if found else None


def switch_link(soup: BeautifulSoup) -> Tag | None:
    """Return the link in the page between it and its easy-to-read version, if it has one."""
    return soup.select_one("main .easy-to-read-switch a")


def get(client: FlaskClient, url: str) -> BeautifulSoup:
    """GET a page that must answer 200, and parse it."""
    response = client.get(url)
    assert response.status_code == 200, url
    return parse(response.data)


# --- What there is ------------------------------------------------------------------------------


def test_every_main_page_has_an_easy_to_read_version_in_swedish() -> None:
    ordinary = {p.url for p in REAL_SITE.in_locale("sv") if not is_easy(p)}
    ordinary |= {path for path in OTHER_PATHS if path.startswith("/sv/")}
    assert ordinary - RETOLD == set()  # the statement and both forms included


def test_selkosuomi_has_a_home_what_gvi_is_and_where_to_get_help() -> None:
    assert {"/fi/", "/fi/om-gvi"} <= RETOLD
    assert {"/fi/selko", "/fi/selko/om-gvi", "/fi/selko/hjalp"} <= {p.url for p in EASY_PAGES}


def test_easy_to_read_pages_are_not_listed_as_missing_translations() -> None:
    """The content check must not ask for lättläst pages in Finnish, English or Arabic."""
    site, _errors = load_site(REAL_CONTENT)
    folder = folder_of("sv")
    for code, missing in missing_translations(site).items():
        assert not [path for path in missing if path.split("/")[0] == folder], code


# --- Links between a page and its easy-to-read version -----------------------------------------


@pytest.mark.parametrize(("easy", "ordinary"), TWINS, ids=TWIN_IDS)
def test_an_ordinary_page_links_to_its_easy_to_read_version_in_the_header_and_the_page(
    site_app: Flask, site_client: FlaskClient, easy: str, ordinary: str
) -> None:
    locale = easy.split("/")[1]
    soup = get(site_client, ordinary)
    header = easy_link(site_app, soup, locale)
    assert header is not None and header["href"] == easy
    assert header["lang"] == locale and not header.has_attr("hreflang")  # one hreflang a language
    assert not header.has_attr("aria-current")
    link = switch_link(soup)
    assert link is not None and link["href"] == easy
    assert link.get_text(strip=True) == translate(site_app, locale, TO_EASY)
    # Near the title: the first heading after the link is the page's h1.
    assert link.find_next(re.compile(r"^h[1-6]$")).name == "h1"


@pytest.mark.parametrize(("easy", "ordinary"), TWINS, ids=TWIN_IDS)
def test_an_easy_to_read_page_links_back_to_the_page_it_retells(
    site_app: Flask, site_client: FlaskClient, easy: str, ordinary: str
) -> None:
    locale = easy.split("/")[1]
    soup = get(site_client, easy)
    assert soup.html["lang"] == locale
    link = switch_link(soup)
    assert link is not None and link["href"] == ordinary
    assert link.get_text(strip=True) == translate(site_app, locale, TO_ORDINARY)
    own_language = next(
        a for a in menu_links(site_app, soup, locale) if a.get("hreflang") == locale
    )
    assert own_language["href"] == ordinary and not own_language.has_attr("aria-current")
    header = easy_link(site_app, soup, locale)
    assert header is not None and header["href"] == easy and header["aria-current"] == "true"


def menu_target(url: str) -> str | None:
    """Return where the menu's easy-to-read link of a page without a twin should lead."""
    locale = url.split("/")[1]
    folder = folder_of(locale)
    if url in {p.url for p in EASY_PAGES}:
        return url  # an easy-to-read page of its own: the menu names the page itself
    return f"/{locale}/{folder}" if folder else None  # the easy-to-read home, if there is one


# Pages with no twin: easy-to-read pages of their own, and ordinary pages without a version.
UNPAIRED = [p.url for p in EASY_PAGES if not retold_url(p)] + ALONE


@pytest.mark.parametrize("url", UNPAIRED)
def test_a_page_without_a_twin_has_no_switch_and_its_menu_leads_to_easy_to_read(
    site_app: Flask, site_client: FlaskClient, url: str
) -> None:
    locale = url.split("/")[1]
    soup = get(site_client, url)
    assert switch_link(soup) is None
    header = easy_link(site_app, soup, locale)
    target = menu_target(url)
    assert (header is not None) == (target is not None)
    if header is not None:
        assert header["href"] == target
        # Only the easy-to-read page itself is marked as the current page.
        assert (header.get("aria-current") == "true") == (target == url)


def test_a_form_keeps_its_page_for_the_languages_and_links_its_easy_to_read_introduction(
    site_app: Flask, site_client: FlaskClient
) -> None:
    soup = get(site_client, "/sv/tillganglighet/alternativt-format?page=/sv/om-gvi")
    assert switch_link(soup)["href"] == "/sv/lattlast/tillganglighet/alternativt-format"
    finnish = next(a for a in menu_links(site_app, soup, "sv") if a.get("hreflang") == "fi")
    assert finnish["href"] == "/fi/tillganglighet/alternativt-format?page=/sv/om-gvi"


def test_pages_that_are_no_page_have_no_easy_to_read_link_in_them(site_client: FlaskClient) -> None:
    response = site_client.get("/sv/finns-inte")
    assert response.status_code == 404
    soup = parse(response.data)
    assert switch_link(soup) is None
    assert soup.find("a", string="Lättläst")["href"] == "/sv/lattlast"


# --- Reached from the home pages ---------------------------------------------------------------


def reachable(client: FlaskClient, starts: list[str]) -> set[str]:
    """Follow the site's own links from `starts`, without query strings; return the pages."""
    seen, queue = set(starts), deque(starts)
    while queue:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for a in parse(response.data).find_all("a", href=True):
            parts = urlsplit(urljoin(f"http://localhost{url}", a["href"]))
            own = parts.netloc == "localhost" and not parts.path.startswith(("/staff", "/formats"))
            if own and parts.path not in seen:
                seen.add(parts.path)
                queue.append(parts.path)
    return seen


def test_every_easy_to_read_page_is_reached_from_the_home_pages(site_client: FlaskClient) -> None:
    found = reachable(site_client, [f"/{code}/" for code in LOCALES])
    assert {page.url for page in EASY_PAGES} - found == set()


# --- The section keeps its reader: its own menu and footer ---------------------------------------


def own_links(soup: BeautifulSoup, selector: str) -> list[str]:
    """Return the paths of the site's own links in a part of the page (no tel:, no mailto:)."""
    part = soup.select_one(selector)
    assert part is not None, selector
    paths = [urlsplit(a["href"]) for a in part.find_all("a", href=True)]
    return [p.path for p in paths if not p.scheme and not p.netloc]


def main_menu(app: Flask, soup: BeautifulSoup, locale: str) -> list[str]:
    """Return the paths the main menu links to."""
    label = translate(app, locale, "Main menu")
    return own_links(soup, f"nav[aria-label='{label}']")


EASY_SAMPLES = ["/sv/lattlast", "/sv/lattlast/om-gvi", "/sv/lattlast/hjalp", "/fi/selko/om-gvi"]


@pytest.mark.parametrize("url", EASY_SAMPLES)
def test_an_easy_to_read_page_has_a_menu_of_easy_to_read_pages(
    site_app: Flask, site_client: FlaskClient, url: str
) -> None:
    locale = url.split("/")[1]
    folder = f"/{locale}/{folder_of(locale)}"
    menu = main_menu(site_app, get(site_client, url), locale)
    assert menu and menu[0] == folder, menu  # its own home first
    assert [p for p in menu if not p.startswith(folder)] == []
    # And an ordinary page's menu holds no easy-to-read page: each section has its own.
    ordinary = main_menu(site_app, get(site_client, f"/{locale}/"), locale)
    assert ordinary and [p for p in ordinary if p.startswith(folder)] == []


@pytest.mark.parametrize("url", ["/sv/lattlast", "/sv/lattlast/hjalp"])
def test_a_lattlast_footer_leads_to_the_easy_to_read_statement_forms_and_contact(
    site_app: Flask, site_client: FlaskClient, url: str
) -> None:
    soup = get(site_client, url)
    footer = own_links(soup, "footer")
    easy = [f"/sv/lattlast/{path}" for path in (
        "tillganglighet", "tillganglighet/rapportera", "tillganglighet/alternativt-format",
        "kontakt", "om-webbplatsen", "om-webbplatsen/kakor", "om-webbplatsen/personuppgifter",
    )]  # fmt: skip
    # Each in easy words, and the statement itself, which every page must link to.
    assert footer == [*easy[:3], "/sv/tillganglighet", *easy[3:]]
    assert {a["href"] for a in soup.select("footer a[href^='tel:']")} >= {"tel:112"}
    words = " ".join(soup.select_one("footer").get_text(" ").split())
    assert translate(site_app, "sv", "Is something on the website hard to use?") in words
    assert "DOS-lagen" not in words  # the ordinary footer's legal wording stays out
    safer = soup.select_one("header .safer-browsing")
    assert safer["href"] == "/sv/lattlast/surfa-sakrare"


def test_a_selkosuomi_footer_falls_back_to_the_forms_with_this_page(
    site_app: Flask, site_client: FlaskClient
) -> None:
    """No selkosuomi statement or forms yet: the footer leads to the ordinary ones, easy words."""
    soup = get(site_client, "/fi/selko/om-gvi")
    section = soup.select_one("footer section[aria-labelledby=footer-accessibility]")
    links = [urlsplit(a["href"]) for a in section.select("a[href]")]
    assert [(link.path, link.query) for link in links] == [
        ("/fi/tillganglighet", ""),
        ("/fi/tillganglighet/rapportera", "page=/fi/selko/om-gvi"),
        ("/fi/tillganglighet/alternativt-format", "page=/fi/selko/om-gvi"),
    ]
    texts = [a.get_text(strip=True) for a in section.select("a[href]")]
    assert texts[1] == translate(site_app, "fi", "Tell us if something does not work")


OFFER_TAIL = " or printed in braille or large print and sent by post? We make those by hand."
OFFERS_EASY = "Do you need the page in easy-to-read Swedish, in sign language," + OFFER_TAIL
NO_EASY = "Do you need the page in sign language," + OFFER_TAIL


@pytest.mark.parametrize(
    ("url", "offered"),
    [("/sv/om-gvi", NO_EASY), ("/sv/tillganglighet", NO_EASY), ("/fi/om-gvi", NO_EASY),
     ("/sv/lattlast/hjalp", NO_EASY), ("/fi/gvi-i-jarfalla", OFFERS_EASY),
     ("/en/om-gvi", OFFERS_EASY)],
)  # fmt: skip
def test_other_formats_offers_easy_to_read_only_where_the_page_has_none(
    site_app: Flask, site_client: FlaskClient, url: str, offered: str
) -> None:
    block = get(site_client, url).select_one("main .other-formats")
    assert block is not None, url
    locale = url.split("/")[1]
    assert translate(site_app, locale, offered) in " ".join(block.get_text(" ").split())


# --- Easy to read ------------------------------------------------------------------------------


def test_the_easy_to_read_statement_and_forms_promise_the_statements_answer_time() -> None:
    """The lättläst pages restate the response target: a review that changes it changes them."""
    statement = yaml.safe_load((REAL_CONTENT / "tillganglighet.yaml").read_text(encoding="utf-8"))
    promise = f"inom {statement['response_target_days']} arbetsdagar"
    for path in (
        "tillganglighet",
        "tillganglighet/rapportera",
        "tillganglighet/alternativt-format",
    ):
        page = REAL_SITE.get("sv", f"{folder_of('sv')}/{path}")
        assert page is not None and promise in page.html, path


# --- Valid and accessible ----------------------------------------------------------------------

# One page of each new state: an ordinary page with a version, each kind of easy-to-read page.
BROWSER_SAMPLES = [
    "/sv/om-gvi",
    "/sv/lattlast/om-gvi",
    "/sv/lattlast/hjalp",
    "/sv/tillganglighet",
    "/sv/lattlast/tillganglighet",
    "/sv/tillganglighet/rapportera?page=/sv/om-gvi",
    "/sv/lattlast/tillganglighet/rapportera",
    "/fi/",
    "/fi/selko",
    "/fi/selko/om-gvi",
    "/fi/gvi-i-jarfalla",
]


def test_the_new_states_are_valid_html(site_client: FlaskClient) -> None:
    documents = {url: site_client.get(url).data for url in BROWSER_SAMPLES}
    assert nu_errors(documents) == []


@pytest.mark.parametrize("width", [1280, 320])
def test_the_new_states_have_no_axe_violations(browser: Any, live_server: Any, width: int) -> None:
    with desktop_tab(browser, live_server.url) as tab:
        tab.set_viewport_size({"width": width, "height": 900})
        for url in BROWSER_SAMPLES:
            response = tab.goto(live_server.url + url, wait_until="load")
            assert response is not None and response.status == 200, url
            assert_no_axe_violations(tab)
            link = tab.locator("main .easy-to-read-switch a")
            if link.count():  # the link is on the first screen, above the title
                box, title = link.bounding_box(), tab.locator("h1").bounding_box()
                assert box["y"] + box["height"] <= title["y"], url
