"""The large-print PDF's text layer: Arabic words read back as the page shows them.

Two things WeasyPrint writes, as the PDF standard allows, that text extractors misread in
right-to-left lines (poppler's pdftotext, so Evince, Okular and what copies text through them):

- HarfBuzz draws lam and alef as one glyph (لا), mapped to both letters. Extractors read a
  right-to-left line in visual order and turn it round, and poppler turns the two letters of
  such a glyph round too: يارفالا came out as يارفاال. Here such a glyph is mapped to one
  letter and followed by an empty glyph for each other letter, its width shared among them.
- A vowel mark set higher than the font puts it (ًّ) is drawn with a text rise, which an
  extractor takes for another line: أيضًا came out as أي، ضا and ً. Here it is drawn instead
  with a copy of the mark that the font itself raises, on the line.

The page looks the same, and every extractor reads one letter a glyph, on its line, in the
right order. It runs as WeasyPrint's finisher, on the PDF's objects before they are written.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pydyf
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphComponent

_HEX_STRING = re.compile(rb"<([0-9a-f]*)>")
_SET_FONT = re.compile(rb"^/(\S+) (\S+) Tf$")
_SHOW_TEXT = re.compile(rb"^\[.*\] TJ$", re.S)
_RISE = re.compile(rb"^(-?[0-9.]+) Ts$")
_GLYPH = 4  # hex digits of a glyph id in WeasyPrint's text (two bytes, Identity-H)
# Arabic, and its presentation forms (the shaped letters and ligatures fonts map to them).
_ARABIC = ((0x0600, 0x06FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


def joins_rtl_letters(text: str) -> bool:
    """Tell whether a glyph's text is several letters of right-to-left script (a ligature)."""
    kinds = {unicodedata.bidirectional(char) for char in text}
    return len(text) > 1 and "L" not in kinds and bool(kinds & {"R", "AL"})


def _glyph_ids(codes: bytes) -> list[int]:
    """Return the glyph ids of a TJ hex string's digits."""
    return [int(codes[i : i + _GLYPH], 16) for i in range(0, len(codes), _GLYPH)]


@dataclass
class FontText:
    """One embedded font's text mapping, and the glyphs added to it here."""

    font: Any  # WeasyPrint's pdf.fonts.Font: to_unicode, widths, file_content, upem
    embedded: TTFont
    free: Iterator[int]
    ligatures: dict[int, list[int]] = field(default_factory=dict)  # glyph: glyphs shown
    raised: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (mark, dx, dy)
    remapped: bool = False  # whether a glyph's text was corrected from the font's characters

    @classmethod
    def of(cls, font: Any) -> FontText | None:
        """Read a font's embedded program; None where glyphs cannot be added to it."""
        if font.bitmap or font.used_in_forms or font.type != "ttf":
            return None
        embedded = TTFont(io.BytesIO(font.file_content))
        if "glyf" not in embedded:
            return None
        text = cls(font, embedded, iter(()))
        text.free = text.empty_glyphs()
        text.map_arabic_glyphs()
        text.split_ligatures()
        return text

    def map_arabic_glyphs(self) -> None:
        """Map each Arabic glyph to the letters of the character the font gives it for.

        WeasyPrint maps a glyph once, from the first text it drew it for: a lam-alef first
        drawn with a vowel mark between its letters (مثلًا) was mapped to nothing, or the mark
        to all three.
        """
        order = self.embedded.getGlyphOrder()
        characters = {name: code for code, name in self.embedded.getBestCmap().items()}
        for glyph in list(self.font.to_unicode):
            code = characters.get(order[glyph]) if glyph < len(order) else None
            if code is not None and any(low <= code <= high for low, high in _ARABIC):
                letters = unicodedata.normalize("NFKC", chr(code))
                if letters and not any(char.isspace() for char in letters):
                    self.remapped |= self.font.to_unicode[glyph] != letters
                    self.font.to_unicode[glyph] = letters

    def empty_glyphs(self) -> Iterator[int]:
        """Yield glyph ids the embedded font holds but draws nothing for, and no text uses.

        WeasyPrint subsets fonts keeping glyph ids, so the ids it does not use are empty.
        """
        order, outlines = self.embedded.getGlyphOrder(), self.embedded["glyf"]
        for glyph in range(1, len(order)):  # not 0, .notdef
            unused = glyph not in self.font.to_unicode and glyph not in self.font.widths
            if unused and outlines[order[glyph]].numberOfContours == 0:
                yield glyph

    def split_ligatures(self) -> None:
        """Give each right-to-left ligature one letter and an empty glyph for each other."""
        font = self.font
        found = {g: text for g, text in font.to_unicode.items() if joins_rtl_letters(text)}
        for glyph, text in sorted(found.items()):
            extra = [next(self.free, None) for _ in text[1:]]
            if None in extra:
                return  # no empty glyph left: the rest keep their two-letter mapping
            shown = [glyph, *(g for g in extra if g is not None)]
            # Left to right as drawn: the glyph stands for the last letter, the empty glyphs
            # after it for the letters before it, so reading right to left gives them in order.
            width = font.widths[glyph] / len(shown)
            for part, letter in zip(shown, reversed(text), strict=True):
                font.to_unicode[part], font.widths[part] = letter, width
            self.ligatures[glyph] = shown

    def raise_mark(self, mark: int, dx: float, dy: float, size: float) -> int | None:
        """Return a glyph that draws `mark` moved by (dx, dy) in text space at this size."""
        offset = (round(dx / size * self.font.upem), round(dy / size * self.font.upem))
        if (mark, *offset) not in self.raised:
            copy = next(self.free, None)
            if copy is None:
                return None
            font = self.font
            font.to_unicode[copy], font.widths[copy] = font.to_unicode[mark], font.widths[mark]
            self.raised[(mark, *offset)] = copy
        return self.raised[(mark, *offset)]

    def part_under(self, mark: int, before: float, rest: float, following: bytes) -> int:
        """Return which part of the split ligature that `following` starts with a mark drawn
        just before it stands over (0: the first, its last letter; also when there is none)."""
        found = _FIRST_GLYPH.match(following)
        parts = self.ligatures.get(int(found[1], 16)) if found else None
        outline = self.embedded["glyf"][self.embedded.getGlyphOrder()[mark]]
        if not parts or self.font.widths[mark] or not hasattr(outline, "xMin"):
            return 0
        # In thousandths of the font size, from where the mark was drawn: its centre, and the
        # ligature's parts, each as wide as the others, from where the text goes on.
        centre = -before + (outline.xMin + outline.xMax) / 2 * 1000 / self.font.upem
        width = self.font.widths[parts[0]]
        return max(0, min(len(parts) - 1, int((centre + rest) // width))) if width else 0

    def font_program(self) -> bytes:
        """Return the embedded font with the raised copies of marks added."""
        order = self.embedded.getGlyphOrder()
        outlines, metrics = self.embedded["glyf"], self.embedded["hmtx"]
        for (mark, dx, dy), copy in self.raised.items():
            component = GlyphComponent()
            component.glyphName, component.x, component.y, component.flags = order[mark], dx, dy, 0
            glyph = Glyph()
            glyph.numberOfContours, glyph.components = -1, [component]
            outlines[order[copy]] = glyph
            # TrueType places an outline by its left side bearing: moved with it, or undone.
            advance, bearing = metrics[order[mark]]
            metrics[order[copy]] = (advance, bearing + dx)
        out = io.BytesIO()
        self.embedded.save(out)
        return out.getvalue()

    def show(self, operation: bytes) -> bytes:
        """Rewrite one TJ operation's glyph strings, each ligature followed by its empty glyphs."""

        def glyphs(match: re.Match[bytes]) -> bytes:
            ids = _glyph_ids(match[1])
            shown = [part for glyph in ids for part in self.ligatures.get(glyph, [glyph])]
            return b"<" + b"".join(b"%04x" % glyph for glyph in shown) + b">"

        return _HEX_STRING.sub(glyphs, operation)


_RAISED = re.compile(rb"^\[(-?[0-9.]+)?<([0-9a-f]{4})>\] TJ$")
_AFTER_RAISED = re.compile(rb"^\[(?:<>(-?[0-9.]+))?")
_FIRST_GLYPH = re.compile(rb"^\[<>-?[0-9.]*<([0-9a-f]{4})")
# A mark's copy is drawn this much (thousandths of the font size) before the letter it sits
# on, not at the very place the letter begins, where extractors could put it either side.
_BEFORE_BASE = 20


def _raised_mark(text: FontText, items: list[Any], index: int, size: float) -> None:
    """Draw a raised mark at `index` (rise, the mark, no rise, then the text after it) with a
    copy of the mark that the font itself moves there, on the line."""
    if index + 3 >= len(items) or items[index + 2] != b"0 Ts":
        return
    rise, mark, after = _RISE.match(items[index]), items[index + 1], items[index + 3]
    if not (rise and isinstance(mark, bytes) and isinstance(after, bytes)):
        return
    shown, back = _RAISED.match(mark), _AFTER_RAISED.match(after)
    if not (shown and back and _SHOW_TEXT.match(after) and float(rise[1])):
        return
    # The mark is moved by `before` (thousandths of the font size, leftwards) and the text
    # moved back by `back` after it: the copy is moved by the font, the text by what is left.
    glyph, before, dy = int(shown[2], 16), float(shown[1] or 0), float(rise[1])
    rest = before + float(back[1] or 0)
    head = b"[<>" + _number(rest)
    following = head + after[back.end() :]
    part = text.part_under(glyph, before, rest, following)
    if part:  # on a letter of a ligature after its first part: drawn after the parts before
        first = len(head) + 1  # the ligature's glyph id, after "<"
        width = text.font.widths[int(following[first : first + _GLYPH], 16)]
        moved = (_BEFORE_BASE - before + rest - part * width) / 1000 * size
        copy = text.raise_mark(glyph, moved, dy, size)
        if copy is not None:
            expanded, at = text.show(following), first + part * _GLYPH
            mark = b">%d<%04x>%d<" % (_BEFORE_BASE, copy, -_BEFORE_BASE)
            items[index : index + 4] = [expanded[:at] + mark + expanded[at:]]
            return
    copy = text.raise_mark(glyph, (_BEFORE_BASE - before) / 1000 * size, dy, size)
    if copy is not None:
        following = b"[<>" + _number(rest - _BEFORE_BASE) + after[back.end() :]
        items[index : index + 4] = [b"[%d<%04x>] TJ" % (_BEFORE_BASE, copy), following]


def _number(value: float) -> bytes:
    """Write a TJ adjustment as PDF wants numbers: no exponent, no needless zeros."""
    return (b"%.3f" % value).rstrip(b"0").rstrip(b".")


def _rewrite_stream(stream: Any, texts: dict[str, FontText]) -> None:
    """Rewrite a content stream's text: ligatures split, raised marks on their line."""
    items, index = stream.stream, 0
    text, size = None, 0.0
    while index < len(items):
        item = items[index]
        if isinstance(item, bytes) and (found := _SET_FONT.match(item)):
            text, size = texts.get(found[1].decode()), float(found[2])
        elif text is not None and isinstance(item, bytes):
            if _RISE.match(item):
                _raised_mark(text, items, index, size)  # the text after it is looked at next
            elif _SHOW_TEXT.match(item):
                items[index] = text.show(item)
        index += 1


def _object(pdf: Any, reference: Any) -> Any:
    """Return the object a pydyf reference (b"12 0 R") points to."""
    return pdf.objects[int(bytes(reference).split()[0])]


def _to_unicode_lines(to_unicode: dict[int, str]) -> list[bytes]:
    """Return the bfchar blocks of a ToUnicode CMap, as WeasyPrint writes them."""
    items, lines = sorted(to_unicode.items()), []
    for start in range(0, len(items), 100):  # at most 100 entries a block
        batch = items[start : start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        for glyph, letters in batch:
            lines.append(f"<{glyph:04x}> <{letters.encode('utf-16-be').hex()}>".encode())
        lines.append(b"endbfchar")
    return lines


def _rewrite_font(pdf: Any, text: FontText) -> None:
    """Write a font's new ToUnicode map, widths and program into its PDF objects."""
    font = text.font
    [dictionary] = [
        o for o in pdf.objects
        if isinstance(o, pydyf.Dictionary) and o.get("BaseFont") == font.name
        and o.get("Subtype") == "/Type0"
    ]  # fmt: skip
    cmap = _object(pdf, dictionary["ToUnicode"])
    start, end = cmap.stream.index(b"endcodespacerange") + 1, cmap.stream.index(b"endcmap")
    cmap.stream[start:end] = _to_unicode_lines(font.to_unicode)
    cid_font = _object(pdf, dictionary["DescendantFonts"][0])
    widths = pydyf.Array()
    for glyph in sorted(font.widths):  # as WeasyPrint writes them: runs of glyph ids
        if glyph - 1 not in font.widths:
            widths.extend([glyph, pydyf.Array()])
        widths[-1].append(font.widths[glyph])
    cid_font["W"] = widths
    if text.raised:
        program = _object(pdf, _object(pdf, cid_font["FontDescriptor"])["FontFile2"])
        font.file_content = text.font_program()
        program.stream = [font.file_content]
        program.extra["Length1"] = len(font.file_content)


def keep_text_readable(document: Any, pdf: Any) -> None:
    """WeasyPrint's finisher: split right-to-left ligatures, put raised marks on the line."""
    # WeasyPrint may give several fonts one name; their text is left as it is.
    names = Counter(font.hash for font in document.fonts.values())
    texts = {
        font.hash: text
        for font in document.fonts.values()
        if names[font.hash] == 1 and (text := FontText.of(font)) is not None
    }
    for stream in pdf.objects:
        if isinstance(stream, pydyf.Stream):
            _rewrite_stream(stream, texts)
    for text in texts.values():
        if text.ligatures or text.raised or text.remapped:
            _rewrite_font(pdf, text)
