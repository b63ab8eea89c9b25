"""Site search: an in-memory index of every page's text, stemmed per language, typo-tolerant.

Built from the rendered text (not the HTML) the first time a search needs it, and kept for the
process's life (pages change only with a restart). Nothing leaves the server, and no query is
logged: the access log of the development server gets the path without the query.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import snowballstemmer
from flask import Blueprint, Flask, Response, current_app, make_response, render_template, request
from markupsafe import Markup, escape

from .forms import CONTROL
from .i18n import DEFAULT_LOCALE, LOCALES
from .pages.load import current_site
from .pages.model import Page
from .pages.reading import read
from .security import private

bp = Blueprint("search", __name__)

MAX_QUERY = 200  # characters: longer queries are cut, not refused
MAX_TERMS = 8
MAX_RESULTS = 20
TITLE_WEIGHT = 5
MIN_FUZZY = 4  # letters: shorter words match only exactly
MAX_ENDING = 3  # letters an inflection may add to a stem
VARIANT_WEIGHT = 0.5  # a near match counts half an exact one
WORD = re.compile(r"\w+", re.UNICODE)
SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")


@functools.cache
def _stemmer(locale: str) -> snowballstemmer.stemmer:
    """Return the Snowball stemmer of a locale's language."""
    return snowballstemmer.stemmer(LOCALES[locale].stemmer)


def stems(text: str, locale: str, known: dict[str, str] | None = None) -> list[str]:
    """Split text into words and reduce each to its stem ("våldet" and "våld" → "våld")."""
    words = [w.lower() for w in WORD.findall(text)]
    if known is None:
        return _stemmer(locale).stemWords(words)
    # Each distinct word of the pages is stemmed once (the stemmer is pure Python, ~20 µs a
    # word): indexing fills `known`, and marking the words of a result reads it.
    new = [w for w in dict.fromkeys(words) if w not in known]
    known.update(zip(new, _stemmer(locale).stemWords(new), strict=True))
    return [known[w] for w in words]


def _deletions(term: str) -> set[str]:
    """Return the term with each one letter left out (for matching one-letter typos)."""
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


@dataclass
class Entry:
    """One page as the index holds it."""

    page: Page
    sentences: list[str]
    title_stems: frozenset[str]
    counts: dict[str, int]


@dataclass
class LocaleIndex:
    """The pages of one locale: stem → entries, and the typo table."""

    locale: str
    entries: list[Entry] = field(default_factory=list)
    postings: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    near: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    known: dict[str, str] = field(default_factory=dict)  # word -> stem of every indexed word

    def add(self, page: Page) -> None:
        """Index a page's title and text."""
        # The blocks' text, with the numbered references the other formats give links.
        text = " ".join(block.text for block in read(page.html).blocks)
        sentences = [s.strip() for s in SENTENCE_END.split(text) if s.strip()]
        counts: dict[str, int] = defaultdict(int)
        for stem in stems(f"{page.title} {page.description} {text}", self.locale, self.known):
            counts[stem] += 1
        number = len(self.entries)
        title = frozenset(stems(page.title, self.locale, self.known))
        self.entries.append(Entry(page, sentences, title, dict(counts)))
        for stem in counts:
            if stem not in self.postings:
                for shorter in _deletions(stem) | {stem}:
                    self.near[shorter].add(stem)
            self.postings[stem].add(number)

    def variants(self, stem: str) -> set[str]:
        """Return the indexed stems that match: the same, an inflection away, or one typo away."""
        if len(stem) < MIN_FUZZY:  # short words: exact only, or noise wins
            return {stem} & self.postings.keys()
        found = {stem} & self.postings.keys()
        # Inflections the stemmer leaves (Swedish "våldet" next to "våld", Finnish "väkivalt"
        # next to "väkival"): one stem is the other plus at most a few letters.
        for length in range(max(MIN_FUZZY, len(stem) - MAX_ENDING), len(stem)):
            found |= {stem[:length]} & self.postings.keys()
        vocabulary = self.vocabulary
        at = bisect.bisect_left(vocabulary, stem)
        while at < len(vocabulary) and vocabulary[at].startswith(stem):
            if len(vocabulary[at]) - len(stem) <= MAX_ENDING:
                found.add(vocabulary[at])
            at += 1
        found |= self.near.get(stem, set())  # one letter too few in the query
        for shorter in _deletions(stem):
            found |= {shorter} & self.postings.keys()  # one letter too many
            found |= self.near.get(shorter, set())  # one letter wrong
        return found

    @functools.cached_property
    def vocabulary(self) -> list[str]:
        """Return every indexed stem, sorted (for the prefix look-up)."""
        return sorted(self.postings)

    def search(self, query_stems: list[str]) -> list[tuple[float, Entry, set[str]]]:
        """Return (score, entry, matched stems) for the pages that match every query word."""
        matches: dict[int, set[str]] | None = None
        for stem in query_stems:
            found = self.variants(stem)
            hits: dict[int, set[str]] = defaultdict(set)
            for variant in found:
                for number in self.postings[variant]:
                    hits[number].add(variant)
            matches = (
                hits
                if matches is None
                else {n: matches[n] | hits[n] for n in matches.keys() & hits.keys()}
            )
        results = []
        for number, matched in (matches or {}).items():
            entry = self.entries[number]
            score = sum(
                self._weight(s, query_stems)
                * (entry.counts.get(s, 0) + TITLE_WEIGHT * (s in entry.title_stems))
                for s in matched
            )
            results.append((score, entry, matched))
        return sorted(results, key=lambda r: (-r[0], r[1].page.path))

    def _weight(self, stem: str, query_stems: list[str]) -> float:
        """Weigh a matched stem: rarer words count more, near matches half."""
        rarity = math.log(1 + len(self.entries) / len(self.postings[stem]))
        return rarity * (1 if stem in query_stems else VARIANT_WEIGHT)


@dataclass(frozen=True)
class Result:
    """One hit: the page, the sentence that matched with its words marked, its language."""

    page: Page
    excerpt: Markup
    lang: str


def index_for(locale: str) -> LocaleIndex:
    """Return the index of a locale's pages, built on the first search in that locale."""
    built: dict[str, LocaleIndex] = current_app.extensions["gvisite.search"]
    if locale not in built:  # two threads may both build it: the same index, no harm
        index = LocaleIndex(locale)
        for page in current_site().in_locale(locale):
            index.add(page)
        built[locale] = index
    return built[locale]


def clean_query(raw: str) -> str:
    """Return the query as searched: control characters out, white space folded, cut short."""
    return " ".join(CONTROL.sub(" ", raw[: MAX_QUERY * 4]).split())[:MAX_QUERY]


def excerpt(entry: Entry, matched: set[str], index: LocaleIndex) -> Markup:
    """Return the first sentence with a matched word, each matched word in <mark>."""
    for sentence in entry.sentences or [entry.page.description]:
        words = WORD.split(sentence)
        found = WORD.findall(sentence)
        marked = [s in matched for s in stems(" ".join(found), index.locale, index.known)]
        if any(marked):
            parts = [escape(words[0])]
            for word, hit, rest in zip(found, marked, words[1:], strict=False):
                parts.append(Markup("<mark>{}</mark>").format(word) if hit else escape(word))
                parts.append(escape(rest))
            return Markup("").join(parts)
    return escape(entry.page.description)


def search(query: str, locale: str) -> list[Result]:
    """Search the locale's pages; Swedish pages with no version in the locale come after."""
    results: list[tuple[Entry, set[str], LocaleIndex]] = []
    searched = [locale] if locale == DEFAULT_LOCALE else [locale, DEFAULT_LOCALE]
    site = current_site()
    for code in searched:
        query_stems = list(dict.fromkeys(stems(query, code)))[:MAX_TERMS]
        if not query_stems:
            return []
        index = index_for(code)
        for _score, entry, matched in index.search(query_stems):
            if code != locale and site.get(locale, entry.page.path) is not None:
                continue  # the page exists in the visitor's language: that one was searched
            results.append((entry, matched, index))
            if len(results) == MAX_RESULTS:
                break
    return [Result(e.page, excerpt(e, matched, ix), ix.locale) for e, matched, ix in results]


@bp.get("/<locale:locale>/sok")
def results(locale: str) -> Response:
    """Show the results for `?q=`, or an empty search page; no cache keeps what was asked."""
    query = clean_query(request.args.get("q", ""))
    found = search(query, locale) if query else []
    return private(make_response(render_template("search.html", query=query, results=found)))


def init_app(app: Flask) -> None:
    """Serve the search page (security.py keeps queries out of the access log)."""
    app.extensions["gvisite.search"] = {}  # locale -> LocaleIndex, built when first needed
    app.register_blueprint(bp)
