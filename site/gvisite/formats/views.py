"""Every page in other formats: large print (HTML, PDF), audio, braille, plain text and EPUB.

The files are built ahead of time (formats_build.py; the running site rebuilds what goes
stale by itself, formats_refresh.py) into `FORMATS_DIR`, one folder per locale, with a small
JSON manifest per page that records what each file was built from. A page offers a format only
while its file was built from the page as it is now; nothing is built on request, so a format
that is missing or stale is left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l

from .. import statement as statement_module
from ..i18n import DEFAULT_LOCALE, LOCALES
from ..pages.load import Owner, Page, current_site
from ..statement import problems_version

bp = Blueprint("formats", __name__)

STATEMENT = "statement"  # the accessibility statement's name among the pages
HOME = "index"  # the home page's name
STATEMENT_PATH = "tillganglighet"
CACHE_SECONDS = 3600
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:--[a-z0-9]+(?:-[a-z0-9]+)*)*$")


@dataclass(frozen=True)
class Format:
    """One other format: how its file is named and served, and how the page's block names it."""

    key: str
    suffix: str  # after the page's name in the URL: om-gvi.storstil.pdf
    mimetype: str  # without parameters: "text/plain"
    charset: str | None  # what the text is written in; None for binary files
    label: Any  # a lazy string: what it is ("Large print")
    type_name: Any  # the file type the link names ("PDF")
    download_suffix: str  # for the file name a download gets: om-gvi-storstil.pdf
    attachment: bool = False  # save rather than show (files browsers cannot show)
    tools: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        """Return the Content-Type header: the type and, for text, its one charset."""
        return f"{self.mimetype}; charset={self.charset}" if self.charset else self.mimetype


# In the order the block lists them. Large print first: it is what most people ask for.
FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("html", ".storstil.html", "text/html", "utf-8", _l("Large print"),
               _l("web page"), "-storstil.html"),
        Format("pdf", ".storstil.pdf", "application/pdf", None, _l("Large print"), "PDF",
               "-storstil.pdf", tools=("weasyprint",)),
        Format("mp3", ".mp3", "audio/mpeg", None, _l("Audio"), "MP3", ".mp3",
               tools=("espeak-ng", "lame")),
        Format("txt", ".txt", "text/plain", "utf-8", _l("Plain text"), _l("text file"),
               ".txt"),
        Format("brf", ".brf", "text/plain", "us-ascii", _l("Braille"), "BRF", ".brf",
               attachment=True, tools=("lou_translate",)),
        Format("epub", ".epub", "application/epub+zip", None, _l("E-book"), "EPUB", ".epub",
               attachment=True, tools=("pandoc",)),
    )
}  # fmt: skip


# --- Sources: what each format is made from -------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A page (or the statement) as the formats need it: its rendered main text and facts."""

    locale: str
    name: str
    title: str
    updated: dt.date
    body: str  # the article's HTML without its h1, its page facts and the formats block
    url: str  # the page's path on the site
    owner: Owner
    site_url: str

    @property
    def digest(self) -> str:
        """Return a hash of everything the formats say, to tell a stale file from a fresh one."""
        facts = [
            self.locale,
            self.name,
            self.title,
            self.updated.isoformat(),
            self.body,
            self.url,
            self.owner.name,
            self.owner.email,
            self.site_url,
        ]
        return hashlib.sha256(json.dumps(facts).encode("utf-8")).hexdigest()

    @property
    def page_url(self) -> str:
        """Return the page's full address."""
        return self.site_url.rstrip("/") + self.url


def name_for(path: str) -> str:
    """Return a page's name in format URLs: `nyheter/x` becomes `nyheter--x`."""
    return path.replace("/", "--") if path else HOME


def path_for(name: str) -> str:
    """Return the page path a format name stands for."""
    return "" if name == HOME else name.replace("--", "/")


def source_names(app: Flask) -> list[tuple[str, str]]:
    """Return (locale, name) for every page of every locale, and each locale's statement."""
    site = app.extensions["gvisite.site"]
    names = sorted((page.locale, name_for(page.path)) for page in site.pages.values())
    return names + [(code, STATEMENT) for code in LOCALES]


def is_source(locale: str, name: str) -> bool:
    """Tell whether a name stands for a page (or the statement) of a locale."""
    if name == STATEMENT:
        return True
    if not _NAME.match(name) or len(name) > 200:
        return False
    return current_site().get(locale, path_for(name)) is not None


@contextmanager
def page_context(app: Flask, url: str) -> Iterator[None]:
    """Render as if for a request to `url`, in a fresh context, without the formats block."""
    with app.app_context(), app.test_request_context(url):
        g.formats_source = True  # the block would list the formats inside their own source
        yield


_ARTICLE = re.compile(r"<article\b[^>]*>(.*)</article>", re.S)
_H1 = re.compile(r"<h1\b[^>]*>.*?</h1>\s*", re.S)
_PAGE_FACTS = re.compile(r'<dl class="page-facts">.*?</dl>\s*', re.S)


def article_body(html: str) -> str:
    """Return the main text of a rendered page: its article without the h1 and page facts."""
    found = _ARTICLE.search(html)
    body = found[1] if found else ""
    return _PAGE_FACTS.sub("", _H1.sub("", body, count=1), count=1).strip()


def render_source(app: Flask, locale: str, name: str) -> Source | None:
    """Render a page (or the statement) the way visitors see it; None if there is no such page."""
    site = app.extensions["gvisite.site"]
    site_url = app.config["SITE_URL"]
    if name == STATEMENT:
        with page_context(app, f"/{locale}/{STATEMENT_PATH}"):
            html = app.view_functions["statement.statement"](locale=locale)
            updated = statement_module.last_updated()  # the data file's date, or staff's
            return Source(
                locale,
                name,
                gettext("Accessibility statement"),
                updated,
                article_body(html),
                f"/{locale}/{STATEMENT_PATH}",
                Owner(**site.facts["default_owner"]),
                site_url,
            )
    page = site.get(locale, path_for(name))
    if page is None:
        return None
    with page_context(app, page.url):
        if page.path:
            html = app.view_functions["pages.page"](locale=locale, path=page.path)
        else:
            html = app.view_functions["pages.home"](locale=locale)
    return Source(
        locale, name, page.title, page.updated, article_body(html), page.url, page.owner, site_url
    )


# --- The built files ------------------------------------------------------------------------


@dataclass
class Store:
    """The folder of built files: `<locale>/<name><suffix>` plus `<locale>/<name>.json`."""

    root: Path
    _manifests: dict[Path, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _digests: dict[tuple[str, str, Any], str] = field(default_factory=dict)

    def file(self, locale: str, name: str, fmt: Format) -> Path:
        """Return where a format of a page is kept."""
        return self.root / locale / f"{name}{fmt.suffix}"

    def manifest_file(self, locale: str, name: str) -> Path:
        """Return where the record of a page's built files is kept."""
        return self.root / locale / f"{name}.json"

    def manifest(self, locale: str, name: str) -> dict[str, Any]:
        """Return `{format key: {key, content, size, etag}}` for a page's built files."""
        path = self.manifest_file(locale, name)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return {}
        cached = self._manifests.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entries = data.get("formats", {}) if isinstance(data, dict) else {}
        self._manifests[path] = (mtime, entries)
        return entries

    def write_manifest(self, locale: str, name: str, entries: dict[str, Any]) -> None:
        """Record a page's built files; readers see the old record or the new one, never half."""
        path = self.manifest_file(locale, name)
        write_atomic(path, json.dumps({"formats": entries}, indent=1, sort_keys=True).encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file under a temporary name and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def store(app: Flask | None = None) -> Store:
    """Return the app's store of built files."""
    return (app or current_app).extensions["gvisite.formats"]


def available(locale: str, name: str) -> dict[str, dict[str, Any]]:
    """Return the built files of a page that match the page as it is now."""
    entries = store().manifest(locale, name)
    if not entries:
        return {}
    digest = current_digest(locale, name)
    return {key: entry for key, entry in entries.items() if entry.get("content") == digest}


def current_digest(locale: str, name: str) -> str | None:
    """Return the digest of a page as it is now (see Source.digest); None if there is none."""
    files = store()
    # Pages are loaded once; the statement changes only when staff publish or resolve a problem,
    # so its digest is kept per version of those changes instead of rendering it every time.
    version = statement_module.read_published(problems_version, None) if name == STATEMENT else None
    key = (locale, name, version)
    digest = files._digests.get(key)
    if digest is None:
        source = render_source(current_app._get_current_object(), locale, name)  # type: ignore[attr-defined]
        if source is None:
            return None
        digest = files._digests[key] = source.digest
    return digest


# --- The "Other formats" block --------------------------------------------------------------


@dataclass(frozen=True)
class FormatLink:
    """A link to one built file, as the block shows it."""

    key: str
    url: str
    text: str
    type: str
    hreflang: str
    filename: str
    attachment: bool


@dataclass(frozen=True)
class Offer:
    """What the block shows for a page: the built files, the audio, and the request form."""

    links: list[FormatLink]
    audio: FormatLink | None
    request_url: str


def file_size(size: int) -> str:
    """Write a file size the way the locale writes numbers: 54 kB, 1.2 MB."""
    if size < 1_000_000:
        return gettext("%(size)s kB", size=format_decimal(max(1, round(size / 1000))))
    return gettext("%(size)s MB", size=format_decimal(round(size / 1_000_000, 1), "#,##0.0"))


def download_name(locale: str, name: str, fmt: Format) -> str:
    """Return a readable file name for a download, like om-gvi-storstil.pdf."""
    stem = {HOME: "start", STATEMENT: STATEMENT_PATH}.get(name, name.replace("--", "-"))
    if locale != DEFAULT_LOCALE:
        stem = f"{stem}-{locale}"
    return f"{stem}{fmt.download_suffix}"


def other_formats(page: Page | None = None) -> Offer | None:
    """Return what the block offers for the page being rendered (or the statement)."""
    if g.get("formats_source"):
        return None
    if page is not None:
        locale, name, page_url = page.locale, name_for(page.path), page.url
    elif request.endpoint == "statement.statement" and request.view_args:
        locale, name = request.view_args["locale"], STATEMENT
        page_url = f"/{locale}/{STATEMENT_PATH}"
    else:
        return None
    return _offer(locale, name, page_url)


def formats_for_path(path: str | None) -> Offer | None:
    """Return the offer for a page named by its address, like the request form's `?page=`."""
    if not path or g.get("formats_source"):
        return None
    locale, _, rest = path.split("?")[0].split("#")[0].strip("/").partition("/")
    name = STATEMENT if rest == STATEMENT_PATH else name_for(rest)
    if locale not in LOCALES or not is_source(locale, name):
        return None
    return _offer(locale, name, path)


def _offer(locale: str, name: str, page_url: str) -> Offer:
    """Return the built files of a page as links, with its audio and the request form."""
    entries = available(locale, name)
    links = []
    for fmt in FORMATS.values():
        if (entry := entries.get(fmt.key)) is None:
            continue
        text = gettext(
            "%(format)s (%(type)s, %(size)s)",
            format=fmt.label,
            type=fmt.type_name,
            size=file_size(int(entry["size"])),
        )
        links.append(
            FormatLink(
                fmt.key,
                url_for("formats.download", locale=locale, filename=f"{name}{fmt.suffix}"),
                text,
                fmt.mimetype,
                locale,
                download_name(locale, name, fmt),
                fmt.attachment,
            )
        )
    audio = next((link for link in links if link.key == "mp3"), None)
    request_url = url_for("feedback.alternative_format", locale=locale, page=page_url)
    return Offer(links, audio, request_url)


# --- Serving --------------------------------------------------------------------------------


def split_filename(filename: str) -> tuple[str, Format] | None:
    """Split `om-gvi.storstil.pdf` into the page name and the format; None if it is neither."""
    for fmt in sorted(FORMATS.values(), key=lambda f: len(f.suffix), reverse=True):
        if filename.endswith(fmt.suffix):
            return filename[: -len(fmt.suffix)], fmt
    return None


@bp.get("/formats/<locale:locale>/<filename>")
def download(locale: str, filename: str) -> Response:
    """Serve a built file of a page: only names of real pages, only files built from them now."""
    found = split_filename(filename)
    if found is None or not is_source(locale, found[0]):
        abort(404)
    name, fmt = found
    entry = available(locale, name).get(fmt.key)
    path = store().file(locale, name, fmt)
    if entry is None or not path.is_file():
        abort(404)
    # Served from memory (the largest file, a page's audio, is a few MB): a browser that drops
    # an audio stream half-way can then never leave an open file handle behind.
    response = send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=fmt.mimetype,
        as_attachment=fmt.attachment,
        download_name=download_name(locale, name, fmt),
        etag=entry["etag"],
        max_age=CACHE_SECONDS,
        conditional=True,
    )
    # send_file appends its own "charset=utf-8" to every text type; a file says only its own.
    response.content_type = fmt.content_type
    page_url = (
        f"/{locale}/{STATEMENT_PATH}"
        if name == STATEMENT
        else (
            current_site().get(locale, path_for(name)).url  # type: ignore[union-attr]
        )
    )
    # Search engines should send people to the page itself, not to one of its copies.
    canonical = current_app.config["SITE_URL"].rstrip("/") + page_url
    response.headers["Link"] = f'<{canonical}>; rel="canonical"'
    return response


def init_app(app: Flask) -> None:
    """Register the routes, the block's template function and the `flask formats` commands."""
    app.extensions["gvisite.formats"] = Store(Path(app.config["FORMATS_DIR"]))
    app.add_template_global(other_formats)
    app.add_template_global(formats_for_path)
    from .build import formats_cli

    app.cli.add_command(formats_cli)
    app.register_blueprint(bp)
