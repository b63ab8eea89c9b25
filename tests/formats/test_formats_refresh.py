"""The running site keeps its other formats current by itself: at start, after staff change the
statement, and when it finds them stale; one process builds at a time, failures are logged
without what the page says.

The site here is small (a home page per locale, and the statements) so a real build in the
refresher's child process, with the real tools, takes seconds rather than minutes.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from gvisite import create_app
from gvisite.extensions import db
from gvisite.formats.build import BuildBusy, build_lock
from gvisite.formats.catalogue import FORMATS
from gvisite.formats.convert import tool_versions
from gvisite.formats.refresh import Refresher, stale_sources
from gvisite.formats.source import STATEMENT
from gvisite.formats.store import Store
from gvisite.i18n import LOCALES
from gvisite.models import PublishedProblem, StaffUser
from gvisite.signals import public_pages_changed
from gvisite.staff import handling
from tests.conftest import DATA_FILES, HOME_PAGE, REAL_CONTENT, app_config, close_database, migrate
from tests.fixtures_staff import add_account, make_case
from tests.helpers import parse

WAIT_SECONDS = 300  # the bound on "within minutes", generous for a busy two-core machine
PROBLEM = "Sökknappen saknar en synlig ram när den har fokus."


def installed_formats() -> set[str]:
    """Return the formats whose tools this machine has."""
    versions = tool_versions()
    return {key for key, fmt in FORMATS.items() if all(versions.get(t) for t in fmt.tools)}


def small_content(root: Path) -> Path:
    """Write a content folder with one home page per locale and the real data files."""
    content = root / "content"
    for locale in LOCALES:
        (content / locale).mkdir(parents=True)
        (content / locale / "index.md").write_text(HOME_PAGE, encoding="utf-8")
    for name in DATA_FILES:
        shutil.copy(REAL_CONTENT / name, content / name)
    return content


def refreshing_app(root: Path, **overrides: Any) -> Flask:
    """An app on a small site whose refresher is on (tests turn it on themselves)."""
    config = app_config(
        root / "instance",
        CONTENT_DIR=str(small_content(root)),
        FORMATS_DIR=str(root / "formats"),
        **{"FORMATS_REFRESH_SECONDS": 3600, **overrides},  # only start-up and events, here
    )
    app = create_app(config)
    migrate(app)
    return app


def statement_offers(app: Flask, locale: str = "sv") -> set[str]:
    """Return the format keys the statement page offers now, read from the page."""
    page = parse(app.test_client().get(f"/{locale}/tillganglighet").data)
    found = set()
    for link in page.select(".other-formats-list a[href]"):
        name = link["href"].rsplit("/", 1)[-1]
        found |= {key for key, fmt in FORMATS.items() if name == f"{STATEMENT}{fmt.suffix}"}
    return found


def settled(app: Flask, folder: Path) -> bool:
    """Tell whether the statement offers every format and no build holds the folder's lock.

    The child publishes its files a moment before it exits and lets go of the lock; a test
    that went on at the first sign would meet the lock still taken.
    """
    if statement_offers(app) != installed_formats():
        return False
    try:
        with build_lock(Store(folder)):
            return True
    except BuildBusy:
        return False


def wait_for(check: Any, what: str) -> float:
    """Poll `check` until it is true; return the seconds it took, fail after WAIT_SECONDS."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < WAIT_SECONDS, f"not within {WAIT_SECONDS} s: {what}"
        time.sleep(0.5)
    return time.monotonic() - started


@dataclass
class Running:
    """A site whose refresher thread runs, and a staff account and case to publish from."""

    app: Flask
    refresher: Refresher
    folder: Path
    case_id: int
    actor_id: int
    startup_seconds: float


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Start the site, serve one request, and wait until the refresher built its formats."""
    root = tmp_path_factory.mktemp("refresh")
    app = refreshing_app(root)
    refresher = app.extensions["gvisite.formats_refresh"]
    case = make_case(app, page="/sv/")
    actor = add_account(app, "handlaggare@jarfalla.se", "Handläggare")
    try:
        assert app.test_client().get("/sv/").status_code == 200  # the first request starts it
        seconds = wait_for(lambda: settled(app, root / "formats"), "the first build")
        yield Running(app, refresher, root / "formats", case.id, actor, seconds)
    finally:
        refresher.stop()
        close_database(app)


def publish(app: Flask, case_id: int, actor_id: int, text: str) -> int:
    """Publish a confirmed problem as staff do, through handling, and commit."""
    with app.test_request_context("/staff/"):
        from gvisite.models import Case

        case = db.session.get(Case, case_id)
        actor = db.session.get(StaffUser, actor_id)
        problem = handling.publish_problem(case, {"sv": text}, ["2.4.7"], actor)
        db.session.commit()
        return problem.id


def resolve(app: Flask, case_id: int, actor_id: int, problem_id: int) -> None:
    """Mark a published problem fixed as staff do, through handling, and commit."""
    with app.test_request_context("/staff/"):
        from gvisite.models import Case

        problem = db.session.get(PublishedProblem, problem_id)
        handling.resolve_problem(
            problem, db.session.get(Case, case_id), db.session.get(StaffUser, actor_id)
        )
        db.session.commit()


def statement_text(folder: Path, locale: str = "sv") -> str:
    """Return the built plain-text statement."""
    return Store(folder).file(locale, STATEMENT, FORMATS["txt"]).read_text(encoding="utf-8")


def test_a_fresh_site_builds_every_format_by_itself(running: Running) -> None:
    wanted = installed_formats()
    for locale in LOCALES:
        assert statement_offers(running.app, locale) == wanted, locale
    home = parse(running.app.test_client().get("/ar/").data)
    assert len(home.select(".other-formats-list a[href]")) == len(wanted)
    if "mp3" in wanted:
        assert home.select_one(".other-formats audio[src]") is not None  # "Lyssna" is there
    print(f"first build done {running.startup_seconds:.1f} s after the first request")


def test_publishing_and_resolving_a_problem_brings_the_formats_back_in_minutes(
    running: Running,
) -> None:
    wanted = installed_formats()
    problem_id = publish(running.app, running.case_id, running.actor_id, PROBLEM)
    # At once the statement says more than its files: they are not offered...
    assert statement_offers(running.app) < wanted
    # ...until the refresher, woken by the change (its own interval is an hour), rebuilt them.
    published = wait_for(lambda: settled(running.app, running.folder), "after publishing")
    for locale in LOCALES:
        assert statement_offers(running.app, locale) == wanted, locale
    assert PROBLEM in " ".join(statement_text(running.folder).split())
    resolve(running.app, running.case_id, running.actor_id, problem_id)
    resolved = wait_for(lambda: settled(running.app, running.folder), "after resolving")
    assert PROBLEM not in " ".join(statement_text(running.folder).split())
    print(f"formats back {published:.1f} s after publishing, {resolved:.1f} s after resolving")


def test_a_change_no_one_announced_is_found_and_only_one_process_builds_at_a_time(
    running: Running,
) -> None:
    wanted = installed_formats()
    other = Refresher(running.app, 3600)  # a second process's refresher, on the same folder
    assert other.refresh() is False  # its start-up build: all is current
    assert other.last is not None and sum(other.last["built"].values()) == 0
    # Another app server published: this process heard nothing, its periodic check finds it.
    # (Committed here, the change would wake this process's own refresher, which would then
    # build beside `other`: so it is not told, as a process elsewhere would not be.)
    public_pages_changed.disconnect(running.refresher.wake, sender=running.app)
    try:
        with running.app.app_context():
            problem = PublishedProblem(what={"sv": "Länken har ingen text."}, criteria=["2.4.4"])
            db.session.add(problem)
            db.session.commit()
    finally:
        public_pages_changed.connect(running.refresher.wake, sender=running.app)
    stale = [(locale, STATEMENT) for locale in sorted(LOCALES)]
    assert sorted(stale_sources(running.app, frozenset(wanted))) == stale
    other.last = None
    with build_lock(Store(running.folder)):  # another process is building
        assert other.refresh() is True  # busy: it builds nothing, and tries again soon
    assert other.last is None
    assert sorted(stale_sources(running.app, frozenset(wanted))) == stale
    assert other.refresh() is False
    assert other.last is not None
    assert sum(other.last["built"].values()) == len(LOCALES) * len(wanted)
    assert statement_offers(running.app) == wanted
    assert stale_sources(running.app, frozenset(wanted)) == {}


def test_no_refresher_in_tests_unless_asked_and_none_before_the_site_serves(
    tmp_path: Path,
) -> None:
    plain = create_app(app_config(tmp_path / "a", FORMATS_DIR=str(tmp_path / "fa")))
    assert "gvisite.formats_refresh" not in plain.extensions
    off = create_app(app_config(tmp_path / "b", FORMATS_REFRESH_SECONDS=0))
    assert "gvisite.formats_refresh" not in off.extensions
    on = create_app(app_config(tmp_path / "c", FORMATS_REFRESH_SECONDS=3600))
    # `flask db upgrade` and every other command create the app too: no thread, no build.
    result = on.test_cli_runner().invoke(args=["formats", "check"])
    assert "pandoc" in result.output
    refresher = on.extensions["gvisite.formats_refresh"]
    assert refresher._thread is None
    try:
        on.test_client().get("/sv/")  # the first request starts it
        assert refresher._thread is not None and refresher._thread.is_alive()
        assert refresher._thread.daemon
    finally:
        refresher.stop()
    assert not refresher._thread.is_alive()


FAKE_PANDOC = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "pandoc 0-fake"; exit 0; fi
for last; do :; done
cat "$last" >&2
exit 3
"""


def test_a_failing_tool_is_logged_by_page_and_format_without_the_page_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pandoc").write_text(FAKE_PANDOC, encoding="utf-8")
    (tools / "pandoc").chmod(0o755)
    # Only the fake pandoc is found (here and in the child): the other tools' formats are left
    # out, so the build is quick; pandoc fails and prints the page it was given.
    monkeypatch.setenv("PATH", str(tools))
    app = refreshing_app(tmp_path)
    refresher = Refresher(app, 3600)
    case = make_case(app, page="/sv/")
    actor = add_account(app, "handlaggare@jarfalla.se", "Handläggare")
    publish(app, case.id, actor, "Åsa Öberg på Storgatan 1 fick inget svar.")
    try:
        with caplog.at_level(logging.INFO, logger=app.logger.name):
            assert refresher.refresh() is False
        assert (
            refresher.last is not None and ["sv", "statement", "epub"] in refresher.last["failed"]
        )
        logged = [r.getMessage() for r in caplog.records if r.name == app.logger.name]
        assert any("could not build sv/statement epub" in line for line in logged), logged
        assert not [line for line in logged if "Öberg" in line or "Storgatan" in line]
        assert statement_offers(app) == installed_formats() - {"epub"}
        # The same failure is not tried again every minute: nothing changed since.
        refresher.last = None
        assert refresher.refresh() is False and refresher.last is None
    finally:
        close_database(app)


def test_a_change_to_one_page_rebuilds_its_formats_only_and_offers_them_within_a_minute(
    tmp_path: Path,
) -> None:
    first = refreshing_app(tmp_path)
    folder = tmp_path / "formats"
    try:
        assert first.test_client().get("/sv/").status_code == 200
        wait_for(lambda: settled(first, folder), "the first build")
    finally:
        first.extensions["gvisite.formats_refresh"].stop()
        close_database(first)
    built = [path for locale in LOCALES for path in (folder / locale).iterdir()]
    files = {path: path.stat().st_mtime_ns for path in built}
    # An editor adds a sentence to the Swedish home page; the site is deployed and restarts.
    home = tmp_path / "content" / "sv" / "index.md"
    home.write_text(home.read_text(encoding="utf-8") + "\nVi har öppet i Jakobsberg.\n", "utf-8")
    second = create_app(
        app_config(
            tmp_path / "instance",
            CONTENT_DIR=str(tmp_path / "content"),
            FORMATS_DIR=str(folder),
            FORMATS_REFRESH_SECONDS=3600,
        )
    )
    wanted = installed_formats()
    try:
        started = time.monotonic()
        assert second.test_client().get("/sv/").status_code == 200  # serves at once, as before

        def offered() -> bool:
            page = parse(second.test_client().get("/sv/").data)
            listed = {a["href"].rsplit("/", 1)[-1] for a in page.select(".other-formats-list a")}
            return listed == {f"index{FORMATS[key].suffix}" for key in wanted}

        wait_for(offered, "the changed page's formats")
        seconds = time.monotonic() - started
        page = parse(second.test_client().get("/sv/").data)
        [sentence] = [s for s in page.select("span.s") if "Jakobsberg" in s.get_text()]
        if "mp3" in wanted:  # its recording's timings name the new sentence
            [track] = page.select("div.listen audio[src$='index.mp3'] track")
            timings = second.test_client().get(track["src"]).get_data(as_text=True)
            assert f"\n{sentence['id']}\n" in timings
    finally:
        second.extensions["gvisite.formats_refresh"].stop()
        close_database(second)
    assert seconds <= 60, f"offered {seconds:.1f} s after the site restarted"
    changed = sorted(
        path.relative_to(folder).as_posix()
        for path, mtime in files.items()
        if not path.exists() or path.stat().st_mtime_ns != mtime
    )
    # The Swedish home page's files (and its record of them), nothing else.
    assert changed and all(name.startswith("sv/index.") for name in changed), changed
    print(f"one page's formats offered {seconds:.1f} s after the restart: {len(changed)} files")
