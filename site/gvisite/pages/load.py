"""Pages and site facts: loaded from `content/`, validated and rendered once at start-up."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask import current_app

from ..i18n import DEFAULT_LOCALE, LOCALES
from .markdown import render_markdown

FACTS_FILE = "site.yaml"
NEWS_FOLDER = "nyheter"
# Pages that exist in Swedish only by design (easy-to-read Swedish is its own "language").
SWEDISH_ONLY_PREFIXES = ("lattlast",)

_REQUIRED = {"title", "description", "updated"}
_OPTIONAL = {"order", "owner", "published"}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A page path: slugs joined by "/".
PAGE_PATH = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*$")
_SENTENCE_END = re.compile(r"[.!?؟](?:\s+|$)")


class ContentError(Exception):
    """A content file that cannot be published; the message names the file."""

    def __init__(self, source: Path | str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = str(source)
        self.reason = reason


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
class Page:
    """One page in one language, rendered once; Jinja prints it without `|safe`."""

    locale: str
    path: str
    title: str
    description: str
    updated: dt.date
    html: str
    source: Path
    owner: Owner
    order: int | None = None
    published: dt.date | None = None
    headings: tuple[Heading, ...] = field(default=())

    def __html__(self) -> str:
        """Return the sanitized body HTML."""
        return self.html

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


@dataclass
class Site:
    """All pages of all locales, plus the editors' site facts."""

    facts: dict[str, Any]
    pages: dict[tuple[str, str], Page]

    def get(self, locale: str, path: str) -> Page | None:
        """Return the page at a locale and path, if it exists."""
        return self.pages.get((locale, path))

    def in_locale(self, locale: str) -> list[Page]:
        """Return every page of a locale, sorted by path."""
        return sorted((p for p in self.pages.values() if p.locale == locale), key=lambda p: p.path)

    def navigation(self, locale: str) -> list[Page]:
        """Return the pages of the main menu, in their editors' order."""
        ordered = [p for p in self.in_locale(locale) if p.order is not None]
        return sorted(ordered, key=lambda p: (p.order, p.title))

    def news(self, locale: str) -> list[Page]:
        """Return the news items of a locale, newest first."""
        items = [p for p in self.in_locale(locale) if p.is_news_item]
        return sorted(items, key=lambda p: (p.published, p.path), reverse=True)

    def moved_to(self, locale: str, path: str) -> Page | None:
        """Return the page an old address moved to, if it moved."""
        new = self.facts.get("moved", {}).get(path)
        return self.get(locale, new) if new else None

    def alternates(self, path: str) -> dict[str, Page]:
        """Return the same page in every locale that has it."""
        return {code: page for code in LOCALES if (page := self.get(code, path))}

    def text(self, key: str, locale: str) -> str:
        """Return a localized site fact, falling back to Swedish."""
        value = self.facts[key]
        if isinstance(value, dict):
            return value.get(locale) or value[DEFAULT_LOCALE]
        return value


def parse_front_matter(source: Path, raw: str) -> tuple[dict[str, Any], str]:
    """Split a file into its front matter and its Markdown body."""
    if not raw.startswith("---\n"):
        raise ContentError(source, "the file must start with a front-matter block ('---')")
    end = raw.find("\n---\n", 4)
    if end == -1:
        raise ContentError(source, "the front-matter block is not closed with '---'")
    try:
        meta = yaml.safe_load(raw[4:end]) or {}
    except ValueError as exc:  # PyYAML raises it for an impossible date such as 2026-13-45
        raise ContentError(source, f"front matter has an impossible date: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(source, f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ContentError(source, "front matter must be a mapping of keys to values")
    return meta, raw[end + 5 :]


def _check_meta(source: Path, meta: dict[str, Any], news_item: bool) -> None:
    """Raise a ContentError for the first front-matter rule the page breaks."""
    missing = sorted(_REQUIRED - meta.keys())
    if missing:
        raise ContentError(source, f"missing required field(s): {', '.join(missing)}")
    unknown = sorted(meta.keys() - _REQUIRED - _OPTIONAL)
    if unknown:
        raise ContentError(source, f"unknown field(s): {', '.join(map(str, unknown))}")
    for key in ("title", "description"):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise ContentError(source, f"'{key}' must be non-empty text")
    if len(_SENTENCE_END.findall(meta["description"].strip())) > 1:
        raise ContentError(source, "'description' must be one sentence")
    for key in ("updated", "published"):
        value = meta.get(key)
        if key in meta and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
            raise ContentError(source, f"'{key}' must be a date written as YYYY-MM-DD")
    if "order" in meta and (not isinstance(meta["order"], int) or isinstance(meta["order"], bool)):
        raise ContentError(source, "'order' must be a whole number")
    owner = meta.get("owner")
    if owner is not None and not (
        isinstance(owner, dict)
        and set(owner) == {"name", "email"}
        and all(isinstance(v, str) and v.strip() for v in owner.values())
        and "@" in owner["email"]
    ):
        raise ContentError(source, "'owner' must have exactly 'name' and 'email' (an address)")
    if news_item and "published" not in meta:
        raise ContentError(source, "a news item needs a 'published' date")
    if not news_item and "published" in meta:
        raise ContentError(source, "'published' is only for news items under nyheter/")


def page_path(locale_dir: Path, source: Path) -> str:
    """Return the site path of a Markdown file: `index.md` is its folder's page."""
    parts = list(source.relative_to(locale_dir).with_suffix("").parts)
    if parts[-1] == "index":
        parts.pop()
    for part in parts:
        if not _SLUG.match(part):
            raise ContentError(source, f"'{part}' is not a valid URL part (use a-z, 0-9 and -)")
    return "/".join(parts)


def _headings(html: str) -> tuple[Heading, ...]:
    """List the headings of rendered HTML, for navigation and other formats."""
    pattern = re.compile(r'<h([2-6]) id="([^"]*)">(.*?)</h\1>', re.S)
    strip = re.compile(r"<[^>]+>")
    return tuple(Heading(int(m[1]), m[2], strip.sub("", m[3])) for m in pattern.finditer(html))


def load_page(locale: str, locale_dir: Path, source: Path, default_owner: Owner) -> Page:
    """Read, validate and render one Markdown file."""
    try:
        raw = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(source, "the file is not valid UTF-8") from exc
    path = page_path(locale_dir, source)
    meta, body = parse_front_matter(source, raw)
    _check_meta(source, meta, news_item=path.startswith(f"{NEWS_FOLDER}/"))
    html = render_markdown(body)
    owner = Owner(**meta["owner"]) if "owner" in meta else default_owner
    return Page(
        locale=locale,
        path=path,
        title=meta["title"].strip(),
        description=meta["description"].strip(),
        updated=meta["updated"],
        html=html,
        source=source,
        owner=owner,
        order=meta.get("order"),
        published=meta.get("published"),
        headings=_headings(html),
    )


def load_facts(content_dir: Path) -> dict[str, Any]:
    """Read the editors' site facts (names, numbers, owner, quick-exit address)."""
    source = content_dir / FACTS_FILE
    try:
        facts = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ContentError(source, f"cannot read site facts: {exc}") from exc
    required = {"site_name", "municipality", "default_owner", "contact", "quick_exit_url"}
    if not isinstance(facts, dict) or (missing := required - facts.keys()):
        raise ContentError(source, f"missing site fact(s): {', '.join(sorted(missing))}")
    if not str(facts["quick_exit_url"]).startswith("https://"):
        raise ContentError(source, "'quick_exit_url' must be an https:// address")
    moved = facts.setdefault("moved", {}) or {}
    if not isinstance(moved, dict) or not all(
        isinstance(old, str) and isinstance(new, str) and PAGE_PATH.match(old + "/" + new)
        for old, new in moved.items()
    ):
        raise ContentError(source, "'moved' must map old page paths to new ones, like a/b: a/c")
    return facts


def load_site(content_dir: Path) -> tuple[Site, list[ContentError]]:
    """Load every page of every locale; return the site and every error found."""
    errors: list[ContentError] = []
    try:
        facts = load_facts(content_dir)
        default_owner = Owner(**facts["default_owner"])
    except (ContentError, TypeError) as exc:
        error = exc if isinstance(exc, ContentError) else ContentError(FACTS_FILE, str(exc))
        return Site({}, {}), [error]
    pages: dict[tuple[str, str], Page] = {}
    for child in sorted(content_dir.iterdir()):
        if child.is_dir() and child.name not in LOCALES:
            errors.append(ContentError(child, "folder is not a known locale"))
    for locale in LOCALES:
        locale_dir = content_dir / locale
        for source in sorted(locale_dir.rglob("*.md")):
            try:
                page = load_page(locale, locale_dir, source, default_owner)
            except ContentError as exc:
                errors.append(exc)
                continue
            pages[(locale, page.path)] = page
        if (locale, "") not in pages and not any(
            e.source.startswith(str(locale_dir)) for e in errors
        ):
            errors.append(ContentError(locale_dir / "index.md", "every locale needs a home page"))
    errors.extend(_check_moved(content_dir / FACTS_FILE, facts["moved"], pages))
    return Site(facts, pages), errors


def _check_moved(
    source: Path, moved: dict[str, str], pages: dict[tuple[str, str], Page]
) -> list[ContentError]:
    """Refuse a redirect from a page that still exists (it would never be reached)."""
    paths = {path for _locale, path in pages}
    return [
        ContentError(source, f"moved: '{old}' is still a page") for old in moved if old in paths
    ]


def missing_translations(site: Site) -> dict[str, list[str]]:
    """Return, per locale, the Swedish pages it lacks (easy-to-read Swedish excepted)."""
    swedish = [p.path for p in site.in_locale(DEFAULT_LOCALE)]
    wanted = [p for p in swedish if not p.startswith(SWEDISH_ONLY_PREFIXES)]
    return {
        code: missing
        for code in LOCALES
        if code != DEFAULT_LOCALE and (missing := [p for p in wanted if not site.get(code, p)])
    }


def current_site() -> Site:
    """Return the site loaded by the running app."""
    return current_app.extensions["gvisite.site"]
