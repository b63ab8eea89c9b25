"""The editors' linter behind `flask content check`: rules a page must follow to publish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from ..i18n import LOCALES
from .load import ContentError, missing_translations
from .model import Page, Site
from .readability import Reading, reading

# Link texts that say nothing out of context (WCAG 2.4.4), in any of the site's languages: an
# editor may quote one language inside another.
VAGUE_LINK_TEXTS = frozenset().union(*(locale.vague_link_texts for locale in LOCALES.values()))


@dataclass(frozen=True)
class Problem:
    """One finding: an error stops publishing, a warning does not."""

    level: str
    source: str
    message: str

    def __str__(self) -> str:
        """Format the finding as `level: file: message`."""
        return f"{self.level}: {self.source}: {self.message}"


class _BodyScanner(HTMLParser):
    """Collect headings, images and links from a rendered page body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[int] = []
        self.images_without_alt = 0
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note headings and images; start collecting a link's text."""
        attributes = dict(attrs)
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        elif tag == "img" and not (attributes.get("alt") or "").strip():
            self.images_without_alt += 1
        elif tag == "a":
            self._href, self._text = attributes.get("href") or "", []

    def handle_data(self, data: str) -> None:
        """Collect text inside a link."""
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Finish a link."""
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def check_page(page: Page, route_exists: Callable[[str], bool]) -> list[Problem]:
    """Return the problems of one rendered page."""
    scanner = _BodyScanner()
    scanner.feed(page.html)
    source = str(page.source)
    problems: list[Problem] = []

    def error(message: str) -> None:
        problems.append(Problem("error", source, message))

    if 1 in scanner.headings:
        error("the body has a level-1 heading; the title is the page's only h1 (use ##)")
    previous = 1
    for level in scanner.headings:
        if level > previous + 1:
            error(f"heading level skipped: h{previous} followed by h{level}")
        previous = level
    if scanner.images_without_alt:
        error(f"{scanner.images_without_alt} image(s) without alt text")
    for href, text in scanner.links:
        if text.strip(" .:!").lower() in VAGUE_LINK_TEXTS or not text:
            error(f"link text {text!r} does not say where the link goes ({href})")
        parts = urlsplit(href)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/"):
            if not route_exists(parts.path):
                error(f"broken internal link: {href}")
        elif not parts.scheme and parts.path and not href.startswith("#"):
            error(f"relative link {href!r}: write internal links from the root, like /sv/om-gvi")
    if (score := reading(page)) is not None and score.over:
        problems.append(Problem("warning", source, over_the_line(score)))
    return problems


def over_the_line(score: Reading) -> str:
    """Say how far over its line a page is, and quote its longest sentences to shorten first."""
    kind = "an easy-to-read" if score.easy_to_read else "an ordinary"
    per_sentence = score.words / max(score.sentences, 1)
    long_share = 100 * score.long_words / max(score.words, 1)
    quoted = "".join(f"\n    ({len(s.words)} words) {s.text}" for s in score.longest)
    return (
        f"{score.measure} {score.score:.1f} is over {score.line:g}, the line for {kind} page"
        f" ({per_sentence:.1f} words a sentence, {long_share:.0f} % of words over six letters):"
        f" write shorter sentences and more common, shorter words. The longest sentences:{quoted}"
    )


def check_site(
    site: Site, errors: list[ContentError], route_exists: Callable[[str], bool]
) -> list[Problem]:
    """Return every problem in the content: load errors, page rules, missing translations."""
    problems = [Problem("error", e.source, e.reason) for e in errors]
    for page in sorted(site.pages.values(), key=lambda p: str(p.source)):
        problems.extend(check_page(page, route_exists))
    for locale, paths in missing_translations(site).items():
        listed = ", ".join(p or "(home)" for p in paths)
        problems.append(Problem("warning", f"content/{locale}", f"pages missing: {listed}"))
    return problems
