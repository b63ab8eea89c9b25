"""Site search: what every public page says, kept in memory, ranked by rules one can explain.

What is searched: the Markdown pages, and the statement, the contact page and the two forms'
introductions, each in its own language (documents.py); how a page ranks (index.py). Results
are pages in the visitor's language, an easy-to-read page marked with its section's name; a
Swedish page with no version in it comes after, under a heading of its own. Nothing leaves the
server, and no query is logged (security.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, make_response, render_template, request
from markupsafe import Markup, escape

from ..forms import CONTROL
from ..i18n import DEFAULT_LOCALE, LOCALES, direction
from ..pages.load import current_site
from ..security import private
from .documents import Indexes
from .index import WORD, Document, Hit, LocaleIndex, Words

bp = Blueprint("search", __name__)

MAX_QUERY = 200  # characters: longer queries are cut, not refused
MAX_TERMS = 8
MAX_RESULTS = 20
MAX_OTHER = 5  # Swedish pages listed after a search in another language
EXCERPT_CHARS = 240
SHORT_PASSAGE = 4  # words: a passage this short is shown with the one after it
SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")
NUMBER = re.compile(r"\+?\d(?:[\d \-–.:]*\d)?")  # a phone number, a time, a year


@dataclass(frozen=True)
class Result:
    """One hit as the results show it."""

    url: str
    title: str
    excerpt: Markup
    address: Markup  # the page's address, its matched words marked too (they count)
    lang: str
    dir: str  # the page's text direction: a Swedish page in Arabic results reads left to right
    easy: str | None  # the easy-to-read section's name ("Lättläst") on such a page


def clean_query(raw: str) -> str:
    """Return the query as searched: control characters out, white space folded, cut short."""
    return " ".join(CONTROL.sub(" ", raw[: MAX_QUERY * 4]).split())[:MAX_QUERY]


def _mark_words(text: str, matched: frozenset[str], words: Words) -> Markup:
    """Return text escaped, each matched word in <mark>."""
    parts, last = [], 0
    for found in WORD.finditer(text):
        if words.keys(found.group()) & matched:
            parts.append(escape(text[last : found.start()]))
            parts.append(Markup("<mark>{}</mark>").format(found.group()))
            last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _mark(text: str, matched: frozenset[str], words: Words) -> Markup:
    """Return text escaped, matched words marked, numbers isolated left to right on one line.

    The page isolates its numbers in markup (a phone link's `dir=ltr`) that the passage's
    plain text has lost: without it, Arabic shows 08-580 285 00 as 285 580-08 00."""
    parts, last = [], 0
    for number in NUMBER.finditer(text):
        parts.append(_mark_words(text[last : number.start()], matched, words))
        shown = _mark_words(number.group(), matched, words)
        parts.append(Markup('<bdi dir="ltr" class="nowrap">{}</bdi>').format(shown))
        last = number.end()
    parts.append(_mark_words(text[last:], matched, words))
    return Markup("").join(parts)


def _shortened(text: str, hit: Callable[[str], int]) -> str:
    """Return a long passage's first sentence with a hit, or a window of it around the hit."""
    if len(text) <= EXCERPT_CHARS:
        return text
    sentences = SENTENCE_END.split(text)
    sentence = next((s for s in sentences if hit(s)), sentences[0])
    if len(sentence) <= EXCERPT_CHARS:
        return sentence
    first = next((w.start() for w in WORD.finditer(sentence) if hit(w.group())), 0)
    start = sentence.rfind(" ", 0, max(0, first - EXCERPT_CHARS // 3)) + 1
    end = sentence.find(" ", start + EXCERPT_CHARS)
    end = len(sentence) if end == -1 else end
    return ("… " if start else "") + sentence[start:end] + (" …" if end < len(sentence) else "")


def excerpt(hit: Hit, words: Words) -> Markup:
    """Return the passage that says most of what was asked (a heading last), words marked."""
    document, matched = hit.document, hit.matched
    found = Counter(i for key in matched for i in set(hit.places.get(key, ())))
    passages, headings = document.passages, set(document.headings)
    at = max(found, key=lambda i: (found[i], passages[i] not in headings, -i), default=None)

    def hits(text: str) -> int:
        return len({k for keys in words.of(text, remember=False) for k in keys} & matched)

    if at is None:  # the words are in the title or the address only
        return _mark(_shortened(document.description, hits), matched, words)
    best = passages[at]
    if len(WORD.findall(best)) < SHORT_PASSAGE and at + 1 < len(passages):
        # A term or a heading says little alone ("Öppettider"): what follows says the rest.
        best = f"{best}{'' if best[-1] in ':.!?؟' else ':'} {passages[at + 1]}"
    return _mark(_shortened(best, hits), matched, words)


def _result(hit: Hit, index: LocaleIndex) -> Result:
    """Return a hit as the results show it."""
    document, words = hit.document, index.words
    easy = LOCALES[document.locale].easy_to_read if document.easy else None
    return Result(
        document.url,
        document.title,
        excerpt(hit, words),
        _mark(document.url, hit.matched, words),
        document.locale,
        direction(document.locale),
        easy.name if easy else None,
    )


def _only_in_swedish(document: Document, locale: str) -> bool:
    """Tell whether a Swedish page has no version in `locale` (easy-to-read pages never do)."""
    page = document.page
    return page is not None and not document.easy and current_site().get(locale, page.path) is None


def search(query: str, locale: str) -> tuple[list[Result], list[Result]]:
    """Return the matching pages in the visitor's language, then Swedish ones it lacks."""
    words = list(dict.fromkeys(w.casefold() for w in WORD.findall(query)))[:MAX_TERMS]
    if not words:
        return [], []
    indexes: Indexes = current_app.extensions["gvisite.search"]
    own = indexes.get(current_app, locale)
    found = [_result(hit, own) for hit in own.search(words)[:MAX_RESULTS]]
    if locale == DEFAULT_LOCALE:
        return found, []
    swedish = indexes.get(current_app, DEFAULT_LOCALE)
    lacking = [hit for hit in swedish.search(words) if _only_in_swedish(hit.document, locale)]
    return found, [_result(hit, swedish) for hit in lacking[:MAX_OTHER]]


@bp.get("/<locale:locale>/sok")
def results(locale: str) -> Response:
    """Show the results for `?q=`, or an empty search page; no cache keeps what was asked."""
    query = clean_query(request.args.get("q", ""))
    found, swedish = search(query, locale) if query else ([], [])
    page = render_template("search.html", query=query, results=found, swedish=swedish)
    return private(make_response(page))


def init_app(app: Flask) -> None:
    """Serve the search page (security.py keeps queries out of the access log)."""
    app.extensions["gvisite.search"] = Indexes()
    app.register_blueprint(bp)
