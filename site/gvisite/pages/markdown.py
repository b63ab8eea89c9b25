"""The only place Markdown becomes HTML, and the only place HTML is sanitized.

Everything the output depends on besides the text is in `renderer_version`: this file's code
and the packages in `_PACKAGES`. The render cache (cache.py) keys on it, so a change here, or an
upgrade of those packages, renders every page again; swapping bleach for another sanitizer is a
change to this file only.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown
from bleach.sanitizer import Cleaner
from markdown.extensions.toc import slugify_unicode

from . import reading

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "span", "strong",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
# Editors may mark a phrase in another language (`{: lang=en }`); ids come from the toc extension.
_COMMON = ["id", "lang", "dir"]
ALLOWED_ATTRIBUTES = {
    "*": _COMMON,
    "a": [*_COMMON, "href", "hreflang", "title"],
    "abbr": [*_COMMON, "title"],
    "img": [*_COMMON, "src", "alt", "width", "height"],
    "th": [*_COMMON, "scope", "colspan", "rowspan"],
    "td": [*_COMMON, "colspan", "rowspan"],
    "ol": [*_COMMON, "start"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "tel"})
# Images are files of the site's own, served from its static folder: nothing else is ever
# shown, fetched or read when a page, its PDF or its EPUB is made (the sanitizer drops any other
# source, and `flask content check` names the line).
STATIC_FOLDER = Path(__file__).parents[1] / "static"
STATIC_PREFIX = "/static/"

_EXTENSIONS = ["toc", "tables", "attr_list", "sane_lists", "def_list"]
# The distributions whose code shapes the output (bleach carries its own copy of html5lib).
_PACKAGES = ("Markdown", "bleach")


@dataclass(frozen=True)
class Rendered:
    """A page body as HTML, and its headings as (level, id, text)."""

    html: str
    headings: tuple[tuple[int, str, str], ...]


def _slugify(value: str, separator: str) -> str:
    """Make a heading id that keeps å, ä, ö and Arabic readable (toc's default drops them)."""
    return slugify_unicode(value, separator)


def image_problem(src: str) -> str | None:
    """Say why an image source is not a file of the site's own, or None if it is one."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or src.startswith("//"):
        return f"image {src!r} is not a file of the site: copy it into the site's static files"
    if not src.startswith(STATIC_PREFIX) or parts.query or parts.fragment or "\\" in src:
        return f"image {src!r}: write an image of the site as {STATIC_PREFIX}img/<file name>"
    names = unquote(parts.path[len(STATIC_PREFIX) :]).split("/")
    if any(name in {"", ".", ".."} or name.startswith(".") for name in names):
        return f"image {src!r} points outside the site's static files"
    if not STATIC_FOLDER.joinpath(*names).is_file():
        return f"image {src!r} is missing from the site's static files"
    return None


def static_image(src: str) -> Path | None:
    """Return the file an image source names if it is one of the site's own, else None."""
    if image_problem(src) is not None:
        return None
    return STATIC_FOLDER.joinpath(*unquote(urlsplit(src).path[len(STATIC_PREFIX) :]).split("/"))


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Keep an allowed attribute; an image's source only if it is a file of the site."""
    if name not in ALLOWED_ATTRIBUTES.get(tag, []) and name not in _COMMON:
        return False
    return not (tag == "img" and name == "src" and image_problem(value) is not None)


class _Renderer(threading.local):
    """One Markdown converter and one cleaner per thread: building them costs more than a page."""

    def __init__(self) -> None:
        configs = {"toc": {"permalink": False, "slugify": _slugify}}
        self.markdown = markdown.Markdown(
            extensions=_EXTENSIONS, extension_configs=configs, output_format="html"
        )
        self.cleaner = Cleaner(
            tags=ALLOWED_TAGS,
            attributes=_allowed_attribute,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
        )


_local = _Renderer()


def sanitize(html: str) -> str:
    """Strip everything outside the allowlist: scripts, event handlers, iframes, bad URLs."""
    return _local.cleaner.clean(html)


def render_markdown(text: str) -> str:
    """Render an editor's Markdown to sanitized HTML."""
    converter = _local.markdown
    converter.reset()  # forget the previous page's ids and references
    return sanitize(converter.convert(text))


def headings(html: str) -> tuple[tuple[int, str, str], ...]:
    """List the h2-h6 headings of rendered HTML as (level, id, text), read by reading.py."""
    found = reading.read(html).headings
    return tuple((h.level, h.id, h.text) for h in found if h.level > 1 and h.id is not None)


def render(text: str) -> Rendered:
    """Render a page body and list its headings: everything the render cache keeps."""
    html = render_markdown(text)
    return Rendered(html, headings(html))


@cache
def renderer_version() -> str:
    """Return a digest of what shapes the output: this code, its packages, Python's version."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(Path(reading.__file__).read_bytes())  # it reads the headings the cache keeps
    for name in _PACKAGES:
        digest.update(f"\0{name}={version(name)}".encode())
    digest.update(f"\0python={sys.version_info[0]}.{sys.version_info[1]}".encode())
    # Which images a page may show depends on the static files there are.
    for path in sorted(STATIC_FOLDER.rglob("*")):
        digest.update(f"\0{path.relative_to(STATIC_FOLDER).as_posix()}".encode())
    return digest.hexdigest()
