"""What each format is made from: a page (or the statement, or the contact page) as its main
text and its facts.

The main text is the shared article partial (`templates/_article.html`) that page.html and
statement.html include (the contact page's: `_contact.html`), rendered here on its own: the
formats say exactly what the page says, without its h1, its page facts and its "Other formats"
block. `Source.marked` has every sentence in a span, as the page shows it (pages/sentences.py):
the recordings and the talking book are made from it, so their timings name the page's elements.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from flask import Flask, g, render_template
from flask_babel import gettext

from ..contact import ARTICLE as CONTACT_TEMPLATE
from ..contact import contact_context
from ..handling_snapshot import handling_periods, published_handling
from ..i18n import LOCALES
from ..links import route_path
from ..pages.load import current_site
from ..pages.model import Owner
from ..pages.sentences import mark
from ..statement import DIGG_REPORT_URL, current_statement, known_problems, last_updated

STATEMENT = "statement"  # the accessibility statement's name among the pages
CONTACT = "contact"  # the contact page's
# The sources that are routes, not Markdown pages: their names, and the endpoints they are at.
ROUTE_SOURCES = {STATEMENT: "statement.statement", CONTACT: "contact.contact"}
HOME = "index"  # the home page's name
ARTICLE_TEMPLATE = "_article.html"  # the main text of a page or the statement
HANDLING_TEMPLATE = "_handling.html"  # the statement's figures, after its text
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:--[a-z0-9]+(?:-[a-z0-9]+)*)*$")


@dataclass(frozen=True)
class Source:
    """A page (or the statement) as the formats need it: its rendered main text and facts."""

    locale: str
    name: str
    title: str
    updated: dt.date
    body: str  # the article's HTML without its h1, its page facts and the formats block
    url: str  # the page's path on the site
    owner: Owner
    site_url: str

    @property
    def digest(self) -> str:
        """Return a hash of everything the formats say, to tell a stale file from a fresh one."""
        facts = [
            self.locale,
            self.name,
            self.title,
            self.updated.isoformat(),
            self.body,
            self.url,
            self.owner.name,
            self.owner.email,
            self.site_url,
        ]
        return hashlib.sha256(json.dumps(facts).encode("utf-8")).hexdigest()

    @cached_property
    def marked(self) -> str:
        """Return the main text with every sentence in a span of its own, as the page has it."""
        return str(mark(self.body))

    @property
    def page_url(self) -> str:
        """Return the page's full address."""
        return self.site_url.rstrip("/") + self.url


def name_for(path: str) -> str:
    """Return a page's name in format URLs: `nyheter/x` becomes `nyheter--x`."""
    return path.replace("/", "--") if path else HOME


def path_for(name: str) -> str:
    """Return the page path a format name stands for."""
    return "" if name == HOME else name.replace("--", "/")


def source_url(locale: str, name: str) -> str | None:
    """Return the path on the site of a page (or the statement) named as in format URLs."""
    if name in ROUTE_SOURCES:
        return route_path(ROUTE_SOURCES[name], locale=locale)
    page = current_site().get(locale, path_for(name))
    return page.url if page else None


def source_names(app: Flask) -> list[tuple[str, str]]:
    """Return (locale, name) for every page of every locale, then each locale's route sources."""
    site = app.extensions["gvisite.site"]
    names = sorted((page.locale, name_for(page.path)) for page in site.pages.values())
    return names + [(code, name) for code in LOCALES for name in ROUTE_SOURCES]


def is_source(locale: str, name: str) -> bool:
    """Tell whether a name stands for a page (or the statement, or contact page) of a locale."""
    if name in ROUTE_SOURCES:
        return True
    if not _NAME.match(name) or len(name) > 200:
        return False
    return current_site().get(locale, path_for(name)) is not None


@contextmanager
def page_context(app: Flask, url: str) -> Iterator[None]:
    """Render as if for a request to `url`, in a fresh context, without the formats block."""
    with app.app_context(), app.test_request_context(url):
        g.formats_source = True  # the block would list the formats inside their own source
        yield


def render_source(app: Flask, locale: str, name: str) -> Source | None:
    """Render a page (or a route source) the way visitors see it; None if there is no such page."""
    site = app.extensions["gvisite.site"]
    site_url = app.config["SITE_URL"]
    if name in ROUTE_SOURCES:
        with app.app_context():
            url = route_path(ROUTE_SOURCES[name], locale=locale)
        with page_context(app, url):
            title, updated, body = _render_route(name, locale)
        owner = Owner(**site.facts["default_owner"])
        return Source(locale, name, title, updated, body.strip(), url, owner, site_url)
    page = site.get(locale, path_for(name))
    if page is None:
        return None
    with page_context(app, page.url):
        body = render_template(ARTICLE_TEMPLATE, page=page)
    return Source(
        locale, name, page.title, page.updated, body.strip(), page.url, page.owner, site_url
    )


def _render_route(name: str, locale: str) -> tuple[str, dt.date, str]:
    """Render the statement's or the contact page's text as its view does: title, date, text."""
    if name == CONTACT:
        # What the contact view (contact.contact) gives its template.
        text = render_template(CONTACT_TEMPLATE, **contact_context(locale))
        return gettext("Contact"), current_site().facts["contact_updated"], text
    updated = last_updated()  # the data file's date, or staff's
    # What the statement view (statement.statement) gives its template.
    text = render_template(
        ARTICLE_TEMPLATE,
        statement=current_statement(),
        known_problems=known_problems(),
        updated_on=updated,
        digg_url=DIGG_REPORT_URL,
    )
    # How fast we answer, as the page shows it: a reader of the braille or the recording gets
    # the figures too (they change at most daily, and the statement's formats follow them).
    snapshot = published_handling()
    text += render_template(
        HANDLING_TEMPLATE,
        statement=current_statement(),
        handling=snapshot,
        handling_periods=handling_periods(snapshot),
        in_formats=True,
    )
    return gettext("Accessibility statement"), updated, text
