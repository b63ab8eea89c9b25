"""What search reads: every page of a locale, and the index kept until what they say changes.

The Markdown pages are read once from their rendered body (pages/reading.py): they change only
with a restart. The statement, the contact page and the two forms are rendered as a visitor gets
them, and their templates mark the text to index with `data-search` (not the page facts, the
formats block or the form's questions). They are rendered again when the stamp file every
process watches changes (prebuilt/stamp.py: staff published a problem, a format was built), and
the index is built again only if their text changed. Never per request."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from markupsafe import escape

from ..i18n import DEFAULT_LOCALE
from ..links import LOCALIZED_ENDPOINTS, after_locale, route_path
from ..pages.model import Page, Site
from ..pages.reading import read
from ..prebuilt.stamp import stamp_file
from .index import Document, LocaleIndex, Words

MARK = "data-search"  # the attribute that marks a template's searchable text
VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                  "track", "wbr"})  # fmt: skip


class _Marked(HTMLParser):
    """Read a rendered page: its h1, its description, and the HTML of its `data-search` parts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.description = ""
        self.parts: list[str] = []
        self._depth = 0  # elements open inside a marked part, itself included (0: outside)
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note the description and the h1; copy a marked part's tags."""
        attributes = dict(attrs)
        if tag == "meta" and attributes.get("name") == "description":
            self.description = attributes.get("content") or ""
        self._in_title = self._in_title or tag == "h1"
        if self._depth:
            self.parts.append(self.get_starttag_text() or "")
            self._depth += tag not in VOID
        elif MARK in attributes:
            self._depth = 1

    def handle_endtag(self, tag: str) -> None:
        """Close the h1, a marked part's element, or the marked part."""
        self._in_title = self._in_title and tag != "h1"
        if self._depth:
            self._depth -= 1
            if self._depth:
                self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        """Keep the h1's text and a marked part's."""
        if self._in_title:
            self.title.append(data)
        if self._depth:
            self.parts.append(str(escape(data)))


def _address(locale: str, path: str) -> str:
    """Return the words of a path after the locale on a Swedish page (Swedish words), else ""."""
    return path.replace("/", " ") if locale == DEFAULT_LOCALE else ""


def _page_document(page: Page) -> Document:
    """Return a Markdown page as search reads it."""
    body = read(page.html)
    headings = tuple(h.text for h in body.headings)
    address = _address(page.locale, page.path)
    return Document(page.url, page.title, page.locale, page.description, headings,
                    tuple(body.passages), address, page)  # fmt: skip


def _template_document(app: Flask, endpoint: str, locale: str) -> Document:
    """Render the statement, the contact page or a form as a visitor gets it; read its text."""
    url = route_path(endpoint, locale=locale)
    with app.app_context(), app.test_request_context(url):  # a fresh context: its own locale
        view = app.ensure_sync(app.view_functions[endpoint])  # as Flask's own dispatch calls it
        html = app.make_response(view(locale=locale)).get_data(as_text=True)
    marked = _Marked()
    marked.feed(html)
    marked.close()
    body = read("".join(marked.parts))
    title = " ".join("".join(marked.title).split())
    headings = tuple(h.text for h in body.headings)
    return Document(url, title, locale, marked.description, headings, tuple(body.passages),
                    _address(locale, after_locale(app, endpoint)))  # fmt: skip


def page_documents(site: Site, locale: str) -> list[Document]:
    """Return the Markdown pages of a locale as search reads them (fixed while the site is)."""
    return [_page_document(page) for page in site.in_locale(locale)]


def template_documents(app: Flask, locale: str) -> list[Document]:
    """Return the statement, the contact page and the forms of a locale, rendered now."""
    return [_template_document(app, endpoint, locale) for endpoint in LOCALIZED_ENDPOINTS]


def _stamp(app: Flask) -> tuple[int, int, int] | None:
    """Return the change stamp's identity (prebuilt/stamp.py), or None before any change."""
    try:
        found = os.stat(stamp_file(app.config["FORMATS_DIR"]))
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


@dataclass(frozen=True)
class _Built:
    """A locale's index, and what it was built from."""

    version: tuple[int, Any]  # the site's identity and the stamp's
    templates: list[Document]
    index: LocaleIndex


class Indexes:
    """An app's indexes, one per locale, for what its pages say now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[str, _Built] = {}
        self._pages: dict[tuple[int, str], list[Document]] = {}  # read once per site
        self._words: dict[str, Words] = {}  # each word stemmed once, whatever is rebuilt

    def get(self, app: Flask, locale: str) -> LocaleIndex:
        """Return a locale's index, built again only when what its pages say changed."""
        site = app.extensions["gvisite.site"]
        version = (id(site), _stamp(app))  # one stat() a search
        with self._lock:  # one thread builds, the others wait for it
            built = self._built.get(locale)
            if built is not None and built.version == version:
                return built.index
            # The stamp changes for every format built, too: render the statement and the
            # forms again (milliseconds), and build the index again only if their text changed.
            templates = template_documents(app, locale)
            if built is not None and built.version[0] == id(site) and built.templates == templates:
                self._built[locale] = _Built(version, templates, built.index)
                return built.index
            if (id(site), locale) not in self._pages:
                self._pages[id(site), locale] = page_documents(site, locale)
            pages = self._pages[id(site), locale]
            words = self._words.setdefault(locale, Words(locale))
            index = LocaleIndex(locale, pages + templates, words)
            self._built[locale] = _Built(version, templates, index)
            return index
