"""The editors' linter behind `flask content check`: rules a page must follow to publish."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..i18n import LOCALES
from ..progress import Track, unchanged
from .load import ContentError, missing_translations
from .markdown import image_problem
from .model import Page, Site
from .readability import Reading, reading
from .reading import read

# Link texts that say nothing out of context (WCAG 2.4.4), in any of the site's languages: an
# editor may quote one language inside another.
VAGUE_LINK_TEXTS = frozenset().union(*(locale.vague_link_texts for locale in LOCALES.values()))
# Where a page's Markdown names an image: inline, by reference, or as raw HTML.
_INLINE_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(\s*(?:<([^>]*)>|([^)\s]*))")
_REFERENCE_IMAGE = re.compile(r"!\[((?:[^\]\\]|\\.)*)\](?:\[([^\]]*)\])?")
_DEFINITION = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(?:<([^>]*)>|(\S+))", re.M)
_HTML_IMAGE = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


@dataclass(frozen=True)
class Problem:
    """One finding: an error stops publishing, a warning does not."""

    level: str
    source: str
    message: str

    def __str__(self) -> str:
        """Format the finding as `level: file: message`."""
        return f"{self.level}: {self.source}: {self.message}"


def check_page(page: Page, route_exists: Callable[[str], bool]) -> list[Problem]:
    """Return the problems of one rendered page."""
    body = read(page.html)
    levels = [heading.level for heading in body.headings]
    without_alt = sum(not image.alt.strip() for image in body.images)
    # The sanitizer dropped a source not of the site's own.
    without_source = sum(not image.src for image in body.images)
    source = str(page.source)
    problems: list[Problem] = []

    def error(message: str) -> None:
        problems.append(Problem("error", source, message))

    if 1 in levels:
        error("the body has a level-1 heading; the title is the page's only h1 (use ##)")
    previous = 1
    for level in levels:
        if level > previous + 1:
            error(f"heading level skipped: h{previous} followed by h{level}")
        previous = level
    if without_alt:
        error(f"{without_alt} image(s) without alt text")
    found = [(line, reason) for line, src in image_sources(page.source)
             if (reason := image_problem(src)) is not None]  # fmt: skip
    problems.extend(Problem("error", f"{source}:{line}", reason) for line, reason in found)
    if without_source > len(found):  # written some way the scan above missed
        error("an image's source is not a file of the site's static files")
    for link in body.anchors:
        href, text = link.href, link.text
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


def image_sources(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, source) of every image a page's Markdown file names."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return  # the loader reports a file it cannot read
    definitions = {
        " ".join(m[1].lower().split()): m[2] if m[2] is not None else m[3]
        for m in _DEFINITION.finditer(text)
    }
    found: list[tuple[int, str]] = []
    for match in _INLINE_IMAGE.finditer(text):
        found.append((match.start(), match[1] if match[1] is not None else match[2]))
    for match in _REFERENCE_IMAGE.finditer(text):
        if text.startswith("(", match.end()):
            continue  # inline, above
        label = " ".join((match[2] or match[1]).lower().split())
        if label in definitions:
            found.append((match.start(), definitions[label]))
    for match in _HTML_IMAGE.finditer(text):
        found.append((match.start(), next(g for g in match.groups() if g is not None)))
    for offset, src in sorted(found):
        yield text.count("\n", 0, offset) + 1, src


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
    site: Site,
    errors: list[ContentError],
    route_exists: Callable[[str], bool],
    track: Track = unchanged,
) -> list[Problem]:
    """Return every problem in the content: load errors, page rules, missing translations."""
    problems = [Problem("error", e.source, e.reason) for e in errors]
    pages = sorted(site.pages.values(), key=lambda p: str(p.source))
    for page in track(pages, "Checking the pages"):
        problems.extend(check_page(page, route_exists))
    for locale, paths in missing_translations(site).items():
        listed = ", ".join(p or "(home)" for p in paths)
        problems.append(Problem("warning", f"content/{locale}", f"pages missing: {listed}"))
    return problems
