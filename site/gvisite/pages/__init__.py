"""The editors' pages: loaded from `content/`, rendered and sanitized, served per locale.

`load` reads and checks the Markdown files and site facts, `markdown` is the only place
Markdown becomes HTML (and HTML is sanitized), `cache` keeps what it rendered in the instance
folder so that unchanged pages are not rendered again (`body` and `warm` let a start with many
pages missing serve before they are rendered), `views` serves them, `lint` and `cli` are the
editors' `flask content check`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import run_command

from .body import warm_up
from .cache import RenderCache
from .load import ContentError, load_site
from .model import Page, Site
from .views import bp


def init_app(app: Flask) -> None:
    """Load every page (any error stops start-up and names the file), then serve them.

    Under the `flask` command, except `flask run`, pages load on first use instead: the app is
    made there to find a command, and most (`outbox send`, `cases purge`, `db upgrade`, ...)
    never read a page. gunicorn, `flask run` and tests load them here.
    """
    if _finding_a_command():
        site: Site = LazySite(lambda: load_pages(app, later=False))
    else:
        site = load_pages(app)
    app.extensions["gvisite.site"] = site
    app.register_blueprint(bp)


def load_pages(app: Flask, later: bool = True) -> Site:
    """Load the app's pages through its render cache; raise the errors unless lenient.

    With `later`, when many pages are missing from the cache, the app serves at once and a
    warm-up process renders them (body.py); `app.extensions["gvisite.warm_up"]` is that
    process, or None. A command that reads pages renders them at once, in parallel."""
    content, cache = Path(app.config["CONTENT_DIR"]), RenderCache.for_app(app)
    site, problems = load_site(content, cache, later)
    if problems and not app.config["CONTENT_LENIENT"]:
        raise ContentError(problems[0].source, "\n".join(str(p) for p in problems))
    app.extensions["gvisite.warm_up"] = warm_up(content, cache.folder) if site.later else None
    return site


def _finding_a_command() -> bool:
    """Tell whether the `flask` command is making the app for a command other than `run`."""
    context = click.get_current_context(silent=True)
    # `flask run` makes the app inside its own command; every other command's app is made
    # while the `flask` group looks the command up (or by `with_appcontext`, as `db` does).
    return context is not None and context.command is not run_command


class LazySite(Site):
    """A Site that loads on first use: for commands that may never read a page."""

    def __init__(self, load: Callable[[], Site]) -> None:  # no fields of its own until loaded
        self._load = load
        self._site: Site | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> Site:
        """Load the site once, whichever thread asks first."""
        with self._lock:
            if self._site is None:
                self._site = self._load()
            return self._site

    @property
    def facts(self) -> dict[str, Any]:  # type: ignore[override]  # loads on first read
        """Return the site facts, loading the site first."""
        return self._loaded().facts

    @property
    def pages(self) -> dict[tuple[str, str], Page]:  # type: ignore[override]  # loads on first read
        """Return every page, loading the site first."""
        return self._loaded().pages

    @property
    def loaded(self) -> bool:
        """Tell whether the pages have been loaded yet."""
        return self._site is not None
