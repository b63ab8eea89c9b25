"""Pages and site facts: loaded from `content/`, validated, and rendered when their text changes.

A page is read, checked and rendered only when its file is not in the render cache (cache.py)
as it is now; otherwise the cache gives it as it was loaded before. A server that finds many
pages missing renders their bodies later (body.py). The pages themselves are in model.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml
from flask import current_app, has_app_context

from ..i18n import DEFAULT_LOCALE, LOCALES
from .body import Body
from .cache import PARALLEL_MIN, RenderCache, render_many
from .markdown import Rendered, renderer_version
from .model import NEWS_FOLDER, FrontMatter, Heading, Owner, Page, Site, front_matter_fields

FACTS_FILE = "site.yaml"
FIELDS = front_matter_fields()  # the front matter, as the model declares it
_REQUIRED = {name for name, spec in FIELDS.items() if spec.required}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A page path: slugs joined by "/".
PAGE_PATH = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*$")
_SENTENCE_END = re.compile(r"[.!?؟](?:\s+|$)")
# libyaml's parser where PyYAML was built with it: several times faster, the same results.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContentError(Exception):
    """A content file that cannot be published; the message names the file."""

    def __init__(self, source: Path | str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = str(source)
        self.reason = reason


def _yaml(text: str) -> Any:
    """Parse YAML with the safe loader (plain data only, no Python objects)."""
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506  (a safe loader, C or Python)


def parse_front_matter(source: Path, raw: str) -> tuple[dict[str, Any], str]:
    """Split a file into its front matter and its Markdown body."""
    if not raw.startswith("---\n"):
        raise ContentError(source, "the file must start with a front-matter block ('---')")
    end = raw.find("\n---\n", 4)
    if end == -1:
        raise ContentError(source, "the front-matter block is not closed with '---'")
    try:
        meta = _yaml(raw[4:end]) or {}
    except ValueError as exc:  # PyYAML raises it for an impossible date such as 2026-13-45
        raise ContentError(source, f"front matter has an impossible date: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(source, f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ContentError(source, "front matter must be a mapping of keys to values")
    return meta, raw[end + 5 :]


def _is_date(value: Any) -> bool:
    """Tell whether YAML read a date (YYYY-MM-DD), not a time or anything else."""
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _is_owner(value: Any) -> bool:
    """Tell whether a value is an owner: exactly a name and an e-mail address."""
    return (
        isinstance(value, dict)
        and set(value) == {"name", "email"}
        and all(isinstance(v, str) and v.strip() for v in value.values())
        and "@" in value["email"]
    )


@dataclass(frozen=True)
class Kind:
    """A kind of front-matter field: its rule, how the cache keeps a value, how a page gets it."""

    rule: Callable[[Any], Any]
    message: str  # what a page breaking the rule is told; {} is the field's name
    keep: Callable[[Any], Any]  # the value as JSON for the cache
    give: Callable[[Any, Owner], Any]  # the value for the Page (the site's owner if none)


KINDS = {
    "text": Kind(lambda v: isinstance(v, str) and v.strip(), "'{}' must be non-empty text",
                 str.strip, lambda v, _owner: v),
    "date": Kind(_is_date, "'{}' must be a date written as YYYY-MM-DD",
                 dt.date.isoformat, lambda v, _owner: dt.date.fromisoformat(v) if v else None),
    "whole": Kind(lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "'{}' must be a whole number", lambda v: v, lambda v, _owner: v),
    # An empty `owner:` is the site's default owner, as leaving it out is.
    "owner": Kind(lambda v: v is None or _is_owner(v),
                  "'{}' must have exactly 'name' and 'email' (an address)",
                  lambda v: [v["name"], v["email"]], lambda v, owner: Owner(*v) if v else owner),
}  # fmt: skip
# The order a page's fields are checked in, so a page that breaks several rules hears of one.
_CHECKED = ("text", "date", "whole", "owner")


def _check_field(source: Path, name: str, spec: FrontMatter, value: Any) -> None:
    """Raise a ContentError if a field's value breaks its kind's rule or its own."""
    kind = KINDS[spec.kind]
    if not kind.rule(value):
        raise ContentError(source, kind.message.format(name))
    if spec.one_sentence and len(_SENTENCE_END.findall(value.strip())) > 1:
        raise ContentError(source, f"'{name}' must be one sentence")


def _check_meta(source: Path, meta: dict[str, Any], news_item: bool) -> None:
    """Raise a ContentError for the first front-matter rule the page breaks."""
    missing = sorted(_REQUIRED - meta.keys())
    if missing:
        raise ContentError(source, f"missing required field(s): {', '.join(missing)}")
    unknown = sorted(meta.keys() - FIELDS.keys())
    if unknown:
        raise ContentError(source, f"unknown field(s): {', '.join(map(str, unknown))}")
    for kind in _CHECKED:
        for name, spec in FIELDS.items():
            if spec.kind == kind and name in meta:
                _check_field(source, name, spec, meta[name])
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


@functools.cache
def loader_version() -> str:
    """Return a digest of what shapes a loaded page: this code, the renderer's, PyYAML."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"\0{renderer_version()}\0PyYAML={version('PyYAML')}".encode())
    return digest.hexdigest()


def _read_page(locale_dir: Path, source: Path, data: bytes) -> tuple[dict[str, Any], str]:
    """Check one Markdown file; return its cache entry so far (no HTML yet) and its body."""
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(source, "the file is not valid UTF-8") from exc
    path = page_path(locale_dir, source)
    meta, body = parse_front_matter(source, raw)
    _check_meta(source, meta, news_item=path.startswith(f"{NEWS_FOLDER}/"))
    entry: dict[str, Any] = {"path": path}
    for name, spec in FIELDS.items():  # a field left out is None: the page's default
        value = meta.get(name)
        entry[name] = KINDS[spec.kind].keep(value) if value is not None else None
    return entry, body


def _parts(entry: dict[str, Any]) -> tuple[str, tuple[Heading, ...]]:
    """Return a cache entry's HTML and headings; KeyError, TypeError or ValueError if none."""
    if not isinstance(entry["html"], str):
        raise TypeError("the body is not text")
    return entry["html"], tuple(Heading(int(lv), str(i), str(t)) for lv, i, t in entry["headings"])


def _page(
    locale: str, source: Path, entry: dict[str, Any], default_owner: Owner, body: Body | None = None
) -> Page:
    """Make a Page of a cache entry (or of its fields and `body`); KeyError, TypeError or
    ValueError if it is not one."""
    declared = {
        name: KINDS[spec.kind].give(entry[name], default_owner) for name, spec in FIELDS.items()
    }
    body = body if body is not None else Body(*_parts(entry))
    return Page(locale=locale, path=entry["path"], body=body, source=source, **declared)


def _cached(
    cache: RenderCache | None, key: str, locale: str, source: Path, default_owner: Owner
) -> Page | None:
    """Return the page as the cache has it, or None when it must be loaded."""
    entry = cache.get(key) if cache is not None else None
    try:
        return _page(locale, source, entry, default_owner) if entry else None
    except (KeyError, TypeError, ValueError):
        return None  # an entry of another shape: load the page again


def load_facts(content_dir: Path) -> dict[str, Any]:
    """Read the editors' site facts (names, numbers, owner, quick-exit address)."""
    source = content_dir / FACTS_FILE
    try:
        facts = _yaml(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ContentError(source, f"cannot read site facts: {exc}") from exc
    required = {
        "site_name", "municipality", "default_owner", "contact", "contact_updated", "quick_exit_url"
    }  # fmt: skip
    if not isinstance(facts, dict) or (missing := required - facts.keys()):
        raise ContentError(source, f"missing site fact(s): {', '.join(sorted(missing))}")
    if not isinstance(facts["contact_updated"], dt.date):
        raise ContentError(source, "'contact_updated' must be a date, like 2026-12-02")
    if not str(facts["quick_exit_url"]).startswith("https://"):
        raise ContentError(source, "'quick_exit_url' must be an https:// address")
    moved = facts.setdefault("moved", {}) or {}
    if not isinstance(moved, dict) or not all(
        isinstance(old, str) and isinstance(new, str) and PAGE_PATH.match(old + "/" + new)
        for old, new in moved.items()
    ):
        raise ContentError(source, "'moved' must map old page paths to new ones, like a/b: a/c")
    return facts


def load_site(
    content_dir: Path, cache: RenderCache | None = None, later: bool = False
) -> tuple[Site, list[ContentError]]:
    """Load every page of every locale; return the site and every error found.

    Unchanged pages come from `cache`: by default the running app's (none outside an app).
    With `later`, many missing pages render on first use instead (body.py)."""
    if cache is None and has_app_context():
        cache = RenderCache.for_app(current_app)
    errors: list[ContentError] = []
    try:
        facts = load_facts(content_dir)
        default_owner = Owner(**facts["default_owner"])
    except (ContentError, TypeError) as exc:
        error = exc if isinstance(exc, ContentError) else ContentError(FACTS_FILE, str(exc))
        return Site({}, {}), [error]
    for child in sorted(content_dir.iterdir()):
        if child.is_dir() and child.name not in LOCALES:
            errors.append(ContentError(child, "folder is not a known locale"))
    pages = _load_pages(content_dir, default_owner, cache, errors, later)
    errors.extend(_check_moved(content_dir / FACTS_FILE, facts["moved"], pages))
    if cache is not None and not errors:
        cache.prune()  # only now is it sure which entries the content uses
    return Site(facts, pages), errors


# A page still to render: its locale, file, cache key, cache entry so far and Markdown body.
_Todo = tuple[str, Path, str, dict[str, Any], str]


def _load_pages(
    content_dir: Path,
    default_owner: Owner,
    cache: RenderCache | None,
    errors: list[ContentError],
    later: bool,
) -> dict[tuple[str, str], Page]:
    """Load every page file, from the cache or read, checked and rendered; collect the errors."""
    slots: list[Page | _Todo] = []  # in file order, as the site has always listed them
    version, skip = loader_version(), len(str(content_dir)) + 1
    for locale in LOCALES:
        locale_dir = content_dir / locale
        home = False
        for source in sorted(locale_dir.rglob("*.md"), key=lambda path: path.parts):
            data = source.read_bytes()
            key = RenderCache.key(version, str(source)[skip:], data)  # named as in the folder
            if page := _cached(cache, key, locale, source, default_owner):
                slots.append(page)
                home = home or page.path == ""
                continue
            try:
                entry, body = _read_page(locale_dir, source, data)
            except ContentError as exc:
                errors.append(exc)
                continue
            slots.append((locale, source, key, entry, body))
            home = home or entry["path"] == ""
        if not home and not any(e.source.startswith(str(locale_dir)) for e in errors):
            errors.append(ContentError(locale_dir / "index.md", "every locale needs a home page"))
    todo = [slot for slot in slots if not isinstance(slot, Page)]
    if later and cache is not None and len(todo) >= PARALLEL_MIN:
        rendered = _later(todo, cache, default_owner)
    else:
        rendered = _render(todo, cache, default_owner)
    pages = (slot if isinstance(slot, Page) else rendered[slot[2]] for slot in slots)
    return {(page.locale, page.path): page for page in pages}


def _render(todo: list[_Todo], cache: RenderCache | None, default_owner: Owner) -> dict[str, Page]:
    """Render the pages the cache lacks (in parallel when many), keep them, return them by key."""
    if not todo:
        return {}  # a warm start takes no lock: it never waits for another process's render
    with cache.locked() if cache is not None else nullcontext():
        # Another process (a gunicorn worker starting too) may have rendered some meanwhile.
        pages = {
            key: page
            for loc, src, key, _e, _b in todo
            if (page := _cached(cache, key, loc, src, default_owner))
        }
        rest = [item for item in todo if item[2] not in pages]
        bodies = render_many([body for *_, body in rest])
        for (locale, source, key, entry, _body), body in zip(rest, bodies, strict=True):
            pages[key] = _page(locale, source, _keep(cache, key, entry, body), default_owner)
    return pages


def _keep(
    cache: RenderCache | None, key: str, entry: dict[str, Any], body: Rendered
) -> dict[str, Any]:
    """Complete a page's cache entry with its rendered body, keep it, and return it."""
    whole = {**entry, "html": body.html, "headings": body.headings}
    if cache is not None:
        cache.put(key, whole)
    return whole


def _later(todo: list[_Todo], cache: RenderCache, default_owner: Owner) -> dict[str, Page]:
    """Make the pages the cache lacks with bodies that render on first use (body.py)."""

    def body(key: str, entry: dict[str, Any], text: str) -> Body:
        return Body.later(lambda: _parts_now(cache, key, entry, text))

    return {
        key: _page(loc, src, entry, default_owner, body(key, entry, text))
        for loc, src, key, entry, text in todo
    }


def _parts_now(
    cache: RenderCache, key: str, entry: dict[str, Any], text: str
) -> tuple[str, tuple[Heading, ...]]:
    """Return a body left for later: as the warm-up kept it, or rendered (and kept) now."""
    if kept := cache.get(key):
        with suppress(KeyError, TypeError, ValueError):  # an entry of another shape
            return _parts(kept)
    return _parts(_keep(cache, key, entry, render_many([text])[0]))


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
    easy = LOCALES[DEFAULT_LOCALE].easy_to_read  # a "language" of its own: never translated
    swedish = [p.path for p in site.in_locale(DEFAULT_LOCALE)]
    wanted = [p for p in swedish if not (easy and p.split("/")[0] == easy.folder)]
    return {
        code: missing
        for code in LOCALES
        if code != DEFAULT_LOCALE and (missing := [p for p in wanted if not site.get(code, p)])
    }


def current_site() -> Site:
    """Return the site loaded by the running app."""
    return current_app.extensions["gvisite.site"]
