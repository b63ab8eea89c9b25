"""Fixtures: the app and its clients over real or sample content, and figures for the note.

The real servers (HTTP, SMTP, PostgreSQL, Chromium) are in fixtures_servers.py."""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import delete

from gvisite import create_app, workdays
from gvisite.extensions import db
from gvisite.i18n import LOCALES
from gvisite.pages.cache import FOLDER as RENDER_CACHE
from gvisite.pages.model import Site
from gvisite.staff import auth
from gvisite.workdays import CLOCK_SHIFT_VAR, STOCKHOLM
from tests.helpers import PROJECT_ROOT

pytest_plugins = [
    "tests.fixtures_servers",
    "tests.fixtures_forms",
    "tests.fixtures_staff",
    "tests.fixtures_oidc",
    "tests.scheduling",
    "tests.crawler",
]

REAL_CONTENT = PROJECT_ROOT / "content"
# The data files a content folder needs besides its pages; sample trees copy the real ones.
DATA_FILES = ("site.yaml", "tillganglighet.yaml", "uttal.yaml")
HOME_PAGE = "---\ntitle: Hem\ndescription: Startsidan.\nupdated: 2026-01-01\n---\n\nVälkommen.\n"


# The day the whole suite runs on, whatever the machine's date: an ordinary Wednesday morning in
# Stockholm, after every date the tests store cases on (autumn 2026), so those lie in the past
# as written. `pytest --clock 2026-12-05T10:00` runs it on another day (a Saturday, a holiday).
SUITE_CLOCK = "2026-12-09T10:00"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --clock: the Stockholm time the suite's processes start from."""
    parser.addoption("--clock", default=SUITE_CLOCK, help="Stockholm time the site's clock shows")


def pytest_configure(config: pytest.Config) -> None:
    """Shift the site's clock to --clock in this process and every server it starts."""
    wanted = dt.datetime.fromisoformat(config.getoption("--clock")).replace(tzinfo=STOCKHOLM)
    # Set once as an offset, so the test process and its server processes tell the same time.
    os.environ[CLOCK_SHIFT_VAR] = str((wanted - dt.datetime.now(dt.UTC)).total_seconds())
    # Staff passwords are hashed with argon2's cheapest profile in the suite's own process: a
    # hash is verified with the parameters it carries, so each of the suite's thousands of logins
    # and wrong guesses costs microseconds instead of a tenth of a second or more. The site
    # keeps argon2's defaults (a house rule checks); servers the suite starts as processes
    # use them too, and verify these hashes all the same.
    auth.hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


@dataclass
class Clock:
    """The site's clock, stopped at `now` (naive UTC); a test sets it or moves it on."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward by a timedelta's arguments (minutes=31, days=2)."""
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Stop the site's clock in this process at the suite's present time; return it."""
    # The one seam: every "now" in the site (tables' defaults, sessions, one-time codes, due
    # days) is workdays.utcnow(), the suite's shift added to workdays.system_time(). The shift
    # is 0 meanwhile, so utcnow() is exactly clock.now; a site process started under this
    # fixture would inherit the 0 and run on the machine's day, so start none. The counters of
    # the rate limits read time.time(), which this does not stop (see test_login_lockout.py).
    stopped = Clock(workdays.utcnow())
    monkeypatch.setenv(CLOCK_SHIFT_VAR, "0")
    monkeypatch.setattr(workdays, "system_time", stopped)
    return stopped


def markdown_page(body: str = "Text.", **front_matter: str) -> str:
    """Return a page file with valid front matter, overridden by `front_matter`."""
    meta = {"title": "En sida", "description": "En sida att testa.", "updated": "2026-01-01"}
    meta.update(front_matter)
    lines = [f"{key}: {value}" for key, value in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body + "\n"


DATABASE_FILE = "test.sqlite3"  # in the instance folder


def app_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """Return the config every test app starts from: nothing shared with a developer's setup."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SITE_URL": "http://localhost",
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / DATABASE_FILE}",
        "MAIL_BACKEND": "file",
        **overrides,
    }


def make_app(instance: Path, **overrides: Any) -> Flask:
    """Create an app with `app_config` and its database migrated: how every test app starts."""
    warm_instance(instance, overrides)
    app = create_app(app_config(instance, **overrides))
    migrate(app)
    return app


def warm_instance(instance: Path, overrides: Mapping[str, Any]) -> None:
    """Start a new instance folder as a copy of a started one: pages rendered, database migrated.

    An app over the real content renders every page (through bleach) at its first start, and
    a new database runs every migration; made once per process and copied, both cost a copy.
    """
    if instance.exists():
        return
    seed = _seed_instance()
    instance.mkdir(parents=True)
    if "CONTENT_DIR" not in overrides:  # entries are keyed by page bytes: others just miss
        shutil.copytree(seed / RENDER_CACHE, instance / RENDER_CACHE)
    if "DATABASE_URL" not in overrides:
        shutil.copy2(seed / DATABASE_FILE, instance / DATABASE_FILE)


@functools.cache
def _seed_instance() -> Path:
    """Start an app once in a folder of its own and migrate its database; return the folder."""
    folder = Path(tempfile.mkdtemp(prefix="gvisite-seed-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    app = create_app(app_config(folder / "instance"))
    migrate(app)
    close_database(app)  # SQLite folds its WAL into the file as the last connection closes
    return folder / "instance"


@contextmanager
def keep_logging() -> Iterator[None]:
    """Undo what Alembic's `fileConfig` does to logging (it disables every existing logger)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    disabled = {
        name: logger.disabled
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.disabled = disabled.get(name, False)


def migrate(app: Flask, command: Callable[..., None] = upgrade, *args: Any) -> None:
    """Run a Flask-Migrate command (by default `upgrade`, as `flask db upgrade` does)."""
    with app.app_context(), keep_logging(), warnings.catch_warnings():
        # Flask-Migrate's env.py template tries the deprecated `get_engine()` first, on purpose.
        warnings.filterwarnings("ignore", "'get_engine' is deprecated", DeprecationWarning)
        command(*args)


def empty_tables(app: Flask) -> None:
    """Delete every row of every table (children first), as a new database has none."""
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()


def close_database(app: Flask) -> None:
    """Close the app's pooled database connections."""
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_content(tmp_path: Path) -> Callable[[Mapping[str, str | bytes | None]], Path]:
    """Build a small content folder: a home page per locale plus `files` (None deletes one)."""

    def build(files: Mapping[str, str | bytes | None]) -> Path:
        root = tmp_path / "content"
        root.mkdir()
        for name in DATA_FILES:
            shutil.copy(REAL_CONTENT / name, root / name)
        pages: dict[str, str | bytes | None] = {
            f"{locale}/index.md": HOME_PAGE for locale in LOCALES
        }
        pages.update(files)
        for name, text in pages.items():
            if text is None:
                continue
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        return root

    return build


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app over the real content, with its own instance folder and database."""
    app = make_app(tmp_path / "instance")
    yield app
    close_database(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for `app`."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner for `app`."""
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def site_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app over the real content, shared by the many tests that only read pages."""
    app = make_app(tmp_path_factory.mktemp("site") / "instance")
    yield app
    close_database(app)


@pytest.fixture
def site_client(site_app: Flask) -> FlaskClient:
    """A fresh test client (no cookies) for the shared app."""
    return site_app.test_client()


@pytest.fixture(scope="session")
def site(site_app: Flask) -> Site:
    """Every page of every locale, as the shared app loaded them."""
    return site_app.extensions["gvisite.site"]


# --- Figures for the closing note -------------------------------------------------------------

FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> list[str]:
    """Lines a test adds here are printed in pytest's terminal summary, after the results."""
    return pytestconfig.stash.setdefault(FIGURES, [])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker, hand its figures to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["figures"] = session.config.stash.get(FIGURES, [])


@pytest.hookimpl(optionalhook=True)  # an xdist hook: `-p no:xdist` has no workers
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Gather a finished worker's figures into the controller's, for its terminal summary."""
    node.config.stash.setdefault(FIGURES, []).extend(node.workeroutput.get("figures", []))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the figures the tests recorded (crawl counts and the like)."""
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
