"""Public pages from finished bytes: rendered once by the app, then answered from memory.

A WSGI layer just inside the host check (security.py) answers GET and HEAD for the public pages
(content pages, the statement, the news feeds, the sitemap, robots.txt) from responses it keeps.
The first request for a page goes through Flask as any other; when the view is one of
`KEPT_ENDPOINTS` and the answer a cookie-free 200, the layer keeps its status, headers and body
and adds a strong ETag, Last-Modified, Cache-Control and compressed copies (gzip, brotli) made
once. Every other request (forms, receipts, status pages, staff, downloads, static files,
redirects, errors) goes to Flask untouched, so only real pages, never a hostile path, are kept.

A kept page depends, besides its content (fixed while the process lives), on the formats built
for it (the "Other formats" block) and on the problems staff published (the statement, which
sends `public_pages_changed`: signals.py). Each change appends a byte to a stamp file in
FORMATS_DIR (the folder app servers share); every process stat()s it per request and drops all
it kept when it changed.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request

from ..signals import public_pages_changed
from .layer import LAYERS, PrebuiltPages, WSGIApp
from .stamp import EXTENSION, KEEP, pages_changed

# The views whose answer depends only on the path and on the inputs the stamp tracks.
KEPT_ENDPOINTS = frozenset(
    {
        "pages.home",
        "pages.page",
        "pages.news_feed",
        "pages.sitemap",
        "pages.robots",
        "statement.statement",
        # The contact page (site facts only) and the statement as data (the statement's own
        # inputs). Never the search page: a query string is no part of a kept page.
        "contact.contact",
        "statement.statement_json",
        # The open data on how fast we answer: read from the handling snapshot, which sends
        # public_pages_changed whenever what it publishes changes.
        "open_data.statistics_csv",
        "open_data.statistics_json",
    }
)


def _mark(response: Response) -> Response:
    """Mark a page view's 200 as one the layer may keep."""
    if request.endpoint in KEPT_ENDPOINTS and response.status_code == 200:
        request.environ[KEEP] = True
    return response


def _changed(app: Flask) -> None:
    """Drop the kept pages here at once, and in every process through the stamp file."""
    layer = app.extensions.get(EXTENSION)
    if layer is not None:
        layer.changed_here()  # this process sees it even if the stamp cannot be written
    try:
        pages_changed(app.config["FORMATS_DIR"])
    except OSError:
        app.logger.exception("pre-built pages: cannot write the change stamp")


def _forked() -> None:
    """In a new worker process, start with nothing kept (its app starts its own threads)."""
    for layer in list(LAYERS):
        layer.forget()


os.register_at_fork(after_in_child=_forked)


def init_app(app: Flask) -> None:
    """Mark the pages the layer may keep and listen for the changes that make pages stale."""
    app.after_request(_mark)
    public_pages_changed.connect(_changed, sender=app)


def wrap(app: Flask, inner: WSGIApp) -> PrebuiltPages:
    """Return the app's layer around `inner`: the factory places it in the middleware stack."""
    layer = PrebuiltPages(inner, app.config["FORMATS_DIR"])
    app.extensions[EXTENSION] = layer
    return layer
