"""Page furniture on every page: language, menus, Lättläst, facts, quick exit, header, icon."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient

from gvisite.i18n import LOCALES
from gvisite.pages.load import load_site
from gvisite.pages.model import Page, Site
from tests.conftest import REAL_CONTENT, close_database, make_app, markdown_page
from tests.helpers import app_sitemap_paths, parse, translate, watched_context

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
    own = LOCALES[locale].easy_to_read
    easy = own is not None and f"{path}/".startswith(f"{own.folder}/")
    # An easy-to-read page retells the ordinary page at its path without the folder.
    retold = path.removeprefix(own.folder).strip("/") if own and easy else path
    for code, info in LOCALES.items():
        link = links[code]
        assert link.get_text(strip=True) == info.name
        assert link["lang"] == code
        same_page = site.get(code, retold)
        other = f"/{code}/{retold}" if f"/{locale}/{retold}" in OTHER_PATHS else None
        assert link["href"] == (same_page.url if same_page else other or f"/{code}/")
        # On an easy-to-read page the easy-to-read link is where you are, not the language.
        assert (link.get("aria-current") is not None) == (code == locale and not easy)
    easy_link = menu.find("a", string=own.name) if own else None
    assert (easy_link is not None) == (own is not None)
    if own is not None and easy_link is not None:
        # The page's own easy-to-read version (itself, on one), else the easy-to-read home.
        version = site.get(locale, path if easy else f"{own.folder}/{path}".rstrip("/"))
        assert easy_link["lang"] == locale and not easy_link.has_attr("hreflang")
        assert easy_link["href"] == (version or get_page(site, locale, own.folder)).url
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


@by_page([key for key in PAGE_KEYS if key[0] == "en"])
def test_english_dates_are_british(
    site_client: FlaskClient, site: Site, locale: str, path: str
) -> None:
    """The site is read aloud in British English: "2 December 2026", not "December 2, 2026"."""
    page = get_page(site, locale, path)
    time = fetch(site_client, page.url).select_one(
        f'.page-facts time[datetime="{page.updated.isoformat()}"]'
    )
    day = page.updated
    assert time is not None and time.get_text(strip=True) == f"{day.day} {day:%B} {day.year}"


# Where the privacy pages give the data protection officer's address.
PRIVACY_PAGES = [
    *(f"/{locale}/om-webbplatsen/personuppgifter" for locale in LOCALES),
    "/sv/lattlast/om-webbplatsen/personuppgifter",
]


@pytest.mark.parametrize("url", PRIVACY_PAGES)
def test_the_data_protection_officers_address_is_a_mail_link(
    site_client: FlaskClient, url: str
) -> None:
    main = fetch(site_client, url).find("main")
    mentions = main.get_text().count("dataskydd@jarfalla.se")
    links = main.select('a[href="mailto:dataskydd@jarfalla.se"]')
    assert mentions > 0 and len(links) == mentions
    assert all(link.get_text(strip=True) == "dataskydd@jarfalla.se" for link in links)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_not_found_page_dials_the_emergency_numbers(
    site_client: FlaskClient, site: Site, locale: str
) -> None:
    main = fetch(site_client, f"/{locale}/finns-inte", status=404).find("main")
    contact = site.facts["contact"]
    dialled = {a["href"]: a.get_text(strip=True) for a in main.select('a[href^="tel:"]')}
    assert dialled == {
        "tel:112": "112",
        "tel:11414": "114 14",
        f"tel:{contact['servicecenter_tel']}": contact["servicecenter"],
    }


def quick_exit_problems(soup: BeautifulSoup, address: str) -> list[str]:
    """Describe what is wrong with a page's quick-exit link, if anything."""
    links = [a for a in soup.find_all("a", href=True) if a["href"] == address]
    if len(links) != 1:
        return [f"{len(links)} links to {address}"]
    problems = []
    link = links[0]
    # The bar sits right before the header: a sticky element cannot stick beyond its parent.
    bar = link.find_parent(attrs={"data-quick-exit-root": True})
    header = soup.find("header")
    if bar is None or bar.parent is not soup.body:
        problems.append("the quick-exit link is not in a bar of its own at the top of the body")
    elif header is None or bar.find_next_sibling() is not header:
        problems.append("the quick-exit bar does not come right before the page header")
    first_links = soup.body.find_all("a", href=True, limit=3)
    if link not in first_links:
        problems.append("the quick-exit link is not among the first three links")
    if "data-quick-exit" not in link.attrs:
        problems.append("the quick-exit link lacks data-quick-exit (no history replacement)")
    if bar is not None and not bar.find(attrs={"role": "status"}):
        problems.append("no live region for the Shift countdown")
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


# --- Whose site it is, and its icon ------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_header_says_it_is_the_municipalitys_site_and_links_its_main_site(
    site_client: FlaskClient, site: Site, locale: str
) -> None:
    header = fetch(site_client, f"/{locale}/").find("header")
    first = header.find("a", href=True)
    assert first.get_text(strip=True) == "Järfälla kommun"
    assert first["href"] == site.facts["main_site_url"] == "https://www.jarfalla.se/"
    # The name is Swedish on every page; a screen reader should say it so.
    assert first.get("lang") == (None if locale == "sv" else "sv")
    assert header.find("a", class_="site-name")["href"] == f"/{locale}/"


ICON_TYPES = {".svg": "image/svg+xml", ".ico": "image/vnd.microsoft.icon"}


def test_favicon_comes_from_our_own_origin(site_client: FlaskClient) -> None:
    soup = fetch(site_client, "/sv/")
    icons = soup.find_all("link", rel="icon")
    assert len(icons) == 2, "an SVG icon and an ICO fallback"
    for link in icons:
        address = urlsplit(link["href"])
        assert not address.netloc, "the icon must be served from our origin"
        with site_client.get(link["href"]) as response:
            assert response.status_code == 200, link["href"]
            assert response.mimetype == ICON_TYPES[address.path[-4:]]
    # Browsers and feed readers ask for /favicon.ico whatever the page links to.
    with site_client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.data[:4] == b"\x00\x00\x01\x00", "not an ICO file"


@pytest.mark.parametrize("exists", [True, False], ids=["page", "no-page"])
def test_safer_browsing_is_linked_next_to_the_quick_exit_when_it_exists(
    make_content: Any, tmp_path: Path, exists: bool
) -> None:
    files = {"sv/surfa-sakrare.md": markdown_page(title="Surfa säkrare")} if exists else {}
    app = make_app(tmp_path / "instance", CONTENT_DIR=str(make_content(files)))
    try:
        client = app.test_client()
        header = fetch(client, "/sv/").find("header")
        links = header.find_all("a", href="/sv/surfa-sakrare")
        assert [a.get_text(strip=True) for a in links] == (["Surfa säkrare"] if exists else [])
        # No Finnish page: no link to a page that is not there.
        assert fetch(client, "/fi/").find("a", href=re.compile("surfa-sakrare")) is None
    finally:
        close_database(app)


# --- Left-to-right islands in right-to-left pages ---------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_phone_numbers_and_addresses_are_marked_left_to_right(
    site_client: FlaskClient, locale: str
) -> None:
    soup = fetch(site_client, f"/{locale}/")
    phones = soup.find("footer").find_all("a", href=re.compile(r"^tel:"))
    assert len(phones) == 3
    assert [a.get("dir") for a in phones] == ["ltr"] * 3
    facts = soup.find("dl", class_="page-facts")
    mail = facts.find("a", href=re.compile(r"^mailto:"))
    assert mail.get("dir") == "ltr"
    assert mail.find_parent("dd").find("bdi") is not None, "the owner's name is isolated"


# --- In Chromium: a small phone, and Arabic ----------------------------------------------------

PHONE = {"width": 320, "height": 568}
TOP_OF_PAGE = """() => ({
  header: document.querySelector("header").getBoundingClientRect().bottom,
  h1: document.querySelector("h1").getBoundingClientRect().bottom,
  height: innerHeight})"""
# Words of the heading and the menus cut in two by a line break although they would fit whole
# on a line of their own, and words drawn outside the screen. A word longer than the line may
# break (overflow-wrap is the last resort), and so may one at a soft hyphen, which shows "-".
CUT_WORDS = """() => {
  const cut = [];
  const room = (el) => {
    const box = el.closest("h1, .wrap"), s = getComputedStyle(box);
    return box.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  };
  for (const root of document.querySelectorAll("h1, header, [data-quick-exit-root]")) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/[^\\s\\u00ad]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const rects = [...range.getClientRects()];
        const lines = new Set(rects.map((r) => Math.round(r.top))).size;
        const whole = rects.reduce((sum, r) => sum + r.width, 0);
        if (lines > 1 && whole <= room(node.parentElement)) cut.push(match[0]);
        const box = range.getBoundingClientRect();
        if (box.right > innerWidth + 0.5 || box.left < -0.5) cut.push(`${match[0]} (outside)`);
      }
    }
  }
  return cut;
}"""
# How many lines a heading's word is drawn on.
WORD_LINES = """(word) => {
  const node = [...document.querySelector("h1").childNodes].find((n) => n.data.includes(word));
  const range = document.createRange();
  range.setStart(node, node.data.indexOf(word));
  range.setEnd(node, node.data.indexOf(word) + word.length);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""


@pytest.fixture(scope="module")
def phone_tab(browser: Any, live_server: Any) -> Iterator[Any]:
    """One 320 × 568 tab (a small phone) for the module."""
    with watched_context(browser, live_server.url, viewport=PHONE) as (context, _log):
        yield context.new_page()


@by_page()
def test_header_leaves_room_for_the_heading_on_a_small_phone(
    phone_tab: Any, live_server: Any, locale: str, path: str
) -> None:
    phone_tab.goto(f"{live_server.url}/{locale}/{path}")
    top = phone_tab.evaluate(TOP_OF_PAGE)
    # 60 %: the Finnish header, with Selkosuomi on a second row of languages, is 58 % (329 px).
    assert top["header"] <= 0.57 * top["height"], f"the header fills the screen: {top}"
    assert top["h1"] <= top["height"], f"the page's heading is below the first screen: {top}"


def test_the_sites_long_word_is_not_cut_on_a_small_phone(phone_tab: Any, live_server: Any) -> None:
    """The defect seen: "Gruppvåldsinte|rvention", cut without a hyphen at 320 px."""
    phone_tab.goto(f"{live_server.url}/sv/")
    assert phone_tab.evaluate(WORD_LINES, "Gruppvåldsintervention") == 1


@by_page()
def test_no_word_in_the_header_or_heading_is_cut_at_320_px(
    phone_tab: Any, live_server: Any, locale: str, path: str
) -> None:
    phone_tab.goto(f"{live_server.url}/{locale}/{path}")
    assert phone_tab.evaluate(CUT_WORDS) == []


# Where each phone number and e-mail address is drawn: its lines, and whether it reads LTR.
DRAWN = """(selector) => [...document.querySelectorAll(selector)].map((el) => {
  const text = el.firstChild;
  const at = (i) => { const r = document.createRange(); r.setStart(text, i);
                      r.setEnd(text, i + 1); return r.getBoundingClientRect().left; };
  const tops = new Set([...el.getClientRects()].map((r) => Math.round(r.top)));
  return {text: el.textContent, lines: tops.size,
          leftToRight: at(0) < at(text.length - 1)};
})"""


@pytest.mark.parametrize("width", [320, 1280])
def test_arabic_phone_numbers_stay_on_one_line_in_left_to_right_order(
    browser: Any, live_server: Any, width: int
) -> None:
    with watched_context(browser, live_server.url, viewport={"width": width, "height": 800}) as (
        context,
        _log,
    ):
        page = context.new_page()
        page.goto(f"{live_server.url}/ar/")
        phones = page.evaluate(DRAWN, "footer a[href^='tel:']")
        mail = page.evaluate(DRAWN, ".page-facts a[href^='mailto:']")
    assert [p["text"] for p in phones] == ["08-580 285 00", "112", "114 14"]
    for drawn in phones + mail:
        assert drawn["lines"] == 1, f"{drawn['text']} wraps"
        assert drawn["leftToRight"], f"{drawn['text']} is drawn right to left"


# What the focused skip link is drawn over: each header and quick-exit link it overlaps, and
# those whose middle it hides (a click there would reach the skip link instead).
SKIP_LINK_COVERS = """() => {
  const skip = document.activeElement, s = skip.getBoundingClientRect();
  const covered = [];
  for (const link of document.querySelectorAll("header a, [data-quick-exit-root] a")) {
    const r = link.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const overlap = s.left < r.right && r.left < s.right && s.top < r.bottom && r.top < s.bottom;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (overlap || !link.contains(hit)) covered.push(link.textContent.trim());
  }
  return {focused: skip.getAttribute("href"), visible: s.width > 0 && s.top >= 0, covered};
}"""


@pytest.mark.parametrize(
    ("locale", "width"), [("sv", 1280), ("sv", 320), ("ar", 1280), ("ar", 320)]
)
def test_the_focused_skip_link_covers_no_link(
    browser: Any, live_server: Any, locale: str, width: int
) -> None:
    """The defect seen: the skip link, shown on Tab, lay over the "Järfälla kommun" link."""
    viewport = {"width": width, "height": 800}
    with watched_context(browser, live_server.url, viewport=viewport) as (context, _log):
        page = context.new_page()
        page.goto(f"{live_server.url}/{locale}/")
        page.keyboard.press("Tab")
        drawn = page.evaluate(SKIP_LINK_COVERS)
    assert drawn == {"focused": "#main", "visible": True, "covered": []}
