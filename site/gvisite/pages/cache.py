"""The render cache: each page as loaded (fields, sanitized HTML, headings) in the instance folder.

load.py names an entry by a digest of the page file's bytes, its place in the content folder
and the loader's version (its code, markdown.py's, and their packages), so a start after no
change renders and parses nothing, a changed page is loaded again alone, and a new renderer
loads everything again. Only pages without errors are kept, so a broken page is found at every
start. Entries are written to a temporary file and renamed into place, so a process never reads
half an entry; one that does not read back exactly as written (corrupt, truncated, unreadable)
counts as missing. After a load without errors, entries the content no longer uses are removed.
Missing pages are loaded under a lock, so gunicorn workers starting together render each page
once between them, and in several processes when there are many and idle cores (`render_many`).
A server that finds many missing does not wait: a warm-up process renders them (body.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from .markdown import Rendered, render

FOLDER = "render-cache"  # in the instance folder
SUFFIX = ".json"
_TEMP_PREFIX = ".tmp-"
_LOCK = ".lock"
# Fewer pages than this render in this process: starting worker processes costs more.
PARALLEL_MIN = 200
_STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by a process that died

log = logging.getLogger(__name__)


def render_many(texts: Sequence[str]) -> list[Rendered]:
    """Render page bodies, in one process per core when there are many and the cores to use."""
    workers = _workers(len(texts))
    if workers < 2:
        return [render(text) for text in texts]
    # Forked workers start at once with everything imported; only while the process has one
    # thread, since a fork copies no other thread (and any lock one holds stays locked).
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            return list(pool.map(render, texts, chunksize=max(1, len(texts) // (workers * 32))))
    except (OSError, BrokenProcessPool) as exc:  # no processes to be had: slower, not broken
        log.warning("render cache: rendering in this process only (%s)", exc)
        return [render(text) for text in texts]


def _workers(count: int) -> int:
    """Return how many processes should render `count` pages: this one, and one per idle core."""
    if count < PARALLEL_MIN or threading.active_count() > 1:
        return 1
    # Another process helps only with a core of its own: on a busy machine it measured slower
    # than one (Linux shares the CPU between sessions, not processes), and it costs CPU.
    return max(1, min(len(os.sched_getaffinity(0)), 1 + int(_idle_cores())))


def _idle_cores() -> float:
    """Return how many cores the rest of the machine leaves idle (over the last minute)."""
    return len(os.sched_getaffinity(0)) - os.getloadavg()[0]


class RenderCache:
    """Loaded pages in a folder, as JSON, named by digests that load.py makes with `key`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._used: set[str] = set()
        self._writable = True

    @classmethod
    def for_app(cls, app: Flask) -> RenderCache:
        """Return the cache in an app's instance folder."""
        return cls(Path(app.instance_path) / FOLDER)

    @staticmethod
    def key(version: str, name: str, data: bytes) -> str:
        """Return the entry name for `data` at `name`, as loaded by code of `version`."""
        digest = hashlib.sha256(f"{version}\0{name}\0".encode())
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """Return an entry, or None if it is missing or does not read back as written."""
        self._used.add(key)
        try:
            with open(os.path.join(self.folder, key + SUFFIX), "rb") as file:
                check, _, payload = file.read().partition(b"\n")
            if hashlib.sha256(payload).hexdigest().encode() != check:
                return None
            entry = json.loads(payload)
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Write an entry atomically; a cache that cannot be written is only slower."""
        self._used.add(key)
        payload = json.dumps(entry, ensure_ascii=False).encode()
        data = hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.folder, prefix=_TEMP_PREFIX)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(temp, self.folder / f"{key}{SUFFIX}")
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            if self._writable:  # once per load, not once per page
                log.warning("render cache: cannot write to %s: %s", self.folder, exc)
            self._writable = False

    def prune(self) -> int:
        """Remove entries not asked for since this cache was made; return how many."""
        removed = 0
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return 0
        for entry in entries:
            name = entry.name
            unused = name.endswith(SUFFIX) and name.removesuffix(SUFFIX) not in self._used
            if unused or (name.startswith(_TEMP_PREFIX) and _is_stale(entry)):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except OSError:
                    pass  # another process pruned it first
        return removed

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock, shared by every process on it (without one, go on unlocked)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / _LOCK, "a")  # noqa: SIM115  (closed below)
        except OSError:
            yield
            return
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield


def _is_stale(entry: os.DirEntry[str]) -> bool:
    """Tell whether a temporary file is old enough that no live process is writing it."""
    try:
        return time.time() - entry.stat().st_mtime > _STALE_TEMP_SECONDS
    except OSError:
        return False
