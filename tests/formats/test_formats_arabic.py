"""Arabic reads right in every format: braille, the large-print PDF's text, the EPUB's language.

Each test converts one or two real pages with the real tools, without building the whole site
(the built site's tests, in test_formats.py, check the same of every file).
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from flask import Flask

from gvisite.formats import convert as formats_convert
from gvisite.formats import epub as formats_epub
from gvisite.formats.source import STATEMENT, render_source
from tests.conftest import make_app
from tests.helpers import parse, parse_xml, require_tool

# How liblouis writes a character its tables lack: '\x00e4' (upper case in ASCII braille).
LIBLOUIS_ESCAPE = re.compile(r"'\\x[0-9a-f]{4,5}'", re.I)
# The PDF's page numbers ("1 / 4"; in a right-to-left page pdftotext may give "4/1").
PAGE_NUMBER = re.compile(r"^[\s\u202a-\u202e]*\d+\s*/\s*\d+[\s\u202a-\u202e]*$", re.M)
# A word: letters, marks and digits, with dots inside ("3.1.2"); hyphens and other punctuation
# part words (a line may break after a hyphen, and pdftotext may move a full stop or a bracket
# to the other end of a word where the direction changes).
WORD = re.compile(r"[\w\u0300-\u036f\u064b-\u065f\u0670]+(?:\.\w+)*")
# Where Arabic letters meet Latin letters or digits inside a word ("وServicecenter"): a word
# boundary, which pdftotext, turning the line round, may lose or move.
ARABIC = "\u0620-\u065f\u0670"
SCRIPT_CHANGE = re.compile(f"(?<=[{ARABIC}])(?=[^{ARABIC}])|(?<=[^{ARABIC}])(?=[{ARABIC}])")
# Characters that only steer how text is shown (bidi marks and isolates, joiners): no words.
INVISIBLE = re.compile("[\u200c-\u200f\u061c\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
OPF_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LAM_ALEF = "\u0644\u0627"  # lam and alef, drawn as one glyph
BLOCKS = ["p", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "th",
          "figcaption", "div", "footer", "br", "tr", "ul", "ol", "dl", "section"]  # fmt: skip


def words(text: str) -> list[str]:
    """Return a text's words, without invisible formatting, in canonical (NFC) form.

    Compared as a multiset: lines that mix Arabic and Latin come back in visual order.
    """
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return [part for word in WORD.findall(text) for part in SCRIPT_CHANGE.split(word) if part]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app over the real content, whose formats are made one page at a time here."""
    folder = tmp_path_factory.mktemp("arabic")
    return make_app(folder / "instance", FORMATS_DIR=str(folder / "formats"))


def prepared(
    app: Flask, locale: str, name: str, body: str | None = None
) -> formats_convert.Prepared:
    """Prepare a real page for the converters, its text replaced by `body` if given."""
    source = render_source(app, locale, name)
    assert source is not None
    if body is not None:
        source = dataclasses.replace(source, body=body)
    return formats_convert.prepare(app, source, sandboxed=False)


def need_liblouis() -> None:
    """Skip (fail in CI) without liblouis."""
    require_tool(shutil.which("lou_translate") is not None, "lou_translate")


def test_swedish_names_in_arabic_braille_are_spelled_as_in_swedish_braille() -> None:
    need_liblouis()
    line = "تعمل بلدية يارفالا (Järfälla kommun) مع مصلحة السجون (Kriminalvården) وBrå."
    [arabic] = formats_convert.translate_braille("ar", [line], sandboxed=False)
    assert LIBLOUIS_ESCAPE.search(arabic) is None, arabic
    for name in ("Järfälla", "Kriminalvården", "Brå"):
        [swedish] = formats_convert.translate_braille("sv", [name], sandboxed=False)
        assert swedish in arabic, (name, swedish, arabic)


def test_arabic_braille_has_no_invisible_formatting_characters(app: Flask) -> None:
    need_liblouis()
    # The phone number as the Arabic statement has it: isolated, a word joiner after the
    # hyphen (no line break there); a right-to-left mark and a soft hyphen.
    body = (
        "<p>اتصل بمركز الخدمة على الرقم \u206608-\u2060580 285 00\u2069\u200f.</p>"
        "<p>\u2068Kriminal\u00advården\u2069 تساعد.</p>"
    )
    brf = formats_convert.make_brf(prepared(app, "ar", "om-gvi", body)).decode("ascii")
    assert LIBLOUIS_ESCAPE.search(brf) is None, LIBLOUIS_ESCAPE.findall(brf)
    cells = "".join(brf.split())
    [number] = formats_convert.translate_braille("ar", ["08-580 285 00"], sandboxed=False)
    [agency] = formats_convert.translate_braille("ar", ["Kriminalvården"], sandboxed=False)
    assert "".join(number.split()) in cells
    assert agency in cells


def pdf_words(pdf: bytes, tmp_path: Path) -> list[str]:
    """Return the words of a PDF's text layer as pdftotext reads them, without page numbers."""
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    said = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    )
    return words(PAGE_NUMBER.sub("", said.stdout))


def page_words(html: str) -> list[str]:
    """Return the words a large-print page shows: a line break between blocks, none between
    inline elements (و<a>الشرطة</a> is one word)."""
    main = parse(html).find("main")
    assert main is not None
    for block in main.find_all(BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    for numbered in main.find_all("ol"):  # their numbers are on the page, drawn by CSS
        start = int(str(numbered.get("start", 1)))
        for number, item in enumerate(numbered.find_all("li", recursive=False), start):
            item.insert(0, f"{number}. ")
    return words(main.get_text(""))


def lam_alef_words_lost(shown: list[str], extracted: list[str]) -> Counter[str]:
    """Return the page's words with lam-alef that the PDF's text does not give back."""
    return Counter(w for w in shown if LAM_ALEF in w) - Counter(extracted)


def words_differing(shown: list[str], extracted: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Return the page's words the PDF's text lacks, and the words it has that the page lacks."""
    return Counter(shown) - Counter(extracted), Counter(extracted) - Counter(shown)


# Pages with lam-alef, vowel marks (تنوين، شدّة), a mark between lam and alef (مثلًا), Latin
# names, numbers and a numbered list.
PDF_PAGES = ["surfa-sakrare", STATEMENT]


@dataclasses.dataclass(frozen=True)
class ReadBack:
    """A page's words, and those of its PDF's text layer."""

    shown: list[str]
    extracted: list[str]


@pytest.fixture(scope="module")
def read_back(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReadBack]:
    """Each page's words, and the words pdftotext reads from its large-print PDF."""
    require_tool(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    folder = tmp_path_factory.mktemp("pdf")
    found = {}
    for name in PDF_PAGES:
        page = prepared(app, "ar", name)
        pdf = formats_convert.make_pdf(page)
        found[name] = ReadBack(page_words(page.large_print_pdf), pdf_words(pdf, folder))
    return found


@pytest.mark.parametrize("name", PDF_PAGES)
def test_arabic_pdf_text_gives_back_every_lam_alef_word(
    read_back: dict[str, ReadBack], name: str
) -> None:
    page = read_back[name]
    assert [w for w in page.shown if LAM_ALEF in w], "the page has words with lam-alef"
    # Lam and alef drawn as one glyph came back turned round: يارفاال for يارفالا.
    assert lam_alef_words_lost(page.shown, page.extracted) == Counter()


@pytest.mark.parametrize("name", PDF_PAGES)
def test_arabic_pdf_text_layer_has_the_words_of_the_page(
    read_back: dict[str, ReadBack], name: str
) -> None:
    page = read_back[name]
    assert any(unicodedata.category(char) == "Mn" for word in page.shown for char in word)
    # Vowel marks drawn raised split words (أيضًا came back as أي، ضا، ً), and a lam-alef
    # first drawn with a mark between its letters (مثلًا) was mapped to nothing.
    assert words_differing(page.shown, page.extracted) == (Counter(), Counter())


def test_arabic_epub_package_names_its_language_and_direction(app: Flask) -> None:
    require_tool(shutil.which("pandoc") is not None, "pandoc")
    book = formats_epub.make_epub(prepared(app, "ar", "om-gvi"))
    with zipfile.ZipFile(io.BytesIO(book)) as epub:
        package = parse_xml(epub.read(next(n for n in epub.namelist() if n.endswith(".opf"))))
    # Ace by DAISY's "epub-lang": the package element names the book's language.
    assert package.get(OPF_LANG) == "ar"
    assert package.get("dir") == "rtl"
