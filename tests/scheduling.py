"""How `make test` shares the suite between its xdist workers: whole groups, longest first.

Each module's tests stay on one worker (they share its fixtures: a crawl, a browser tab).
Every test of the built site's server shares one group, and every other test of its built
formats another: the two run side by side on two workers over one build (the first to come
builds, the other waits on the build's lock; fixtures_servers.py's `built_formats`). The
groups are handed out longest first, so a long one does not start last and hold up the end:
the seconds come from the last run on this checkout (`.cache/test-seconds.json`, per test),
or, for a group not timed yet (a fresh clone), from the short list below. The Makefile passes
`--no-loadscope-reorder`, else xdist would reorder the groups by their number of tests.

xdist's own `--dist loadgroup` cannot keep the groups under pytest 9: it marks a test's group by
rewriting `item._nodeid`, which pytest 9 no longer reads, so every test became a group of its
own (and every worker built the built site). So each worker writes the groups it collected to a
file named after the controller's process, and `GroupScheduling` hands out those groups.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PROJECT_ROOT

SECONDS_FILE = PROJECT_ROOT / ".cache" / "test-seconds.json"


def groups_file(controller_pid: int) -> Path:
    """Return where the workers of one run write each test's group for its controller."""
    return PROJECT_ROOT / ".cache" / f"test-groups-{controller_pid}.json"


# A group no run on this checkout has timed yet (a fresh clone, a new module) is expected to
# take this long: the groups that took longest before, in seconds on two cores, rounded.
EXPECTED_SECONDS = {
    "built-site": 600,
    "built-formats": 600,  # ~200 s of it Ace by DAISY over every EPUB, in a fresh clone
    "tests.test_soak": 150,
    "tests.security.test_sandbox_formats": 120,
    "tests.formats.test_formats_refresh": 120,
    "tests.deploy.test_outage": 120,  # nginx, gunicorn restarts and three deploys
    "tests.test_browser": 90,
    "tests.security.test_login_lockout": 60,
    "tests.staff.test_staff_browser": 40,
    "tests.pages.test_render_cache": 40,
    "tests.staff.test_mfa_passkeys": 30,
    "tests.test_outbox_concurrency": 30,
}

_group_of: dict[str, str] = {}  # node id -> group, in this process
_seconds: dict[str, float] = {}  # node id -> seconds it took here (setup, call and teardown)


def group_of(item: pytest.Item) -> str:
    """Return the group a test runs in: its module, "built-site" or "built-formats"."""
    needs = getattr(item, "fixturenames", ())
    if "built_live_server" in needs:
        return "built-site"
    if "built_formats" in needs:
        return "built-formats"
    return item.module.__name__ if item.module else item.nodeid


def known_seconds() -> dict[str, float]:
    """Return each test's seconds in the last run on this checkout (empty in a fresh clone)."""
    try:
        return {str(k): float(v) for k, v in json.loads(SECONDS_FILE.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def group_weights(groups: dict[str, str], seconds: dict[str, float]) -> dict[str, float]:
    """Return each group's expected seconds: as last timed here, else as EXPECTED_SECONDS says."""
    timed: dict[str, float] = {}
    for nodeid, group in groups.items():
        if nodeid in seconds:
            timed[group] = timed.get(group, 0.0) + seconds[nodeid]
    expected = {group: EXPECTED_SECONDS.get(group, 0.0) for group in set(groups.values())}
    return {**expected, **timed}


# First, before pytest-xdist turns each test's group mark into the "@group" suffix of its id:
# a mark added after that is ignored, and the groups would fall apart into modules.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test its group, and put the longest groups first."""
    for item in items:
        marks = [mark for mark in item.iter_markers() if mark.name == "xdist_group"]
        group = str(marks[0].args[0]) if marks and marks[0].args else group_of(item)
        if not marks:
            item.add_marker(pytest.mark.xdist_group(group))
        _group_of[item.nodeid] = group
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker: tell the controller the groups
        path = groups_file(os.getppid())
        path.parent.mkdir(exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(_group_of), encoding="utf-8")
        temporary.replace(path)  # every worker collects the same tests: the same file
    weights = group_weights(_group_of, known_seconds())
    # A stable sort: tests keep their order within a group, and groups of equal weight theirs.
    items.sort(key=lambda item: -weights.get(_group_of[item.nodeid], 0.0))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add up how long each test took in this process."""
    if report.nodeid in _group_of:
        _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Merge this process's timings into the checkout's file (each xdist worker does so)."""
    groups_file(os.getpid()).unlink(missing_ok=True)  # the controller's, if it never read it
    if not _seconds:
        return
    SECONDS_FILE.parent.mkdir(exist_ok=True)
    with open(SECONDS_FILE.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the workers finish at about the same time
        merged = {**known_seconds(), **{k: round(v, 2) for k, v in _seconds.items()}}
        temporary = SECONDS_FILE.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(merged, sort_keys=True), encoding="utf-8")
        temporary.replace(SECONDS_FILE)


@pytest.hookimpl(optionalhook=True)  # `-p no:xdist` runs without the hook's plugin
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadgroup`, hand out whole groups as tests/scheduling.py names them."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """xdist's module-at-a-time scheduling, with our groups as the units."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            """Return the test's group, as the workers wrote it when they had collected."""
            if self.groups is None:
                path = groups_file(os.getpid())
                self.groups = json.loads(path.read_text(encoding="utf-8"))
                path.unlink(missing_ok=True)
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)
