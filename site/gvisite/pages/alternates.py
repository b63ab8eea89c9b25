"""How pages relate: the same page in another language, and a page's easy-to-read version.

templating.py hands these to every template: the hreflang links, the language menu and the
in-page switch between a page and its easy-to-read version (lättläst, selkosuomi). `page` is
None on the routes that are not Markdown (the statement, the forms); those are followed by
their endpoint, in every locale.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from ..i18n import LOCALES, EasyToRead, current_locale
from ..links import KEPT_QUERY, LOCALIZED_ENDPOINTS, PostedSwitch
from .load import current_site
from .model import Page, is_easy_to_read


def same_page_in(code: str, page: Page | None, keep_query: bool = False) -> str | None:
    """Return the address of this request's page in another locale, or None if it has none.

    `keep_query` (the language menu) also follows the search results, and keeps what the
    page's query says (links.KEPT_QUERY); the hreflang alternates name the bare page.
    """
    if page is not None:
        other = current_site().get(code, page.path)
        return other.url if other else None
    args, endpoint = request.view_args or {}, request.endpoint or ""
    kept = KEPT_QUERY.get(endpoint) if keep_query else None
    if (endpoint not in LOCALIZED_ENDPOINTS and kept is None) or "locale" not in args:
        return None
    query: dict[str, Any] = {}  # Any, as url_for types its own `_external` and the like
    if kept and request.args.get(kept):
        query[kept] = request.args[kept]
    return url_for(endpoint, **{**args, "locale": code}, **query)


def alternates(page: Page | None) -> dict[str, str]:
    """Return the full address of this page in every locale that has it (for hreflang)."""
    base = current_app.config["SITE_URL"]
    found = {code: same_page_in(code, page) for code in LOCALES}
    return {code: base + url for code, url in found.items() if url}


def easy_to_read_of(code: str) -> EasyToRead | None:
    """Return a locale's easy-to-read pages (folder and name), if it has any."""
    info = LOCALES.get(code)
    return info.easy_to_read if info else None


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
    if is_easy_to_read(page):
        return None
    if page is not None:
        return easy_to_read_at(page.url)
    return easy_to_read_at(request.path) if request.endpoint in LOCALIZED_ENDPOINTS else None


def easy_to_read_at(address: str) -> Page | None:
    """Return the easy-to-read page that retells an address of the site (`/sv/kontakt`), if any."""
    code, _, path = address.partition("?")[0].strip("/").partition("/")
    easy = easy_to_read_of(code)
    if easy is None:
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


def _language_link(code: str, page: Page | None, posted: PostedSwitch | None) -> dict[str, Any]:
    """Return the language menu's entry for one language: a link, or a form that posts."""
    link: dict[str, Any] = {"code": code, "name": LOCALES[code].name, "easy": False}
    if posted is not None:
        values: dict[str, Any] = {**posted.values, "locale": code}  # Any: as in same_page_in
        url = url_for(posted.endpoint, **values)
        return {**link, "url": url, "current": code == current_locale(), "fields": posted.fields}
    url = _language_url(code, page) or url_for("pages.home", locale=code)
    current = code == current_locale() and not is_easy_to_read(page)
    return {**link, "url": url, "current": current, "fields": None}


def language_links(page: Page | None, posted: PostedSwitch | None = None) -> list[dict[str, Any]]:
    """Link every language to the same page in it, or else to its home; then easy-to-read.

    With `posted` (a case, a receipt), each language is a form that posts its fields there.
    """
    locale, easy = current_locale(), is_easy_to_read(page)
    links = [_language_link(code, page, posted) for code in LOCALES]
    own = easy_to_read_of(locale)
    if own and (home := current_site().get(locale, own.folder)):
        # The page's own easy-to-read version (itself, on one), else the easy-to-read home.
        here = page if easy and page else easy_to_read_version(page) or home
        link = {"code": locale, "name": own.name, "url": here.url, "current": easy}
        links.append({**link, "easy": True, "fields": None})  # the same language: no hreflang
    return links
