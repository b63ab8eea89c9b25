"""The text formats made from a page's blocks: plain text, the speech script, braille.

The other formats say exactly what the page says because they all start here: the sanitized,
rendered HTML of the page's article is read into headings, paragraphs and list items once, by
the pages' one reader (pages/reading.py), and the plain text, the speech script and the braille
layout are written from those blocks.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from itertools import pairwise

from ..pages.reading import Block, Document, read
from ..pages.sentences import TITLE_ID, UPDATED_ID, sentence_starts

# Characters that only steer how text is shown: bidi marks, embeddings and isolates (the
# Arabic pages wrap numbers and Swedish names in them), the word joiner, the zero-width
# joiners (braille and speech join no letters) and the byte order mark. liblouis writes them
# as escapes ('\x2066') and the voices may spell them: the braille and speech drop them.
INVISIBLE = (
    "\u200c\u200d\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"  # joiners, marks, embeddings
    "\u2060\u2066\u2067\u2068\u2069\ufeff"  # word joiner, isolates, byte order mark
)
# Characters the braille tables and the text-to-speech voices read badly, and what to use.
_PLAIN_PUNCTUATION = str.maketrans(
    {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
     "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u00ad": "", "\u200b": "",
     **dict.fromkeys(INVISIBLE, "")}
)  # fmt: skip


def absolute(href: str, base_url: str) -> str:
    """Return a link as an absolute address: site paths get the site's address in front."""
    if href.startswith("/") and not href.startswith("//"):
        return base_url.rstrip("/") + href
    return href


def read_blocks(body_html: str, base_url: str) -> Document:
    """Read rendered HTML into blocks (pages/reading.py), its numbered links made absolute."""
    doc = read(body_html)
    return replace(doc, links=[absolute(href, base_url) for href in doc.links])


def absolute_links(body_html: str, base_url: str) -> str:
    """Make every site-relative `href` and `src` absolute, for files read away from the site."""
    base = base_url.rstrip("/")
    return re.sub(r'(\s(?:href|src)=")/(?!/)', lambda m: f"{m[1]}{base}/", body_html)


def plain(text: str) -> str:
    """Replace typographic punctuation with plain characters every tool reads, and drop the
    invisible formatting characters."""
    return text.translate(_PLAIN_PUNCTUATION)


# --- Plain text ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """The interface words the formats need, already translated into the page's language."""

    last_updated: str  # "Last updated: 25 November 2026"
    owner: str  # "Page owner: Name, address"
    address: str  # "This page on the web: https://..."
    links: str  # "Links"
    heading: str  # "Heading: %(text)s", for the audio


def to_text(title: str, doc: Document, labels: Labels) -> str:
    """Write the page as UTF-8 plain text: headings marked with #, lists kept, links at the end."""
    out = [f"# {title}", "", labels.last_updated, ""]
    for block in doc.blocks:
        if block.kind == "heading":
            out += ["", f"{'#' * block.level} {block.text}", ""]
        elif block.kind == "item":
            indent = "  " * (block.level - 1)
            out.append(f"{indent}{block.marker} {block.text}" if block.marker else block.text)
        elif block.kind == "definition":
            out += [f"  {block.text}", ""]
        elif block.kind == "quote":
            out += [f"> {block.text}", ""]
        else:
            out += [block.text, ""]
    out += ["", labels.owner, labels.address]
    if doc.links:
        out += ["", f"## {labels.links}", ""]
        out += [f"[{number}] {href}" for number, href in enumerate(doc.links, 1)]
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# --- Speech -------------------------------------------------------------------------------

_REFERENCE = re.compile(r" \[\d+\]")
_SENTENCE_END = (".", "!", "?", ":", ";", "؟", "؛")


def _sentence(text: str) -> str:
    """Return text ending like a sentence, so the voice pauses and lowers its pitch."""
    text = _REFERENCE.sub("", text).strip()
    return text if text.endswith(_SENTENCE_END) else f"{text}."


def speak_ssml(sentence: str, lang: str) -> str:
    """Write one sentence as SSML, escaped, so the text can ask for no pause or sound of its
    own (the silences are written into the sound itself: speech.py)."""
    body = html.escape(plain(sentence), quote=False)
    return f'<speak version="1.0" xml:lang="{html.escape(lang)}">\n{body}\n</speak>\n'


@dataclass(frozen=True)
class Spoken:
    """One sentence of the speech script, the kind of pause before it, and where it is shown."""

    text: str
    pause: str  # "none" | "title" | "sentence" | "block" | "before_heading" | "after_heading"
    element: str | None = None  # the id of its element on the page (pages/sentences.py)


def sentences(text: str) -> list[str]:
    """Split a block's text into sentences, each ending like one.

    A gap before a lower-case letter is no sentence end ("t.ex. så", "approx. five"); Arabic
    has no case, so every full stop there ends one. A wrong split costs only an extra pause.
    """
    cleaned = _REFERENCE.sub("", plain(text)).strip()
    edges = [0, *sentence_starts(cleaned), len(cleaned)]
    found = [cleaned[a:b].strip() for a, b in pairwise(edges)]
    return [_sentence(part) for part in found if part]


def _spoken(text: str, pause: str, element: str | None = None) -> list[Spoken]:
    """Return a text's sentences: the first after `pause`, the others after a sentence's."""
    return [
        Spoken(s, pause if i == 0 else "sentence", element) for i, s in enumerate(sentences(text))
    ]


def _block_spoken(block: Block, pause: str, heading: str) -> list[Spoken]:
    """Return a block's sentences: one for each marked sentence of the page, with its id; a
    heading's first one announced with `heading` ("Heading: %(text)s")."""
    if not block.sentences:  # text without marks: split here, shown nowhere
        return _spoken(
            heading % {"text": block.text} if block.kind == "heading" else block.text, pause
        )
    spoken: list[Spoken] = []
    for index, (element, text) in enumerate(block.sentences):
        if block.kind == "heading" and index == 0:
            text = heading % {"text": text}
        cleaned = _REFERENCE.sub("", plain(text)).strip()
        if cleaned:
            spoken.append(Spoken(_sentence(cleaned), pause if not spoken else "sentence", element))
    return spoken


def to_sentences(title: str, doc: Document, labels: Labels) -> list[Spoken]:
    """Write the speech script as sentences, in reading order, each with its element's id."""
    spoken = [*_spoken(title, "none", TITLE_ID), *_spoken(labels.last_updated, "title", UPDATED_ID)]
    after_heading = False
    for block in doc.blocks:
        if block.kind == "heading":
            pause = "before_heading"
        else:
            pause = "after_heading" if after_heading else "block"
        spoken += _block_spoken(block, pause, labels.heading)
        after_heading = block.kind == "heading"
    return spoken


# --- Braille layout -----------------------------------------------------------------------

CELLS_PER_LINE = 40
LINES_PER_PAGE = 25


@dataclass(frozen=True)
class BrailleLine:
    """A line of the braille text before layout: what it is, and how to indent it."""

    text: str
    first_indent: int = 0
    rest_indent: int = 0
    heading: bool = False


def braille_lines(title: str, doc: Document, labels: Labels) -> list[BrailleLine]:
    """Return the paragraphs to translate, in order, with braille's indentation conventions."""
    lines = [BrailleLine(title, heading=True), BrailleLine(labels.last_updated)]
    for block in doc.blocks:
        if block.kind == "heading":
            lines.append(BrailleLine(block.text, heading=True))
        elif block.kind == "item":
            # List items start in cell 1 (deeper ones further in); runover lines in cell 3.
            depth = 2 * (block.level - 1)
            text = f"{block.marker} {block.text}" if block.marker else block.text
            lines.append(BrailleLine(text, depth, depth + 2))
        else:
            # Paragraphs start in cell 3 and run over to cell 1.
            lines.append(BrailleLine(block.text, 2, 0))
    lines += [BrailleLine(labels.owner, 2, 0), BrailleLine(labels.address, 2, 0)]
    if doc.links:
        lines.append(BrailleLine(labels.links, heading=True))
        lines += [BrailleLine(f"[{n}] {href}", 0, 2) for n, href in enumerate(doc.links, 1)]
    return [BrailleLine(plain(line.text), line.first_indent, line.rest_indent, line.heading)
            for line in lines]  # fmt: skip


def wrap_cells(cells: str, first_indent: int, rest_indent: int, width: int) -> list[str]:
    """Break translated braille at spaces into lines of at most `width` cells."""
    lines: list[str] = []
    current: str | None = None
    for word in cells.split():
        if current is None:
            current = " " * first_indent + word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = " " * rest_indent + word
        while len(current) > width:  # a word longer than a line (a web address): cut it
            lines.append(current[:width])
            current = " " * rest_indent + current[width:]
    if current is not None:
        lines.append(current)
    return lines


def paginate(lines: list[BrailleLine], translated: list[str]) -> list[list[str]]:
    """Lay translated lines out on pages, leaving each page's first line for its number."""
    body = LINES_PER_PAGE - 1
    rows: list[tuple[str, bool]] = []  # (line, keep with the next line)
    for line, cells in zip(lines, translated, strict=True):
        wrapped = wrap_cells(cells, line.first_indent, line.rest_indent, CELLS_PER_LINE)
        if line.heading and rows:
            rows.append(("", False))
        rows += [(text, line.heading) for text in wrapped]
        if line.heading:
            rows.append(("", False))
    pages: list[list[str]] = [[]]
    for index, (text, keep) in enumerate(rows):
        if not text and not pages[-1]:
            continue  # no blank line at the top of a page
        next_text = rows[index + 1][0] if index + 1 < len(rows) else ""
        # A heading never ends a page: it moves over to the page with its text.
        widowed = keep and next_text and len(pages[-1]) == body - 1
        if len(pages[-1]) >= body or widowed:
            pages.append([])
            if not text:
                continue
        pages[-1].append(text)
    while len(pages) > 1 and not pages[-1]:
        pages.pop()
    return [[line.rstrip() for line in page] for page in pages]


def to_brf(pages: list[list[str]], numbers: list[str]) -> str:
    """Join pages into a braille-ready file: the page number on top at the right, CR LF line
    ends and a form feed between pages."""
    numbered = [
        [number.rjust(CELLS_PER_LINE), *page] for page, number in zip(pages, numbers, strict=True)
    ]
    return "\f".join("\r\n".join(page) + "\r\n" for page in numbered)
