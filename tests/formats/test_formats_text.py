"""The other formats' text layer: HTML read into blocks, plain text, speech and braille layout."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask import Flask, render_template
from flask_babel import format_date, gettext

from gvisite.formats.catalogue import FORMATS
from gvisite.formats.source import ARTICLE_TEMPLATE, name_for, path_for, render_source
from gvisite.formats.text import (
    CELLS_PER_LINE,
    LINES_PER_PAGE,
    BrailleLine,
    Labels,
    absolute_links,
    paginate,
    read_blocks,
    speak_ssml,
    to_brf,
    to_sentences,
    to_text,
    wrap_cells,
)
from gvisite.formats.views import download_name, file_size, split_filename
from gvisite.pages.body import Body
from gvisite.pages.model import Owner, Page

LABELS = Labels(
    last_updated="Senast uppdaterad: 1 januari 2026",
    owner="Sidansvarig: Järfälla kommun, kontaktcenter@jarfalla.se",
    address="Sidan på webben: http://localhost/sv/sida",
    links="Länkar",
    heading="Rubrik: %(text)s",
)

BODY = """
<p>Första stycket med en <a href="/sv/om-gvi">länk</a> och en <a href="https://bra.se">till</a>.</p>
<h2 id="a">En rubrik</h2>
<ul><li>Ett<ul><li>Inne</li></ul></li><li>Två</li></ul>
<ol start="3"><li>Tre</li><li>Fyra</li></ol>
<h3 id="b">Under&shy;rubrik</h3>
<p>Sista<br>raden.</p>
<p><a href="#a">Till rubriken</a></p>
"""


def test_blocks_keep_headings_lists_and_numbered_links() -> None:
    doc = read_blocks(BODY, "http://localhost")
    assert [(b.kind, b.level, b.marker, b.text) for b in doc.blocks] == [
        ("paragraph", 0, "", "Första stycket med en länk [1] och en till [2]."),
        ("heading", 2, "", "En rubrik"),
        ("item", 1, "-", "Ett"),
        ("item", 2, "-", "Inne"),
        ("item", 1, "-", "Två"),
        ("item", 1, "3.", "Tre"),
        ("item", 1, "4.", "Fyra"),
        ("heading", 3, "", "Underrubrik"),
        ("paragraph", 0, "", "Sista raden."),
        ("paragraph", 0, "", "Till rubriken"),
    ]
    assert doc.links == ["http://localhost/sv/om-gvi", "https://bra.se"]


def test_plain_text_marks_headings_and_lists_the_links_last() -> None:
    text = to_text("Sidans titel", read_blocks(BODY, "http://localhost"), LABELS)
    assert text.startswith("# Sidans titel\n\nSenast uppdaterad: 1 januari 2026\n")
    assert "\n## En rubrik\n" in text
    assert "\n- Ett\n  - Inne\n- Två\n3. Tre\n4. Fyra\n" in text
    assert text.endswith("## Länkar\n\n[1] http://localhost/sv/om-gvi\n[2] https://bra.se\n")


def test_speech_announces_headings_and_escapes_text() -> None:
    doc = read_blocks("<h2>Frågor & svar</h2><p>Ring <a href='tel:112'>112</a></p>", "http://x")
    spoken = [s.text for s in to_sentences("Titel", doc, LABELS)]
    assert spoken[2:] == ["Rubrik: Frågor & svar.", "Ring 112."]  # no reference number said
    ssml = speak_ssml(spoken[2], "sv")
    assert ssml.startswith('<speak version="1.0" xml:lang="sv">')
    assert "Rubrik: Frågor &amp; svar." in ssml


def test_site_links_become_absolute_and_others_stay() -> None:
    html = '<a href="/sv/x">a</a> <a href="//cdn/x">b</a> <a href="https://bra.se">c</a>'
    assert absolute_links(html, "https://gvi.example/") == (
        '<a href="https://gvi.example/sv/x">a</a> <a href="//cdn/x">b</a> '
        '<a href="https://bra.se">c</a>'
    )


def test_article_body_drops_the_title_and_page_facts(app: Flask) -> None:
    # The formats' text is the shared article partial rendered alone (no longer cut out of the
    # rendered page): the dated line and the prose, without the h1 and the page facts.
    day = dt.date(2026, 1, 1)
    owner = Owner("A", "a@b.se")
    body, source = Body("<p>X</p>"), Path("x.md")
    page = Page("sv", "nyheter/x", "T", "", day, body, source, owner, published=day)
    with app.test_request_context("/sv/"):
        published = gettext("Published %(date)s", date=format_date(day, "long"))
        body = render_template(ARTICLE_TEMPLATE, page=page).strip()
    assert (
        re.sub(r">\s+<", "><", body)
        == f'<p class="published">{published}</p><div class="prose"><p>X</p></div>'
    )
    item = app.extensions["gvisite.site"].news("sv")[0]
    source = render_source(app, "sv", name_for(item.path))
    assert source is not None and source.body.startswith('<p class="published">')
    assert "<h1" not in source.body and "page-facts" not in source.body


@pytest.mark.parametrize(
    ("cells", "first", "rest", "expected"),
    [
        ("AB CD", 2, 0, ["  AB CD"]),
        (
            " ".join(["ABCDEFGHI"] * 5),
            0,
            2,
            ["ABCDEFGHI ABCDEFGHI ABCDEFGHI ABCDEFGHI", "  ABCDEFGHI"],
        ),
        ("X" * 85, 0, 2, ["X" * 40, "  " + "X" * 38, "  " + "X" * 7]),
        ("", 2, 0, []),
    ],
)
def test_braille_wraps_at_spaces_within_forty_cells(
    cells: str, first: int, rest: int, expected: list[str]
) -> None:
    lines = wrap_cells(cells, first, rest, CELLS_PER_LINE)
    assert lines == expected
    assert all(len(line) <= CELLS_PER_LINE for line in lines)


def test_braille_pages_hold_twenty_five_lines_and_keep_headings_with_their_text() -> None:
    lines = [BrailleLine("TITEL", heading=True)]
    for number in range(60):
        lines.append(BrailleLine(f"STYCKE {number} " + "ORD " * 12, 2, 0))
        if number % 7 == 0:
            lines.append(BrailleLine(f"RUBRIK {number}", heading=True))
    pages = paginate(lines, [line.text for line in lines])
    numbers = [f"#{chr(64 + n)}" for n in range(1, len(pages) + 1)]
    brf = to_brf(pages, numbers)
    assert brf.count("\f") == len(pages) - 1
    for number, page in enumerate(brf.split("\f"), 1):
        rows = page.split("\r\n")
        assert rows[-1] == ""  # every line, the last too, ends with CR LF
        rows = rows[:-1]
        assert len(rows) <= LINES_PER_PAGE
        assert rows[0] == f"#{chr(64 + number)}".rjust(CELLS_PER_LINE)
        assert rows[1].strip(), "a page starts with text, not a blank line"
        assert not rows[-1].startswith("RUBRIK"), "a heading never ends a page"
        assert all(len(row) <= CELLS_PER_LINE for row in rows)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("", "index"),
        ("om-gvi", "om-gvi"),
        ("nyheter/jarfalla-infor-gvi", "nyheter--jarfalla-infor-gvi"),
    ],
)
def test_page_names_in_format_addresses_go_both_ways(path: str, name: str) -> None:
    assert name_for(path) == name
    assert path_for(name) == path


def test_file_names_say_the_format_and_sizes_read_naturally(app: Flask) -> None:
    pdf, html = FORMATS["pdf"], FORMATS["html"]
    assert split_filename("om-gvi.storstil.pdf") == ("om-gvi", pdf)
    assert split_filename("om-gvi.storstil.html") == ("om-gvi", html)
    assert split_filename("om-gvi.json") is None
    assert download_name("sv", "om-gvi", pdf) == "om-gvi-storstil.pdf"
    assert download_name("en", "index", FORMATS["mp3"]) == "start-en.mp3"
    with app.test_request_context("/sv/"):
        assert file_size(54_321) == "54 kB"
        assert file_size(120) == "1 kB"
        assert file_size(1_234_567).replace(",", ".") == "1.2 MB"
