"""Security headers on every response."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: Flask-WTF's CSRF check over HTTPS needs our own Referer.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Sent over HTTPS only (browsers ignore it over plain HTTP): one year, as browsers' lists ask.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
_QUERY = re.compile(r"\?\S*")  # in a request line: from the `?` to the space before HTTP/1.1


def add_headers(response: Response) -> Response:
    """Set the security headers, keeping any a view chose itself."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# A host name as DNS allows it (labels of 1-63 letters, digits and hyphens), an IPv4 or
# bracketed IPv6 address, and an optional port. Flask cannot build links for anything else.
_HOST = re.compile(
    r"^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)
_BAD_HOST_PAGE = (
    b'<!DOCTYPE html>\n<html lang="sv"><head><meta charset="utf-8">'
    b"<title>Felaktig adress (400)</title></head><body><h1>Felaktig adress (400)</h1>"
    b'<p lang="en">Bad request: the Host header is not a valid host name.</p></body></html>\n'
)


class RefuseBadHosts:
    """Answer 400 to a request whose Host header is no host name, before Flask sees it."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Pass good requests on; refuse the others with the security headers set."""
        host = environ.get("HTTP_HOST")
        if host is None or (len(host) <= 260 and _HOST.match(host)):
            return self.wsgi_app(environ, start_response)
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(_BAD_HOST_PAGE))),
            ("Cache-Control", "no-store"),
            *HEADERS.items(),
        ]
        start_response("400 BAD REQUEST", headers)
        return [_BAD_HOST_PAGE]


def init_app(app: Flask) -> None:
    """Register the header hook; add HSTS over HTTPS. (The factory places `RefuseBadHosts`.)"""
    app.after_request(add_headers)
    werkzeug = logging.getLogger("werkzeug")  # one filter per process, however many apps
    if not any(isinstance(f, NoQueryStrings) for f in werkzeug.filters):
        werkzeug.addFilter(NoQueryStrings())
    if app.config["SITE_URL"].startswith("https://"):

        @app.after_request
        def strict_transport(response: Response) -> Response:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
            return response


class NoQueryStrings(logging.Filter):
    """Drop query strings from the development server's access log: they carry personal data."""

    # Search words, a status page's key (`?nyckel=`), a page address a resident reported.
    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite `GET /sv/sok?q=... HTTP/1.1` to `GET /sv/sok HTTP/1.1`."""
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub("", a) if isinstance(a, str) else a for a in record.args)
        return True


def private(response: Response) -> Response:
    """Keep a page out of caches and search engines (the staff area)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def private_answers(response: Response) -> Response:
    """Keep a page that shows a resident's answers or status secret out of caches and Referers."""
    # Same-origin Referers would carry a status secret (`?nyckel=`) or a page's query into our
    # own access logs with every stylesheet and script. The resident's forms check their own
    # token (feedback/__init__.py), so Flask-WTF's HTTPS Referer check never needs one here.
    response.headers["Referrer-Policy"] = "no-referrer"
    return private(response)


def split_url(value: str) -> SplitResult | None:
    """Split an address someone typed, or return None if it cannot be one."""
    try:
        return urlsplit(value)
    except ValueError:  # `http://[` and `//[x`: an unclosed IPv6 bracket raises
        return None
