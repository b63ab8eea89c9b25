"""Fingerprinted static files: a content hash in every URL, so they can be cached for a year."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, request, send_file

ONE_YEAR = 365 * 24 * 3600
ONE_DAY = 24 * 3600


def read_static(static_folder: Path) -> dict[str, bytes]:
    """Read every static file once at start-up (the folder holds a few kilobytes)."""
    return {
        path.relative_to(static_folder).as_posix(): path.read_bytes()
        for path in static_folder.rglob("*")
        if path.is_file()
    }


def fingerprints(static_folder: Path) -> dict[str, str]:
    """Hash every static file once at start-up."""
    return {name: digest(data) for name, data in read_static(static_folder).items()}


def digest(data: bytes) -> str:
    """Return a file's fingerprint: the start of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:12]


def init_app(app: Flask) -> None:
    """Add `?v=<hash>` to static URLs and long cache lifetimes to fingerprinted responses."""
    static_folder = Path(app.static_folder or "static")
    files = read_static(static_folder)
    hashes = {name: digest(data) for name, data in files.items()}
    started = time.time()

    # Served from memory, not from open files: a browser that drops a request half-way (a
    # closed tab) leaves no file open behind it. In production nginx serves them from disk.
    def static(filename: str) -> Response:
        """Serve a static file with its fingerprint as ETag."""
        if (data := files.get(filename)) is None:
            abort(404)
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return send_file(
            io.BytesIO(data),
            mimetype=mimetype,
            etag=hashes[filename],
            last_modified=started,
            conditional=True,
        )

    app.view_functions["static"] = static

    # Browsers ask for /favicon.ico whatever the page links to; answer it from our own files.
    @app.get("/favicon.ico")
    def favicon() -> Response:
        """Serve the site's icon at the address browsers try first."""
        response = send_file(
            io.BytesIO(files["img/favicon.ico"]),
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
