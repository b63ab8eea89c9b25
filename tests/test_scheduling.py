"""How `make test` shares the suite between xdist workers (tests/scheduling.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

import pytest

from tests.helpers import PROJECT_ROOT
from tests.scheduling import EXPECTED_SECONDS, group_weights, known_seconds


def test_every_test_of_the_built_site_runs_in_one_of_its_two_groups(
    request: pytest.FixtureRequest,
) -> None:
    """Split over more workers, the built site's server would be started by each of them, on
    the one port its pages name; the tests of its files alone run beside it, on one more."""
    groups = {"built-site": 0, "built-formats": 0}
    for item in request.session.items:
        marks = [m.args[0] for m in item.iter_markers("xdist_group")]
        assert len(marks) == 1, item.nodeid
        if "built_live_server" in item.fixturenames:
            assert marks == ["built-site"], item.nodeid
        elif "built_formats" in item.fixturenames:
            assert marks == ["built-formats"], item.nodeid
        if marks[0] in groups:
            groups[marks[0]] += 1
    if len(request.session.items) > 1000:  # the whole suite: both groups have their tests
        assert all(groups.values()), groups


def test_groups_go_longest_first_by_the_last_run_else_by_the_list() -> None:
    groups = {"a::1": "tests.a", "a::2": "tests.a", "b::1": "tests.test_soak", "c::1": "tests.c"}
    assert group_weights(groups, {}) == {
        "tests.a": 0.0,
        "tests.test_soak": EXPECTED_SECONDS["tests.test_soak"],
        "tests.c": 0.0,
    }
    timed = group_weights(groups, {"a::1": 2.0, "a::2": 3.5, "c::1": 0.5})
    soak = EXPECTED_SECONDS["tests.test_soak"]
    assert timed == {"tests.a": 5.5, "tests.test_soak": soak, "tests.c": 0.5}


PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
PASSED_ON = re.compile(r"\[(gw\d+)\] \[ *\d+%\] PASSED (tests/\S+?\.py)::")


def test_the_groups_and_their_expected_seconds_are_a_figure(
    request: pytest.FixtureRequest, figures: list[str]
) -> None:
    """How the suite is shared out, in the summary of every run (and a figure from a worker)."""
    marks = {item.nodeid: item.get_closest_marker("xdist_group") for item in request.session.items}
    groups = {nodeid: str(mark.args[0]) for nodeid, mark in marks.items() if mark}
    weights = group_weights(groups, known_seconds())
    longest = max(weights, key=weights.__getitem__)
    figures.append(
        f"scheduling: groups={len(weights)}, expected_seconds={round(sum(weights.values()))}, "
        f"longest={longest} ({round(weights[longest])} s)"
    )
    assert len(groups) == len(request.session.items), "every test has its group"


def test_under_xdist_each_group_runs_on_one_worker() -> None:
    """Two modules of many tests, three workers: each module's tests all on one of them.

    The figures a worker records reach the summary the controller prints.
    """
    modules = ["tests/test_workdays.py", "tests/test_translations.py"]
    figure = "tests/test_scheduling.py::test_the_groups_and_their_expected_seconds_are_a_figure"
    xdist = ["-n", "3", "--dist", "loadgroup", "--no-loadscope-reorder"]
    run = subprocess.run(
        [*PYTEST, "-v", *xdist, *modules, figure],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    summary = run.stdout.split(" figures ", 1)[-1]
    assert re.search(r"^scheduling: groups=\d+", summary, re.MULTILINE), run.stdout[-3000:]
    workers = defaultdict(set)
    for worker, module in PASSED_ON.findall(run.stdout):
        workers[module].add(worker)
    assert set(workers) == {*modules, "tests/test_scheduling.py"}
    assert all(len(found) == 1 for found in workers.values()), dict(workers)
