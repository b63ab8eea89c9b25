"""The EPUB converter: pandoc makes the book, this module makes it accessible (EPUB
Accessibility 1.1: metadata, languages, DPUB-ARIA roles), gives it the site's own images, and
makes it a talking book: the page's recording, synchronized sentence by sentence with its text
through EPUB 3 Media Overlays (one SMIL document for each content document the cues point into).
"""

from __future__ import annotations

import base64
import html
import io
import json
import mimetypes
import posixpath
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from ..i18n import direction
from ..pages.markdown import static_image
from . import sandbox
from .convert import Prepared
from .sandbox import In, Out
from .speech import Reading, reading


def make_epub(page: Prepared) -> bytes:
    """The page as an EPUB 3 talking book: its text with its recording, sentence by sentence
    (its text alone where espeak-ng or lame is missing)."""
    return talking_book(page, reading(page, "normal") if page.speaks else None)


def talking_book(page: Prepared, reading: Reading | None) -> bytes:
    """EPUB 3 with pandoc: language, title, a navigation document, accessibility metadata, and
    the reading, if given, synchronized with the text sentence by sentence."""
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
    return accessible_epub(book, page, reading)


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


def accessible_epub(book: bytes, page: Prepared, reading: Reading | None = None) -> bytes:
    """Add what EPUB Accessibility 1.1 asks to pandoc's book: metadata, languages, roles; and
    the reading's Media Overlays, if one is given."""
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        overlays = media_overlays(source, reading) if reading is not None else []
        for info in source.infolist():  # in order, keeping `mimetype` first and uncompressed
            data = source.read(info)
            if info.filename.endswith(".xhtml"):
                data = content_document(data.decode("utf-8"), page).encode("utf-8")
            elif info.filename.endswith(".opf"):
                data = package_document(data.decode("utf-8"), page, overlays).encode("utf-8")
            elif info.filename.endswith(".css") and overlays:
                data += ACTIVE_CSS.encode("utf-8")
            target.writestr(info, data)
        if overlays and reading is not None:
            add_recording(target, source.getinfo(package_path(source)), overlays, reading.mp3)
    return out.getvalue()


def add_recording(
    book: zipfile.ZipFile, package: zipfile.ZipInfo, overlays: Sequence[Overlay], mp3: bytes
) -> None:
    """Write the SMIL documents and the MP3 beside the package document, dated as it is."""
    folder = posixpath.dirname(package.filename)
    for found in overlays:
        smil = zipfile.ZipInfo(posixpath.join(folder, found.path), package.date_time)
        book.writestr(smil, found.smil, zipfile.ZIP_DEFLATED)
    # Stored: MP3 is compressed already, and a reading system can play it from the zip as is.
    book.writestr(zipfile.ZipInfo(posixpath.join(folder, AUDIO), package.date_time), mp3)


# --- Media Overlays -------------------------------------------------------------------------

# Where the recording and the SMIL documents go, from the package document's folder.
AUDIO = "audio/page.mp3"
OVERLAYS = "overlays"
# The class a reading system gives the element being read (media:active-class): black on a
# highlighter's light yellow (19:1), the text colour set too so that it stays readable on a dark
# theme's light text.
ACTIVE_CLASS = "-epub-media-overlay-active"
ACTIVE_CSS = (
    "\n/* The sentence being read aloud (the package's media:active-class) */\n"
    f".{ACTIVE_CLASS} {{ background-color: #ffff99; color: #000000; }}\n"
)
NARRATOR = "eSpeak NG"  # the synthetic voice that reads every page
_ITEM = re.compile(r"<item\b[^>]*>")
_ITEMREF = re.compile(r'<itemref\b[^>]*\sidref="([^"]*)"')
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
_ELEMENT_ID = re.compile(r'\sid="([^"]*)"')


@dataclass(frozen=True)
class Clip:
    """One cue as the book plays it: the element's id and its span of the recording, in ms."""

    element: str
    start: int
    end: int


@dataclass(frozen=True)
class Overlay:
    """The Media Overlay of one content document: its SMIL and how long its clips play."""

    item: str  # the content document's manifest id
    path: str  # the SMIL document, from the package document's folder
    smil: str
    milliseconds: int

    @property
    def id(self) -> str:
        """Return the SMIL document's manifest id."""
        return f"{self.item}-overlay"


def package_path(book: zipfile.ZipFile) -> str:
    """Return where the package document is in the book (pandoc's EPUB/content.opf)."""
    return next(name for name in book.namelist() if name.endswith(".opf"))


def reading_order(opf: str) -> list[tuple[str, str]]:
    """Return the manifest id and href of each content document in the spine, in order."""
    items = [dict(_ATTRIBUTE.findall(found[0])) for found in _ITEM.finditer(opf)]
    by_id = {item["id"]: item for item in items if "id" in item and "href" in item}
    return [
        (idref, html.unescape(by_id[idref]["href"]))
        for idref in _ITEMREF.findall(opf)
        if idref in by_id and "nav" not in by_id[idref].get("properties", "").split()
    ]


def media_overlays(book: zipfile.ZipFile, reading: Reading) -> list[Overlay]:
    """Make a Media Overlay for each content document that holds a cue's element, in order.

    pandoc copies a heading's spans into the navigation document too, which is not in the
    spine: an id counts where it first stands in the reading order. A cue whose element is not
    in the book, or that lasts no time at all, is left out.
    """
    package = package_path(book)
    folder = posixpath.dirname(package)
    documents = reading_order(book.read(package).decode("utf-8"))
    where: dict[str, str] = {}
    for item, href in documents:
        xhtml = book.read(posixpath.join(folder, href)).decode("utf-8")
        for element in _ELEMENT_ID.findall(xhtml):
            where.setdefault(html.unescape(element), item)
    clips: dict[str, list[Clip]] = {}
    for cue in reading.cues:
        clip = Clip(cue.element, round(cue.start * 1000), round(cue.end * 1000))
        if cue.element in where and clip.start < clip.end:
            clips.setdefault(where[cue.element], []).append(clip)
    return [overlay(item, href, clips[item]) for item, href in documents if item in clips]


def overlay(item: str, href: str, clips: list[Clip]) -> Overlay:
    """Make the SMIL document that plays a content document's clips, one `par` each, in order."""
    stem = posixpath.splitext(posixpath.basename(href))[0]
    path = f"{OVERLAYS}/{stem}.smil"
    text = html.escape(posixpath.relpath(href, OVERLAYS))
    audio = html.escape(posixpath.relpath(AUDIO, OVERLAYS))
    pars = "".join(
        f'\n    <par id="par-{number}">'
        f'\n      <text src="{text}#{html.escape(clip.element)}"/>'
        f'\n      <audio src="{audio}" clipBegin="{clip.start / 1000:.3f}s"'
        f' clipEnd="{clip.end / 1000:.3f}s"/>'
        "\n    </par>"
        for number, clip in enumerate(clips, start=1)
    )
    smil = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<smil xmlns="http://www.w3.org/ns/SMIL" version="3.0">\n'
        f"  <body>{pars}\n  </body>\n</smil>\n"
    )
    return Overlay(item, path, smil, sum(clip.end - clip.start for clip in clips))


def clock(milliseconds: int) -> str:
    """Return a duration as a SMIL full clock value, as media:duration has it: 0:01:02.345."""
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02}:{rest // 1000:02}.{rest % 1000:03}"


def overlay_manifest(opf: str, overlays: Sequence[Overlay]) -> str:
    """Point each content document at its Media Overlay, and list the SMIL and the MP3."""
    for found in overlays:
        # The item's tag up to its end, where the attribute goes.
        item = re.compile(rf'<item\b[^>]*\sid="{re.escape(found.item)}"[^>]*?(?=\s*/?>)')
        tag = item.search(opf)
        if tag is None:
            raise RuntimeError(f"the package document lists no {found.item}")
        opf = f'{opf[: tag.end()]} media-overlay="{found.id}"{opf[tag.end() :]}'
    items = [
        f'<item id="{found.id}" href="{found.path}" media-type="application/smil+xml" />'
        for found in overlays
    ]
    items.append(f'<item id="page-audio" href="{AUDIO}" media-type="audio/mpeg" />')
    return insert_lines(opf, "</manifest>", items)


def overlay_metadata(overlays: Sequence[Overlay]) -> list[str]:
    """Return the package's Media Overlays metadata: each one's duration, the book's, and more.

    The book's duration is the sum of its overlays', as EPUB 3.3 asks (a pause between two
    cues is in no clip), in whole milliseconds so that it adds up exactly.
    """
    lines = [
        f'<meta property="media:duration" refines="#{found.id}">{clock(found.milliseconds)}</meta>'
        for found in overlays
    ]
    total = sum(found.milliseconds for found in overlays)
    lines.append(f'<meta property="media:duration">{clock(total)}</meta>')
    lines.append(f'<meta property="media:narrator">{NARRATOR}</meta>')
    lines.append(f'<meta property="media:active-class">{ACTIVE_CLASS}</meta>')
    return lines


def insert_lines(opf: str, before: str, lines: list[str]) -> str:
    """Put lines before a closing tag of the package document, at pandoc's indentation."""
    end = opf.find(before)
    if end < 0:
        raise RuntimeError(f"pandoc wrote a package document without {before}")
    start = opf.rindex("\n", 0, end)  # keep pandoc's indentation of the closing tag
    return opf[:start] + "".join(f"\n    {line}" for line in lines) + opf[start:]


# --- Languages, roles and accessibility metadata ------------------------------------------------


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


def package_document(opf: str, page: Prepared, overlays: Sequence[Overlay] = ()) -> str:
    """Give the package document its language and direction, the accessibility metadata and
    the Media Overlays', if the book has any."""
    opf = package_language(opf, page.source.locale)
    images = "<img" in page.source.body
    talking = bool(overlays)
    # The recording says the text, not what images show: with images, sound alone is not enough.
    heard = "auditory,visual" if images else "auditory"
    properties = [
        ("accessMode", "textual"),
        *([("accessMode", "auditory")] if talking else []),
        *([("accessMode", "visual")] if images else []),
        ("accessModeSufficient", "textual"),  # images on pages must have alt text
        *([("accessModeSufficient", heard)] if talking else []),
        ("accessibilityFeature", "structuralNavigation"),
        ("accessibilityFeature", "tableOfContents"),
        ("accessibilityFeature", "readingOrder"),
        *([("accessibilityFeature", "alternativeText")] if images else []),
        *([("accessibilityFeature", "synchronizedAudioText")] if talking else []),
        # Text cannot flash, move or make a sound; an image might (an animated GIF). The
        # recording is speech, played only when the reader asks for it.
        ("accessibilityHazard", "unknown" if images else "none"),
    ]
    lines = [f'<meta property="schema:{name}">{value}</meta>' for name, value in properties]
    # No dcterms:conformsTo: the site's statement lists WCAG failures the book's text shares
    # (names in Swedish not marked as Swedish), so a claim of WCAG 2.1 AA would be untrue.
    lines.append(
        f'<meta property="schema:accessibilitySummary" xml:lang="{page.source.locale}">'
        f"{html.escape(page.accessibility_summary, quote=False)}</meta>"
    )
    if talking:
        lines += overlay_metadata(overlays)
        opf = overlay_manifest(opf, overlays)
    return insert_lines(opf, "</metadata>", lines)
