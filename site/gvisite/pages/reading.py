"""The one reader of a page's rendered HTML: what it says, read once, as each user needs it.

The lint (its headings, links and images), the readability meter (its passages), the Markdown
renderer (its headings for the render cache), search (its blocks) and the other formats (their
blocks and numbered links, formats/text.py) all read a page through `read`, so they read the
same text by the same rules.

- `blocks`: paragraph-like pieces with their kind (heading, item, term, ...), list markers and
  links as numbered references `[1]`; an image's alt text is read where the image stands.
- `passages`: the units a reader takes as one (a heading, a paragraph, a list item, a table
  cell, a line), for counting sentences: no references, no alt texts, no link addresses.
- `headings`, `links`, `images`: every one in order, as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import NamedTuple

from .sentences import CLASS as SENTENCE_CLASS

# Tags that start and end a block of the formats (h1 is the title's alone: never in a body).
BLOCK_TAGS = frozenset(
    {"p", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre", "tr", "div",
     "section", "table", "ul", "ol", "dl", "hr", "caption", "figure", "figcaption"}
)  # fmt: skip
_KINDS = {"li": "item", "dt": "term", "dd": "definition", "blockquote": "quote", "pre": "pre"}
# Tags whose end ends a passage, punctuated or not: a reader takes a heading, a paragraph, a
# list item, a table cell or a term as one unit. A line break (`<br>`) ends one too.
PASSAGE_TAGS = frozenset(
    {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "td", "th", "caption", "br"}
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Block:
    """One paragraph-like piece of a page: its kind, its text and, for lists, a marker."""

    kind: str  # heading | paragraph | item | term | definition | quote | pre | row
    text: str
    level: int = 0  # heading level (2-6), or list depth (1 = top level)
    marker: str = ""  # "-" or "3." for list items
    # Its sentences where the HTML marks them (pages/sentences.py): (the span's id, its text,
    # references included); text outside the spans has no id. Empty where nothing is marked.
    sentences: tuple[tuple[str | None, str], ...] = ()


@dataclass(frozen=True)
class HeadingRead:
    """A heading as written: its level (1-6), its id and its text (white space as written)."""

    level: int
    id: str | None
    text: str


class Link(NamedTuple):
    """A link: its address as written ("" without one) and its text, white space folded."""

    href: str
    text: str


class Image(NamedTuple):
    """An image: its source ("" where the sanitizer dropped it) and its alt text."""

    src: str
    alt: str


@dataclass
class Document:
    """A page body read once: its blocks and numbered links, passages, headings, links, images."""

    blocks: list[Block] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # the addresses the blocks number [1], [2]
    passages: list[str] = field(default_factory=list)
    headings: list[HeadingRead] = field(default_factory=list)
    anchors: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)


class _Reader(HTMLParser):
    """Read sanitized HTML in one pass into a `Document`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = Document()
        self.parts: list[str] = []  # the block being read, with references and alt texts
        self.kinds: list[tuple[str, int, str]] = []  # open block kinds: (kind, level, marker)
        self.lists: list[list] = []  # open lists: [tag, next number]
        self.hrefs: list[str | None] = []
        self.pre = 0
        self.cells = 0
        self.passage: list[str] = []  # the passage being read: the text only
        self.link: tuple[str, list[str]] | None = None  # the link being read: href, its text
        self.heading: tuple[int, list[str]] | None = None  # where in `headings`, its text
        self.spans: list[str | None] = []  # open spans: a sentence's id, or None for others
        self.marks: list[tuple[int, int, str]] = []  # the block's sentences: start, end, id
        self.opened: tuple[int, str] | None = None  # the sentence being read: start, id

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a block, a list, a link, a heading; read an image or a line break."""
        attributes = dict(attrs)
        if tag in PASSAGE_TAGS:  # a nested list in a list item, too: the text before it is one
            self._end_passage()
        if tag in BLOCK_TAGS:
            self.flush()
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.heading = (len(self.doc.headings), [])
            self.doc.headings.append(HeadingRead(int(tag[1]), attributes.get("id"), ""))
        if tag in {"ul", "ol"}:
            start = attributes.get("start") or "1"
            self.lists.append([tag, int(start) if start.isdigit() else 1])
        elif tag == "li":
            self.kinds.append(("item", len(self.lists) or 1, self._marker()))
        elif tag in {"h2", "h3", "h4", "h5", "h6"}:
            self.kinds.append(("heading", int(tag[1]), ""))
        elif tag in {"dt", "dd", "pre", "blockquote"}:
            self.kinds.append((_KINDS[tag], 0, ""))
            self.pre += tag == "pre"
        elif tag == "tr":
            self.kinds.append(("row", 0, ""))
            self.cells = 0
        elif tag in {"td", "th"}:
            self.parts.append(" - " if self.cells else "")
            self.cells += 1
        elif tag == "a":
            self.hrefs.append(attributes.get("href"))
            self.link = (attributes.get("href") or "", [])
        elif tag == "span":
            marked = attributes.get("class") == SENTENCE_CLASS and attributes.get("id")
            self.spans.append(marked or None)
            if marked:
                self.opened = (len(self.parts), marked)
        elif tag == "br":
            self.parts.append("\n" if self.pre else " ")
        elif tag == "img":
            alt = attributes.get("alt")
            self.doc.images.append(Image(attributes.get("src") or "", alt or ""))
            if alt:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        """Close a link (numbering it), a heading, a block, a list."""
        if tag == "span" and self.spans and self.spans.pop() and self.opened is not None:
            start, marked = self.opened
            self.marks.append((start, len(self.parts), marked))
            self.opened = None
        if tag == "a" and self.link is not None:
            href, text = self.link
            self.doc.anchors.append(Link(href, " ".join("".join(text).split())))
            self.link = None
        if tag == "a" and self.hrefs:
            reference = self.hrefs.pop()
            if reference and not reference.startswith("#"):
                self.doc.links.append(reference)
                self.parts.append(f" [{len(self.doc.links)}]")
        if self.heading is not None and len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            at, text = self.heading
            self.doc.headings[at] = replace(self.doc.headings[at], text="".join(text))
            self.heading = None
        if tag in PASSAGE_TAGS:
            self._end_passage()
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
        elif tag in {"li", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "pre", "blockquote", "tr"}:
            if self.kinds:
                self.kinds.pop()
            self.pre -= tag == "pre" and self.pre > 0

    def handle_data(self, data: str) -> None:
        """Read text; attributes (link addresses, alt texts) never come here."""
        self.parts.append(data)
        self.passage.append(data)
        if self.link is not None:
            self.link[1].append(data)
        if self.heading is not None:
            self.heading[1].append(data)

    def close(self) -> None:
        """Keep text after the last block and passage, too."""
        super().close()
        self._end_passage()
        self.flush()

    def _end_passage(self) -> None:
        """End the passage being read, if it has any text."""
        text = " ".join("".join(self.passage).split())
        if text:
            self.doc.passages.append(text)
        self.passage = []

    def _marker(self) -> str:
        """Return the next list item's marker: a number in ordered lists, else a dash."""
        if not self.lists or self.lists[-1][0] == "ul":
            return "-"
        self.lists[-1][1] += 1
        return f"{self.lists[-1][1] - 1}."

    def _sentences(self) -> tuple[tuple[str | None, str], ...]:
        """Return the block's marked sentences, and any text between them, in order."""
        found: list[tuple[str | None, str]] = []
        at = 0
        for start, end, marked in self.marks:
            between = "".join(self.parts[at:start]).strip(" -\n\t")
            if between.strip():
                found.append((None, between))
            found.append((marked, "".join(self.parts[start:end])))
            at = end
        after = "".join(self.parts[at:]).strip(" -\n\t")
        if self.marks and after.strip():
            found.append((None, after))
        self.marks = []
        return tuple((marked, _SPACE.sub(" ", text).strip()) for marked, text in found)

    def flush(self) -> None:
        """End the text collected so far as a block of the innermost open kind."""
        if self.opened is not None:  # a block inside a sentence's span: the sentence ends here
            self.marks.append((self.opened[0], len(self.parts), self.opened[1]))
            self.opened = None
        marked = self._sentences()
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
        self.doc.blocks.append(Block(kind, text, level, marker, marked))


def read(html: str) -> Document:
    """Read a page body's sanitized HTML."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.doc
