"""What every template can use: the site, the locale, dates and links between languages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, get_locale
from markupsafe import Markup

from .i18n import DEFAULT_LOCALE, LOCALES, EasyToRead, direction
from .links import LOCALIZED_ENDPOINTS, absolute_url
from .pages.load import current_site
from .pages.model import Page
from .workdays import local_date


def current_locale() -> str:
    """Return the code of the locale this request is rendered in."""
    return str(get_locale() or DEFAULT_LOCALE).split("_")[0]


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


def easy_to_read_of(code: str) -> EasyToRead | None:
    """Return a locale's easy-to-read pages (folder and name), if it has any."""
    info = LOCALES.get(code)
    return info.easy_to_read if info else None


def is_easy_to_read(page: Page | None) -> bool:
    """Tell whether a page is in its locale's easy-to-read folder (lättläst, selkosuomi)."""
    if page is None:
        return False
    easy = easy_to_read_of(page.locale)
    return easy is not None and f"{page.path}/".startswith(f"{easy.folder}/")


def _retold_path(page: Page) -> str:
    """Return the path of the ordinary page an easy-to-read page retells: its folder removed."""
    easy = easy_to_read_of(page.locale)
    return page.path.removeprefix(easy.folder if easy else "").strip("/")


def _endpoint_at(code: str, path: str) -> str | None:
    """Return the statement's or a form's endpoint if it answers at `/<code>/<path>`."""
    if not path:
        return None  # the home page: neither the statement nor a form
    address = url_for("pages.page", locale=code, path=path)  # where a page at `path` would be
    return next(
        (e for e in sorted(LOCALIZED_ENDPOINTS) if url_for(e, locale=code) == address), None
    )


def ordinary_page(page: Page) -> Page | None:
    """Return the ordinary content page, in the same locale, that an easy-to-read page retells."""
    if not is_easy_to_read(page):
        return None
    ordinary = current_site().get(page.locale, _retold_path(page))
    return ordinary if ordinary and not is_easy_to_read(ordinary) else None


def ordinary_in(code: str, page: Page) -> str | None:
    """Return the address, in locale `code`, of what an easy-to-read page retells, if anything."""
    if ordinary := ordinary_page(page):
        return same_page_in(code, ordinary)
    endpoint = _endpoint_at(page.locale, _retold_path(page)) if is_easy_to_read(page) else None
    return url_for(endpoint, locale=code) if endpoint else None  # the statement or a form


def easy_to_read_version(page: Page | None) -> Page | None:
    """Return the easy-to-read page that retells a page, or this request's statement or form."""
    code = page.locale if page is not None else current_locale()
    easy = easy_to_read_of(code)
    if easy is None or is_easy_to_read(page):
        return None
    if page is not None:
        path = page.path
    elif request.endpoint in LOCALIZED_ENDPOINTS:
        path = request.path.removeprefix(url_for("pages.home", locale=code))
    else:
        return None
    return current_site().get(code, f"{easy.folder}/{path}".rstrip("/"))


def easy_to_read_switch(page: Page | None) -> dict[str, Any] | None:
    """Return the in-page link between a page and its easy-to-read version, if it has one."""
    if page is not None and is_easy_to_read(page):
        url = ordinary_in(page.locale, page)
        return {"url": url, "to_easy": False} if url else None
    easy = easy_to_read_version(page)
    return {"url": easy.url, "to_easy": True} if easy else None


def _language_url(code: str, page: Page | None) -> str | None:
    """Return the address of this page in a language; from an easy-to-read page, its original."""
    if page is not None and is_easy_to_read(page):
        return ordinary_in(code, page)
    return same_page_in(code, page, keep_query=True)


def language_links(page: Page | None) -> list[dict[str, Any]]:
    """Link every language to the same page in it, or else to its home; then easy-to-read."""
    locale, easy = current_locale(), is_easy_to_read(page)
    links = [
        {
            "code": code,
            "name": info.name,
            "url": _language_url(code, page) or url_for("pages.home", locale=code),
            "current": code == locale and not easy,
            "easy": False,
        }
        for code, info in LOCALES.items()
    ]
    own = easy_to_read_of(locale)
    if own and (home := current_site().get(locale, own.folder)):
        # The page's own easy-to-read version (itself, on one), else the easy-to-read home.
        here = page if easy and page else easy_to_read_version(page) or home
        link = {"code": locale, "name": own.name, "url": here.url, "current": easy}
        links.append({**link, "easy": True})  # the same language: no second hreflang
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
            "request_path": request.path,
        }
