"""The EPUB as a talking book: the page's recording synchronized with its text (Media Overlays).

Each book is made from a real page with the real pandoc, and a recording made here: espeak-ng
reads the page's sentences, lame encodes them, and each sentence's cue gets a share of the
recording as long as its text. The recording the site makes (speech.py) is not needed for what
epub.py does with one.
"""

from __future__ import annotations

import dataclasses
import io
import json
import posixpath
import re
import shutil
import subprocess
import wave
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import Tag
from flask import Flask
from markupsafe import Markup

from gvisite.formats import convert as formats_convert
from gvisite.formats import epub as formats_epub
from gvisite.formats.source import render_source
from gvisite.formats.speech import Cue, Reading
from gvisite.i18n import LOCALES
from tests.conftest import make_app
from tests.formats.ace import ace_failures
from tests.helpers import parse, parse_xml, require_tool

OPF = {"opf": "http://www.idpf.org/2007/opf"}
SMIL = {"smil": "http://www.w3.org/ns/SMIL"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MISSING = "s--notthere"  # a cue's element the page does not have: left out of the book
PAGE = "om-gvi"


@dataclass(frozen=True)
class TalkingBook:
    """A page's book with its recording, the same book without, and the recording."""

    locale: str
    book: bytes
    plain: bytes
    reading: Reading
    path: Path  # the talking book, written out for epubcheck and Ace


def need_tools() -> None:
    """Skip (fail in CI) without the tools that make the book and its recording."""
    for tool in ("pandoc", "espeak-ng", "lame"):
        require_tool(shutil.which(tool) is not None, tool)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app over the real content, whose books are made one page at a time here."""
    folder = tmp_path_factory.mktemp("talking")
    return make_app(folder / "instance", FORMATS_DIR=str(folder / "formats"))


def sentences(document: str) -> list[tuple[str, str]]:
    """Return the id and text of each sentence's span in an HTML document."""
    spans = [s for s in parse(document).find_all("span", class_="s") if isinstance(s, Tag)]
    return [(str(span["id"]), " ".join(span.get_text(" ").split())) for span in spans]


def as_recorded(reading: Reading) -> Reading:
    """Return a reading's cues as a real one may have them: the third span holding two
    sentences (two cues name it), and a last cue naming an element the page does not have."""
    third, last = reading.cues[2], reading.cues[-1]
    middle = (third.start + third.end) / 2
    halves = (Cue(third.element, third.start, middle), Cue(third.element, middle, third.end))
    missing = Cue(MISSING, last.end, last.end + 0.5)
    return dataclasses.replace(
        reading, cues=(*reading.cues[:2], *halves, *reading.cues[3:], missing)
    )


def record(said: list[tuple[str, str]], locale: str, folder: Path) -> Reading:
    """Read the sentences aloud with espeak-ng and lame; give each a share of the recording."""
    wav, mp3 = folder / f"{locale}.wav", folder / f"{locale}.mp3"
    text = "\n".join(sentence for _, sentence in said)
    voice = ["espeak-ng", "-v", LOCALES[locale].voice, "-s", "160", "-w", str(wav), text]
    subprocess.run(voice, check=True, timeout=300)
    subprocess.run(["lame", "--quiet", "-m", "m", "-b", "32", str(wav), str(mp3)], check=True)
    with wave.open(str(wav)) as sound:
        seconds = sound.getnframes() / sound.getframerate()
    letters = sum(len(sentence) for _, sentence in said)
    cues, at = [], 0.0
    for element, sentence in said:
        end = at + seconds * len(sentence) / letters
        cues.append(Cue(element, at, end))
        at = end
    return Reading(mp3.read_bytes(), seconds, tuple(cues))


@pytest.fixture(scope="module", params=["sv", "ar"])
def talking(
    request: pytest.FixtureRequest, app: Flask, tmp_path_factory: pytest.TempPathFactory
) -> TalkingBook:
    """A real page's talking book, in Swedish and in Arabic (right to left)."""
    need_tools()
    locale = request.param
    source = render_source(app, locale, PAGE)
    assert source is not None
    page = formats_convert.prepare(app, source, sandboxed=False)
    folder = tmp_path_factory.mktemp(f"talking-{locale}")
    reading = as_recorded(record(sentences(page.epub), locale, folder))
    book = formats_epub.talking_book(page, reading)
    path = folder / f"{locale}.epub"
    path.write_bytes(book)
    return TalkingBook(locale, book, formats_epub.talking_book(page, None), reading, path)


def package(epub: zipfile.ZipFile) -> tuple[str, ET.Element]:
    """Return the package document's path and its parsed root."""
    name = next(n for n in epub.namelist() if n.endswith(".opf"))
    return name, parse_xml(epub.read(name))


def manifest(epub: zipfile.ZipFile) -> dict[str, dict[str, str]]:
    """Return the manifest's items by id, each with its path in the book added as `path`."""
    name, root = package(epub)
    items = {}
    for item in root.iterfind("opf:manifest/opf:item", OPF):
        path = posixpath.join(posixpath.dirname(name), item.get("href", ""))
        items[item.get("id", "")] = {**item.attrib, "path": path}
    return items


def media_meta(epub: zipfile.ZipFile) -> dict[str, list[tuple[str, str]]]:
    """Return the package's meta elements by property, each as (refines, text)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for element in package(epub)[1].iterfind("opf:metadata/opf:meta[@property]", OPF):
        value = (element.get("refines", ""), (element.text or "").strip())
        found.setdefault(element.get("property", ""), []).append(value)
    return found


@dataclass(frozen=True)
class Par:
    """One `par` of a SMIL document, its references resolved to paths in the book."""

    overlay: str  # the SMIL document's manifest id
    document: str
    element: str
    audio: str
    start: float
    end: float


def pars(epub: zipfile.ZipFile) -> list[Par]:
    """Return every `par` of the book's Media Overlays, in the spine's order."""
    items = manifest(epub)
    spine = [ref.get("idref", "") for ref in package(epub)[1].iterfind(".//opf:itemref", OPF)]
    found = []
    for idref in spine:
        overlay = items[idref].get("media-overlay")
        if overlay is None:
            continue
        smil = items[overlay]["path"]
        root = parse_xml(epub.read(smil))
        for par in root.iterfind(".//smil:par", SMIL):
            text, audio = par.find("smil:text", SMIL), par.find("smil:audio", SMIL)
            assert text is not None and audio is not None, smil
            document, _, element = text.get("src", "").partition("#")
            found.append(Par(
                overlay, posixpath.normpath(posixpath.join(posixpath.dirname(smil), document)),
                element,
                posixpath.normpath(posixpath.join(posixpath.dirname(smil), audio.get("src", ""))),
                float(audio.get("clipBegin", "").removesuffix("s")),
                float(audio.get("clipEnd", "").removesuffix("s")),
            ))  # fmt: skip
    return found


def seconds(clock: str) -> float:
    """Return the seconds of a full clock value (media:duration): 0:01:02.345."""
    hours, minutes, rest = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def test_each_sentence_is_heard_in_order_where_it_stands(talking: TalkingBook) -> None:
    with zipfile.ZipFile(io.BytesIO(talking.book)) as epub:
        found = pars(epub)
        items = manifest(epub)
        [audio] = [item for item in items.values() if item["media-type"] == "audio/mpeg"]
        for par in found:
            ids = re.findall(r'\sid="([^"]*)"', epub.read(par.document).decode("utf-8"))
            assert par.element in ids, par
            assert par.audio == audio["path"], par
            assert items[par.overlay]["media-type"] == "application/smil+xml"
        assert epub.read(audio["path"]) == talking.reading.mp3
    heard = [cue for cue in talking.reading.cues if cue.element != MISSING]
    assert [(p.element, p.start, p.end) for p in found] == [
        (cue.element, round(cue.start, 3), round(cue.end, 3)) for cue in heard
    ]
    # The title and the date are read first; a span with two sentences is named twice in a row.
    elements = [p.element for p in found]
    assert elements[:2] == ["s--title", "s--updated"] and elements[2] == elements[3]
    assert len(set(elements)) > 10, "the page's sentences are in spans (pages/sentences.py)"


def test_the_durations_add_up(talking: TalkingBook) -> None:
    with zipfile.ZipFile(io.BytesIO(talking.book)) as epub:
        found, meta = pars(epub), media_meta(epub)
    durations = dict(meta["media:duration"])
    total = durations.pop("")
    overlays = {par.overlay for par in found}
    assert set(durations) == {f"#{overlay}" for overlay in overlays}
    for overlay in overlays:
        clips = sum(p.end - p.start for p in found if p.overlay == overlay)
        assert seconds(durations[f"#{overlay}"]) == pytest.approx(clips, abs=0.0005)
    assert seconds(total) == pytest.approx(sum(map(seconds, durations.values())), abs=0.0005)
    # The cues follow each other to the recording's end: the book plays all of it.
    assert seconds(total) == pytest.approx(talking.reading.seconds, abs=0.005)


def test_the_package_says_it_is_a_talking_book(talking: TalkingBook) -> None:
    with zipfile.ZipFile(io.BytesIO(talking.book)) as epub:
        meta = media_meta(epub)
        items = manifest(epub)
        [stylesheet] = [item for item in items.values() if item["media-type"] == "text/css"]
        css = epub.read(stylesheet["path"]).decode("utf-8")
        root = package(epub)[1]
        infos = {info.filename: info for info in epub.infolist()}
        first = epub.infolist()[0]

    def values(prop: str) -> list[str]:
        return [text for _, text in meta.get(prop, [])]

    [active] = values("media:active-class")
    assert re.search(rf"\.{re.escape(active)}\s*\{{[^}}]*background-color", css)
    assert values("media:narrator") == ["eSpeak NG"]
    assert values("schema:accessMode") == ["textual", "auditory"]
    assert values("schema:accessModeSufficient") == ["textual", "auditory"]
    assert "synchronizedAudioText" in values("schema:accessibilityFeature")
    assert root.get(XML_LANG) == talking.locale
    assert root.get("dir") == LOCALES[talking.locale].direction
    # mimetype first and stored; the MP3 once, stored (it is compressed already).
    assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
    mp3s = [item for item in items.values() if item["media-type"] == "audio/mpeg"]
    assert len(mp3s) == 1 and infos[mp3s[0]["path"]].compress_type == zipfile.ZIP_STORED


def test_the_book_grows_by_about_its_recording(talking: TalkingBook) -> None:
    growth = len(talking.book) - len(talking.plain)
    assert len(talking.reading.mp3) < growth < len(talking.reading.mp3) + 10_000
    with zipfile.ZipFile(io.BytesIO(talking.plain)) as epub:
        meta = media_meta(epub)
        assert not [n for n in epub.namelist() if n.endswith((".smil", ".mp3"))]
    assert "media:duration" not in meta
    assert [text for _, text in meta["schema:accessMode"]] == ["textual"]


def test_each_chapter_pandoc_makes_has_its_own_overlay(app: Flask, tmp_path: Path) -> None:
    need_tools()
    source = render_source(app, "sv", PAGE)
    assert source is not None
    # A heading of the first rank: pandoc starts a second content document there.
    second = '<h1><span class="s" id="s--0000aaaa">Del två.</span></h1>'
    second += '<p><span class="s" id="s--0000bbbb">Här börjar nästa kapitel.</span></p>'
    source = dataclasses.replace(source, body=source.body + Markup(second))  # noqa: S704  (the test's own)
    page = formats_convert.prepare(app, source, sandboxed=False)
    reading = record(sentences(page.epub), "sv", tmp_path)
    path = tmp_path / "chapters.epub"
    path.write_bytes(formats_epub.talking_book(page, reading))
    with zipfile.ZipFile(path) as epub:
        found, meta = pars(epub), media_meta(epub)
    assert [p.element for p in found] == [cue.element for cue in reading.cues]
    chapters = sorted({(p.overlay, p.document) for p in found})
    assert len(chapters) == 2 and len({document for _, document in chapters}) == 2
    assert [p.document for p in found if p.element.startswith("s--0000")] == [chapters[1][1]] * 2
    assert len(meta["media:duration"]) == 3
    assert epubcheck_messages(path, tmp_path) == []


def test_a_book_without_a_cue_in_it_has_no_recording(app: Flask) -> None:
    need_tools()
    source = render_source(app, "sv", PAGE)
    assert source is not None
    page = formats_convert.prepare(app, source, sandboxed=False)
    nothing = Reading(b"ID3", 1.0, (Cue(MISSING, 0.0, 1.0), Cue("s--title", 1.0, 1.0)))
    with zipfile.ZipFile(io.BytesIO(formats_epub.talking_book(page, nothing))) as epub:
        assert not [n for n in epub.namelist() if n.endswith((".smil", ".mp3"))]
        assert "media:duration" not in media_meta(epub)


def epubcheck_messages(book: Path, folder: Path) -> list[str]:
    """Return every error and warning epubcheck finds in a book."""
    epubcheck = shutil.which("epubcheck")
    require_tool(epubcheck is not None and shutil.which("java") is not None, "epubcheck")
    report = folder / f"{book.stem}.json"
    jar = str(Path(epubcheck or "").resolve())
    finished = subprocess.run(
        ["java", "-jar", jar, str(book), "--json", str(report)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert report.exists(), finished.stderr[-3000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    return [
        f"{m['severity']} {m['ID']} {m['message']} {m['locations'][:1]}"
        for m in result["messages"]
        if m["severity"] in {"FATAL", "ERROR", "WARNING"}
    ]


def test_epubcheck_finds_no_error_and_no_warning(talking: TalkingBook, tmp_path: Path) -> None:
    assert epubcheck_messages(talking.path, tmp_path) == []


def test_ace_by_daisy_finds_no_failure(talking: TalkingBook) -> None:
    found = ace_failures([talking.path])
    assert [str(failure) for failure in found[talking.path]] == []
