"""The handling figures as the public sees them: a snapshot made when they can change.

No request computes them. `recompute_handling()` reads every case and published problem,
computes the figures as published (small counts and figures resting on few cases hidden), and
writes them atomically to `FORMATS_DIR/handling-figures.json`, the folder every app server
shares, under a lock so that an older computation never overwrites a newer one. It runs
after a saved change to a case, its history or a published problem (the session watcher in
statement.py: created, answered, closed, withdrawn, marked spam, purged), at start when the
snapshot is missing or from another day, and when the day changes (`refresh_if_new_day()`,
called by the formats refresher and the outbox worker, which wake up regularly anyway).
`public_pages_changed` is sent only when what is published changed, so a submission that
changes no shown figure keeps every kept page.
The statement, its JSON and the open data read the file; without it they say the figures are
not available right now.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .handling_figures import (
    SMALLEST_SHOWN,
    CaseDays,
    HandlingFigures,
    ProblemDays,
    by_month,
    handling_figures,
    last_12_months_start,
    read_cases,
    read_problems,
    shown,
)
from .models import Case, utcnow
from .prebuilt.stamp import dont_keep
from .signals import public_pages_changed
from .workdays import local_date

EXTENSION = "gvisite.handling_snapshot"
SNAPSHOT_NAME = "handling-figures.json"
LOCK_NAME = ".handling-figures.lock"
# The published fields of a period, in the order the open data lists them.
FIELDS = (
    "reports_received",
    "requests_received",
    "answered",
    "median_working_days_to_first_answer",
    "p90_working_days_to_first_answer",
    "answered_within_target_percent",
    "problems_published",
    "problems_fixed",
    "median_working_days_to_fix",
)
SNAPSHOT_KEYS = frozenset({"computed_on", "fewer_than", "last_12_months", "this_year", "months"})
COUNTS = frozenset({"reports_received", "requests_received", "answered", "problems_published",
                    "problems_fixed"})  # fmt: skip


def published(figures: HandlingFigures) -> dict[str, Any]:
    """Return a period's figures as published: a count of 1-4 and a figure on too few as None."""
    smallest = figures.smallest
    return {
        "from": figures.start.isoformat(),
        "to": figures.end.isoformat(),
        "reports_received": shown(figures.received["report"], smallest),
        "requests_received": shown(figures.received["format"], smallest),
        "answered": shown(figures.answered, smallest),
        "median_working_days_to_first_answer": figures.shown_median(),
        "p90_working_days_to_first_answer": figures.shown_p90(),
        "answered_within_target_percent": figures.share_within_target,
        "problems_published": shown(figures.problems_published, smallest),
        "problems_fixed": shown(figures.problems_fixed, smallest),
        "median_working_days_to_fix": figures.shown_fix_days(),
    }


def compute(
    cases: list[CaseDays], problems: list[ProblemDays], started: dt.date, today: dt.date
) -> dict[str, Any]:
    """Return the snapshot: the last 12 months, this year, and every month since `started`."""
    first = min([started, *(case.received for case in cases)])

    def period(start: dt.date) -> dict[str, Any]:
        return published(handling_figures(cases, problems, start, today, today))

    months = by_month(cases, problems, first.replace(day=1), today, today)
    return {
        "computed_on": today.isoformat(),
        "fewer_than": SMALLEST_SHOWN,
        "last_12_months": period(last_12_months_start(today)),
        "this_year": period(today.replace(month=1, day=1)),
        "months": [{"month": f"{m.start:%Y-%m}", **published(m)} for m in months],
    }


@dataclass(frozen=True)
class Snapshots:
    """Where an app keeps its snapshot, and the day its site started (the statement's)."""

    folder: Path
    started: dt.date

    @property
    def path(self) -> Path:
        """Return the snapshot file."""
        return self.folder / SNAPSHOT_NAME

    def read(self) -> dict[str, Any] | None:
        """Return the snapshot, or None when there is none (a fresh site) or it cannot be read."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        # A file from another version, or torn by hand, counts as none: never a 500.
        return data if isinstance(data, dict) and data.keys() >= SNAPSHOT_KEYS else None

    def write(self, data: dict[str, Any]) -> None:
        """Write the snapshot whole: a reader sees the old file or the new one, never half."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".handling-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the snapshot's lock: one computation at a time, so an older one never wins."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / LOCK_NAME).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield


def snapshots(app: Flask | None = None) -> Snapshots | None:
    """Return the app's snapshot store (None if the app has none)."""
    return (app or current_app).extensions.get(EXTENSION)


def read_handling() -> dict[str, Any] | None:
    """Return the published figures as last computed, or None when there are none yet."""
    store = snapshots()
    return store.read() if store is not None else None


def published_handling() -> dict[str, Any] | None:
    """Return the published handling figures; without them, keep no page that shows none."""
    snapshot = read_handling()
    if snapshot is None:
        dont_keep()  # a fresh site: the figures come within a minute, and the page with them
    return snapshot


def handling_periods(snapshot: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return the two periods the statement shows, with their names and days as dates."""
    if snapshot is None:
        return []
    names = {
        "last_12_months": gettext("The last 12 months"),
        "this_year": gettext("This year"),
    }
    return [
        {
            "key": key,
            "name": name,
            "start": dt.date.fromisoformat(snapshot[key]["from"]),
            "end": dt.date.fromisoformat(snapshot[key]["to"]),
            "figures": snapshot[key],
        }
        for key, name in names.items()
    ]


def handling_data() -> dict[str, Any] | None:
    """Return the handling figures as the JSON has them, or None while there are none."""
    snapshot = published_handling()
    if snapshot is None:
        return None
    keys = ("last_12_months", "this_year", "fewer_than", "computed_on")
    return {key: snapshot[key] for key in keys}


def today() -> dt.date:
    """Return today's date in Stockholm."""
    return local_date(utcnow())


def recompute_handling(app: Flask | None = None, *, announce: bool = True) -> bool:
    """Compute the published figures now; write them, and say so, if they changed.

    With `announce=False` the caller sends `public_pages_changed` itself (once per commit).
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as the app
    store = snapshots(app)
    if store is None:
        return False
    try:
        with app.app_context(), store.locked():
            # Read after taking the lock, on a connection of its own: this may run just after
            # a session committed, and must see that commit and every one before it.
            with db.engine.connect() as connection:
                cases, problems = read_cases(connection=connection), read_problems(connection)
            data = compute(cases, problems, store.started, today())
            if data == store.read():
                return False
            store.write(data)
    except (SQLAlchemyError, OSError) as exc:
        # The figures stay as they were; the next change or the next day tries again.
        app.logger.warning("handling figures: cannot recompute: %s", type(exc).__name__)
        return False
    if announce:
        public_pages_changed.send(app)
    return True


def refresh_if_new_day(app: Flask) -> bool:
    """Recompute when the snapshot is missing or from another day (cheap: one small read)."""
    store = snapshots(app)
    if store is None:
        return False
    with app.app_context():
        current = store.read()
        if current is not None and current.get("computed_on") == today().isoformat():
            return False
    return recompute_handling(app)


def init_app(app: Flask, started: dt.date) -> None:
    """Keep the app's snapshot in its formats folder; make it now if it is missing or old."""
    app.extensions[EXTENSION] = Snapshots(Path(app.config["FORMATS_DIR"]), started)
    # A fresh site, or one started on another day: one query at start, not on a request.
    # Not before `flask db upgrade` made the tables (`make run` checks the content first): a
    # newcomer would be warned of a failure that is no failure. A database that is down is.
    if not _migrated(app):
        return
    refresh_if_new_day(app)


def _migrated(app: Flask) -> bool:
    """Tell whether the cases' table exists; True where the database cannot say (it is down)."""
    try:
        with app.app_context():
            return bool(inspect(db.engine).has_table(Case.__tablename__))
    except SQLAlchemyError:
        return True  # the recompute then fails and says so
