"""Content routes: home, pages, news feed, sitemap and robots.txt.

The page route `/<locale>/<path>` matches any path, but Werkzeug tries the more specific
routes of the other parts (the statement, the forms, search) first, whatever their order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response as BaseResponse

from ..i18n import DEFAULT_LOCALE, LOCALES
from ..links import LOCALIZED_ENDPOINTS, absolute_url
from .load import PAGE_PATH, current_site
from .model import NEWS_FOLDER, Page

bp = Blueprint("pages", __name__)

MAX_PATH_LENGTH = 200
_SLASHES = re.compile(r"/{2,}")


@bp.before_app_request
def tidy_address() -> BaseResponse | None:
    """Send a near miss (`/SV/om-gvi`, `//sv/om-gvi`) to the one address of what it names."""
    # As sent: `request.path` has already dropped the extra slashes at the start (Werkzeug).
    sent = request.environ.get("PATH_INFO", "").encode("latin-1", "replace")
    path = sent.decode("utf-8", "replace")
    tidy = tidy_path(path)
    # Only to a path that begins with one slash and no backslash: `//host` or `/\host` would
    # be another site to a browser. Only for reading, and only to something that is there.
    if tidy == path or request.method not in {"GET", "HEAD"} or "\\" in tidy:
        return None
    if not tidy.startswith("/") or tidy.startswith("//") or not route_exists(tidy):
        return None
    query = request.query_string.decode("ascii", "replace")  # as sent: already %-escaped
    address = request.script_root + quote(tidy)
    return redirect(f"{address}?{query}" if query else address, code=301)


def tidy_path(path: str) -> str:
    """Return a path with single slashes and its locale in lower case, as the routes write it."""
    parts = _SLASHES.sub("/", path).split("/")  # "", the locale, the rest of the path
    if len(parts) > 1 and parts[1].lower() in LOCALES:
        parts[1] = parts[1].lower()
    return "/".join(parts)


@bp.get("/")
def root() -> BaseResponse:
    """Send the visitor to the home page in the language their browser prefers."""
    best = request.accept_languages.best_match(list(LOCALES), default=DEFAULT_LOCALE)
    response = redirect(url_for("pages.home", locale=best), code=302)
    response.headers["Vary"] = "Accept-Language"
    return response


@bp.get("/<locale:locale>/")
def home(locale: str) -> str:
    """Show a locale's home page."""
    return _render(_page_or_404(locale, ""))


@bp.get("/<locale:locale>/<path:path>")
def page(locale: str, path: str) -> BaseResponse | str:
    """Show a content page; one canonical URL per page, without a trailing slash."""
    if len(path) <= MAX_PATH_LENGTH and path.endswith("/") and PAGE_PATH.match(path.rstrip("/")):
        return redirect(url_for("pages.page", locale=locale, path=path.rstrip("/")), code=301)
    if moved := current_site().moved_to(locale, path):
        return redirect(moved.url, code=301)
    return _render(_page_or_404(locale, path))


def _page_or_404(locale: str, path: str) -> Page:
    """Return the page, or answer 404 for anything that is not one."""
    if path and (len(path) > MAX_PATH_LENGTH or not PAGE_PATH.match(path)):
        abort(404)
    found = current_site().get(locale, path)
    if found is None:
        abort(404)
    return found


def _render(page: Page) -> str:
    """Render a page with its own template if it has one, else the generic one."""
    name = page.path.replace("/", "_") or "index"
    return render_template([f"pages/{name}.html", "page.html"], page=page)


@bp.get("/<locale:locale>/nyheter/feed.atom")
def news_feed(locale: str) -> Response:
    """Serve the locale's news as an Atom feed."""
    site = current_site()
    body = render_template(
        "feed.atom.xml",
        items=site.news(locale),
        news_page=site.get(locale, NEWS_FOLDER),
        news_url=absolute_url("pages.page", locale=locale, path=NEWS_FOLDER),
    )
    return Response(body, mimetype="application/atom+xml")


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """List every page in every locale, with its language alternates."""
    site = current_site()
    pages = sorted(site.pages.values(), key=lambda p: (p.locale != DEFAULT_LOCALE, p.url))
    body = render_template("sitemap.xml", pages=pages, extra_urls=sitemap_extras())
    return Response(body, mimetype="application/xml")


def sitemap_extras() -> list[str]:
    """Return the public pages that are not Markdown: the statement, its two forms, contact."""
    return [url_for(endpoint, locale=code) for code in LOCALES for endpoint in LOCALIZED_ENDPOINTS]


@bp.get("/robots.txt")
def robots() -> Response:
    """Allow crawling of the public site, never of the staff area."""
    staff, sitemap = url_for("staff.inbox"), absolute_url("pages.sitemap")  # the staff area's root
    body = f"User-agent: *\nDisallow: {staff}\nSitemap: {sitemap}\n"
    return Response(body, mimetype="text/plain")


def _match(path: str) -> tuple[str, Mapping[str, Any]] | None:
    """Match a site path against the routes: (endpoint, arguments), or None if none fits."""
    try:
        return current_app.url_map.bind("localhost").match(path, method="GET")
    except RequestRedirect:
        return "redirect", {}
    except HTTPException:
        return None


def page_at(path: str) -> Page | None:
    """Return the content page a site path leads to, if it leads to one."""
    match = _match(path)
    if match is None or match[0] not in {"pages.page", "pages.home"}:
        return None
    return current_site().get(match[1]["locale"], match[1].get("path", ""))


def route_exists(path: str) -> bool:
    """Tell whether a site path leads to a route, and for content routes, to a page."""
    match = _match(path)
    if match is None:
        return False
    return match[0] not in {"pages.page", "pages.home"} or page_at(path) is not None
