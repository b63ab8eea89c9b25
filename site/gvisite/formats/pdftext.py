"""The large-print PDF's text layer: a glyph that joins Arabic letters reads back as them.

HarfBuzz draws lam and alef as one glyph (لا), and WeasyPrint maps that glyph to both letters
in their logical order, as the PDF standard says. Text extractors read a right-to-left line
in visual order and turn it round, and some of them (poppler's pdftotext, so Evince, Okular
and whatever copies text through them) turn the two letters of such a glyph round too:
يارفالا came out as يارفاال. So each such glyph is mapped here to one letter and followed, in
the text, by an empty glyph for each other letter, the glyph's width shared among them: the
page looks the same, and every extractor reads one letter a glyph, in the right order.

It runs as WeasyPrint's finisher, on the PDF's objects before they are written.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from fontTools.ttLib import TTFont

_HEX_STRING = re.compile(rb"<([0-9a-f]*)>")
_SET_FONT = re.compile(rb"^/(\S+) \S+ Tf$")
_SHOW_TEXT = re.compile(rb"^\[.*\] TJ$", re.S)
_GLYPH = 4  # hex digits of a glyph id in WeasyPrint's text (two bytes, Identity-H)


def joins_rtl_letters(text: str) -> bool:
    """Tell whether a glyph's text is several letters of right-to-left script (a ligature)."""
    kinds = {unicodedata.bidirectional(char) for char in text}
    return len(text) > 1 and "L" not in kinds and bool(kinds & {"R", "AL"})


def _empty_glyphs(font: Any) -> Iterator[int]:
    """Yield glyph ids the embedded font holds but draws nothing for, and no text uses.

    WeasyPrint subsets fonts keeping glyph ids, so the ids it does not use are empty.
    """
    embedded = TTFont(io.BytesIO(font.file_content))
    if "glyf" not in embedded:
        return
    order, outlines = embedded.getGlyphOrder(), embedded["glyf"]
    for glyph in range(1, len(order)):  # not 0, .notdef
        unused = glyph not in font.to_unicode and glyph not in font.widths
        if unused and outlines[order[glyph]].numberOfContours == 0:
            yield glyph


def split_ligatures(font: Any) -> dict[int, list[int]]:
    """Give each right-to-left ligature of a font one letter and an empty glyph for each of
    the others; return, by ligature, the glyphs to show in its place (itself first)."""
    ligatures = {g: text for g, text in font.to_unicode.items() if joins_rtl_letters(text)}
    if not ligatures or font.bitmap or font.used_in_forms or font.type != "ttf":
        return {}
    free, plan = _empty_glyphs(font), {}
    for glyph, text in sorted(ligatures.items()):
        extra = [next(free, None) for _ in text[1:]]
        if None in extra:
            break  # no empty glyph left: the rest keep their two-letter mapping
        shown = [glyph, *(g for g in extra if g is not None)]
        # Left to right as drawn: the glyph stands for the last letter, the empty glyphs
        # after it for the letters before it, so reading right to left gives them in order.
        width = font.widths[glyph] / len(shown)
        for part, letter in zip(shown, reversed(text), strict=True):
            font.to_unicode[part], font.widths[part] = letter, width
        plan[glyph] = shown
    return plan


def _show(text: bytes, plan: dict[int, list[int]]) -> bytes:
    """Rewrite one TJ operation's glyph strings, each ligature followed by its empty glyphs."""

    def glyphs(match: re.Match[bytes]) -> bytes:
        codes = match[1]
        ids = [int(codes[i : i + _GLYPH], 16) for i in range(0, len(codes), _GLYPH)]
        shown = [part for glyph in ids for part in plan.get(glyph, [glyph])]
        return b"<" + b"".join(b"%04x" % glyph for glyph in shown) + b">"

    return _HEX_STRING.sub(glyphs, text)


def _to_unicode_lines(to_unicode: dict[int, str]) -> list[bytes]:
    """Return the bfchar blocks of a ToUnicode CMap, as WeasyPrint writes them."""
    items, lines = sorted(to_unicode.items()), []
    for start in range(0, len(items), 100):  # at most 100 entries a block
        batch = items[start : start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        for glyph, text in batch:
            lines.append(f"<{glyph:04x}> <{text.encode('utf-16-be').hex()}>".encode())
        lines.append(b"endbfchar")
    return lines


def _widths(widths: dict[int, float]) -> Any:
    """Return a CIDFont's W array, as WeasyPrint writes it."""
    import pydyf

    array = pydyf.Array()
    for glyph in sorted(widths):
        if glyph - 1 not in widths:
            array.append(glyph)
            array.append(pydyf.Array())
        array[-1].append(widths[glyph])
    return array


def _object(pdf: Any, reference: Any) -> Any:
    """Return the object a pydyf reference (b"12 0 R") points to."""
    return pdf.objects[int(bytes(reference).split()[0])]


def _rewrite_font(pdf: Any, font: Any) -> None:
    """Write a font's new ToUnicode map and widths into its PDF dictionaries."""
    import pydyf

    for candidate in pdf.objects:
        if isinstance(candidate, pydyf.Dictionary) and candidate.get("BaseFont") == font.name:
            if candidate.get("Subtype") == "/Type0":
                cmap = _object(pdf, candidate["ToUnicode"])
                start = cmap.stream.index(b"endcodespacerange") + 1
                end = cmap.stream.index(b"endcmap")
                cmap.stream[start:end] = _to_unicode_lines(font.to_unicode)
            elif "W" in candidate:
                candidate["W"] = _widths(font.widths)


def keep_ligatures_readable(document: Any, pdf: Any) -> None:
    """WeasyPrint's finisher: split every right-to-left ligature's text into its letters."""
    import pydyf

    plans = {font.hash: split_ligatures(font) for font in document.fonts.values()}
    for font in document.fonts.values():
        if plans[font.hash]:
            _rewrite_font(pdf, font)
    if not any(plans.values()):
        return
    for stream in pdf.objects:
        if not isinstance(stream, pydyf.Stream):
            continue
        plan: dict[int, list[int]] = {}
        for index, item in enumerate(stream.stream):
            if not isinstance(item, bytes):
                continue
            if found := _SET_FONT.match(item):
                plan = plans.get(found[1].decode(), {})
            elif plan and _SHOW_TEXT.match(item):
                stream.stream[index] = _show(item, plan)
