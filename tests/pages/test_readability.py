"""The readability meter: its counting rules on texts scored by hand, each page's line, and every
real page under its line (LIX 40 for ordinary Swedish pages, 25 for lättläst, ARI 9 for English)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gvisite.i18n import LOCALES
from gvisite.pages.lint import over_the_line
from gvisite.pages.load import Page, load_site
from gvisite.pages.markdown import render_markdown
from gvisite.pages.readability import MEASURES, Reading, page_sentences, reading, summary
from tests.conftest import REAL_CONTENT

REAL_SITE = load_site(REAL_CONTENT)[0]
MEASURED = sorted((p for p in REAL_SITE.pages.values() if reading(p)), key=lambda p: p.url)


def page(html: str, title: str = "Kommunen", locale: str = "sv", path: str = "om") -> Page:
    """Return a page with this title and body, as the meter sees it."""
    source = Path(f"content/{locale}/{path}.md")
    return Page(locale, path, title, "", dt.date(2026, 1, 1), html, source, None)  # type: ignore[arg-type]


def counts(measured: Page) -> tuple[float, int, int, int]:
    """Return a page's score (two decimals), words, sentences and long words."""
    score = reading(measured)
    assert score is not None
    return round(score.score, 2), score.words, score.sentences, score.long_words


# --- The counting rules, on texts counted by hand ------------------------------------------------


def test_a_block_ends_a_sentence_and_a_number_is_a_short_word() -> None:
    # Sentences: Kommunen | Det är bra. | Polisen är med | här 112  = 4 (title, list item: own)
    # Words: Kommunen Det är bra Polisen är med här 112              = 9
    # Long (over six letters): Kommunen (8), Polisen (7)             = 2
    # LIX = 9/4 + 100 * 2/9 = 2.25 + 22.22 = 24.47
    html = "<p>Det är bra. Polisen är med</p><ul><li>här 112</li></ul>"
    assert counts(page(html)) == (24.47, 9, 4, 2)


def test_abbreviations_numbers_and_addresses_are_one_word_and_end_no_sentence() -> None:
    # Sentences: Kontakt | Ring t.ex. kl. 10 till Servicecenter på 08-580 285 00. |
    #            Mejla dataskydd@jarfalla.se om du vill.                      = 3
    # Words: Kontakt | Ring t.ex. kl 10 till Servicecenter på 08-580 285 00 |
    #        Mejla dataskydd@jarfalla.se om du vill                  = 1 + 8 + 5 = 14
    # Long: Kontakt (7), Servicecenter (13), dataskydd@jarfalla.se (19 letters) = 3
    # LIX = 14/3 + 100 * 3/14 = 4.67 + 21.43 = 26.10
    html = (
        "<p>Ring t.ex. kl. 10 till Servicecenter på 08-580 285 00. "
        "Mejla dataskydd@jarfalla.se om du vill.</p>"
    )
    measured = page(html, title="Kontakt")
    assert counts(measured) == (26.1, 14, 3, 3)
    assert [s.text for s in page_sentences(measured.title, measured.html)][1:] == [
        "Ring t.ex. kl. 10 till Servicecenter på 08-580 285 00.",
        "Mejla dataskydd@jarfalla.se om du vill.",
    ]


def test_headings_list_items_and_line_breaks_end_sentences_a_colon_only_there() -> None:
    # Sentences: Dina rättigheter | Att veta | Du har rätt att: |
    #            få veta vilka uppgifter vi har | invända | Järfälla kommun | 177 80 Järfälla = 7
    # Words: 2 + 2 + 4 + 6 + 1 + 2 + 2 ("177 80" is one number)                      = 19
    # Long: rättigheter (11), uppgifter (9), invända (7), Järfälla (8) twice; kommun (6) is not = 5
    # LIX = 19/7 + 100 * 5/19 = 2.71 + 26.32 = 29.03
    html = (
        "<h2>Att veta</h2><p>Du har rätt att:</p>"
        "<ul><li>få veta vilka uppgifter vi har</li><li>invända</li></ul>"
        "<p>Järfälla kommun<br>177 80 Järfälla</p>"
    )
    assert counts(page(html, title="Dina rättigheter")) == (29.03, 19, 7, 5)


def test_quotes_small_letters_after_a_stop_hyphens_and_colons_inside_a_paragraph() -> None:
    # Sentences: Röster | ”Vi ska stoppa våldet”, säger hon. | Hur mår du? frågade han. |
    #            Ring oss: vi svarar. | Upplands-Bro har e-post.                          = 5
    # Words: 1 + 6 + 5 + 4 + 3                                                             = 19
    # Long: frågade (7), Upplands-Bro (11 letters); e-post (5), Röster, stoppa, våldet (6) not = 2
    # LIX = 19/5 + 100 * 2/19 = 3.8 + 10.53 = 14.33
    html = (
        "<p>”Vi ska stoppa våldet”, säger hon. Hur mår du? frågade han. Ring oss: vi svarar. "
        "Upplands-Bro har e-post.</p>"
    )
    measured = page(html, title="Röster")
    assert counts(measured) == (14.33, 19, 5, 2)
    assert page_sentences(measured.title, measured.html)[1].text == (
        "”Vi ska stoppa våldet”, säger hon."
    )


def test_the_rendered_text_is_measured_not_the_markdown_link_addresses_or_alt_texts() -> None:
    # Sentences: GVI | Läs mer om GVI i Järfälla.  = 2 (the image has no text a reader sees)
    # Words: GVI | Läs mer om GVI i Järfälla       = 7; long: Järfälla = 1
    # LIX = 7/2 + 100 * 1/7 = 3.5 + 14.29 = 17.79
    markdown = (
        "Läs **mer** om [GVI i Järfälla](https://www.jarfalla.se/gruppvaldsintervention-i-kommunen)."
        "\n\n![Karta över Järfälla kommun och Upplands-Bro](/static/karta.png)"
    )
    assert counts(page(render_markdown(markdown), title="GVI")) == (17.79, 7, 2, 1)


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
