"""What every template can use: the site, the locale, dates and links between languages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, request
from flask_babel import format_date, get_locale

from .content import Page, current_site
from .i18n import LOCALES, direction


def current_locale() -> str:
    """Return the code of the locale this request is rendered in."""
    return str(get_locale() or "sv").split("_")[0]


def language_links(page: Page | None) -> list[dict[str, Any]]:
    """Link every language to the same page in it, or else to its home page."""
    site = current_site()
    links = []
    for code, info in LOCALES.items():
        target = site.get(code, page.path) if page else None
        links.append(
            {
                "code": code,
                "name": info.name,
                "url": target.url if target else f"/{code}/",
                "current": code == current_locale(),
            }
        )
    return links


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


def long_date(value: dt.date) -> str:
    """Format a date the way the current locale writes it in running text."""
    return format_date(value, format="long")


def init_templating(app: Flask) -> None:
    """Register the template globals and filters."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(long_date)

    @app.context_processor
    def site_context() -> dict[str, Any]:
        locale = current_locale()
        return {
            "site": current_site(),
            "locale": locale,
            "text_direction": direction(locale),
            "language_links": language_links,
            "breadcrumbs": breadcrumbs,
            "request_path": request.path,
        }
