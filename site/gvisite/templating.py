"""What every template can use: the site, the locale, dates, and the links between pages.

How pages relate (the same page in another language, its easy-to-read version) is worked out
in pages/alternates.py; this module only hands it to the templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from .i18n import DEFAULT_LOCALE, current_locale, direction, long_date, number, waiting_time
from .links import absolute_url
from .pages.alternates import alternates, easy_to_read_switch, language_links
from .pages.load import current_site
from .pages.model import Page, is_easy_to_read
from .workdays import local_date


def breadcrumbs(page: Page) -> list[Page]:
    """Return the pages above a page, from home down; empty at the top level."""
    if "/" not in page.path:
        return []
    site, trail, path = current_site(), [], page.parent_path
    while path is not None:
        if parent := site.get(page.locale, path):
            trail.append(parent)
        path = path.rpartition("/")[0] if path else None
    return list(reversed(trail))


def phone_link(shown: str, number: str) -> Markup:
    """Return a phone number as a link that dials it and never breaks across lines."""
    return Markup('<a class="nowrap" href="tel:{}"><bdi dir="ltr">{}</bdi></a>').format(
        number, shown
    )


def servicecenter_phone() -> Markup:
    """Return Servicecenter's number as a link that dials it."""
    contact = current_site().facts["contact"]
    return phone_link(contact["servicecenter"], contact["servicecenter_tel"])


def in_language(write: Callable[[Any], str]) -> Callable[..., str]:
    """Make a filter that writes a value in the reader's language, never fixed at compile time."""

    # Jinja folds a filter on a literal (`5000|number`) when it compiles the template, in the
    # language of whichever request came first; a filter that takes the context is never folded.
    @pass_context
    def written(_context: Context, value: Any) -> str:
        return write(value)

    written.__name__ = write.__name__
    return written


def init_templating(app: Flask) -> None:
    """Register the template globals and filters."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # The locale record's way: "6 December 2026" in English, "5 000" in Swedish (unbroken).
    app.add_template_filter(in_language(long_date), "long_date")
    app.add_template_filter(in_language(number), "number")
    app.add_template_filter(local_date)  # a stored UTC time as the date in Stockholm
    app.add_template_global(absolute_url)  # feeds and sitemaps give full addresses

    @app.context_processor
    def site_context() -> dict[str, Any]:
        locale = current_locale()
        return {
            "site": current_site(),
            "locale": locale,
            "default_locale": DEFAULT_LOCALE,
            "text_direction": direction(locale),
            "language_links": language_links,
            "alternates": alternates,
            "is_easy_to_read": is_easy_to_read,
            "easy_to_read_switch": easy_to_read_switch,
            "breadcrumbs": breadcrumbs,
            "servicecenter_phone": servicecenter_phone,
            "phone_link": phone_link,
            "waiting_time": waiting_time,
            "request_path": request.path,
        }
