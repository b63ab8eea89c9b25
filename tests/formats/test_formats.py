"""Every page in other formats: the built files, the block that offers them, how they are served.

The whole site's formats are built once for the session into a temporary FORMATS_DIR, by the
real `build` with the real tools; a tool missing here skips its tests, and fails them in CI.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
import subprocess
import time
import wave
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import Tag
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_babel import force_locale

from gvisite import create_app
from gvisite.formats import build as formats_build
from gvisite.formats import cli as formats_cli
from gvisite.formats import convert as formats_convert
from gvisite.formats import epub as formats_epub
from gvisite.formats.build import Report, build, build_key
from gvisite.formats.catalogue import FORMATS
from gvisite.formats.convert import tool_versions
from gvisite.formats.lexicon import app_lexicon
from gvisite.formats.source import (
    CONTACT,
    STATEMENT,
    Source,
    name_for,
    render_source,
    source_names,
)
from gvisite.formats.store import Store
from gvisite.i18n import LOCALES
from gvisite.pages.model import Owner
from tests.conftest import app_config, make_app
from tests.fixtures_servers import BuiltFormats, BuiltLiveServer, build_when_free
from tests.formats.ace import ace_failures, ace_version
from tests.formats.test_formats_arabic import (
    LIBLOUIS_ESCAPE,
    lam_alef_words_lost,
    page_words,
    pdf_words,
    words_differing,
)
from tests.helpers import (
    assert_no_axe_violations,
    force_terminal,
    nu_errors,
    parse,
    parse_xml,
    require_tool,
    translate,
)

TOOLS_OF = {key: fmt.tools for key, fmt in FORMATS.items()}
OPF = {"dc": "http://purl.org/dc/elements/1.1/", "opf": "http://www.idpf.org/2007/opf"}
XHTML = "{http://www.w3.org/1999/xhtml}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
ASCII_BRAILLE = {chr(code) for code in range(0x20, 0x60)}
SENTENCE = "Järfälla kommun arbetar med GVI, och våldet ska upphöra 2026."
EPUBCHECK_JAVA = """
import com.adobe.epubcheck.api.EpubCheck;
import com.adobe.epubcheck.util.DefaultReportImpl;
import java.io.File;

public class EpubCheckAll {
  public static void main(String[] args) {
    for (String name : args) {
      DefaultReportImpl report = new DefaultReportImpl(name);
      new EpubCheck(new File(name), report).validate();
      System.out.println(name + "\\t" + (report.getErrorCount() + report.getFatalErrorCount()));
    }
  }
}
"""


@dataclass
class Built:
    """The site's formats, built once, and its app (the test client needs no server)."""

    app: Flask
    url: str  # SITE_URL, which the pages and files name
    report: Report
    folder: Path
    versions: dict[str, str | None]


@pytest.fixture(scope="session")
def built(built_formats: BuiltFormats) -> Built:
    """Every format of every page, built once for the whole suite (the crawl serves them too)."""
    made = built_formats
    return Built(made.app, made.url, made.report, made.formats_dir, tool_versions())


@pytest.fixture(scope="session")
def served(built_live_server: BuiltLiveServer) -> str:
    """Return where Chromium finds the built site: its live server."""
    return built_live_server.url


@pytest.fixture
def client(built: Built) -> FlaskClient:
    """A test client for the app whose formats are built."""
    return built.app.test_client()


def need(built: Built, key: str) -> None:
    """Skip (fail in CI) a test whose format's tools are missing here."""
    for tool in TOOLS_OF[key]:
        require_tool(built.versions.get(tool) is not None, tool)


def sources(built: Built) -> list[tuple[str, str]]:
    """Return (locale, name) of every page and statement."""
    return source_names(built.app)


def page_url(locale: str, name: str) -> str:
    """Return the address of a page from its name in format addresses."""
    if name == STATEMENT:
        return f"/{locale}/tillganglighet"
    if name == CONTACT:
        return f"/{locale}/kontakt"
    return f"/{locale}/" if name == "index" else f"/{locale}/{name.replace('--', '/')}"


def fetch(client: FlaskClient, url: str, **kwargs: Any) -> Any:
    """GET a URL and close the response (a served file stays open until then)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def built_file(built: Built, locale: str, name: str, key: str) -> Path:
    """Return a built file's path."""
    return Store(built.folder).file(locale, name, FORMATS[key])


@dataclass
class PageText:
    """What a page says, read from the page as served: title, headings, paragraphs, words."""

    title: str
    headings: list[str]
    section_headings: list[str]  # headings that start a section, not those of list items
    paragraphs: list[str]
    words: int


def page_text(client: FlaskClient, locale: str, name: str) -> PageText:
    """Read a page's article, without the formats block and the page facts."""
    response = client.get(page_url(locale, name))
    assert response.status_code == 200, page_url(locale, name)
    article = parse(response.data).find("article")
    assert isinstance(article, Tag)
    for extra in article.select("div.listen, section.other-formats, dl.page-facts"):
        extra.decompose()
    h1 = article.find("h1")
    assert isinstance(h1, Tag)
    title = h1.get_text(" ", strip=True)
    h1.decompose()
    headings = article.find_all(["h2", "h3", "h4", "h5", "h6"])
    return PageText(
        title=title,
        headings=[h.get_text(" ", strip=True) for h in headings],
        section_headings=[h.get_text(" ", strip=True) for h in headings if not h.find_parent("li")],
        paragraphs=[p.get_text(" ", strip=True) for p in article.find_all("p")],
        words=len(article.get_text(" ").split()),
    )


def squeeze(text: str) -> str:
    """Drop all white space and link references, so wrapped lines compare with the page."""
    return "".join(re.sub(r"\s\[\d+\]", "", text).split())


def missing_text(expected: PageText, found: str) -> list[str]:
    """Return the headings and paragraphs of a page that a format's text lacks."""
    haystack = squeeze(found)
    return [t for t in [*expected.headings, *expected.paragraphs] if squeeze(t) not in haystack]


# --- The build ------------------------------------------------------------------------------


def test_build_makes_every_format_of_every_page(built: Built) -> None:
    assert built.report.failed == []
    total = len(sources(built))
    assert total >= 4 * len(LOCALES)
    versions = tool_versions()
    for key in FORMATS:
        need(built, key)
        # Made by this build, or by an earlier one from exactly the same page, tools and code
        # (the suite keeps its built formats between runs; build.py's key says which).
        assert built.report.built[key] + built.report.current[key] == total, key
        for locale, name in sources(built):
            assert built_file(built, locale, name, key).stat().st_size > 0, (locale, name, key)
            made_from = Store(built.folder).manifest(locale, name)[key]["key"]
            source = render_source(built.app, locale, name)
            assert source is not None
            assert made_from == build_key(source, key, versions, app_lexicon(built.app))
            for companion in FORMATS[key].companions:  # the timings, made with the recording
                assert Store(built.folder).manifest(locale, name)[companion]["key"] == made_from


def test_building_twice_does_no_work_the_second_time(built: Built) -> None:
    before = {path: path.stat().st_mtime_ns for path in built.folder.rglob("*") if path.is_file()}
    # Another worker may be checking the same folder under the build lock: wait for it, as a
    # second `flask formats build` on a server would not (it says "busy"), but a test must.
    again, _waited = build_when_free(built.app)
    assert sum(again.built.values()) == 0
    assert sum(again.current.values()) == sum(built.report.built.values()) + sum(
        built.report.current.values()
    )
    assert again.failed == []
    after = {path: path.stat().st_mtime_ns for path in built.folder.rglob("*") if path.is_file()}
    assert after == before


def test_a_missing_tool_leaves_its_format_out_and_never_breaks_a_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(app_config(tmp_path / "instance", FORMATS_DIR=str(tmp_path / "formats")))
    found = tool_versions()
    monkeypatch.setattr(formats_build, "tool_versions", lambda: {**found, "espeak-ng": None})
    monkeypatch.setattr(formats_build, "source_names", lambda _app: [("sv", "om-gvi")])
    report = build(app)
    assert report.skipped["mp3"] == 1
    assert not (tmp_path / "formats" / "sv" / "om-gvi.mp3").exists()
    response = app.test_client().get("/sv/om-gvi")
    assert response.status_code == 200
    block = parse(response.data).select_one("section.other-formats")
    assert block is not None and block.find("audio") is None
    assert not [a for a in block.find_all("a") if a["href"].endswith(".mp3")]
    assert app.test_client().get("/formats/sv/om-gvi.mp3").status_code == 404


def one_page_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, list[Report]]:
    """An app whose `flask formats build` makes one page's formats that need no tool (quick).

    The list gets each build's report, to compare with what the command printed.
    """
    app = make_app(tmp_path / "instance", FORMATS_DIR=str(tmp_path / "formats"))
    monkeypatch.setattr(formats_build, "tool_versions", dict)  # no tool found: none runs
    monkeypatch.setattr(formats_build, "source_names", lambda _app: [("sv", "om-gvi")])
    reports: list[Report] = []

    def build_and_keep(app: Flask, **options: Any) -> Report:
        reports.append(build(app, **options))
        return reports[-1]

    monkeypatch.setattr(formats_cli, "build", build_and_keep)
    return app, reports


def test_off_a_terminal_the_build_prints_its_report_and_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, reports = one_page_build(tmp_path, monkeypatch)
    result = app.test_cli_runner().invoke(args=["formats", "build"])
    assert result.exit_code == 0, result.output
    [report] = reports
    assert report.built.total() == len([f for f in FORMATS.values() if not f.tools])
    # No bar and no label: the log of a deploy or a CI run stays as it was.
    assert result.output == "\n".join(report.summary()) + "\n"


def test_on_a_terminal_the_build_shows_its_progress_and_still_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, reports = one_page_build(tmp_path, monkeypatch)
    force_terminal(monkeypatch)
    result = app.test_cli_runner().invoke(args=["formats", "build"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "Reading the pages\nBuilding the files\n"
    [report] = reports
    assert result.stdout == "\n".join(report.summary()) + "\n"
    for key, fmt in FORMATS.items():
        made = (tmp_path / "formats" / "sv" / f"om-gvi{fmt.suffix}").is_file()
        assert made == (not fmt.tools), key


def test_formats_check_names_each_tool_and_how_to_install_it(built: Built) -> None:
    result = built.app.test_cli_runner().invoke(args=["formats", "check"])
    for tool in formats_convert.TOOLS:
        line = next(line for line in result.output.splitlines() if line.startswith(tool.name))
        assert "found" in line or tool.install in line
    assert result.exit_code == (0 if all(built.versions.values()) else 1)


# --- The block and the links ----------------------------------------------------------------


def test_every_format_link_on_every_page_resolves_with_its_type(
    built: Built, client: FlaskClient
) -> None:
    for key in FORMATS:
        need(built, key)
    for locale, name in sources(built):
        page = parse(client.get(page_url(locale, name)).data)
        block = page.select_one("section.other-formats")
        assert block is not None, (locale, name)
        links = block.select("ul a[type]")
        assert len(links) == len(FORMATS), (locale, name)
        for link in links:
            assert link["hreflang"] == locale
            assert re.search(r"\(.+\d.+\)", link.get_text()), link.get_text()  # type and size
            response = fetch(client, link["href"])
            assert response.status_code == 200, link["href"]
            assert response.mimetype == link["type"], link["href"]
            assert response.headers["ETag"]
            assert "filename=" in response.headers["Content-Disposition"]
            assert (
                response.headers["Link"]
                == f'<{built.url}{page_url(locale, name)}>; rel="canonical"'
            )
            again = fetch(client, link["href"], headers={"If-None-Match": response.headers["ETag"]})
            assert again.status_code == 304
        audio = block.find("audio")
        assert isinstance(audio, Tag)
        assert audio.has_attr("controls") and audio["preload"] == "none"
        assert fetch(client, audio["src"]).mimetype == "audio/mpeg"
        assert block.find("script") is None
        # The request link, not a download of the lättläst page about that form.
        asks = block.find("a", href=lambda h: "/tillganglighet/alternativt-format?" in h)
        request = urlsplit(asks["href"])
        assert request.path == f"/{locale}/tillganglighet/alternativt-format"
        assert parse_qs(request.query) == {"page": [page_url(locale, name)]}


@pytest.mark.parametrize("key", list(FORMATS))
def test_each_download_names_one_charset_and_the_one_it_is_written_in(
    built: Built, client: FlaskClient, key: str
) -> None:
    need(built, key)
    fmt = FORMATS[key]
    for locale in LOCALES:
        response = fetch(client, f"/formats/{locale}/om-gvi{fmt.suffix}")
        assert response.status_code == 200
        header = response.headers["Content-Type"]
        assert header.lower().count("charset") == (1 if fmt.charset else 0), header
        assert response.mimetype_params.get("charset") == fmt.charset, header
        if fmt.charset:
            response.data.decode(fmt.charset)  # the file really is in that charset
    assert (FORMATS["brf"].charset, FORMATS["txt"].charset) == ("us-ascii", "utf-8")


@pytest.mark.parametrize(
    ("page", "count"),
    [("/sv/om-gvi", 7), ("/en/tillganglighet", 7), ("/fi/", 7), ("/sv/finns-inte", 0),
     ("/xx/om-gvi", 0), ("/sv/../etc/passwd", 0), ("", 0), ("https://annan.example/sv/", 0)],
)  # fmt: skip
def test_the_request_form_can_list_the_formats_to_be_had_at_once(
    built: Built, page: str, count: int
) -> None:
    for key in FORMATS:
        need(built, key)
    form = "/sv/tillganglighet/alternativt-format"
    with built.app.test_request_context(form, query_string={"page": page}):
        html = render_template_string('{% include "formats/_instant.html" %}')
    assert len(parse(html).select("a[type][hreflang]")) == count


def test_downloads_have_readable_names_and_are_cached(built: Built, client: FlaskClient) -> None:
    need(built, "pdf")
    response = fetch(client, "/formats/sv/om-gvi.storstil.pdf")
    assert response.headers["Content-Disposition"] == "inline; filename=om-gvi-storstil.pdf"
    assert response.mimetype == "application/pdf"
    # Asked for again before each use (a file keeps its name when it is rebuilt).
    assert response.headers["Cache-Control"] == "public, no-cache" and response.headers["ETag"]
    assert response.headers["Content-Security-Policy"]  # the site's headers apply here too
    epub = fetch(client, "/formats/en/index.epub")
    assert epub.headers["Content-Disposition"] == "attachment; filename=start-en.epub"
    ranged = fetch(client, "/formats/sv/om-gvi.mp3", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100  # players seek with ranges


@pytest.mark.parametrize(
    "url",
    [
        "/formats/sv/finns-inte.txt",
        "/formats/sv/om-gvi.exe",
        "/formats/sv/om-gvi.json",
        "/formats/sv/om-gvi",
        "/formats/sv/.om-gvi.txt.tmp",
        "/formats/xx/om-gvi.txt",
        "/formats/sv/..%2Fsv%2Fom-gvi.txt",
        "/formats/sv/%2e%2e.txt",
        "/formats/sv/om-gvi/../index.txt",
        "/formats/sv/OM-GVI.txt",
        "/formats/sv/om-gvi..txt",
        "/formats/sv/om---gvi.txt",
        "/formats/sv/lattlast--.txt",
        "/formats/fi/lattlast--om-gvi.txt",
    ],
)
def test_anything_but_a_built_format_of_a_page_is_not_found(client: FlaskClient, url: str) -> None:
    assert client.get(url).status_code == 404


def test_a_format_built_from_an_older_page_is_not_offered(built: Built, tmp_path: Path) -> None:
    # Another site address changes every page's content: the same files are now stale.
    config = app_config(tmp_path / "instance", SITE_URL="https://annan.example",
                        FORMATS_DIR=str(built.folder))  # fmt: skip
    stale = create_app(config).test_client()
    page = parse(stale.get("/sv/om-gvi").data)
    block = page.select_one("section.other-formats")
    assert block is not None
    assert block.select("ul a[type]") == [] and block.find("audio") is None
    assert block.find("a", href=lambda h: "alternativt-format" in h)
    assert stale.get("/formats/sv/om-gvi.txt").status_code == 404


# --- Plain text and large print -------------------------------------------------------------


def test_text_and_large_print_say_everything_the_page_says(
    built: Built, client: FlaskClient
) -> None:
    problems = []
    for locale, name in sources(built):
        expected = page_text(client, locale, name)
        text = built_file(built, locale, name, "txt").read_text(encoding="utf-8")
        assert text.startswith(f"# {expected.title}\n"), (locale, name)
        problems += [f"{locale}/{name}.txt lacks: {t}" for t in missing_text(expected, text)]
        large = parse(built_file(built, locale, name, "html").read_bytes())
        assert large.find("html")["lang"] == locale
        assert large.find("h1").get_text(strip=True) == expected.title
        assert large.find("nav") is None, "large print has no navigation"
        main = large.find("main").get_text(" ")
        problems += [
            f"{locale}/{name} large print lacks: {t}" for t in missing_text(expected, main)
        ]
    assert problems == []


def test_large_print_and_pages_with_the_block_are_valid_html(
    built: Built, client: FlaskClient
) -> None:
    documents: dict[str, bytes] = {}
    for locale, name in sources(built):
        large_print = built_file(built, locale, name, "html")
        documents[f"{locale}/{large_print.name}"] = large_print.read_bytes()
        documents[page_url(locale, name)] = client.get(page_url(locale, name)).data
    assert nu_errors(documents) == []


# --- PDF ------------------------------------------------------------------------------------


def pdf_text(reader: Any) -> tuple[str, set[float]]:
    """Return a PDF's text and the size, in points as printed, of every piece of it."""
    sizes: set[float] = set()

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, size: float) -> None:
        if text.strip():
            scale = math.sqrt(abs(tm[0] * tm[3] - tm[1] * tm[2]))
            scale *= math.sqrt(abs(cm[0] * cm[3] - cm[1] * cm[2]))
            sizes.add(round(size * scale, 2))

    text = "\n".join(page.extract_text(visitor_text=visit) for page in reader.pages)
    return text, sizes


def test_large_print_pdf_is_tagged_titled_embedded_and_never_under_18_pt(
    built: Built, client: FlaskClient
) -> None:
    need(built, "pdf")
    from pypdf import PdfReader

    for locale, name in sources(built):
        expected = page_text(client, locale, name)
        reader = PdfReader(built_file(built, locale, name, "pdf"))
        root = reader.trailer["/Root"]
        where = f"{locale}/{name}"
        assert root["/Lang"] == locale, where
        assert bool(root["/MarkInfo"]["/Marked"]), where
        assert "/StructTreeRoot" in root, where
        assert expected.title in reader.metadata.title, where
        text, sizes = pdf_text(reader)
        # Lines that mix Arabic and Latin come back in visual order: compare Arabic by words,
        # without the brackets and stops that change sides where the direction changes.
        phrases = [expected.title, *expected.headings]
        if locale == "ar":
            words = [word.strip("()[]«».,:;،؛") for phrase in phrases for word in phrase.split()]
            phrases = [word for word in words if word]
        missing = [phrase for phrase in phrases if squeeze(phrase) not in squeeze(text)]
        assert missing == [], (where, missing)
        assert min(sizes) >= 18 - 0.01, where
        assert len(reader.outline) >= 1, where  # bookmarks from the headings
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                descriptor = (font.get("/DescendantFonts") or [font])[0].get_object()
                descriptor = descriptor["/FontDescriptor"]
                assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), where


def test_every_arabic_pdf_reads_back_the_words_of_its_page(built: Built, tmp_path: Path) -> None:
    need(built, "pdf")
    require_tool(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    differing, lam_alef_lost = {}, {}
    for locale, name in sources(built):
        if locale == "ar":
            shown = page_words(built_file(built, locale, name, "html").read_text(encoding="utf-8"))
            extracted = pdf_words(built_file(built, locale, name, "pdf").read_bytes(), tmp_path)
            lam_alef_lost[name] = lam_alef_words_lost(shown, extracted)
            if words_differing(shown, extracted) != (Counter(), Counter()):
                differing[name] = words_differing(shown, extracted)
    # Lam and alef drawn as one glyph came back turned round: يارفاال for يارفالا.
    assert lam_alef_lost and all(words == Counter() for words in lam_alef_lost.values())
    assert differing == {}


# --- Audio ----------------------------------------------------------------------------------


def test_audio_is_long_enough_for_the_text_and_tagged(built: Built, client: FlaskClient) -> None:
    need(built, "mp3")
    from mutagen.mp3 import MP3

    for locale, name in sources(built):
        expected = page_text(client, locale, name)
        audio = MP3(built_file(built, locale, name, "mp3"))
        where = f"{locale}/{name}"
        assert audio.info.length >= 0.2 * expected.words, (where, audio.info.length)
        assert audio.tags["TIT2"].text == [expected.title], where
        assert audio.tags["TLAN"].text == [LOCALES[locale].id3_language], where


@pytest.mark.parametrize("locale", list(LOCALES))
def test_audio_decodes(built: Built, locale: str, tmp_path: Path) -> None:
    need(built, "mp3")
    from mutagen.mp3 import MP3

    source = built_file(built, locale, "index", "mp3")
    decoded = tmp_path / "page.wav"
    subprocess.run(["lame", "--quiet", "--decode", str(source), str(decoded)], check=True)
    with wave.open(str(decoded)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert seconds > 5
    audio = MP3(source)
    assert abs(seconds - audio.info.length) < 0.05 * seconds
    # The length tag, in milliseconds, says the same (it said 13.5 hours).
    tagged = int(audio.tags["TLEN"].text[0]) / 1000
    assert abs(seconds - tagged) < 0.05 * seconds, (seconds, tagged)


# --- Braille --------------------------------------------------------------------------------


def lou_translate(table: str, text: str) -> str:
    """Translate one line with liblouis as its own command does."""
    result = subprocess.run(
        ["lou_translate", "--forward", f"en-us-brf.dis,{table}"],
        input=f"{text}\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.rstrip("\n")


def test_braille_pages_fit_an_embosser_and_use_ascii_braille_only(built: Built) -> None:
    need(built, "brf")
    for locale, name in sources(built):
        data = built_file(built, locale, name, "brf").read_bytes().decode("ascii")
        where = f"{locale}/{name}"
        assert set(data) - ASCII_BRAILLE - {"\r", "\n", "\f"} == set(), where
        # A letter its table lacks, or an invisible character, written as liblouis escapes it.
        assert LIBLOUIS_ESCAPE.findall(data) == [], where
        pages = data.split("\f")
        for number, page in enumerate(pages, 1):
            lines = page.split("\r\n")
            assert lines[-1] == "", where
            lines = lines[:-1]
            assert len(lines) <= 25, (where, number)
            assert all(len(line) <= 40 for line in lines), (where, number)
            # The page number stands alone at the right of the first line.
            assert len(lines[0]) == 40 and lines[0].strip().startswith("#"), (where, number)


def test_a_swedish_sentence_comes_out_as_liblouis_translates_it(built: Built) -> None:
    need(built, "brf")
    expected = lou_translate(LOCALES["sv"].braille_table, SENTENCE)
    assert formats_convert.translate_braille("sv", [SENTENCE]) == [expected]
    # Uncontracted Swedish (fullskrift): every word spelled out, unlike sv-g1's kortskrift.
    assert expected == ",J>RF>LLA KOMMUN ARBETAR MED ,,GVI1 OCH V*LDET SKA UPPH[RA #BJBF'"
    assert lou_translate("sv-g1.ctb", SENTENCE) != expected


def test_braille_file_holds_the_page_as_liblouis_translates_it(
    built: Built, client: FlaskClient
) -> None:
    need(built, "brf")
    for locale in LOCALES:
        expected = page_text(client, locale, "om-gvi")
        brf = built_file(built, locale, "om-gvi", "brf").read_bytes().decode("ascii")
        lines = [line.strip() for line in brf.replace("\f", "").split("\r\n")]
        title = lou_translate(LOCALES[locale].braille_table, expected.title)
        assert title in lines, locale
        first = lou_translate(LOCALES[locale].braille_table, expected.paragraphs[0])
        assert squeeze(first) in squeeze(brf), locale


# --- EPUB -----------------------------------------------------------------------------------


def test_epub_passes_epubcheck_and_names_its_language(
    built: Built, client: FlaskClient, tmp_path: Path
) -> None:
    need(built, "epub")
    epubcheck = shutil.which("epubcheck")
    require_tool(epubcheck is not None and shutil.which("java") is not None, "epubcheck")
    checker = tmp_path / "EpubCheckAll.java"
    checker.write_text(EPUBCHECK_JAVA, encoding="utf-8")
    books = {str(built_file(built, *key, "epub")): key for key in sources(built)}
    jar = str(Path(epubcheck or "").resolve())
    result = subprocess.run(
        ["java", "-cp", jar, str(checker), *books], capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    errors = dict(line.split("\t") for line in result.stdout.splitlines() if "\t" in line)
    assert set(errors) == set(books), result.stderr[-3000:]
    assert [b for b, count in errors.items() if count != "0"] == [], result.stderr[-3000:]
    for book, (locale, name) in books.items():
        with zipfile.ZipFile(book) as epub:
            opf = next(n for n in epub.namelist() if n.endswith(".opf"))
            package = parse_xml(epub.read(opf))
            assert package.findtext(".//dc:language", namespaces=OPF) == locale, book
            assert_accessible_epub(built.app, epub, locale, name)
            nav = epub.read(next(n for n in epub.namelist() if n.endswith("nav.xhtml")))
            toc = parse(nav).get_text(" ")
            expected = page_text(client, locale, name)
            missing = [h for h in expected.section_headings if squeeze(h) not in squeeze(toc)]
            assert missing == [], book


def summary_in(app: Flask, locale: str) -> str:
    """Return the EPUB's accessibility summary as the catalog of `locale` has it."""
    with app.test_request_context(f"/{locale}/"), force_locale(locale):
        return str(formats_convert.SUMMARY)


def assert_accessible_epub(app: Flask, epub: zipfile.ZipFile, locale: str, name: str) -> None:
    """Check what EPUB Accessibility 1.1 asks of a book, read from its package and documents."""
    where = f"{locale}/{name}"
    package = parse_xml(epub.read(next(n for n in epub.namelist() if n.endswith(".opf"))))
    # Ace by DAISY's "epub-lang": the package element names the book's language.
    assert package.get(XML_LANG) == locale, where
    assert package.get("dir") == ("rtl" if locale == "ar" else "ltr"), where
    meta: dict[str, list[ET.Element]] = {}
    for element in package.iterfind(".//opf:metadata/opf:meta[@property]", OPF):
        meta.setdefault(element.get("property", ""), []).append(element)

    def values(prop: str) -> list[str]:
        return [(element.text or "").strip() for element in meta.get(f"schema:{prop}", [])]

    # A talking book (#27): read as text, or listened to, the recording following the text.
    assert values("accessMode") == ["textual", "auditory"], where
    assert values("accessModeSufficient") == ["textual", "auditory"], where
    assert set(values("accessibilityFeature")) >= {
        "structuralNavigation", "tableOfContents", "readingOrder", "synchronizedAudioText"
    }, where  # fmt: skip
    assert values("accessibilityHazard") == ["none"], where
    [summary] = meta["schema:accessibilitySummary"]
    assert summary.get(XML_LANG) == locale, where
    english = summary_in(app, "en")
    assert summary.text == summary_in(app, locale), where
    assert locale == "en" or summary.text != english, where  # translated, not the English
    # Not claimed: the statement lists a WCAG failure the book's text shares.
    assert "dcterms:conformsTo" not in meta and "a11y:certifiedBy" not in meta, where
    documents = [n for n in epub.namelist() if n.endswith(".xhtml")]
    assert len(documents) >= 2, where
    for document in documents:
        root = parse_xml(epub.read(document))
        assert root.get("lang") == root.get(XML_LANG) == locale, (where, document)
        assert root.get("dir") == ("rtl" if locale == "ar" else "ltr"), (where, document)
        title = root.findtext(f"{XHTML}head/{XHTML}title") or ""
        assert title.strip() and not title.endswith(".xhtml"), (where, document)
        landmarks = [nav for nav in root.iter(f"{XHTML}nav") if nav.get(EPUB_TYPE) == "landmarks"]
        exempt = {id(e) for nav in landmarks for e in nav.iter()}  # the landmarks list itself
        for element in root.iter():
            if EPUB_TYPE in element.attrib and id(element) not in exempt:
                types = element.get(EPUB_TYPE, "").split()
                roles = {formats_epub.EPUB_ROLES.get(t) for t in types}
                assert roles == {element.get("role")} and None not in roles, (where, document)


def test_an_epub_keeps_the_language_of_each_part(built: Built, tmp_path: Path) -> None:
    need(built, "epub")
    body = '<p>Tervetuloa. <span lang="sv">Kriminalvården</span> auttaa.</p>'
    source = Source("fi", "om-gvi", "Otsikko", dt.date(2026, 11, 25), body, "/fi/om-gvi",
                    Owner("Järfälla kommun", "kontakt@jarfalla.se"), built.url)  # fmt: skip
    book = formats_epub.make_epub(formats_convert.prepare(built.app, source))
    with zipfile.ZipFile(io.BytesIO(book)) as epub:
        chapter = next(n for n in epub.namelist() if "ch0" in n)
        root = parse_xml(epub.read(chapter))
    [swedish] = [e for e in root.iter(f"{XHTML}span") if e.get("lang") == "sv"]
    assert swedish.text == "Kriminalvården"
    assert root.get("lang") == "fi"


def test_every_epub_passes_ace_by_daisy(built: Built, figures: list[str]) -> None:
    need(built, "epub")
    books = {built_file(built, *key, "epub"): key for key in sources(built)}
    start = time.monotonic()
    found = ace_failures(books)
    seconds = time.monotonic() - start
    failures = [f"{locale}/{name}: {failure}" for book, (locale, name) in books.items()
                for failure in found[book]]  # fmt: skip
    figures.append(
        f"ace: {len(books)} EPUBs checked by Ace {ace_version()}, {len(failures)} failures,"
        f" {seconds:.0f} s"
    )
    assert failures == [], f"Ace found {len(failures)} failure(s):\n" + "\n".join(failures)


def test_ace_by_daisy_names_the_rule_an_epub_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool(tool_versions().get("pandoc") is not None, "pandoc")
    app = make_app(tmp_path / "instance", FORMATS_DIR=str(tmp_path / "formats"))
    source = render_source(app, "ar", STATEMENT)
    assert source is not None
    good = tmp_path / "good.epub"
    good.write_bytes(formats_epub.make_epub(formats_convert.prepare(app, source)))
    # The package element as pandoc writes it, without the book's language (issue #25).
    monkeypatch.setattr(formats_epub, "package_language", lambda opf, _locale: opf)
    bad = tmp_path / "bad.epub"
    bad.write_bytes(formats_epub.make_epub(formats_convert.prepare(app, source)))
    found = ace_failures([good, bad])
    assert found[good] == []
    assert [(f.rule, f.impact, f.document) for f in found[bad]] == [
        ("epub-lang", "serious", "EPUB/content.opf")
    ]


# --- In the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tab(browser: Any) -> Iterator[Any]:
    """One browser tab for the module."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("name", ["index", "om-gvi", STATEMENT])
@pytest.mark.parametrize("locale", list(LOCALES))
def test_large_print_passes_axe_at_24_px_in_one_column(
    served: str, tab: Any, locale: str, name: str
) -> None:
    tab.goto(f"{served}/formats/{locale}/{name}.storstil.html")
    assert_no_axe_violations(tab)
    size = tab.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
    assert size >= 24
    assert tab.evaluate("document.querySelectorAll('nav').length") == 0
    # Its one script is the site's own file (the quick exit's Shift×3), never inline code.
    own = "[...document.scripts].every(s => s.src && new URL(s.src).origin === location.origin)"
    assert tab.evaluate(own)
    wide = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    assert tab.evaluate(wide)


@pytest.mark.parametrize("locale", list(LOCALES))
def test_page_with_the_block_passes_axe(built: Built, served: str, tab: Any, locale: str) -> None:
    need(built, "mp3")
    for path in (f"/{locale}/om-gvi", f"/{locale}/tillganglighet"):
        tab.goto(f"{served}{path}")
        assert tab.locator("section.other-formats audio[controls]").count() == 2  # normal, slow
        assert tab.locator("div.listen audio[controls]").count() == 2  # beside the title
        assert_no_axe_violations(tab)


def test_the_player_plays_the_page_and_shows_its_length(
    built: Built, served: str, tab: Any
) -> None:
    need(built, "mp3")
    from mutagen.mp3 import MP3

    real = MP3(built_file(built, "sv", "om-gvi", "mp3")).info.length
    tab.goto(f"{served}/sv/om-gvi")
    duration = tab.evaluate(
        """() => new Promise((resolve, reject) => {
            const audio = document.querySelector('section.other-formats audio');
            audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
            audio.addEventListener('error', () => reject(audio.error && audio.error.code));
            audio.load();
        })"""
    )
    assert duration > 10
    assert abs(duration - real) < 0.05 * real, (duration, real)


def test_page_names_match_the_sources(built: Built) -> None:
    site = built.app.extensions["gvisite.site"]
    names = {name for _locale, name in sources(built)}
    assert {name_for(page.path) for page in site.pages.values()} | {STATEMENT, CONTACT} == names


def test_statement_formats_are_left_out_while_a_published_problem_makes_them_stale(
    client: FlaskClient, built: Built
) -> None:
    from gvisite.extensions import db
    from gvisite.models import PublishedProblem

    def statement_links() -> list[str]:
        page = parse(client.get("/sv/tillganglighet").data)
        return [a["href"] for a in page.select(".other-formats-list a")]

    assert any(f"/formats/sv/{STATEMENT}." in href for href in statement_links())
    with built.app.app_context():
        problem = PublishedProblem(what={"sv": "Knappen saknar fokus."}, criteria=["2.4.7"])
        db.session.add(problem)
        db.session.commit()
        problem_id = problem.id
    try:
        # The statement now says more than its built files do: they are not offered.
        assert statement_links() == []
    finally:
        with built.app.app_context():
            db.session.delete(db.session.get(PublishedProblem, problem_id))
            db.session.commit()
    assert any(f"/formats/sv/{STATEMENT}." in href for href in statement_links())


def test_an_easy_to_read_page_does_not_offer_easy_to_read_swedish(
    built: Built, client: FlaskClient
) -> None:
    tail = " or printed in braille or large print and sent by post? We make those by hand."
    ordinary = "Do you need the page in easy-to-read Swedish, in sign language," + tail
    easy = "Do you need the page in sign language," + tail
    for path, expected in (
        ("/fi/gvi-i-jarfalla", ordinary),  # no selkosuomi version: it may help
        ("/sv/om-gvi", easy),  # its lättläst version is linked at the top of the page
        ("/sv/lattlast", easy),
        ("/sv/lattlast/hjalp", easy),
    ):
        block = parse(client.get(path).data).select_one("main .other-formats")
        assert block is not None, path
        said = translate(built.app, path.split("/")[1], expected)
        assert said in " ".join(block.get_text(" ").split()), path
