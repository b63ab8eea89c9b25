"""The EPUB converter: pandoc makes the book, this module makes it accessible (EPUB
Accessibility 1.1: metadata, languages, DPUB-ARIA roles) and gives it the site's own images.
"""

from __future__ import annotations

import base64
import html
import io
import json
import mimetypes
import re
import zipfile
from functools import cache

from ..i18n import direction
from ..pages.markdown import static_image
from . import sandbox
from .convert import Prepared
from .sandbox import In, Out


def make_epub(page: Prepared) -> bytes:
    """EPUB 3 with pandoc: language, title, a navigation document and accessibility metadata."""
    source = page.source
    metadata = {
        "title": source.title,
        "lang": source.locale,
        "identifier": f"{source.page_url}#{source.updated.isoformat()}",
        "date": source.updated.isoformat(),
        "creator": source.owner.name,
        "publisher": page.site_name,
        "page-progression-direction": direction(source.locale),
    }
    files = {
        "meta.json": json.dumps(metadata).encode("utf-8"),
        "page.html": embedded_images(page.epub, page.source.site_url).encode("utf-8"),
    }
    # pandoc may read only what it is given: its own --sandbox where it can make an EPUB with
    # it, and in any case the sandbox, where only /usr and the two files above are to be seen.
    own_sandbox = ["--sandbox"] if pandoc_sandbox_works(page.sandboxed) else []
    command: list[str | In | Out] = [
        "pandoc", *own_sandbox, "-f", "html", "-t", "epub3", "--toc-depth", "4",
        "--metadata-file", In("meta.json"),
        "-o", Out("page.epub"), In("page.html")]  # fmt: skip
    book = sandbox.run(command, files=files, sandboxed=page.sandboxed).files["page.epub"]
    return accessible_epub(book, page)


_IMAGE_SOURCE = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")')


def embedded_images(document: str, site_url: str) -> str:
    """Put the site's own images into the document as data: URLs, and drop every other source.

    pandoc then has nothing to fetch: the sanitizer lets only the site's static images through
    (pages/markdown.py), and those are read here, from the site's own files.
    """

    def data_url(match: re.Match[str]) -> str:
        source = html.unescape(match[2])
        base = site_url.rstrip("/")
        path = static_image(source[len(base) :] if source.startswith(base + "/") else source)
        if path is None:
            return f"{match[1]}{match[3]}"
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"{match[1]}data:{kind};base64,{encoded}{match[3]}"

    return _IMAGE_SOURCE.sub(data_url, document)


@cache
def pandoc_sandbox_works(sandboxed: bool) -> bool:
    """Tell whether this pandoc makes an EPUB with --sandbox (2.17, Debian 12's, cannot)."""
    files = {"page.html": b"<p>x</p>"}
    command: list[str | In | Out] = [
        "pandoc", "--sandbox", "-f", "html", "-t", "epub3", "--metadata", "title=x",
        "-o", Out("page.epub"), In("page.html")]  # fmt: skip
    try:
        sandbox.run(command, files=files, sandboxed=sandboxed, limits=sandbox.Limits(seconds=60))
    except sandbox.ToolFailed:
        return False
    return True


# DPUB-ARIA roles for the epub:type values pandoc writes; the others (bodymatter, titlepage...)
# have no role, and an epub:type without its role only confuses reading systems, so it goes.
EPUB_ROLES = {"toc": "doc-toc", "chapter": "doc-chapter", "footnotes": "doc-endnotes",
              "endnotes": "doc-endnotes", "footnote": "doc-footnote", "noteref": "doc-noteref",
              "backlink": "doc-backlink"}  # fmt: skip
_EPUB_TYPED = re.compile(r'<(\w+)([^>]*?)\s+epub:type="([^"]*)"([^>]*)>')
_LANDMARKS = re.compile(r'<nav\b[^>]*epub:type="landmarks".*?</nav>', re.S)
_HTML_START = re.compile(r"<html\b([^>]*)>")
_LANGUAGE_ATTRIBUTES = re.compile(r'\s(?:xml:lang|lang|dir)="[^"]*"')
_FILE_TITLE = re.compile(r"<title>[^<]*\.xhtml</title>")
_PACKAGE_START = re.compile(r"<package\b([^>]*)>")


def accessible_epub(book: bytes, page: Prepared) -> bytes:
    """Add what EPUB Accessibility 1.1 asks to pandoc's book: metadata, languages, roles."""
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():  # in order, keeping `mimetype` first and uncompressed
            data = source.read(info)
            if info.filename.endswith(".xhtml"):
                data = content_document(data.decode("utf-8"), page).encode("utf-8")
            elif info.filename.endswith(".opf"):
                data = package_document(data.decode("utf-8"), page).encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def package_language(opf: str, locale: str) -> str:
    """Name the language and direction on the `package` element, where reading systems and
    Ace look for the book's default language (pandoc writes only dc:language)."""

    def language(match: re.Match[str]) -> str:
        attributes = _LANGUAGE_ATTRIBUTES.sub("", match[1])
        return f'<package{attributes} xml:lang="{locale}" dir="{direction(locale)}">'

    found = _PACKAGE_START.subn(language, opf, count=1)
    if not found[1]:
        raise RuntimeError("pandoc wrote a package document without a package element")
    return found[0]


def content_document(xhtml: str, page: Prepared) -> str:
    """Give a content document its language and direction, a title and roles for epub:type."""
    locale = page.source.locale

    def language(match: re.Match[str]) -> str:
        attributes = _LANGUAGE_ATTRIBUTES.sub("", match[1])
        return f'<html{attributes} lang="{locale}" xml:lang="{locale}" dir="{direction(locale)}">'

    xhtml = _HTML_START.sub(language, xhtml, count=1)
    xhtml = _FILE_TITLE.sub(f"<title>{html.escape(page.source.title)}</title>", xhtml)
    # The landmarks list is made of epub:type values by definition (EPUB 3.3, 7.4.3): kept.
    kept = [found.span() for found in _LANDMARKS.finditer(xhtml)]

    def role(match: re.Match[str]) -> str:
        if any(start <= match.start() < end for start, end in kept):
            return match[0]
        tag, before, types, after = match.groups()
        mapped = [t for t in types.split() if t in EPUB_ROLES]
        if not mapped or "role=" in before + after:
            return f"<{tag}{before}{after}>"
        return f'<{tag}{before} epub:type="{mapped[0]}" role="{EPUB_ROLES[mapped[0]]}"{after}>'

    return _EPUB_TYPED.sub(role, xhtml)


def package_document(opf: str, page: Prepared) -> str:
    """Give the package document its language and direction, and the accessibility metadata."""
    opf = package_language(opf, page.source.locale)
    images = "<img" in page.source.body
    properties = [
        ("accessMode", "textual"),
        *([("accessMode", "visual")] if images else []),
        ("accessModeSufficient", "textual"),  # images on pages must have alt text
        ("accessibilityFeature", "structuralNavigation"),
        ("accessibilityFeature", "tableOfContents"),
        ("accessibilityFeature", "readingOrder"),
        *([("accessibilityFeature", "alternativeText")] if images else []),
        # Text cannot flash, move or make a sound; an image might (an animated GIF).
        ("accessibilityHazard", "unknown" if images else "none"),
    ]
    lines = [f'<meta property="schema:{name}">{value}</meta>' for name, value in properties]
    # No dcterms:conformsTo: the site's statement lists WCAG failures the book's text shares
    # (names in Swedish not marked as Swedish), so a claim of WCAG 2.1 AA would be untrue.
    lines.append(
        f'<meta property="schema:accessibilitySummary" xml:lang="{page.source.locale}">'
        f"{html.escape(page.accessibility_summary, quote=False)}</meta>"
    )
    end = opf.find("</metadata>")
    if end < 0:
        raise RuntimeError("pandoc wrote a package document without metadata")
    start = opf.rindex("\n", 0, end)  # keep pandoc's indentation of the closing tag
    return opf[:start] + "".join(f"\n    {line}" for line in lines) + opf[start:]
