"""The WSGI layer: kept pages answered from memory, every other request passed to the app."""

from __future__ import annotations

import io
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .kept import Kept, accepted_codings, not_modified, prepare
from .stamp import INCOMPLETE, KEEP, stamp_file

MAX_KEPT = 50_000  # a safety bound: the real bound is the number of pages
MAX_ACCEPT_ENCODINGS = 256  # distinct Accept-Encoding values whose choice is remembered

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class _Generation:
    """The pages kept since the stamp last changed."""

    signature: tuple[Any, ...]
    changed_at: int
    pages: dict[str, Kept] = field(default_factory=dict)


LAYERS: weakref.WeakSet[PrebuiltPages] = weakref.WeakSet()


class PrebuiltPages:
    """The WSGI layer: kept pages from memory, everything else to the app."""

    def __init__(self, app: WSGIApp, formats_dir: str | Path) -> None:
        self.app = app
        self.stamp = str(stamp_file(formats_dir))
        self.started = int(time.time())
        self._local_changes = 0
        self._accept: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._generation = _Generation((), self.started)
        LAYERS.add(self)

    def changed_here(self) -> None:
        """Drop every kept page of this process at its next request."""
        self._local_changes += 1

    def forget(self) -> None:
        """Drop every kept page (a forked worker starts afresh, so its app sees a request)."""
        self._generation = _Generation((), self.started)

    def current(self) -> _Generation:
        """Return the generation for the stamp as it is now (one stat() per request)."""
        try:
            found = os.stat(self.stamp)
            signature: tuple[Any, ...] = (
                found.st_ino,
                found.st_size,
                found.st_mtime_ns,
                self._local_changes,
            )
            changed_at = max(int(found.st_mtime), self.started)
        except OSError:
            signature, changed_at = (None, self._local_changes), self.started
        generation = self._generation
        if generation.signature != signature:
            generation = self._generation = _Generation(signature, changed_at)
        return generation

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer a kept page from memory; pass anything else on to the app."""
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return self.app(environ, start_response)
        generation = self.current()
        path = environ.get("PATH_INFO", "")
        kept = generation.pages.get(path)
        if kept is None:
            return self._miss(generation, path, environ, start_response)
        return self._serve(kept, environ, start_response)

    def _serve(
        self, kept: Kept, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """Send the best encoding the client accepts, or a 304 if its copy is current."""
        header = environ.get("HTTP_ACCEPT_ENCODING", "")
        codings = self._accept.get(header)
        if codings is None:
            codings = accepted_codings(header)
            if len(self._accept) < MAX_ACCEPT_ENCODINGS:
                self._accept[header] = codings
        variant = next(filter(None, map(kept.variant, codings)), None) or kept.identity
        if not_modified(kept, variant.etag, environ):
            start_response("304 Not Modified", list(variant.not_modified))
            return []
        start_response(kept.status, list(variant.headers))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [variant.body]

    def _miss(
        self,
        generation: _Generation,
        path: str,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Any:
        """Let the app answer; keep its answer if it is a page that may be kept."""
        captured: list[Any] = []

        def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # The app decided by now (its after_request hook ran): capture only a keepable page,
            # so files and streams pass through as the app made them.
            if keepable(environ, status, headers):
                captured[:] = [status, headers]
                return lambda _data: None
            return start_response(status, headers, exc_info)

        answer = self.app(environ, starting)
        if not captured:
            return answer
        plain = environ["REQUEST_METHOD"] == "GET" and not environ.get("QUERY_STRING")
        body = _read(answer)
        if not plain:
            # A HEAD has no body and a query string is no part of the page: render the page
            # itself, so what is kept (and served for every query) is the same for all.
            found = self._render(environ)
            if found is None:  # it turned out not keepable after all: answer as the app does
                return self.app(environ, start_response)
            captured[:2], body = found[:2], found[2]
        kept = prepare(captured[0], captured[1], body, generation.changed_at)
        with self._lock:
            if len(generation.pages) < MAX_KEPT:
                generation.pages[path] = kept
        return self._serve(kept, environ, start_response)

    def _render(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """Render the page at this path as a plain GET would; None if it may not be kept."""
        plain = {k: v for k, v in environ.items() if not k.startswith(("HTTP_IF_", "gvisite."))}
        plain.update(
            REQUEST_METHOD="GET",
            QUERY_STRING="",
            CONTENT_LENGTH="0",
            **{"wsgi.input": io.BytesIO()},
        )
        captured: list[Any] = []

        def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda _data: None

        body = _read(self.app(plain, starting))
        if not captured or not keepable(plain, captured[0], captured[1]):
            return None
        return captured[0], captured[1], body


def keepable(environ: dict[str, Any], status: str, headers: list[tuple[str, str]]) -> bool:
    """Tell whether an answer may be kept: a page view's complete, cookie-free 200."""
    return (
        bool(environ.get(KEEP))
        and not environ.get(INCOMPLETE)
        and status.startswith("200")
        and not any(name.lower() == "set-cookie" for name, _ in headers)
    )


def _read(answer: Iterable[bytes]) -> bytes:
    """Read a WSGI answer's body and close it."""
    try:
        return b"".join(answer)
    finally:
        if hasattr(answer, "close"):
            answer.close()
