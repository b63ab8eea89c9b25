"""The converters behind `flask formats build`: one function per format (the audio ones are in
speech.py, the EPUB in epub.py), and the tools they use.

Which converter makes which format, and in which thread, is in each format's record
(catalogue.py); this module knows nothing of the list of formats.

Each converter takes a page prepared once (its blocks, labels and large-print HTML, rendered
in the page's language) and returns the file's bytes. Other programs run in the sandbox
(sandbox.py); WeasyPrint runs in this process and may fetch nothing but the site's own static
files.
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..i18n import LOCALES, long_date
from ..pages.markdown import STATIC_PREFIX, static_image
from . import sandbox
from .lexicon import app_lexicon
from .sandbox import In, Out
from .source import Source, page_context
from .text import (
    Document,
    Labels,
    absolute_links,
    braille_lines,
    paginate,
    read_blocks,
    to_brf,
    to_text,
)

PACKAGE = Path(__file__).parents[1]  # gvisite: its templates and static files
LARGE_PRINT_CSS = PACKAGE / "static" / "css" / "largeprint.css"
# Output is North American ASCII braille, what .brf files, embossers and braille displays expect;
# each locale's table is in its record (i18n.LOCALES).
BRAILLE_DISPLAY = "en-us-brf.dis"
# The EPUB's accessibility summary (schema:accessibilitySummary), in the page's language.
SUMMARY = _l(
    "This e-book has the same text as the page on the website, with headings and a table of"
    " contents, in the same reading order. It is also a talking book: the page read aloud,"
    " with each sentence highlighted as it is read. It is not claimed to meet WCAG: the problems"
    " listed in the website's accessibility statement apply to the book too."
)


@dataclass(frozen=True)
class Tool:
    """A program a format needs, and how to install it (the formats name theirs: catalogue.py)."""

    name: str
    install: str
    version_command: tuple[str, ...] = ()


TOOLS = (
    Tool("weasyprint", "pip install weasyprint (Debian: libpango-1.0-0 fonts-dejavu-core)"),
    Tool("espeak-ng", "apt-get install espeak-ng", ("espeak-ng", "--version")),
    Tool("lame", "apt-get install lame", ("lame", "--version")),
    Tool("lou_translate", "apt-get install liblouis-bin liblouis-data",
         ("lou_translate", "--version")),
    Tool("pandoc", "apt-get install pandoc", ("pandoc", "--version")),
)  # fmt: skip


def _first_line(command: tuple[str, ...]) -> str | None:
    """Return the first line a tool prints about its version, or None if it cannot run."""
    if shutil.which(command[0]) is None:
        return None
    # No page text here, so it may run unsandboxed where bubblewrap cannot (the build refuses).
    limits = sandbox.Limits(seconds=30)
    try:
        said = sandbox.run(list(command), limits=limits, sandboxed=sandbox.problem() is None)
    except (OSError, sandbox.ToolFailed):
        return None
    lines = said.stdout.decode("utf-8", "replace").strip().splitlines()
    return lines[0].strip() if lines else command[0]


def tool_versions() -> dict[str, str | None]:
    """Return each tool's version, or None where it is missing."""
    versions: dict[str, str | None] = {}
    for tool in TOOLS:
        if tool.name == "weasyprint":
            try:
                import weasyprint

                versions[tool.name] = f"WeasyPrint {weasyprint.__version__}"
            except (ImportError, OSError):  # OSError: the system's Pango is missing
                versions[tool.name] = None
        else:
            versions[tool.name] = _first_line(tool.version_command)
    return versions


# --- What the converters start from ----------------------------------------------------------


@dataclass
class Prepared:
    """A page's inputs for every converter, rendered in its language."""

    source: Source
    doc: Document
    labels: Labels
    large_print: str  # the large-print page, linking its stylesheet
    large_print_pdf: str  # the same without the stylesheet link (WeasyPrint gets it directly)
    epub: str  # the page as one simple HTML document, for pandoc
    sandboxed: bool  # whether the tools run in the sandbox (sandbox.sandboxed_for)
    accessibility_summary: str  # for the EPUB's metadata
    site_name: str
    year: str
    # The recordings' text as the voice gets it: the page's words with the lexicon's
    # pronunciations (lexicon.py), in the page's language.
    pronounce: Callable[[str], str] = str
    speaks: bool = True  # whether espeak-ng and lame are here to read the page aloud
    # Recordings made for the formats being built (speech.reading), each kept only until its
    # last user has it (a site's worth of MP3s would not fit in memory), by pace.
    _readings: dict[str, KeptReading] = field(default_factory=dict, repr=False)
    _readings_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def kept_reading(self, pace: str) -> KeptReading:
        """Return where the recording at `pace` is kept for its users (made empty if need be)."""
        with self._readings_lock:
            return self._readings.setdefault(pace, KeptReading())

    def will_read(self, pace: str) -> None:
        """Note one more converter that will ask for the recording at `pace`."""
        kept = self.kept_reading(pace)
        with self._readings_lock:
            kept.users += 1


@dataclass
class KeptReading:
    """A page's recording at one pace, while converters still need it."""

    users: int = 0  # converters that will still ask for it
    lock: threading.Lock = field(default_factory=threading.Lock)  # one makes it, the rest wait
    reading: Any = None  # speech.Reading, once made


def prepare(app: Flask, source: Source, *, sandboxed: bool = True, speaks: bool = True) -> Prepared:
    """Render everything the converters need for a page, in the page's language.

    `speaks`: whether the recordings' tools are here (the EPUB is a talking book only then).
    """
    with page_context(app, source.url):
        site = app.extensions["gvisite.site"]
        labels = Labels(
            last_updated=gettext("Last updated: %(date)s", date=long_date(source.updated)),
            owner=gettext(
                "Page owner: %(name)s, %(email)s", name=source.owner.name, email=source.owner.email
            ),
            address=gettext("This page on the web: %(url)s", url=source.page_url),
            links=gettext("Links"),
            heading=gettext("Heading: %(text)s"),
        )
        body = Markup(absolute_links(source.body, source.site_url))  # noqa: S704  (sanitized)
        marked = Markup(absolute_links(source.marked, source.site_url))  # noqa: S704  (as above)
        context = {"source": source, "body": body, "labels": labels}
        # The web page links the site's own stylesheet and script (its quick exit); the PDF
        # gets the stylesheet from WeasyPrint directly, and has no script.
        web = {
            "stylesheet": url_for("static", filename="css/largeprint.css"),
            "script": url_for("static", filename="js/site.js"),
        }
        paper = {"stylesheet": None, "script": None}
        return Prepared(
            source=source,
            # Sentences as the page marks them: the recordings' timings name its elements.
            doc=read_blocks(source.marked, source.site_url),
            labels=labels,
            large_print=render_template("formats/largeprint.html", **web, **context),
            large_print_pdf=render_template("formats/largeprint.html", **paper, **context),
            # The talking book's text points its sentences at the same ids.
            epub=render_template("formats/epub.html", **{**context, "body": marked}),
            sandboxed=sandboxed,
            speaks=speaks,
            accessibility_summary=str(SUMMARY),  # translated now, in the page's language
            site_name=site.text("site_name", source.locale),
            year=str(source.updated.year),
            pronounce=partial(app_lexicon(app).apply, locale=source.locale),
        )


# --- Converters ----------------------------------------------------------------------------


def make_txt(page: Prepared) -> bytes:
    """Plain UTF-8 text."""
    return to_text(page.source.title, page.doc, page.labels).encode("utf-8")


def make_html(page: Prepared) -> bytes:
    """The large-print web page."""
    return page.large_print.encode("utf-8")


def static_fetcher(site_url: str) -> Any:
    """Return WeasyPrint's URL fetcher: the site's own static files, and nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    prefix = site_url.rstrip("/") + STATIC_PREFIX

    class StaticFiles(URLFetcher):
        """Answer with a static file of the site; refuse any other address."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            site_path = url[len(prefix) - len(STATIC_PREFIX) :] if url.startswith(prefix) else ""
            path = static_image(site_path)
            if path is None:  # a file:// URL, another host, a path outside the static files
                raise ValueError(f"not fetched: {url}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    return StaticFiles()


def make_pdf(page: Prepared) -> bytes:
    """Tagged large-print PDF (PDF/UA-1): language, title, bookmarks, fonts embedded."""
    import weasyprint

    from .pdftext import keep_text_readable  # with WeasyPrint: fontTools is loaded with it

    # WeasyPrint logs every CSS rule it skips; the sheet is shared with browsers, so keep quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    css = weasyprint.CSS(filename=str(LARGE_PRINT_CSS))
    fetcher = static_fetcher(page.source.site_url)
    document = weasyprint.HTML(
        string=page.large_print_pdf, base_url=page.source.page_url, url_fetcher=fetcher
    )
    # The finisher makes Arabic words read back as the page shows them (pdftext.py).
    return document.write_pdf(
        stylesheets=[css], pdf_variant="pdf/ua-1", finisher=keep_text_readable
    )


def translate_braille(locale: str, lines: list[str], sandboxed: bool = True) -> list[str]:
    """Translate lines to ASCII braille with liblouis, one output line per input line."""
    table = f"{BRAILLE_DISPLAY},{LOCALES[locale].braille_table}"
    data = "".join(f"{line}\n" for line in lines).encode("utf-8")
    command: list[str | In | Out] = ["lou_translate", "--forward", table]
    output = sandbox.run(command, stdin=data, sandboxed=sandboxed).stdout.decode("ascii")
    translated = output.split("\n")[: len(lines)]
    if len(translated) != len(lines):
        raise RuntimeError("lou_translate returned fewer lines than it was given")
    return translated


def make_brf(page: Prepared) -> bytes:
    """A braille-ready file: 40 cells a line, 25 lines a page, numbered pages."""
    lines = braille_lines(page.source.title, page.doc, page.labels)
    locale, sandboxed = page.source.locale, page.sandboxed
    pages = paginate(lines, translate_braille(locale, [line.text for line in lines], sandboxed))
    numbers = translate_braille(locale, [str(n) for n in range(1, len(pages) + 1)], sandboxed)
    return to_brf(pages, numbers).encode("ascii")
