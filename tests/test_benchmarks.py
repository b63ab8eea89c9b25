"""The benchmarks still measure what they say: each staff page they time answers 200."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from tests.conftest import keep_logging

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_inbox_benchmark_reaches_every_page_it_times(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One round per page over the full 10,000 cases: a page that fails stops `make bench`."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    inbox = runpy.run_path(str(BENCHMARKS / "inbox.py"))
    main = inbox["main"]
    main.__globals__["ROUNDS"] = 1
    with keep_logging():  # its migrations' fileConfig would log into this test's captured stderr
        main()
    printed = capsys.readouterr().out
    for name in inbox["PAGES"]:
        assert f"\n{name} " in printed, f"{name} was not timed"


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_every_benchmark_compiles(script: Path) -> None:
    """`make bench` runs them all: one that does not even compile stops it at that one."""
    compile(script.read_text(encoding="utf-8"), str(script), "exec")
