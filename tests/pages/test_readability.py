"""The readability meter: its counting rules on texts scored by hand, each page's line, and every
real page under its line (LIX 40 for ordinary Swedish pages, 25 for lättläst, ARI 9 for English)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gvisite.i18n import LOCALES
from gvisite.pages.body import Body
from gvisite.pages.lint import over_the_line
from gvisite.pages.load import load_site
from gvisite.pages.markdown import render_markdown
from gvisite.pages.model import Page
from gvisite.pages.readability import MEASURES, Reading, page_sentences, reading, summary
from tests.conftest import REAL_CONTENT

REAL_SITE = load_site(REAL_CONTENT)[0]
MEASURED = sorted((p for p in REAL_SITE.pages.values() if reading(p)), key=lambda p: p.url)


def page(html: str, title: str = "Kommunen", locale: str = "sv", path: str = "om") -> Page:
    """Return a page with this title and body, as the meter sees it."""
    source = Path(f"content/{locale}/{path}.md")
    return Page(locale, path, title, "", dt.date(2026, 1, 1), Body(html), source, None)  # type: ignore[arg-type]


def counts(measured: Page) -> tuple[float, int, int, int]:
    """Return a page's score (two decimals), words, sentences and long words."""
    score = reading(measured)
    assert score is not None
    return round(score.score, 2), score.words, score.sentences, score.long_words


# --- The counting rules, on texts counted by hand ------------------------------------------------


# Each sample: its title, its body, the sentences a reader sees, and (LIX, words, sentences, long
# words), counted by hand in the comment above it. Long: over six letters.
SAMPLES = [
    # Words: Kommunen | Det är bra | Polisen är med | här 112 = 9 (a number is a word, short)
    # Long: Kommunen (8), Polisen (7) = 2. LIX = 9/4 + 100 * 2/9 = 2.25 + 22.22 = 24.47
    pytest.param(
        "Kommunen",
        "<p>Det är bra. Polisen är med</p><ul><li>här 112</li></ul>",
        ["Kommunen", "Det är bra.", "Polisen är med", "här 112"],  # the title, a list item: own
        (24.47, 9, 4, 2),
        id="blocks-end-sentences",
    ),
    # Words: Kontakt | Ring t.ex. kl 10 till Servicecenter på 08-580 285 00 |
    #        Mejla dataskydd@jarfalla.se om du vill = 1 + 8 + 5 = 14
    # Long: Kontakt (7), Servicecenter (13), dataskydd@jarfalla.se (19 letters) = 3
    # LIX = 14/3 + 100 * 3/14 = 4.67 + 21.43 = 26.10
    pytest.param(
        "Kontakt",
        "<p>Ring t.ex. kl. 10 till Servicecenter på 08-580 285 00. "
        "Mejla dataskydd@jarfalla.se om du vill.</p>",
        [
            "Kontakt",
            "Ring t.ex. kl. 10 till Servicecenter på 08-580 285 00.",
            "Mejla dataskydd@jarfalla.se om du vill.",
        ],
        (26.1, 14, 3, 3),
        id="abbreviations-numbers-addresses",
    ),
    # Words: 2 + 2 + 4 + 6 + 1 + 2 + 2 ("177 80" is one number) = 19
    # Long: rättigheter (11), uppgifter (9), invända (7), Järfälla (8) twice; kommun (6) not = 5
    # LIX = 19/7 + 100 * 5/19 = 2.71 + 26.32 = 29.03
    pytest.param(
        "Dina rättigheter",
        "<h2>Att veta</h2><p>Du har rätt att:</p>"
        "<ul><li>få veta vilka uppgifter vi har</li><li>invända</li></ul>"
        "<p>Järfälla kommun<br>177 80 Järfälla</p>",
        [
            "Dina rättigheter",
            "Att veta",
            "Du har rätt att:",  # the colon ends a sentence where the block ends, before a list
            "få veta vilka uppgifter vi har",
            "invända",
            "Järfälla kommun",  # a line break ends one too
            "177 80 Järfälla",
        ],
        (29.03, 19, 7, 5),
        id="headings-lists-line-breaks",
    ),
    # Words: Röster | Vi ska stoppa våldet säger hon | Hur mår du frågade han | Ring oss vi svarar |
    #        Upplands-Bro har e-post = 1 + 6 + 5 + 4 + 3 = 19
    # Long: frågade (7), Upplands-Bro (11 letters); e-post (5), Röster, stoppa, våldet (6) not = 2
    # LIX = 19/5 + 100 * 2/19 = 3.8 + 10.53 = 14.33
    pytest.param(
        "Röster",
        "<p>”Vi ska stoppa våldet”, säger hon. Hur mår du? frågade han. Ring oss: vi svarar. "
        "Upplands-Bro har e-post.</p>",
        [
            "Röster",
            "”Vi ska stoppa våldet”, säger hon.",
            "Hur mår du? frågade han.",  # a small letter after the stop: the sentence goes on
            "Ring oss: vi svarar.",  # a colon inside a paragraph ends nothing
            "Upplands-Bro har e-post.",
        ],
        (14.33, 19, 5, 2),
        id="quotes-small-letters-colons-hyphens",
    ),
    # Rendered from Markdown; the link address and the image's alt text are not read as text.
    # Words: GVI | Läs mer om GVI i Järfälla = 7; long: Järfälla = 1
    # LIX = 7/2 + 100 * 1/7 = 3.5 + 14.29 = 17.79
    pytest.param(
        "GVI",
        render_markdown(
            "Läs **mer** om [GVI i Järfälla](https://www.jarfalla.se/gruppvaldsintervention)."
            "\n\n![Karta över Järfälla kommun och Upplands-Bro](/static/karta.png)"
        ),
        ["GVI", "Läs mer om GVI i Järfälla."],
        (17.79, 7, 2, 1),
        id="rendered-text-not-markdown",
    ),
]


@pytest.mark.parametrize(("title", "html", "sentences", "expected"), SAMPLES)
def test_lix_counts_like_the_hand_count(
    title: str, html: str, sentences: list[str], expected: tuple[float, int, int, int]
) -> None:
    assert [sentence.text for sentence in page_sentences(title, html)] == sentences
    assert counts(page(html, title=title)) == expected


def test_english_is_scored_by_textstats_automated_readability_index() -> None:
    # Fed to textstat as "Help.\nThe dog ran.\nThe cat sat." (the title ended like a sentence).
    # textstat: 25 characters but spaces / 7 words = 3.571; 7 words / 2 sentences = 3.5 (it does
    # not count "Help." as a sentence: two words or fewer)
    # ARI = 4.71 * 3.571 + 0.5 * 3.5 - 21.43 = 16.82 + 1.75 - 21.43 = -2.86
    score = reading(page("<p>The dog ran. The cat sat.</p>", title="Help", locale="en"))
    assert score is not None and score.measure == "ARI"
    assert round(score.score, 2) == -2.86


# --- Which line a page is held to --------------------------------------------------------------


def test_an_ordinary_swedish_page_has_the_line_40_and_a_lattlast_page_25() -> None:
    folder = LOCALES["sv"].easy_to_read.folder
    ordinary, easy = reading(page("<p>Text.</p>")), reading(page("<p>Text.</p>", path=folder))
    assert ordinary is not None and (ordinary.measure, ordinary.line) == ("LIX", 40)
    assert easy is not None and (easy.line, easy.easy_to_read) == (25, True)
    assert reading(page("<p>Text.</p>", path=f"{folder}/om-gvi")).line == 25


def test_english_has_grade_9_and_finnish_and_arabic_have_no_measure() -> None:
    english = reading(page("<p>Text.</p>", locale="en"))
    assert english is not None and (english.measure, english.line) == ("ARI", 9)
    assert reading(page("<p>Teksti.</p>", locale="fi")) is None
    assert reading(page("<p>نص.</p>", locale="ar")) is None
    assert {LOCALES[code].readability for code in LOCALES} - {None} <= set(MEASURES)


def test_a_page_on_its_line_is_not_over_it() -> None:
    at = Reading("LIX", 40.0, 40, False, 100, 10, 30, ())
    assert not at.over
    assert Reading("LIX", 40.1, 40, False, 100, 10, 30, ()).over


def test_a_page_too_short_to_score_is_never_over_its_line() -> None:
    # Hem | Välkommen.: 2 words, 2 sentences, 1 long; LIX = 2/2 + 100 * 1/2 = 51
    welcome = reading(page("<p>Välkommen.</p>", title="Hem"))
    assert welcome is not None and (welcome.score, welcome.over) == (51.0, False)
    assert "too short" in summary(welcome)


# --- The real content ----------------------------------------------------------------------------


@pytest.mark.parametrize("measured", MEASURED, ids=[p.url for p in MEASURED])
def test_no_page_is_over_its_readability_line(measured: Page, figures: list[str]) -> None:
    score = reading(measured)
    assert score is not None
    figures.append(f"{score.measure} {score.score:5.1f} (line {score.line:g}) {measured.url}")
    assert not score.over, f"{measured.source}: {over_the_line(score)}"


def test_every_swedish_page_is_measured() -> None:
    assert {p.url for p in MEASURED} >= {p.url for p in REAL_SITE.in_locale("sv")}
