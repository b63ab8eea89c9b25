"""The "Other formats" block every page ends with, and the downloads of the built files."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, request, send_file, url_for
from flask_babel import format_decimal, gettext

from ..i18n import DEFAULT_LOCALE, LOCALES
from ..links import after_locale, route_path
from ..pages.model import Page
from ..prebuilt.kept import CACHE_CONTROL
from .catalogue import ALL_FILES, COMPANIONS, FORMATS, Format
from .source import HOME, ROUTE_SOURCES, is_source, name_for, source_url
from .speech import minutes
from .store import available, store

bp = Blueprint("formats", __name__)


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
    listen: str | None  # a recording's player label; None for files that are not played
    minutes: int  # how long a recording plays (0 for other files)
    cues: str | None = None  # a recording's sentence timings (WebVTT), for the read-along

    @property
    def saved(self) -> bool:
        """Whether the link saves the file: attachments, and recordings (not opened in a tab)."""
        return self.attachment or self.listen is not None


@dataclass(frozen=True)
class Offer:
    """What the block shows for a page: the built files, the players, and the request form."""

    links: list[FormatLink]
    players: list[FormatLink]  # the recordings (normal, slow) built for the page now
    request_url: str


def file_size(size: int) -> str:
    """Write a file size the way the locale writes numbers: 54 kB, 1.2 MB."""
    if size < 1_000_000:
        return gettext("%(size)s kB", size=format_decimal(max(1, round(size / 1000))))
    return gettext("%(size)s MB", size=format_decimal(round(size / 1_000_000, 1), "#,##0.0"))


def download_name(locale: str, name: str, fmt: Format) -> str:
    """Return a readable file name for a download, like om-gvi-storstil.pdf."""
    if name in ROUTE_SOURCES:  # named as its address ends: tillganglighet-storstil.pdf
        stem = route_path(ROUTE_SOURCES[name], locale=locale).rpartition("/")[2]
    else:
        stem = "start" if name == HOME else name.replace("--", "-")
    if locale != DEFAULT_LOCALE:
        stem = f"{stem}-{locale}"
    return f"{stem}{fmt.download_suffix}"


def other_formats(page: Page | None = None) -> Offer | None:
    """Return what the block offers for the page being rendered (or the statement, contact)."""
    if g.get("formats_source"):
        return None
    if page is not None:
        return _offer(page.locale, name_for(page.path), page.url)
    names = {endpoint: name for name, endpoint in ROUTE_SOURCES.items()}
    if request.endpoint in names and request.view_args:
        locale = request.view_args["locale"]
        return _offer(locale, names[request.endpoint], url_for(request.endpoint, locale=locale))
    return None


def formats_for_path(path: str | None) -> Offer | None:
    """Return the offer for a page named by its address, like the request form's `?page=`."""
    if not path or g.get("formats_source"):
        return None
    locale, _, rest = path.split("?")[0].split("#")[0].strip("/").partition("/")
    at = {after_locale(current_app, endpoint): name for name, endpoint in ROUTE_SOURCES.items()}
    name = at.get(rest) or name_for(rest)
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
                str(fmt.listen) if fmt.listen is not None else None,
                minutes(int(entry["size"])) if fmt.listen is not None else 0,
                _companion_url(locale, name, fmt, entries),
            )
        )
    players = [link for link in links if link.listen is not None]
    request_url = url_for("feedback.alternative_format", locale=locale, page=page_url)
    return Offer(links, players, request_url)


def _companion_url(locale: str, name: str, fmt: Format, entries: dict[str, Any]) -> str | None:
    """Return the address of a recording's timings, where they were built with it."""
    for key in fmt.companions:
        if key in entries:
            filename = f"{name}{COMPANIONS[key].suffix}"
            return url_for("formats.download", locale=locale, filename=filename)
    return None


# --- Serving --------------------------------------------------------------------------------


def split_filename(filename: str) -> tuple[str, Format] | None:
    """Split `om-gvi.storstil.pdf` into the page name and the format; None if it is neither."""
    for fmt in sorted(ALL_FILES.values(), key=lambda f: len(f.suffix), reverse=True):
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
        conditional=True,
    )
    # Asked again (ETag) before each use, as the pages are: a file keeps its name when it is
    # rebuilt, and the statement's is rebuilt the moment staff publish or resolve a problem.
    response.headers["Cache-Control"] = CACHE_CONTROL
    # send_file appends its own "charset=utf-8" to every text type; a file says only its own.
    response.content_type = fmt.content_type
    # Search engines should send people to the page itself, not to one of its copies.
    canonical = current_app.config["SITE_URL"].rstrip("/") + (source_url(locale, name) or "")
    response.headers["Link"] = f'<{canonical}>; rel="canonical"'
    return response
