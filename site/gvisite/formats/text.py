"""A page's rendered HTML as plain blocks, and the text formats made from them.

The other formats say exactly what the page says because they all start here: the sanitized,
rendered HTML of the page's article is read into headings, paragraphs and list items once, and
the plain text, the speech script and the braille layout are written from those blocks.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

BLOCK_TAGS = frozenset(
    {"p", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre", "tr", "div",
     "section", "table", "ul", "ol", "dl", "hr", "caption", "figure", "figcaption"}
)  # fmt: skip
VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr"})
_SPACE = re.compile(r"\s+")
# Characters the braille tables and the text-to-speech voices read badly, and what to use.
_PLAIN_PUNCTUATION = str.maketrans(
    {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
     "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u00ad": "", "\u200b": ""}
)  # fmt: skip


@dataclass
class Block:
    """One paragraph-like piece of a page: its kind, its text and, for lists, a marker."""

    kind: str  # heading | paragraph | item | term | definition | quote | pre | row
    text: str
    level: int = 0  # heading level (2-6), or list depth (1 = top level)
    marker: str = ""  # "-" or "3." for list items


@dataclass
class Document:
    """A page read into blocks, with the links it points to in order of appearance."""

    blocks: list[Block] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def headings(self) -> list[str]:
        """Return the text of every heading."""
        return [b.text for b in self.blocks if b.kind == "heading"]


class _BlockParser(HTMLParser):
    """Turn sanitized HTML into blocks; links become numbered references."""

    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url.rstrip("/")
        self.doc = Document()
        self.parts: list[str] = []
        self.kinds: list[tuple[str, int, str]] = []  # open block kinds: (kind, level, marker)
        self.lists: list[list] = []  # open lists: [tag, next number]
        self.hrefs: list[str | None] = []
        self.pre = 0
        self.cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in {"ul", "ol"}:
            start = attributes.get("start") or "1"
            self.lists.append([tag, int(start) if start.isdigit() else 1])
        elif tag == "li":
            self.kinds.append(("item", len(self.lists) or 1, self._marker()))
        elif tag in {"h2", "h3", "h4", "h5", "h6"}:
            self.kinds.append(("heading", int(tag[1]), ""))
        elif tag in {"dt", "dd", "pre", "blockquote"}:
            kind = {"dt": "term", "dd": "definition", "blockquote": "quote"}.get(tag, tag)
            self.kinds.append((kind, 0, ""))
            self.pre += tag == "pre"
        elif tag == "tr":
            self.kinds.append(("row", 0, ""))
            self.cells = 0
        elif tag in {"td", "th"}:
            self.parts.append(" - " if self.cells else "")
            self.cells += 1
        elif tag == "a":
            self.hrefs.append(attributes.get("href"))
        elif tag == "br":
            self.parts.append("\n" if self.pre else " ")
        elif tag == "img" and attributes.get("alt"):
            self.parts.append(f" {attributes['alt']} ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if href and not href.startswith("#"):
                self.doc.links.append(absolute(href, self.base_url))
                self.parts.append(f" [{len(self.doc.links)}]")
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
        elif tag in {"li", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "pre", "blockquote", "tr"}:
            if self.kinds:
                self.kinds.pop()
            self.pre -= tag == "pre" and self.pre > 0

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def _marker(self) -> str:
        """Return the next list item's marker: a number in ordered lists, else a dash."""
        if not self.lists or self.lists[-1][0] == "ul":
            return "-"
        self.lists[-1][1] += 1
        return f"{self.lists[-1][1] - 1}."

    def flush(self) -> None:
        """End the text collected so far as a block of the innermost open kind."""
        raw = "".join(self.parts)
        self.parts = []
        kind, level, marker = self.kinds[-1] if self.kinds else ("paragraph", 0, "")
        raw = raw.replace("\u00ad", "").replace("\u200b", "")  # invisible break hints
        text = raw.strip("\n") if kind == "pre" else _SPACE.sub(" ", raw).strip()
        if not text:
            return
        if kind in {"item", "quote"}:
            # A list item's second paragraph, or a nested list's parent text: no new marker.
            self.kinds[-1] = (kind, level, "")
            if kind == "item" and not marker:
                kind = "paragraph"
        self.doc.blocks.append(Block(kind, text, level, marker))


def absolute(href: str, base_url: str) -> str:
    """Return a link as an absolute address: site paths get the site's address in front."""
    if href.startswith("/") and not href.startswith("//"):
        return base_url.rstrip("/") + href
    return href


def read_blocks(body_html: str, base_url: str) -> Document:
    """Read rendered HTML into blocks."""
    parser = _BlockParser(base_url)
    parser.feed(body_html)
    parser.close()
    parser.flush()
    return parser.doc


def absolute_links(body_html: str, base_url: str) -> str:
    """Make every site-relative `href` and `src` absolute, for files read away from the site."""
    base = base_url.rstrip("/")
    return re.sub(r'(\s(?:href|src)=")/(?!/)', lambda m: f"{m[1]}{base}/", body_html)


def plain(text: str) -> str:
    """Replace typographic punctuation with plain characters every tool reads."""
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


@dataclass(frozen=True)
class Pause:
    """A silence in the speech script: written as SSML by this module, never from the text."""

    ms: int


# The speech script's pauses, in milliseconds; fixed here, so the text cannot ask for others.
_TITLE_PAUSE, _BEFORE_HEADING, _AFTER_HEADING, _AFTER_BLOCK = (
    Pause(600), Pause(900), Pause(400), Pause(300)
)  # fmt: skip


def speak_ssml(parts: list[str | Pause], lang: str) -> str:
    """Write SSML: every text part escaped, every pause a break element of its own."""
    body = "\n".join(
        f'<break time="{part.ms}ms"/>' if isinstance(part, Pause)
        else html.escape(plain(part), quote=False)
        for part in parts
    )  # fmt: skip
    return f'<speak version="1.0" xml:lang="{html.escape(lang)}">\n{body}\n</speak>\n'


def to_ssml(title: str, doc: Document, labels: Labels, lang: str) -> str:
    """Write the speech script as SSML: the title, then the text, headings announced as such."""
    parts: list[str | Pause] = [_sentence(title), _TITLE_PAUSE, _sentence(labels.last_updated)]
    for block in doc.blocks:
        if block.kind == "heading":
            spoken = labels.heading % {"text": block.text}
            parts += [_BEFORE_HEADING, _sentence(spoken), _AFTER_HEADING]
        else:
            parts += [_sentence(block.text), _AFTER_BLOCK]
    return speak_ssml(parts, lang)


# Where a sentence may end: after . ! ? or the Arabic question mark, and a space.
_SENTENCE_GAP = re.compile(r"(?<=[.!?؟])\s+")


@dataclass(frozen=True)
class Spoken:
    """One sentence of the speech script, and the kind of pause before it."""

    text: str
    pause: str  # "none" | "title" | "sentence" | "block" | "before_heading" | "after_heading"


def sentences(text: str) -> list[str]:
    """Split a block's text into sentences, each ending like one.

    A gap before a lower-case letter is no sentence end ("t.ex. så", "approx. five"); Arabic
    has no case, so every full stop there ends one. A wrong split costs only an extra pause.
    """
    cleaned = _REFERENCE.sub("", plain(text)).strip()
    found, start = [], 0
    for gap in _SENTENCE_GAP.finditer(cleaned):
        if gap.end() < len(cleaned) and not cleaned[gap.end()].islower():
            found.append(cleaned[start : gap.start()])
            start = gap.end()
    found.append(cleaned[start:])
    return [_sentence(part) for part in found if part.strip()]


def _spoken(text: str, pause: str) -> list[Spoken]:
    """Return a block's sentences: the first after `pause`, the others after a sentence's."""
    return [Spoken(s, pause if i == 0 else "sentence") for i, s in enumerate(sentences(text))]


def to_sentences(title: str, doc: Document, labels: Labels) -> list[Spoken]:
    """Write the speech script as sentences, with the words and in the order of `to_ssml`."""
    spoken = [*_spoken(title, "none"), *_spoken(labels.last_updated, "title")]
    after_heading = False
    for block in doc.blocks:
        if block.kind == "heading":
            spoken += _spoken(labels.heading % {"text": block.text}, "before_heading")
        else:
            spoken += _spoken(block.text, "after_heading" if after_heading else "block")
        after_heading = block.kind == "heading"
    return spoken


def word_count(doc: Document) -> int:
    """Count the words of a document's text, as the duration check counts them."""
    return sum(len(_REFERENCE.sub("", b.text).split()) for b in doc.blocks)


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
