"""What every template can use: the site, the locale, dates and links between languages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, get_locale
from markupsafe import Markup

from .i18n import DEFAULT_LOCALE, LOCALES, direction
from .pages.load import Page, current_site
from .workdays import local_date


def current_locale() -> str:
    """Return the code of the locale this request is rendered in."""
    return str(get_locale() or DEFAULT_LOCALE).split("_")[0]


# Public pages that are not Markdown but exist in every locale: the same page in each language.
LOCALIZED_ENDPOINTS = frozenset(
    {"statement.statement", "feedback.report", "feedback.alternative_format", "contact.contact"}
)
EASY_TO_READ = "lattlast"  # the folder of the easy-to-read pages, in the default locale (Swedish)


def same_page_in(code: str, page: Page | None, keep_query: bool = False) -> str | None:
    """Return the address of this request's page in another locale, or None if it has none."""
    if page is not None:
        other = current_site().get(code, page.path)
        return other.url if other else None
    args = request.view_args or {}
    if request.endpoint not in LOCALIZED_ENDPOINTS or "locale" not in args:
        return None
    # The form's `?page=` names the page the resident came from: keep it across languages.
    query = {"page": request.args["page"]} if keep_query and request.args.get("page") else {}
    return url_for(request.endpoint, **{**args, "locale": code}, **query)


def alternates(page: Page | None) -> dict[str, str]:
    """Return the full address of this page in every locale that has it (for hreflang)."""
    base = current_app.config["SITE_URL"]
    found = {code: same_page_in(code, page) for code in LOCALES}
    return {code: base + url for code, url in found.items() if url}


def is_easy_to_read(page: Page | None) -> bool:
    """Tell whether a page is written in easy-to-read Swedish (lättläst)."""
    return page is not None and page.locale == DEFAULT_LOCALE and page.path.startswith(EASY_TO_READ)


def ordinary_page(page: Page) -> Page | None:
    """Return the ordinary Swedish page an easy-to-read page retells, if there is one."""
    ordinary = current_site().get(DEFAULT_LOCALE, page.path.removeprefix(EASY_TO_READ).strip("/"))
    return ordinary if ordinary and not is_easy_to_read(ordinary) else None


def language_links(page: Page | None) -> list[dict[str, Any]]:
    """Link every language to the same page in it, or else to its home page; then Lättläst."""
    locale, easy = current_locale(), is_easy_to_read(page)
    # From an easy-to-read page, the languages lead to the ordinary page it retells.
    target = ordinary_page(page) if easy and page else page
    links = [
        {
            "code": code,
            "name": info.name,
            "url": same_page_in(code, target, keep_query=True) or f"/{code}/",
            "current": code == locale and not easy,
            "easy": False,
        }
        for code, info in LOCALES.items()
    ]
    if locale == DEFAULT_LOCALE and (easy_home := current_site().get(DEFAULT_LOCALE, EASY_TO_READ)):
        link = {"code": DEFAULT_LOCALE, "name": "Lättläst", "url": easy_home.url, "current": easy}
        links.append({**link, "easy": True})  # Swedish too: no second hreflang="sv"
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


def phone_link(shown: str, number: str) -> Markup:
    """Return a phone number as a link that dials it and never breaks across lines."""
    return Markup('<a class="nowrap" href="tel:{}"><bdi dir="ltr">{}</bdi></a>').format(
        number, shown
    )


def servicecenter_phone() -> Markup:
    """Return Servicecenter's number as a link that dials it."""
    contact = current_site().facts["contact"]
    return phone_link(contact["servicecenter"], contact["servicecenter_tel"])


def long_date(value: dt.date) -> str:
    """Format a date the way the current locale writes it in running text."""
    return format_date(value, format="long")


def init_templating(app: Flask) -> None:
    """Register the template globals and filters."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(long_date)
    app.add_template_filter(local_date)  # a stored UTC time as the date in Stockholm

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
            "breadcrumbs": breadcrumbs,
            "servicecenter_phone": servicecenter_phone,
            "phone_link": phone_link,
            "request_path": request.path,
        }
