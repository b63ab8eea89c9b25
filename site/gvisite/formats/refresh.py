"""Keep every page's other formats current while the site runs, with no one running a command.

Each process that serves the site keeps a `Refresher` thread. It builds what is missing when
the process starts serving, what went stale as soon as staff publish or resolve a problem (the
statement changed), and anything else it finds stale once a minute (a change another process
made). The build runs in a child process at low CPU priority, so no request waits on it or
shares its interpreter, and the build lock in FORMATS_DIR lets one process build at a time,
however many workers and app servers share the folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from ..handling_snapshot import refresh_if_new_day
from ..prebuilt.copy import copy_key, current_key
from ..signals import public_pages_changed
from .build import BuildBusy, build, build_lock
from .catalogue import FORMATS
from .convert import tool_versions
from .source import source_names
from .store import available, current_digest, store

REFRESH_SECONDS = 60  # FORMATS_REFRESH_SECONDS when not set (and not testing)
BUSY_RETRY_SECONDS = 5  # when another process holds the build lock
CHILD_TIMEOUT = 3600  # a whole site's first build; each conversion has its own limit too
NICENESS = 10  # the build and the tools it runs give way to the processes serving requests
# The child imports the factory itself: this module importing the package would be a cycle.
_CHILD = (
    "from gvisite import create_app; from gvisite.formats.refresh import child; child(create_app)"
)
_COPY_CHILD = (
    "from gvisite import create_app; from gvisite.prebuilt.copy import child; child(create_app)"
)


def stale_sources(app: Flask, keys: frozenset[str]) -> dict[tuple[str, str], str | None]:
    """Return {(locale, name): digest now} of the pages lacking a current file of `keys`."""
    with app.app_context():
        return {
            (locale, name): current_digest(locale, name)
            for locale, name in source_names(app)
            if not keys <= available(locale, name).keys()
        }


class Refresher:
    """A daemon thread that rebuilds stale formats: at start, after a change, every minute."""

    def __init__(self, app: Flask, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.last: dict[str, Any] | None = None  # what the last build in the child reported
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._started_in = 0  # the process id the thread runs in: a fork has no thread
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._first_build_due = True
        self._failed: dict[tuple[str, str], str | None] = {}  # page: its digest when it failed
        self._keys: frozenset[str] | None = None  # the formats whose tools are installed

    def ensure_running(self) -> None:
        """Start the thread in this process unless it runs (cheap: called before each request)."""
        if self._started_in == os.getpid():
            return
        with self._start_lock:
            if self._started_in != os.getpid():
                self._started_in = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="formats-refresh", daemon=True
                )
                self._thread.start()

    def wake(self, _app: Flask | None = None) -> None:
        """Check for stale formats now (a public page changed: signals.py)."""
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        """Stop the thread and any build it started (for tests; daemon threads need no stop)."""
        self._stopping.set()
        self._wake.set()
        if self._child is not None and self._child.poll() is None:
            self._child.terminate()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        """Refresh, then sleep until woken or the interval is over; again until stopped."""
        delay = 0.0
        while not self._stopping.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                # Every server process runs this loop: the public handling figures follow the
                # day here (a read of one small file when the day has not changed).
                refresh_if_new_day(self.app)
                # First the copy nginx serves while no app server answers (seconds), then the
                # formats (minutes, after a change): a change reaches the copy without waiting.
                self.copy_pages()
                busy = self.refresh()
            except Exception as exc:  # keep refreshing; the name alone holds no page text
                self.app.logger.error("formats: refresh failed: %s", type(exc).__name__)
                busy = False
            delay = BUSY_RETRY_SECONDS if busy else self.seconds

    def refresh(self) -> bool:
        """Build what is stale, if anything; return True if another process was building."""
        if self._keys is None:
            versions = tool_versions()
            self._keys = frozenset(
                key for key, fmt in FORMATS.items() if all(versions.get(t) for t in fmt.tools)
            )
        if not self._first_build_due:
            stale = stale_sources(self.app, self._keys)
            # A file that failed is tried again once its page changes (or at a restart), not
            # every minute; a page that changed during the last build is built now.
            if all(self._failed.get(page, "") == digest for page, digest in stale.items()):
                return False
        try:
            with build_lock(store(self.app)):
                pass  # free now: start the child (which takes it) rather than wait a minute
        except BuildBusy:
            return True
        outcome = self._build_in_child()
        if outcome is not None and outcome.get("busy"):
            return True
        # Done, or failed (logged): either way the next try waits for a change or the interval.
        self._first_build_due = outcome is None
        failed = {(locale, name) for locale, name, _key in (outcome or {}).get("failed", [])}
        stale = stale_sources(self.app, self._keys)
        self._failed = {page: digest for page, digest in stale.items() if page in failed}
        self.last = outcome
        return False

    def _build_in_child(self) -> dict[str, Any] | None:
        """Run `build` in a child process with this app's config; return its report."""
        outcome = self._in_child(_CHILD, "the build", "`flask formats build`")
        if outcome is None:
            return None
        if outcome.get("built"):
            self.app.logger.info("formats: built %d file(s) in %.1f s",
                                 sum(outcome["built"].values()), outcome["seconds"])  # fmt: skip
        for locale, name, key in outcome.get("failed", []):
            where = f"{locale}/{name} {key or ''}".strip()
            self.app.logger.warning(
                "formats: could not build %s; `flask formats build` says why", where
            )
        return outcome

    def copy_pages(self) -> None:
        """Write nginx's copy of every public page again if what it shows changed."""
        if current_key(self.app) == copy_key(self.app):
            return  # the usual case: a few stat() calls
        outcome = self._in_child(_COPY_CHILD, "the copy of the pages", "`flask deploy nginx`")
        if outcome and outcome.get("pages"):
            self.app.logger.info("pages: copied %d page(s) for nginx in %.1f s",
                                 outcome["pages"], outcome["seconds"])  # fmt: skip

    def _in_child(self, code: str, what: str, command: str) -> dict[str, Any] | None:
        """Run `code` in a child process with this app's config; return what it printed."""
        config = {key: value for key, value in self.app.config.items() if _is_json(value)}
        config["FORMATS_REFRESH_SECONDS"] = 0
        logger = self.app.logger
        if self._stopping.is_set():
            return None
        self._child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # tools' messages may quote the page: not for the log
        )
        if self._stopping.is_set():  # stop() may have looked for a child just before
            self._child.terminate()
        try:
            out, _ = self._child.communicate(json.dumps(config).encode(), timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.communicate()
            logger.error("formats: %s took over %d s and was stopped", what, CHILD_TIMEOUT)
            return None
        if self._child.returncode != 0 or not out.strip():
            if not self._stopping.is_set():
                logger.error(
                    "formats: %s exited with %s; run %s to see why",
                    what,
                    self._child.returncode,
                    command,
                )
            return None
        outcome: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return outcome


def _is_json(value: Any) -> bool:
    """Tell whether a config value can go to the child as JSON (timedeltas are left out)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def child(create_app: Callable[[Mapping[str, Any]], Flask]) -> None:
    """The refresher's child: config as JSON on stdin, build, the report as JSON on stdout."""
    os.nice(NICENESS)  # the tools it starts inherit it
    app = create_app(json.load(sys.stdin))
    try:
        report = build(app)
    except BuildBusy:
        print(json.dumps({"busy": True}))
        return
    built = dict(report.built)
    failed = [[failure.locale, failure.name, failure.key] for failure in report.failed]
    print(json.dumps({"built": built, "failed": failed, "seconds": report.seconds}))


def init_app(app: Flask) -> None:
    """Keep the formats current in each process that serves requests (off in tests by default)."""
    seconds = app.config.get("FORMATS_REFRESH_SECONDS")
    if seconds is None:
        seconds = 0 if app.testing else REFRESH_SECONDS
    if seconds <= 0:
        return
    refresher = Refresher(app, seconds)
    app.extensions["gvisite.formats_refresh"] = refresher
    # Sent once staff publish or resolve a problem (statement.py). Held weakly: the app holds
    # the refresher, and the signal lets go of both when the app goes.
    public_pages_changed.connect(refresher.wake, sender=app)
    # Started by the first request, not here: `flask db upgrade` and the other commands create
    # the app too, and must not start builds; and a forked server process gets its own thread.
    app.before_request(refresher.ensure_running)
