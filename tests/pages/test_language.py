"""The pages' own words: each language in its own script, dated facts, safer browsing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from flask.testing import FlaskClient

from gvisite.pages.load import load_site
from gvisite.pages.model import Site
from tests.conftest import REAL_CONTENT
from tests.fixtures_servers import LiveServer
from tests.helpers import parse, translate, watched_context

PAGES = sorted(load_site(REAL_CONTENT)[0].pages)
TRANSLATED = ("fi", "en", "ar")
# Letters of the Persian alphabet that Arabic does not have (pe, che, zhe, gaf, keheh, farsi yeh).
PERSIAN_ONLY = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u06cc]")
# English terms that pages in another language use; a screen reader must say them in English.
ENGLISH_TERMS = re.compile(r"group violence intervention|call-ins?\b|cookies?\b", re.IGNORECASE)
# The Police as an agency is "Polisen"; a lower-case "polisen" (not "lokalpolisen") is the fault.
LOWER_CASE_POLICE = re.compile(r"(?<!\w)polisens?\b")
# Sentences that age: the start of GVI and the agreement written as if they were happening now.
UNDATED = {
    "sv": ["börjar arbeta", "skriver under", "nu börjar", "bestämmer parterna"],
    "fi": ["kunta alkaa toimia", "allekirjoittaa sopimuksen", "alkavat toimia"],
    "en": ["is starting to work", "is signing", "are starting to work"],
    "ar": ["تبدأ بلدية", "توقّع بلدية", "والآن تبدأ"],
}
# The month the work began, as each language writes it (matched case-insensitively).
DATED = {
    "sv": "november 2026",
    "fi": "marraskuu(?:ssa|sta) 2026",
    "en": "november 2026",
    "ar": "نوفمبر 2026",
}
# Sentences that say more than the law does (DOS-lagen asks for accessibility requirements).
OVERSTATED = {
    "sv": ["ska alla kunna använda", "ska gå att använda för alla"],
    "fi": ["sivuston on oltava kaikkien käytettävissä"],
    "en": ["everyone should be able to use the website", "must be usable by everyone"],
    "ar": ["يجب أن يكون الموقع سهل الاستخدام للجميع"],
}


def by_page(pages: list[tuple[str, str]]) -> Any:
    """Parametrize a test over pages, named like `sv/om-gvi`."""
    return pytest.mark.parametrize(
        ("locale", "path"), pages, ids=[f"{locale}/{path}" for locale, path in pages]
    )


def page_url(locale: str, path: str) -> str:
    """Return a page's address."""
    return f"/{locale}/{path}"


def fetch(client: FlaskClient, url: str) -> BeautifulSoup:
    """GET a page that must exist and parse it."""
    response = client.get(url)
    assert response.status_code == 200, url
    return parse(response.data)


def article(soup: BeautifulSoup) -> Tag:
    """Return the page's own text: its title, description and body, without the site's furniture."""
    main = soup.find("main")
    assert isinstance(main, Tag)
    return main


def prose(soup: BeautifulSoup) -> Tag:
    """Return the page's body as the editor wrote it (no dates or owner from the template)."""
    body = article(soup).find(class_="prose")
    assert isinstance(body, Tag)
    return body


def page_words(soup: BeautifulSoup) -> str:
    """Return the words a reader meets on the page itself, including its meta description."""
    description = soup.find("meta", attrs={"name": "description"})
    meta = description["content"] if isinstance(description, Tag) else ""
    title = soup.title.get_text() if soup.title else ""
    return " ".join([title, str(meta), article(soup).get_text(" ")])


def language_of(node: NavigableString) -> str:
    """Return the language a text node is in: its nearest `lang` attribute."""
    for parent in node.parents:
        if isinstance(parent, Tag) and parent.has_attr("lang"):
            return str(parent["lang"])
    return ""


def localized_texts(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    """Yield every per-language text in a data file, with where it sits."""
    if isinstance(node, dict):
        if "sv" in node and all(isinstance(v, str) for v in node.values()):
            yield where, node
            return
        for key, value in node.items():
            yield from localized_texts(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from localized_texts(value, f"{where}[{index}]")


def data_file(name: str) -> Any:
    """Read one of the content folder's data files."""
    return yaml.safe_load((REAL_CONTENT / name).read_text(encoding="utf-8"))


# Arabic


@by_page([key for key in PAGES if key[0] == "ar"] + [("ar", "tillganglighet")])
def test_arabic_pages_use_arabic_letters(site_client: FlaskClient, locale: str, path: str) -> None:
    """Upplands-Bro and every other word is spelled with Arabic letters, not Persian ones."""
    soup = fetch(site_client, page_url(locale, path))
    words = soup.get_text(" ") + page_words(soup)
    assert PERSIAN_ONLY.findall(words) == [], page_url(locale, path)


def test_arabic_upplands_bro_is_spelled_with_arabic_b(site_client: FlaskClient) -> None:
    """The partner municipality's name reads أوبلاندس-برو on the Arabic pages."""
    words = article(fetch(site_client, "/ar/gvi-i-jarfalla")).get_text(" ")
    assert "أوبلاندس-برو" in words


@pytest.mark.parametrize("name", ["site.yaml", "tillganglighet.yaml"])
def test_arabic_data_texts_use_arabic_letters(name: str) -> None:
    """The Arabic texts in the data files contain no Persian letters."""
    for where, texts in localized_texts(data_file(name)):
        assert not PERSIAN_ONLY.search(texts.get("ar", "")), f"{name}: {where}"


# Language of parts


@by_page([key for key in PAGES if key[0] != "en"])
def test_english_terms_are_marked_english(site_client: FlaskClient, locale: str, path: str) -> None:
    """Group Violence Intervention, call-ins and cookie sit in an element with lang="en"."""
    soup = fetch(site_client, page_url(locale, path))
    unmarked = [
        str(node).strip()
        for node in article(soup).find_all(string=ENGLISH_TERMS)
        if not language_of(node).startswith("en")
    ]
    assert unmarked == []


@by_page([key for key in PAGES if key[0] != "en"])
def test_descriptions_and_titles_need_no_english(
    site_client: FlaskClient, locale: str, path: str
) -> None:
    """A title or meta description cannot mark a phrase's language, so it uses none in English."""
    soup = fetch(site_client, page_url(locale, path))
    description = soup.find("meta", attrs={"name": "description"})
    assert isinstance(description, Tag) and soup.title is not None
    assert not ENGLISH_TERMS.search(str(description["content"]) + soup.title.get_text())


def test_swedish_pages_mark_the_english_name_of_gvi(site_client: FlaskClient) -> None:
    """On the Swedish home page the English name is in English and the rest is Swedish."""
    soup = fetch(site_client, "/sv/")
    marked = article(soup).find(lang="en")
    assert marked is not None and marked.get_text() == "Group Violence Intervention"
    assert soup.html is not None and soup.html["lang"] == "sv"


# The statement


def test_statement_data_has_every_text_in_every_language() -> None:
    """Every per-language text of the statement exists in fi, en and ar, not only in Swedish."""
    missing = [
        f"{where} ({locale})"
        for where, texts in localized_texts(data_file("tillganglighet.yaml"))
        for locale in TRANSLATED
        if not texts.get(locale, "").strip() or texts[locale].strip() == texts["sv"].strip()
    ]
    assert missing == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_statement_shows_no_swedish_blocks(site_client: FlaskClient, locale: str) -> None:
    """The statement's known problems and test method are shown in the reader's language."""
    main = article(fetch(site_client, f"/{locale}/tillganglighet"))
    assert main.find(lang="sv") is None
    text = " ".join(main.get_text(" ").split())
    statement = data_file("tillganglighet.yaml")
    problem = statement["known_problems"][0]
    for texts in (problem["what"], problem["instead"], statement["assessment"]["method"]):
        assert " ".join(texts[locale].split()) in text
        assert " ".join(texts["sv"].split()) not in text


# The digits of the first text node in `main` that contains `marker`, in the order they appear on
# screen (top to bottom, then left to right), one string per line.
DIGITS_ON_SCREEN = """(marker) => {
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode()) && !node.data.includes(marker)) {}
  const found = [];
  for (let i = 0; i < node.length; i++) {
    if (!/[0-9-]/.test(node.data[i])) continue;
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    const box = range.getBoundingClientRect();
    found.push([Math.round(box.top), box.left, node.data[i]]);
  }
  found.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const lines = new Map();
  for (const [top, , digit] of found) lines.set(top, (lines.get(top) || "") + digit);
  return [...lines.values()];
}"""


@pytest.mark.parametrize("width", [320, 1280])
def test_arabic_statement_shows_the_phone_number_in_order(
    browser: Any, live_server: LiveServer, width: int
) -> None:
    """In right-to-left text the known problem's phone number reads 08-580 285 00, on one line."""
    with watched_context(browser, live_server.url, viewport={"width": width, "height": 900}) as (
        context,
        _,
    ):
        page = context.new_page()
        page.goto(f"{live_server.url}/ar/tillganglighet")
        # The known problem's "instead" text, not the template's contact line above it.
        assert page.evaluate(DIGITS_ON_SCREEN, "تعرف معنى اسم") == ["08-58028500"]


# Wording


@by_page(PAGES)
def test_start_and_agreement_are_dated(site_client: FlaskClient, locale: str, path: str) -> None:
    """No page says the work "begins" or the agreement "is signed" without saying when."""
    words = page_words(fetch(site_client, page_url(locale, path))).lower()
    assert [phrase for phrase in UNDATED[locale] if phrase.lower() in words] == []


@pytest.mark.parametrize("locale", DATED)
@pytest.mark.parametrize("path", ["gvi-i-jarfalla", "nyheter/jarfalla-infor-gvi", "om-gvi"])
def test_pages_say_when_the_work_began(site_client: FlaskClient, locale: str, path: str) -> None:
    """The pages about the start of GVI in Järfälla name the month it began."""
    text = prose(fetch(site_client, page_url(locale, path))).get_text(" ")
    assert re.search(DATED[locale], text, re.IGNORECASE)


@by_page(PAGES)
def test_pages_do_not_overstate_the_law(site_client: FlaskClient, locale: str, path: str) -> None:
    """No page claims that the law makes the site usable by everyone."""
    words = article(fetch(site_client, page_url(locale, path))).get_text(" ").lower()
    assert [phrase for phrase in OVERSTATED[locale] if phrase.lower() in words] == []


@by_page([key for key in PAGES if key[0] == "sv"])
def test_swedish_pages_write_polisen_for_the_agency(
    site_client: FlaskClient, locale: str, path: str
) -> None:
    """The Police is written "Polisen" with a capital P on every Swedish page."""
    words = page_words(fetch(site_client, page_url(locale, path)))
    assert LOWER_CASE_POLICE.findall(words) == []


@pytest.mark.parametrize(
    ("url", "wrong", "right"),
    [
        ("/sv/gvi-i-jarfalla", "tillsammans med utsatta områden", "tillsammans i utsatta områden"),
        ("/en/gvi-i-jarfalla", "work together on vulnerable areas", "in vulnerable areas"),
        ("/ar/gvi-i-jarfalla", "على قضايا المناطق المعرَّضة", "في المناطق المعرَّضة"),
        ("/sv/lattlast/hjalp", "vart du kan ringa", "vem du kan ringa"),
    ],
)
def test_corrected_phrases(site_client: FlaskClient, url: str, wrong: str, right: str) -> None:
    """The sentences the review found wrong now say what they mean."""
    text = " ".join(article(fetch(site_client, url)).get_text(" ").split())
    assert wrong not in text
    assert right in text


# Safer browsing


@pytest.mark.parametrize("locale", ["sv", "fi", "en", "ar"])
def test_safer_browsing_page_in_every_locale(
    site_client: FlaskClient, site: Site, locale: str
) -> None:
    """Each language has the safer-browsing page: quick exit, history, who to call."""
    soup = fetch(site_client, f"/{locale}/surfa-sakrare")
    main = article(soup)
    text = main.get_text(" ")
    quick_exit = translate(site_client.application, locale, "Leave this page quickly")
    assert quick_exit in text
    contact = site.facts["contact"]
    calls = {a["href"] for a in main.find_all("a", href=re.compile("^tel:"))}
    assert {"tel:112", "tel:11414", f"tel:{contact['servicecenter_tel']}"} <= calls
    assert contact["servicecenter"] in text
    headings = [h.name for h in main.find_all(re.compile("^h[1-6]$"))]
    assert headings[0] == "h1" and set(headings[1:]) == {"h2"}


@pytest.mark.parametrize("locale", ["sv", "fi", "en", "ar"])
def test_safer_browsing_page_stays_out_of_the_main_menu(site: Site, locale: str) -> None:
    """The page is reached from the quick exit and from other pages, not from the main menu."""
    assert f"/{locale}/surfa-sakrare" not in [item.url for item in site.navigation(locale)]
    assert site.get(locale, "surfa-sakrare") is not None


@pytest.mark.parametrize("locale", ["sv", "fi", "en", "ar"])
def test_home_page_links_to_safer_browsing(site_client: FlaskClient, locale: str) -> None:
    """A reader finds the advice from the home page too."""
    main = article(fetch(site_client, f"/{locale}/"))
    assert main.find("a", href=f"/{locale}/surfa-sakrare") is not None
