"""How easy a page is to read: LIX for Swedish, the Automated Readability Index for English.

Each locale names its measure in i18n.py (`SiteLocale.readability`, a key of `MEASURES`), or
None where no established measure fits; `reading(page)` scores a page by it, and the editors'
check (lint.py) warns when a page is over its line.

- Swedish: LIX (Björnsson, *Läsbarhet*, 1968), counted here by the rules below, because the
  counting is the measure: LIX = words per sentence + 100 × the share of words over six letters.
  Under 30 is very easy, 30-40 easy, 40-50 medium, over 50 difficult (official texts are
  typically 50+). The line is 40 for an ordinary page and 25 for a lättläst page.
- English: the Automated Readability Index (Smith and Senter, 1967), a US school grade, from
  textstat. textstat's Flesch scores need CMUdict, which it downloads from NLTK's servers on
  first use, so they cannot run offline; ARI counts characters, not syllables. The line is
  grade 9, the end of lower secondary education, WCAG 3.1.5's level.
- Finnish: none. No maintained package has a formula made for Finnish (textstat's Flesch
  variants are English, German, Spanish, French, Italian, Dutch and Russian), and LIX's lines
  do not carry over: Finnish puts endings and compounds into words, so an ordinary Finnish text
  has far more long words than a Swedish one of the same difficulty.
- Arabic: none. textstat's OSMAN counts syllables from the short-vowel marks (tashkeel), which
  these pages, like almost all modern Arabic prose, do not write; without them it guesses from
  the number of letters, which is not the measure its authors validated.

What is measured: the text a reader sees, the title (as the first heading) and the rendered
body, as text, never as Markdown: no `**`, `##` or `[...](...)`, no link addresses, no alt texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..i18n import LOCALES
from .model import Page, is_easy_to_read
from .reading import read

_LETTER = r"[^\W\d_]"
_TOKEN = re.compile(
    # An e-mail or web address is one word: dataskydd@jarfalla.se, www.imy.se.
    r"[\w.+-]+@\w[\w-]*(?:\.\w[\w-]*)+|(?:https?://|www\.)[^\s]*[\w/]"
    # A number, with its separators and single spaces between digit groups: 08-580 285 00.
    r"|\d+(?:(?:[.,:/–-]|[ \u00a0])\d+)*"
    # An abbreviation of short letter groups joined by periods, periods included: t.ex., bl.a.
    rf"|{_LETTER}{{1,3}}(?:\.{_LETTER}{{1,3}})+\.?"
    # A word: letters of any alphabet, joined by hyphens, apostrophes or a colon: GVI:s.
    rf"|{_LETTER}+(?:[-‐'’:]{_LETTER}+)*"
)
_CLOSERS = "\"'”’»)]"
# The gap after a word that ends a sentence: . ! ? … (or a run of them), perhaps a closing quote
# or bracket, then a space. A colon is not among them: see `sentences`.
_CLOSING = f"[{re.escape(_CLOSERS)}]*"
_END = re.compile(rf"{_CLOSING}[.!?…؟]+{_CLOSING}(?=\s)")
# Abbreviations of one letter group whose period is no sentence end, even before a number or a
# name ("kl. 10", "ca 20", "tel. 112"). Lower case.
_ABBREVIATIONS = frozenset({"kl", "ca", "nr", "tel", "resp", "jfr", "inkl", "exkl", "s"})
LONG_WORD = 6  # a word with more letters than this is long
# A text shorter than this is scored but never over its line: the formulas are made for running
# text, and on a page of a few words one long word decides the score ("Välkommen." is LIX 51).
MIN_WORDS = 30


@dataclass(frozen=True)
class Sentence:
    """A sentence as the reader sees it, and its words."""

    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Measure:
    """A readability measure: its name, how it scores sentences, and its lines."""

    name: str
    score: Callable[[Sequence[Sentence]], float]
    line: float  # an ordinary page is over it when it scores more (every measure: higher = harder)
    easy_line: float | None  # the line for an easy-to-read page (lättläst), if the language has any


@dataclass(frozen=True)
class Reading:
    """A page's score by its language's measure, and what an editor needs to bring it down."""

    measure: str
    score: float
    line: float
    easy_to_read: bool  # the page is in its locale's easy-to-read folder, under the easy line
    words: int
    sentences: int
    long_words: int
    longest: tuple[Sentence, ...]  # the three longest sentences, longest first

    @property
    def over(self) -> bool:
        """Tell whether the page is over its line (a page too short to score never is)."""
        return self.words >= MIN_WORDS and self.score > self.line


def passages(title: str, html: str) -> list[str]:
    """Return the passages a reader sees on a page: its title first, as a heading, then its body."""
    heading = " ".join(title.split())
    return [heading, *read(html).passages] if heading else read(html).passages


def words(text: str) -> list[str]:
    """Return the words of a text, by the rules of `_TOKEN` (addresses and numbers are one)."""
    return [match.group() for match in _TOKEN.finditer(text)]


def letters(word: str) -> int:
    """Count a word's letters: digits, hyphens, periods and colons are not letters."""
    return sum(character.isalpha() for character in word)


def is_long(word: str) -> bool:
    """Tell whether a word is long: more than six letters (Järfälla, Upplands-Bro; not e-post)."""
    return letters(word) > LONG_WORD


def sentences(block: str) -> list[Sentence]:
    """Split one block into sentences.

    The block's end ends a sentence. Inside it, a sentence ends after a word followed by . ! ?
    or … (or a run of them, perhaps with a closing quote or bracket) and a space, unless
    - the next word starts with a small letter: "t.ex. en", "Hur mår du? frågade hon" go on;
    - the word is an abbreviation (`_ABBREVIATIONS`, or letter groups with periods like t.ex.,
      whose own period is part of the word).
    A colon never ends a sentence: before a list or a line break the block ends there anyway,
    and inside a paragraph ("Ring oss: vi svarar") the thought goes on. Björnsson counted the
    colon as an end; here it counts only where the text also breaks. A block without words
    (a rule, a lone dash) is no sentence.
    """
    tokens = list(_TOKEN.finditer(block))
    found: list[Sentence] = []
    first = 0
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        gap_end = following.start() if following else len(block)
        end = _END.match(block, token.end(), gap_end)
        if following is not None:
            if end is None or following.group()[0].islower():
                continue
            if token.group().lower() in _ABBREVIATIONS and block[token.end()] == ".":
                continue
        stop = end.end() if end else gap_end
        start = tokens[first].start()
        # A quote or bracket that opens the sentence belongs to it.
        while start > 0 and block[start - 1] in "\"'“”‘’«(":
            start -= 1
        text = block[start:stop].strip()
        found.append(Sentence(text, tuple(t.group() for t in tokens[first : index + 1])))
        first = index + 1
    return found


def page_sentences(title: str, html: str) -> list[Sentence]:
    """Return every sentence a reader sees on a page, title first."""
    return [sentence for passage in passages(title, html) for sentence in sentences(passage)]


def lix(found: Sequence[Sentence]) -> float:
    """Return the LIX of sentences: words per sentence + 100 × the share of long words."""
    every = [word for sentence in found for word in sentence.words]
    if not every:
        return 0.0
    return len(every) / len(found) + 100 * sum(map(is_long, every)) / len(every)


def automated_readability_index(found: Sequence[Sentence]) -> float:
    """Return textstat's Automated Readability Index (a US school grade) of sentences."""
    import textstat  # imports NLTK: only the check that measures English pays for it

    # One sentence a line, each ended, so that textstat also sees headings and list items end;
    # textstat then counts by its own rules (it also splits at inner full stops, and does not
    # count a fragment of two words or fewer as a sentence).
    ended = (s.text if s.text.rstrip(_CLOSERS)[-1:] in ".!?…" else f"{s.text}." for s in found)
    return float(textstat.automated_readability_index("\n".join(ended)))


MEASURES = {
    "lix": Measure("LIX", lix, line=40, easy_line=25),
    "ari": Measure("ARI", automated_readability_index, line=9, easy_line=None),
}


def measure_of(page: Page) -> Measure | None:
    """Return the measure of a page's language, or None where no established one fits."""
    key = LOCALES[page.locale].readability
    return MEASURES[key] if key else None


def reading(page: Page) -> Reading | None:
    """Score a page by its language's measure; None where the language has none."""
    measure = measure_of(page)
    if measure is None:
        return None
    easy = is_easy_to_read(page)
    # A language without easy-to-read pages has no easy line: such a page gets the ordinary one.
    line = measure.easy_line if easy and measure.easy_line is not None else measure.line
    found = page_sentences(page.title, page.html)
    longest = sorted(found, key=lambda s: len(s.words), reverse=True)[:3]
    every = [word for sentence in found for word in sentence.words]
    return Reading(
        measure.name,
        measure.score(found),
        line,
        easy,
        len(every),
        len(found),
        sum(map(is_long, every)),
        tuple(longest),
    )


def summary(score: Reading) -> str:
    """Describe a page's score in one line, for the editors' check."""
    short = f"; under {MIN_WORDS} words, too short to hold to it" if score.words < MIN_WORDS else ""
    return (
        f"{score.measure} {score.score:.1f} (line {score.line:g}; {score.words} words,"
        f" {score.sentences} sentences, {score.long_words} long words{short})"
    )
