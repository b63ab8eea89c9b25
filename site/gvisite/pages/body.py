"""A page body: its sanitized HTML and headings, rendered at load or on first use.

A start that finds many pages missing from the render cache (a new renderer, a large import)
does not wait for them: each such page gets a body that renders when it is first read, from the
render cache if the warm-up process (warm.py) has filled it by then, and the warm-up renders
them all meanwhile, in one process per idle core, so that they are ready before most are asked
for. The site serves as soon as it has read every page's front matter, whatever its size.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The rendered parts of a body: its HTML, and its headings as (level, id, text).
Parts = tuple[str, tuple[Any, ...]]


class Body:
    """A page body's HTML and headings; made with `later`, it renders once, on first use."""

    __slots__ = ("_lock", "_make", "_parts")

    def __init__(self, html: str, headings: tuple[Any, ...] = ()) -> None:
        self._parts: Parts | None = (html, headings)
        self._make: Callable[[], Parts] | None = None
        self._lock: threading.Lock | None = None

    @classmethod
    def later(cls, make: Callable[[], Parts]) -> Body:
        """Return a body that `make` renders when it is first read."""
        body = cls("")
        body._parts, body._make, body._lock = None, make, threading.Lock()
        return body

    def _get(self) -> Parts:
        """Return the parts, rendering them first if no thread has yet."""
        if (parts := self._parts) is not None:
            return parts
        assert self._lock is not None and self._make is not None
        with self._lock:  # a threaded server's second reader waits for the first's render
            if self._parts is None:
                self._parts = self._make()
                self._make = None  # drop the Markdown text it held
            return self._parts

    @property
    def rendered(self) -> bool:
        """Tell whether the body has been rendered (or was given ready)."""
        return self._parts is not None

    @property
    def html(self) -> str:
        """Return the sanitized HTML."""
        return self._get()[0]

    @property
    def headings(self) -> tuple[Any, ...]:
        """Return the headings."""
        return self._get()[1]

    def __eq__(self, other: object) -> bool:
        """Compare what two bodies say, rendered or not (as pages compared before bodies)."""
        return isinstance(other, Body) and self._get() == other._get()

    def __hash__(self) -> int:
        """Hash the HTML, so that equal bodies hash alike."""
        return hash(self.html)


def warm_up(content_dir: Path, cache_folder: Path) -> subprocess.Popen[bytes] | None:
    """Start the process that renders every page the render cache lacks into it (None if it
    cannot start: then each page renders when first asked for, which is slower, not broken)."""
    # A process, not a thread: it renders beside the server (on the cores it leaves idle)
    # instead of taking turns with requests for the interpreter lock.
    args = [sys.executable, "-m", "gvisite.pages.warm", str(content_dir), str(cache_folder)]
    try:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    except OSError as exc:
        log.warning("render warm-up: cannot start (%s); pages render when first asked for", exc)
        return None
    threading.Thread(target=_reap, args=(process,), name="render-warm-up", daemon=True).start()
    return process


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for the warm-up to end (so it leaves no zombie) and say if it failed."""
    if (code := process.wait()) != 0:
        log.warning("render warm-up: ended with %s; pages render when first asked for", code)
