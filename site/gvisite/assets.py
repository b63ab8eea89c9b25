"""Fingerprinted static files: a content hash in every URL, so they can be cached for a year."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, send_file

ONE_YEAR = 365 * 24 * 3600
ONE_DAY = 24 * 3600


def fingerprints(static_folder: Path) -> dict[str, str]:
    """Hash every static file once at start-up."""
    return {
        path.relative_to(static_folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[
            :12
        ]
        for path in static_folder.rglob("*")
        if path.is_file()
    }


def init_app(app: Flask) -> None:
    """Add `?v=<hash>` to static URLs and long cache lifetimes to fingerprinted responses."""
    static_folder = Path(app.static_folder or "static")
    hashes = fingerprints(static_folder)

    # Browsers ask for /favicon.ico whatever the page links to; answer it from our own files,
    # from memory: a browser that drops the request half-way leaves no open file behind.
    icon = (static_folder / "img" / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon() -> Response:
        """Serve the site's icon at the address browsers try first."""
        response = send_file(
            io.BytesIO(icon),
            mimetype="image/vnd.microsoft.icon",
            max_age=ONE_DAY,
            etag=hashes["img/favicon.ico"],
            conditional=True,
        )
        response.cache_control.public = True
        return response

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and (digest := hashes.get(values.get("filename", ""))):
            values.setdefault("v", digest)

    @app.after_request
    def cache_static(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code == 200:
            response.cache_control.no_cache = None  # send_file's default when no max-age is set
            filename = (request.view_args or {}).get("filename", "")
            if request.args.get("v") and request.args.get("v") == hashes.get(filename):
                response.cache_control.max_age = ONE_YEAR
                response.cache_control.public = True
                response.cache_control.immutable = True
            else:
                response.cache_control.max_age = 300
        return response
