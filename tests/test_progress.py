"""The long commands' progress: Click's bar on a terminal, and not one character anywhere else."""

from __future__ import annotations

import io
import sys

import pytest

from gvisite.progress import progress, unchanged


class Terminal(io.StringIO):
    """A standard error that says it is a terminal, and keeps what is drawn on it."""

    def isatty(self) -> bool:
        return True


def test_off_a_terminal_the_items_come_back_as_they_are_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    items = [1, 2, 3]
    assert progress(items, "Counting") is items
    assert unchanged(items, "Counting") is items
    assert capsys.readouterr() == ("", "")


def test_on_a_terminal_the_bar_counts_every_item(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress(["a", "b", "c"], "Counting")) == ["a", "b", "c"]
    drawn = terminal.getvalue()
    assert "Counting" in drawn and "100%" in drawn


def test_nothing_to_do_draws_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    items: list[int] = []
    assert progress(items, "Counting") is items
    assert terminal.getvalue() == ""
