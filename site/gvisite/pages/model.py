"""What the site is made of: pages (with their owners and headings) and the site they form.

load.py makes them from `content/`; everything else reads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..i18n import DEFAULT_LOCALE, LOCALES
from .body import Body

NEWS_FOLDER = "nyheter"


@dataclass(frozen=True)
class Owner:
    """Who answers for a page: a name and a functional mailbox."""

    name: str
    email: str


@dataclass(frozen=True)
class Heading:
    """A heading inside a page body."""

    level: int
    id: str
    text: str


@dataclass(frozen=True)
class FrontMatter:
    """How load.py reads a page attribute from the front matter: its kind, and its rules."""

    kind: str  # text | date | whole | owner (load.py: `KINDS`)
    required: bool = False
    one_sentence: bool = False


def front_matter(kind: str, *, required: bool = False, one_sentence: bool = False) -> Any:
    """Return the metadata that declares a page attribute a front-matter field (`field(...)`)."""
    return {"front_matter": FrontMatter(kind, required, one_sentence)}


@dataclass(frozen=True)
class Page:
    """One page in one language, rendered once; Jinja prints it without `|safe`."""

    locale: str
    path: str
    # What an editor writes in the front matter: a new field is one line here (load.py reads,
    # checks and caches it by its kind), and its use in a template.
    title: str = field(metadata=front_matter("text", required=True))
    description: str = field(metadata=front_matter("text", required=True, one_sentence=True))
    updated: dt.date = field(metadata=front_matter("date", required=True))
    body: Body
    source: Path
    owner: Owner = field(metadata=front_matter("owner"))  # left out: the site's (load.py)
    order: int | None = field(default=None, metadata=front_matter("whole"))
    published: dt.date | None = field(default=None, metadata=front_matter("date"))

    def __html__(self) -> str:
        """Return the sanitized body HTML."""
        return self.body.html

    @property
    def html(self) -> str:
        """Return the sanitized body HTML (rendered now if it was left for later)."""
        return self.body.html

    @property
    def headings(self) -> tuple[Heading, ...]:
        """Return the headings of the body, h2 to h6."""
        return self.body.headings

    @property
    def url(self) -> str:
        """Return the page's canonical path on the site."""
        return f"/{self.locale}/{self.path}" if self.path else f"/{self.locale}/"

    @property
    def is_news_item(self) -> bool:
        """Tell whether the page is a dated item in the news folder."""
        return self.path.startswith(f"{NEWS_FOLDER}/")

    @property
    def parent_path(self) -> str | None:
        """Return the path of the page above this one, or None for the home page."""
        if not self.path:
            return None
        return self.path.rpartition("/")[0]


def is_easy_to_read(page: Page | None) -> bool:
    """Tell whether a page is in its locale's easy-to-read folder (lättläst, selkosuomi)."""
    if page is None:
        return False  # the statement and the forms: no page, never easy-to-read
    info = LOCALES.get(page.locale)
    easy = info.easy_to_read if info else None
    return easy is not None and f"{page.path}/".startswith(f"{easy.folder}/")


def front_matter_fields() -> dict[str, FrontMatter]:
    """Return the page attributes read from the front matter, in the order Page declares them."""
    return {f.name: f.metadata["front_matter"] for f in fields(Page) if f.metadata}


@dataclass
class Site:
    """All pages of all locales, plus the editors' site facts."""

    facts: dict[str, Any]
    pages: dict[tuple[str, str], Page]

    @property
    def later(self) -> int:
        """Count the pages whose bodies are still to render, on first use (body.py)."""
        return sum(not page.body.rendered for page in self.pages.values())

    def get(self, locale: str, path: str) -> Page | None:
        """Return the page at a locale and path, if it exists."""
        return self.pages.get((locale, path))

    def in_locale(self, locale: str) -> list[Page]:
        """Return every page of a locale, sorted by path."""
        return sorted((p for p in self.pages.values() if p.locale == locale), key=lambda p: p.path)

    def navigation(self, locale: str, easy: bool = False) -> list[Page]:
        """Return the pages of the main menu (or the easy-to-read section's), in editors' order."""
        # An easy-to-read page has its own menu, so that one click never leaves its section.
        ordered = [
            p for p in self.in_locale(locale) if p.order is not None and is_easy_to_read(p) == easy
        ]
        return sorted(ordered, key=lambda p: (p.order, p.title))

    def news(self, locale: str) -> list[Page]:
        """Return the news items of a locale, newest first."""
        items = [p for p in self.in_locale(locale) if p.is_news_item]
        return sorted(items, key=lambda p: (p.published, p.path), reverse=True)

    def moved_to(self, locale: str, path: str) -> Page | None:
        """Return the page an old address moved to, if it moved; also its easy-to-read version."""
        moved = self.facts.get("moved", {})
        if new := moved.get(path):
            return self.get(locale, new)
        # `moved:` names ordinary paths; the easy-to-read folder retells them under the same ones.
        easy = LOCALES[locale].easy_to_read if locale in LOCALES else None
        if easy and (new := moved.get(path.removeprefix(f"{easy.folder}/"))):
            return self.get(locale, f"{easy.folder}/{new}")
        return None

    def alternates(self, path: str) -> dict[str, Page]:
        """Return the same page in every locale that has it."""
        return {code: page for code in LOCALES if (page := self.get(code, path))}

    def text(self, key: str, locale: str) -> str:
        """Return a localized site fact, falling back to Swedish."""
        value = self.facts[key]
        if isinstance(value, dict):
            return value.get(locale) or value[DEFAULT_LOCALE]
        return value
