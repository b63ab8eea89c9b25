"""Page furniture on every page: language, language menu, Lättläst, facts, quick exit."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient

from gvisite.content import Page, Site, load_site
from gvisite.i18n import LOCALES
from tests.conftest import REAL_CONTENT
from tests.helpers import app_sitemap_paths, parse, translate

# Read the real content at collection time, so each page is its own test case.
PAGE_KEYS = sorted(load_site(REAL_CONTENT)[0].pages)
PAGE_IDS = [f"{locale}/{path}" for locale, path in PAGE_KEYS]
SWEDISH_KEYS = [key for key in PAGE_KEYS if key[0] == "sv"]
# Sitemap pages that are not Markdown (the accessibility statement and its forms, for now).
OTHER_PATHS = [
    path
    for path in app_sitemap_paths()
    if tuple(path.strip("/").partition("/")[::2]) not in set(PAGE_KEYS)
]


def by_page(keys: list[tuple[str, str]] = PAGE_KEYS):
    """Parametrize a test over pages, named like `sv/om-gvi`."""
    return pytest.mark.parametrize(
        ("locale", "path"), keys, ids=[f"{locale}/{path}" for locale, path in keys]
    )


def get_page(site: Site, locale: str, path: str) -> Page:
    """Return the page the shared app loaded."""
    page = site.get(locale, path)
    assert page is not None, f"{locale}/{path} did not load"
    return page


def fetch(client: FlaskClient, url: str, status: int = 200) -> BeautifulSoup:
    """GET a page and parse it."""
    response = client.get(url)
    assert response.status_code == status, url
    return parse(response.data)


def definition(soup: BeautifulSoup, term: str) -> Tag:
    """Return the `<dd>` that belongs to the `<dt>` with this text."""
    for dt in soup.find_all("dt"):
        if dt.get_text(strip=True).rstrip(":") == term:
            dd = dt.find_next_sibling("dd")
            assert dd is not None, f"<dt>{term}</dt> has no <dd>"
            return dd
    raise AssertionError(f"no <dt>{term}</dt> on the page")


def test_every_locale_has_pages() -> None:
    assert {locale for locale, _ in PAGE_KEYS} == set(LOCALES)


@by_page()
def test_page_language_and_direction(site_client: FlaskClient, locale: str, path: str) -> None:
    soup = fetch(site_client, f"/{locale}/{path}")
    assert soup.html["lang"] == locale
    assert soup.html["dir"] == LOCALES[locale].direction


@by_page()
def test_title_is_the_only_h1_and_names_the_page(
    site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    page = get_page(site, locale, path)
    soup = fetch(site_client, page.url)
    assert [h1.get_text(strip=True) for h1 in soup.find_all("h1")] == [page.title]
    assert soup.title.get_text().startswith(page.title)
    assert soup.find("meta", attrs={"name": "description"})["content"] == page.description


@by_page()
def test_language_menu_names_each_language_in_itself(
    site_app: Flask, site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    soup = fetch(site_client, f"/{locale}/{path}")
    menu = soup.find("nav", attrs={"aria-label": translate(site_app, locale, "Languages")})
    assert menu is not None, "no language menu"
    links = {a["hreflang"]: a for a in menu.find_all("a", hreflang=True)}
    assert list(links) == list(LOCALES)
    easy = path.startswith("lattlast")
    for code, info in LOCALES.items():
        link = links[code]
        assert link.get_text(strip=True) == info.name
        assert link["lang"] == code
        same_page = site.get(code, path.removeprefix("lattlast").strip("/") if easy else path)
        assert link["href"] == (same_page.url if same_page else f"/{code}/")
        # On an easy-to-read page "Lättläst" is where you are, not "Svenska".
        assert (link.get("aria-current") is not None) == (code == locale and not easy)
    easy_link = menu.find("a", string="Lättläst")
    assert (easy_link is not None) == (locale == "sv")
    if easy_link is not None:
        assert easy_link["lang"] == "sv" and easy_link["href"] == "/sv/lattlast"
        assert (easy_link.get("aria-current") is not None) == easy


@by_page()
def test_language_versions_are_announced_to_search_engines(
    site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    soup = fetch(site_client, f"/{locale}/{path}")
    alternates = {
        link["hreflang"]: urlsplit(link["href"]).path
        for link in soup.find_all("link", rel="alternate", hreflang=True)
    }
    assert alternates == {code: page.url for code, page in site.alternates(path).items()}


@pytest.mark.parametrize("locale", LOCALES)
def test_language_menu_leads_to_a_page_in_that_language(
    site_client: FlaskClient, locale: str
) -> None:
    for code in LOCALES:
        soup = fetch(site_client, f"/{code}/")
        link = soup.find("a", hreflang=locale, lang=locale)
        target = fetch(site_client, link["href"])
        assert target.html["lang"] == locale


@by_page(SWEDISH_KEYS)
def test_every_swedish_page_links_to_lattlast(
    site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    soup = fetch(site_client, f"/{locale}/{path}")
    links = [a for a in soup.find_all("a", href=True) if a.get_text(strip=True) == "Lättläst"]
    assert links, "no Lättläst link"
    target = urlsplit(links[0]["href"]).path.rstrip("/")
    assert target.startswith("/sv/lattlast")
    assert site.get("sv", target.removeprefix("/sv/")) is not None


def test_lattlast_has_the_required_pages(site: Site) -> None:
    easy = {page.path for page in site.in_locale("sv") if page.path.startswith("lattlast")}
    assert "lattlast" in easy
    assert len(easy) >= 3, "home, what GVI is, and where to get help"


@by_page()
def test_page_shows_when_it_was_updated_and_who_answers_for_it(
    site_app: Flask, site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    page = get_page(site, locale, path)
    soup = fetch(site_client, page.url)
    updated = definition(soup, translate(site_app, locale, "Last updated"))
    time = updated.find("time")
    assert time is not None and time["datetime"] == page.updated.isoformat()
    assert time.get_text(strip=True)
    owner = definition(soup, translate(site_app, locale, "Page owner"))
    assert page.owner.name in owner.get_text()
    assert f"mailto:{page.owner.email}" in [a["href"] for a in owner.find_all("a", href=True)]


def quick_exit_problems(soup: BeautifulSoup, address: str) -> list[str]:
    """Describe what is wrong with a page's quick-exit link, if anything."""
    links = [a for a in soup.find_all("a", href=True) if a["href"] == address]
    if len(links) != 1:
        return [f"{len(links)} links to {address}"]
    problems = []
    link = links[0]
    if link.find_parent("header") is None:
        problems.append("the quick-exit link is not in the page header")
    first_links = soup.body.find_all("a", href=True, limit=3)
    if link not in first_links:
        problems.append("the quick-exit link is not among the first three links")
    if "data-quick-exit" not in link.attrs:
        problems.append("the quick-exit link lacks data-quick-exit (no history replacement)")
    return problems


def test_quick_exit_address_comes_from_the_site_data(site: Site) -> None:
    assert urlsplit(site.facts["quick_exit_url"]).scheme == "https"


@by_page()
def test_quick_exit_link_on_every_page(
    site_app: Flask, site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    soup = fetch(site_client, f"/{locale}/{path}")
    assert quick_exit_problems(soup, site.facts["quick_exit_url"]) == []
    link = soup.find("a", href=site.facts["quick_exit_url"])
    assert link.get_text(strip=True) == translate(site_app, locale, "Leave this page quickly")


@pytest.mark.parametrize("locale", LOCALES)
def test_quick_exit_and_skip_link_on_the_not_found_page(
    site_client: FlaskClient, site: Site, locale: str
) -> None:
    soup = fetch(site_client, f"/{locale}/finns-inte", status=404)
    assert quick_exit_problems(soup, site.facts["quick_exit_url"]) == []
    assert soup.body.find("a", href=True)["href"] == "#main"


@by_page()
def test_skip_link_comes_first_and_leads_to_main(
    site_client: FlaskClient, locale: str, path: str
) -> None:
    soup = fetch(site_client, f"/{locale}/{path}")
    focusable = soup.body.find(["a", "button", "input", "select", "textarea"])
    assert focusable.name == "a" and focusable["href"] == "#main"
    mains = soup.find_all("main")
    assert len(mains) == 1 and mains[0].get("id") == "main"
    assert mains[0].find("h1") is not None, "the heading must be inside main"


@by_page([key for key in PAGE_KEYS if "/" in key[1]])
def test_breadcrumbs_lead_up_to_the_page(
    site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    page = get_page(site, locale, path)
    soup = fetch(site_client, page.url)
    crumbs = soup.select("nav ol a")
    assert crumbs, "no breadcrumbs below the top level"
    assert crumbs[-1]["href"] == page.url and crumbs[-1].get("aria-current") == "page"
    for crumb in crumbs[:-1]:
        assert page.url.startswith(crumb["href"].rstrip("/")), crumb["href"]
        assert fetch(site_client, crumb["href"]).h1 is not None


@pytest.mark.parametrize("locale", LOCALES)
def test_news_page_lists_dated_items_newest_first(
    site_client: FlaskClient, site: Site, locale: str
) -> None:
    if site.get(locale, "nyheter") is None:
        pytest.skip(f"no news page in {locale} yet")
    soup = fetch(site_client, f"/{locale}/nyheter")
    listed = [
        (a["href"], a.find_parent("li").find("time")["datetime"])
        for a in soup.find("main").select("li h2 a")
    ]
    expected = [(item.url, item.published.isoformat()) for item in site.news(locale)]
    assert expected, "the news folder is empty"
    assert listed == expected


@pytest.mark.parametrize("locale", LOCALES)
def test_footer_gives_the_contact_numbers_from_the_site_data(
    site_client: FlaskClient, site: Site, locale: str
) -> None:
    footer = fetch(site_client, f"/{locale}/").find("footer")
    phone_links = {a["href"] for a in footer.find_all("a", href=True)}
    contact = site.facts["contact"]
    assert f"tel:{contact['servicecenter_tel']}" in phone_links
    assert "tel:112" in phone_links


@pytest.mark.parametrize("path", OTHER_PATHS)
def test_pages_outside_content_have_the_same_furniture(
    site_app: Flask, site_client: FlaskClient, site: Site, path: str
) -> None:
    locale = path.split("/")[1]
    soup = fetch(site_client, path)
    assert (soup.html["lang"], soup.html["dir"]) == (locale, LOCALES[locale].direction)
    assert soup.body.find("a", href=True)["href"] == "#main"
    assert len(soup.find_all("h1")) == 1 and soup.find("main").h1 is not None
    assert quick_exit_problems(soup, site.facts["quick_exit_url"]) == []
    menu = soup.find("nav", attrs={"aria-label": translate(site_app, locale, "Languages")})
    assert [a["hreflang"] for a in menu.find_all("a", hreflang=True)] == list(LOCALES)
    if locale == "sv":
        assert soup.find("a", string="Lättläst") is not None
