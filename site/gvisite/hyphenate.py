"""Soft hyphens in long words, so a narrow screen breaks "Gruppvålds-intervention" where the
language does instead of mid-syllable (Debian's Chromium has no hyphenation dictionaries)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import pyphen

from .i18n import LOCALES

SOFT_HYPHEN = "\u00ad"
LONG_WORD = 12  # shorter words fit a 320 px line even in a large heading
_WORD = re.compile(rf"\w{{{LONG_WORD},}}")
_VOWELS = "aeiouyäöå"
# Finnish syllables start at a consonant followed by a vowel: ri-kos-seu-raa-mus-lai-tok-sen.
_FINNISH_BREAK = re.compile(rf"(?<=\w\w)(?=[^{_VOWELS}\W\d][{_VOWELS}])", re.I)


def _finnish(word: str) -> str:
    """Hyphenate a Finnish word by the consonant-vowel syllable rule (never inside a vowel run)."""
    return _FINNISH_BREAK.sub(SOFT_HYPHEN, word)


@cache
def _hyphenator(locale: str) -> Callable[[str], str] | None:
    """Return the function that hyphenates one word in a locale, or None."""
    name = LOCALES[locale].hyphenation if locale in LOCALES else None
    if name == "fi":
        return _finnish
    if name is None:
        return None
    dictionary = pyphen.Pyphen(lang=name)
    return lambda word: dictionary.inserted(word, hyphen=SOFT_HYPHEN)


def hyphenate(text: str, locale: str) -> str:
    """Put soft hyphens into the long words of a short text (a heading, a menu item)."""
    word_breaker = _hyphenator(locale)
    if word_breaker is None or not text:
        return text
    return _WORD.sub(lambda match: word_breaker(match[0]), text)
