"""A copy of every public page on disk, which nginx serves while no app server answers.

nginx's cache holds only the pages someone read lately, so after a deploy (an emptied cache) a
page no one had read answered 503 while the app was down. This copy holds every page the layer
keeps (`KEPT_ENDPOINTS`: each content page in each locale, the statement and its JSON, the
contact page, the news feeds, the open data, the sitemap, robots.txt), rendered by the app
itself through its own WSGI stack, so its bytes are exactly what a reader got.

It lives in `FORMATS_DIR/pages-copy`, a symbolic link to a folder of one version: a new
version is written beside it and the link replaced in one rename, so nginx never reads half a
copy, and a page no longer on the site is not in the new folder (a deleted page never comes
back). It is rewritten by `flask deploy nginx`, and by the formats refresher (refresh.py)
whenever its key changes: the stamp every public change touches (stamp.py), the content's
files and the code that renders them. A child process does the rendering, under a lock, so
no request waits and only one process writes however many serve the site.

A file's name is its page's path plus the ending of its type (`sv/om-gvi.html`,
`sv/index.html` for `/sv/`, `sitemap.xml.xml`), so nginx finds it with `try_files` and
answers it with the app's Content-Type (deploy/nginx.conf).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, url_for
from werkzeug.test import TestResponse

from ..i18n import LOCALES
from ..pages.load import current_site
from . import KEPT_ENDPOINTS
from .stamp import stamp_file

COPY_NAME = "pages-copy"  # the link nginx reads through, in FORMATS_DIR
LOCK_NAME = ".pages-copy.lock"
KEY_NAME = ".key"  # in a copy's folder: what it was made from
NICENESS = 10  # as the formats build's child
KEPT_VERSIONS = 2  # the current copy and the one before (nginx may still be sending a file of it)
# The ending a copy's file gets for each type the app answers a kept page with, exactly as it
# sends it; nginx's configuration maps them back (a page of another type is not copied).
TYPES = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "xml": "application/xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
ENDINGS = {kind: ending for ending, kind in TYPES.items()}
SAFE_PATH = re.compile(r"^/(?:[a-z0-9][a-z0-9._-]*/)*(?:[a-z0-9][a-z0-9._-]*)?$")


@dataclass
class CopyReport:
    """What writing a copy did."""

    pages: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # URLs not answered 200, or not copyable


def copy_link(app: Flask) -> Path:
    """Return the link to the current copy."""
    return Path(app.config["FORMATS_DIR"]) / COPY_NAME


def public_urls(app: Flask) -> list[str]:
    """Return the path of every page the pre-built layer keeps, in every locale."""
    urls: set[str] = set()
    with app.test_request_context("/"):
        urls.update(page.url for page in current_site().pages.values())  # `pages.page`'s
        for rule in app.url_map.iter_rules():
            if rule.endpoint not in KEPT_ENDPOINTS:
                continue
            if not rule.arguments:
                urls.add(url_for(rule.endpoint))
            elif rule.arguments == {"locale"}:
                urls.update(url_for(rule.endpoint, locale=code) for code in LOCALES)
    return sorted(urls)


def file_name(path: str, content_type: str) -> str | None:
    """Return the copy's file for a page's path and type (None: not one nginx can serve)."""
    ending = ENDINGS.get(content_type)
    if ending is None or not SAFE_PATH.match(path):  # no segment starts with a dot
        return None
    stem = path.strip("/") if not path.endswith("/") else path.strip("/") + "/index"
    return f"{stem or 'index'}.{ending}"


def copy_key(app: Flask) -> str:
    """Return what a copy depends on: the change stamp, the content's files, the code, SITE_URL."""
    digest = hashlib.sha256(app.config["SITE_URL"].encode())
    stamp = stamp_file(app.config["FORMATS_DIR"])
    for folder in (Path(app.config["CONTENT_DIR"]), Path(__file__).parents[1]):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = path.stat()
                digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    try:
        info = stamp.stat()
        digest.update(f"stamp\0{info.st_ino}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    except FileNotFoundError:
        digest.update(b"no stamp")
    return digest.hexdigest()


def current_key(app: Flask) -> str | None:
    """Return the key of the copy nginx serves now, or None if there is none."""
    try:
        return (copy_link(app) / KEY_NAME).read_text(encoding="ascii").strip()
    except OSError:
        return None


@contextmanager
def writing(app: Flask) -> Iterator[bool]:
    """Hold the copy's lock if no other process does: yield whether this one may write."""
    folder = Path(app.config["FORMATS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_NAME).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_copy(app: Flask) -> CopyReport:
    """Render every public page through the app and make it the current copy."""
    started = time.monotonic()
    key = copy_key(app)  # before rendering: a change while it renders makes the next key differ
    link = copy_link(app)
    version = link.with_name(f"{COPY_NAME}.{time.time_ns()}.{os.getpid()}")
    report = CopyReport()
    for path, response in _rendered(app, public_urls(app)):
        name = file_name(path, response.content_type or "")
        if response.status_code != 200 or "Set-Cookie" in response.headers or name is None:
            report.skipped.append(path)
            continue
        target = version / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.get_data())
        report.pages += 1
    version.mkdir(parents=True, exist_ok=True)
    (version / KEY_NAME).write_text(key + "\n", encoding="ascii")
    version.chmod(0o755)  # nginx's workers may run as another account: they only read
    temporary = link.with_name(f".{COPY_NAME}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(version.name)
    temporary.replace(link)  # one rename: nginx sees the old copy or the new, never a mix
    _remove_old_versions(link)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _rendered(app: Flask, paths: list[str]) -> Iterator[tuple[str, TestResponse]]:
    """GET each path through the app's whole WSGI stack, each in an app context of its own."""
    # On a thread of its own: a command runs in an app context, which a request would reuse,
    # and Flask-Babel keeps the first page's locale there for every page after it.
    client = app.test_client()
    with ThreadPoolExecutor(max_workers=1) as thread:
        for path in paths:
            yield path, thread.submit(client.get, path).result()


def _remove_old_versions(link: Path) -> None:
    """Remove all but the newest copies (the current one and the one before it)."""
    current = os.readlink(link)
    versions = sorted(
        (p for p in link.parent.glob(f"{COPY_NAME}.*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: int(p.name.split(".")[1]),
    )
    for old in versions[:-KEPT_VERSIONS]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def refresh_copy(app: Flask) -> CopyReport | None:
    """Write a new copy if what it depends on changed and no other process is writing one."""
    if current_key(app) == copy_key(app):
        return None
    with writing(app) as mine:
        if not mine or current_key(app) == copy_key(app):
            return None
        return write_copy(app)


def child(create_app: Callable[[Mapping[str, Any]], Flask]) -> None:
    """The refresher's child: config as JSON on stdin, write the copy, its report on stdout."""
    os.nice(NICENESS)  # rendering gives way to the processes serving requests
    app = create_app(json.load(sys.stdin))
    report = refresh_copy(app)
    print(json.dumps({"pages": report.pages, "seconds": report.seconds} if report else {}))
