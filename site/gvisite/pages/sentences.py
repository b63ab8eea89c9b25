"""Every sentence of a page's text as an element of its own, for the read-along.

`mark` wraps each sentence of a text block in `<span class="s" id="s--…">`. The page shows the
marked text, the formats are made from the same marked text (formats/source.py), and the reader
(pages/reading.py) reads the spans back as the sentences the recordings say: so the recording's
timings (formats/speech.py) name elements that are on the page, by construction.

An id is a hash of the sentence's words (and its number among equal sentences), not its place:
the statement's page and its formats put the same parts together in different ways, and a
sentence keeps its id wherever it stands.

The HTML is copied as written, tag by tag; only spans are added. A span never crosses an element:
where a sentence ends inside a link or an emphasis, the span goes on to the end of that element,
and one span holds two sentences (the recording then highlights both while saying them).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from html.parser import HTMLParser
from itertools import pairwise

from markupsafe import Markup

CLASS = "s"  # the spans' class: the read-along script and the reader look for it
PREFIX = "s--"  # no heading's id has "--" in it (Markdown's ids fold runs of hyphens)
TITLE_ID, UPDATED_ID = f"{PREFIX}title", f"{PREFIX}updated"
# Elements whose text is read as sentences; a nested one of these, or any other block, ends
# the run of text being read (the text before a nested list in a list item is a run of its own).
CONTAINERS = frozenset(
    {"p", "li", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "td", "th", "caption", "figcaption",
     "blockquote", "summary"}
)  # fmt: skip
BLOCKS = CONTAINERS | {"div", "section", "ul", "ol", "dl", "table", "tr", "thead", "tbody",
                       "figure", "pre", "hr", "details", "form", "nav", "aside"}  # fmt: skip
# Text that is no sentence of the page's: controls, code, scripts.
SKIPPED = frozenset({"pre", "script", "style", "button", "select", "textarea", "label", "svg",
                     "form", "code", "template"})  # fmt: skip
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})  # fmt: skip
# Where a sentence may end: after . ! ? or the Arabic question mark, and a space; a gap before a
# lower-case letter is none ("t.ex. så"). formats/text.py splits text without spans the same way.
_SENTENCE_GAP = re.compile(r"(?<=[.!?؟])\s+")
_SPACE = re.compile(r"\s+")


def sentence_starts(text: str) -> list[int]:
    """Return where each sentence after the first starts in `text`."""
    return [
        gap.end()
        for gap in _SENTENCE_GAP.finditer(text)
        if gap.end() < len(text) and not text[gap.end()].islower()
    ]


class _Token:
    """A piece of a run: text (splittable where `depth` is 0) or markup copied as written."""

    __slots__ = ("depth", "raw", "text")

    def __init__(self, raw: str, text: str, depth: int) -> None:
        self.raw, self.text, self.depth = raw, text, depth


class _Marker(HTMLParser):
    """Copy HTML, wrapping each sentence of each text run in a span."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.run: list[_Token] = []
        self.containers = 0  # open sentence containers
        self.depth = 0  # open inline elements in the run
        self.skipped = 0  # open elements whose text is not read
        self.seen: Counter[str] = Counter()

    # --- Events ------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Copy a start tag; a block ends the run, an inline element joins it."""
        raw = self.get_starttag_text() or ""
        if tag in BLOCKS or (tag in SKIPPED and not self.skipped):
            self._end_run()
        if tag in SKIPPED:
            self.skipped += tag not in VOID
            self.out.append(raw)
        elif tag in BLOCKS:
            self.containers += tag in CONTAINERS
            self.out.append(raw)
        elif self.skipped or not self.containers:
            self.out.append(raw)
        else:
            self.run.append(_Token(raw, "", self.depth + 1))
            self.depth += tag not in VOID

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Copy a self-closing tag: inline within a run."""
        raw = self.get_starttag_text() or ""
        if self.run and not self.skipped and tag not in BLOCKS:
            self.run.append(_Token(raw, "", self.depth + 1))
        else:
            self.out.append(raw)

    def handle_endtag(self, tag: str) -> None:
        """Copy an end tag; the end of a block ends the run."""
        raw = f"</{tag}>"
        if tag in SKIPPED and self.skipped:
            self.skipped -= 1
            self.out.append(raw)
        elif self.skipped:
            self.out.append(raw)
        elif tag in BLOCKS:
            self._end_run()
            self.containers -= tag in CONTAINERS and self.containers > 0
            self.out.append(raw)
        elif self.run:  # an inline element's end (one opened before the run: not a cut)
            self.depth = max(0, self.depth - 1)
            self.run.append(_Token(raw, "", self.depth + 1))
        else:
            self.out.append(raw)

    def handle_data(self, data: str) -> None:
        """Keep text of a run; copy any other."""
        self._text(data, data)

    def handle_entityref(self, name: str) -> None:
        """Keep an entity as written; it reads as its character."""
        self._text(f"&{name};", html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        """Keep a character reference as written; it reads as its character."""
        self._text(f"&#{name};", html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        """Copy a comment."""
        self._copy(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        """Copy a declaration."""
        self._copy(f"<!{decl}>")

    def _copy(self, raw: str) -> None:
        """Copy markup that is no text: into the run where one is open."""
        if self.run:
            self.run.append(_Token(raw, "", self.depth + 1))
        else:
            self.out.append(raw)

    def _text(self, raw: str, text: str) -> None:
        """Add text to the run, or copy it where it is no sentence of the page's."""
        if self.skipped or not self.containers:
            self.out.append(raw)
        else:
            self.run.append(_Token(raw, text, self.depth))

    def close(self) -> None:
        """End the last run."""
        super().close()
        self._end_run()

    # --- Sentences ----------------------------------------------------------------------

    def _end_run(self) -> None:
        """Write the run with a span around each of its sentences."""
        run, self.run, self.depth = self.run, [], 0
        text = "".join(token.text for token in run)
        if not text.strip():
            self.out.extend(token.raw for token in run)
            return
        # Split the run's text at the sentence starts that fall in its own text (depth 0).
        pieces: list[_Token] = []
        at, starts = 0, set(sentence_starts(text))
        for token in run:
            end = at + len(token.text)
            cuts = [s - at for s in sorted(starts) if at < s < end] if token.depth == 0 else []
            if cuts and token.raw == token.text:
                edges = [0, *cuts, len(token.text)]
                pieces += [_Token(token.text[a:b], token.text[a:b], 0) for a, b in pairwise(edges)]
            else:
                pieces.append(token)
            at = end
        # Group the pieces into sentences: a new one where a piece starts at a sentence start.
        groups: list[list[_Token]] = [[]]
        at = 0
        for piece in pieces:
            if at in starts and piece.depth == 0 and groups[-1]:
                groups.append([])
            groups[-1].append(piece)
            at += len(piece.text)
        for group in groups:
            self._write_sentence(group)

    def _write_sentence(self, group: list[_Token]) -> None:
        """Write one sentence's pieces in a span, its white space at either end outside it."""
        first = next((i for i, t in enumerate(group) if t.raw != t.text or t.text.strip()), None)
        if first is None:
            self.out.extend(token.raw for token in group)
            return
        last = max(i for i, t in enumerate(group) if t.raw != t.text or t.text.strip())
        lead, trail = group[first], group[last]
        words = _SPACE.sub(" ", "".join(token.text for token in group)).strip()
        if not words:  # markup only (an image without alt text): nothing to read
            self.out.extend(token.raw for token in group)
            return
        self.out.extend(token.raw for token in group[:first])
        leading = (
            lead.text[: len(lead.text) - len(lead.text.lstrip())] if lead.raw == lead.text else ""
        )
        self.out.append(leading)
        self.out.append(f'<span class="{CLASS}" id="{self._id(words)}">')
        inner = group[first : last + 1]
        trailing = ""
        if trail.raw == trail.text:
            trailing = trail.text[len(trail.text.rstrip()) :]
        for index, token in enumerate(inner):
            raw = token.raw
            if index == 0 and token.raw == token.text:
                raw = raw[len(leading) :]
            if index == len(inner) - 1 and token.raw == token.text and trailing:
                raw = raw[: len(raw) - len(trailing)]
            self.out.append(raw)
        self.out.append("</span>")
        self.out.append(trailing)
        self.out.extend(token.raw for token in group[last + 1 :])

    def _id(self, words: str) -> str:
        """Return a sentence's id: a hash of its words, numbered among equal sentences."""
        digest = hashlib.sha256(words.encode("utf-8")).hexdigest()[:8]
        self.seen[digest] += 1
        count = self.seen[digest]
        return f"{PREFIX}{digest}" if count == 1 else f"{PREFIX}{digest}-{count}"


def mark(body: str) -> Markup:
    """Return HTML with every sentence of its text blocks in a span of its own."""
    marker = _Marker()
    marker.feed(str(body))
    marker.close()
    return Markup("".join(marker.out))  # noqa: S704  (the input's own markup, and spans)
