"""The index of one language: its words, folded and stemmed, and how a page ranks for a query.

How a page ranks: every word of the query must match; a page's score is the product, over the
query's words, of the best match's quality x where it stands, so a page that says every word
well beats one that says one word often.
- Quality. Words are compared by their Snowball stem, with å/ä/ö (and every accent) folded
  away, so "jarfalla" is "Järfälla": 1. A longer form ("våld" -> "våldet") or the query word
  without an ending its language's stemmer leaves (`SiteLocale.search_endings`): 0.8. Part of a
  compound, for words of 5 letters or more ("redogörelse" in "tillgänglighetsredogörelse"):
  0.5. Only when none of these is found on any page, one letter wrong, missing, extra or
  swapped (5 letters or more): 0.4. A word found nowhere finds nothing: never a fuzzy page.
- Where, added up: the title 8, the address's words 5 (Swedish pages: the addresses are
  Swedish; /sv/tillganglighet/rapportera is the report form), a heading 3, the description 2,
  the text 1 + log(times), at most 3 (a long page does not win by length).
Easy-to-read pages count 0.8 of that, so the ordinary page comes first where both say the same.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import snowballstemmer

from ..i18n import LOCALES
from ..pages.model import Page, is_easy_to_read

EXACT, FORM, PART, TYPO = 1.0, 0.8, 0.5, 0.4  # how well a word matches (see above)
WHERE = {"title": 8.0, "address": 5.0, "heading": 3.0, "description": 2.0}
EASY = 0.8  # an easy-to-read page's share of its score
MAX_TEXT = 3.0  # what a word counts in the text, however often it stands there
MIN_FORM = 4  # letters a word needs before longer forms of it match
MAX_ENDING = 3  # letters a longer form may add
MIN_PART = 5  # letters a word needs to match part of a compound, or with a typo
WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Return text in lower case without accents: "Järfälla" -> "jarfalla", "أمان" -> "امان"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Words:
    """A language's words as search compares them: stemmed, then folded."""

    def __init__(self, locale: str) -> None:
        self.endings = LOCALES[locale].search_endings
        self._stemmer = snowballstemmer.stemmer(LOCALES[locale].stemmer)
        self._lock = threading.Lock()  # a Snowball stemmer keeps state while it works
        self._known: dict[str, frozenset[str]] = {}  # the pages' words: each stemmed once

    def keys(self, word: str, remember: bool = True) -> frozenset[str]:
        """Return a word's keys: its stem folded, and its folded form's stem (often the same)."""
        lower = word.casefold()
        if (known := self._known.get(lower)) is not None:
            return known
        folded = fold(lower)
        with self._lock:
            keys = frozenset({fold(self._stemmer.stemWord(lower)), self._stemmer.stemWord(folded)})
        if remember:  # not a query's words: what strangers type must not fill the memory
            self._known[lower] = keys
        return keys

    def of(self, text: str, remember: bool = True) -> list[frozenset[str]]:
        """Return the keys of every word of a text, in order."""
        return [self.keys(word, remember) for word in WORD.findall(text)]


@dataclass(frozen=True)
class Document:
    """A searchable page: where it is, what it is called, and what it says."""

    url: str
    title: str
    locale: str
    description: str
    headings: tuple[str, ...]
    passages: tuple[str, ...]  # the units a reader takes as one (pages/reading.py)
    address: str = ""  # the address's words, on Swedish pages
    page: Page | None = None  # None: the statement, the contact page, a form

    @property
    def easy(self) -> bool:
        """Tell whether the page is in its locale's easy-to-read section."""
        return is_easy_to_read(self.page)


@dataclass(frozen=True)
class Hit:
    """A page that matched: its score, the keys of its words that matched, and where they are."""

    score: float
    document: Document
    matched: frozenset[str]
    places: dict[str, tuple[int, ...]]  # key -> the passages it stands in (for the excerpt)


class LocaleIndex:
    """The documents of one locale: key -> documents, and each document's weight per key."""

    def __init__(self, locale: str, documents: list[Document], words: Words) -> None:
        self.locale = locale
        self.words = words
        self.documents = documents
        self.places = [_places(document, words) for document in documents]
        self.weights = [
            self._weigh(doc, places) for doc, places in zip(documents, self.places, strict=True)
        ]
        self.postings: dict[str, set[int]] = defaultdict(set)
        for number, weights in enumerate(self.weights):
            for key in weights:
                self.postings[key].add(number)
        self.vocabulary = sorted(self.postings)
        self.backwards = sorted(key[::-1] for key in self.postings)  # for compounds' ends
        self.near: dict[str, set[str]] = defaultdict(set)  # a key with a letter left out
        for key in self.vocabulary:
            if len(key) >= MIN_PART - 1:
                for shorter in _deletions(key):
                    self.near[shorter].add(key)

    def _weigh(self, document: Document, places: dict[str, tuple[int, ...]]) -> dict[str, float]:
        """Return how much each key of a document counts, by where and how often it stands."""
        weights = {key: min(1 + math.log(len(found)), MAX_TEXT) for key, found in places.items()}
        fields = {
            "title": document.title,
            "address": document.address,
            "heading": " ".join(document.headings),
            "description": document.description,
        }
        for where, text in fields.items():
            for key in {k for keys in self.words.of(text) for k in keys}:
                weights[key] = weights.get(key, 0.0) + WHERE[where]
        return weights

    def _starting(self, prefix: str) -> Iterable[str]:
        """Yield the indexed keys that begin with `prefix`."""
        at = bisect.bisect_left(self.vocabulary, prefix)
        while at < len(self.vocabulary) and self.vocabulary[at].startswith(prefix):
            yield self.vocabulary[at]
            at += 1

    def _ending(self, suffix: str) -> Iterable[str]:
        """Yield the indexed keys that end with `suffix`."""
        backwards = suffix[::-1]
        at = bisect.bisect_left(self.backwards, backwards)
        while at < len(self.backwards) and self.backwards[at].startswith(backwards):
            yield self.backwards[at][::-1]
            at += 1

    def _one_letter_off(self, key: str) -> set[str]:
        """Return the indexed keys one letter wrong, missing, extra or swapped."""
        found = set(self.near.get(key, ()))  # one letter too few in the query
        for shorter in _deletions(key):
            found |= {shorter} & self.postings.keys()  # one letter too many
            found |= self.near.get(shorter, set())  # one letter wrong
        swaps = {key[:i] + key[i + 1] + key[i] + key[i + 2 :] for i in range(len(key) - 1)}
        return {k for k in found | (swaps & self.postings.keys()) if len(k) >= MIN_PART - 1}

    def variants(self, word: str) -> dict[str, float]:
        """Return the indexed keys a query word matches, each with how well (the module's rules)."""
        found: dict[str, float] = {}

        def add(key: str, quality: float) -> None:
            if key in self.postings and quality > found.get(key, 0.0):
                found[key] = quality

        keys = self.words.keys(word, remember=False)
        for key in keys:
            add(key, EXACT)
            for ending in self.words.endings:
                if key.endswith(ending) and len(key) - len(ending) >= MIN_FORM:
                    add(key.removesuffix(ending), FORM)
            if len(key) >= MIN_FORM:
                for longer in self._starting(key):
                    if len(longer) - len(key) <= MAX_ENDING:
                        add(longer, FORM)
                    elif len(key) >= MIN_PART:
                        add(longer, PART)  # the first part of a compound
            if len(key) >= MIN_PART:
                for compound in self._ending(key):
                    add(compound, PART)
        if not found:  # only then: a word some page has is never taken for a typo of another
            for key in keys:
                if len(key) >= MIN_PART:
                    for near in self._one_letter_off(key):
                        add(near, TYPO)
        return found

    def search(self, query: list[str]) -> list[Hit]:
        """Return the documents that match every word of the query, best first."""
        scores: dict[int, float] = {}
        matched: dict[int, set[str]] = defaultdict(set)
        for position, word in enumerate(query):
            here: dict[int, float] = {}  # the word's best match on each page
            for key, quality in self.variants(word).items():
                for n in self.postings[key]:
                    here[n] = max(here.get(n, 0.0), quality * self.weights[n][key])
                    matched[n].add(key)
            scores = (
                here
                if position == 0
                else {n: scores[n] * here[n] for n in scores.keys() & here.keys()}
            )
            if not scores:
                return []
        hits = [
            Hit(
                score * (EASY if self.documents[n].easy else 1.0),
                self.documents[n],
                frozenset(matched[n]),
                self.places[n],
            )
            for n, score in scores.items()
        ]
        return sorted(hits, key=lambda hit: (-hit.score, hit.document.url))


def _places(document: Document, words: Words) -> dict[str, tuple[int, ...]]:
    """Return each key of a document's text with the passages it stands in, once a time."""
    places: dict[str, list[int]] = defaultdict(list)
    for number, passage in enumerate(document.passages):
        for keys in words.of(passage):
            for key in keys:
                places[key].append(number)
    return {key: tuple(found) for key, found in places.items()}


def _deletions(key: str) -> set[str]:
    """Return the key with each one letter left out (for matching one-letter typos)."""
    return {key[:i] + key[i + 1 :] for i in range(len(key))}
