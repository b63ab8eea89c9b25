"""Progress for the long commands: Click's own bar on a terminal, nothing at all elsewhere.

A function that loops over slow work takes a `track` (default `unchanged`); its command passes
`progress`. Logs, cron mail and CI see exactly the output they saw before: the bar is drawn
only when standard error is a terminal, and on standard error, so `flask cases export > file`
still shows it while the file gets the data alone.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Iterator
from typing import Protocol, TypeVar

import click

T = TypeVar("T")


class Track(Protocol):
    """Wrap the items a loop is about to work through, under a label."""

    def __call__(self, items: Collection[T], label: str) -> Iterable[T]: ...


def unchanged(items: Collection[T], label: str) -> Iterable[T]:
    """Return the items as they are: the default of every `track` (no bar, no label)."""
    return items


def on_terminal() -> bool:
    """Tell whether standard error, where the bar goes, is a terminal."""
    # Click's progressbar hides its bar elsewhere but still prints its label: decide here.
    return sys.stderr is not None and sys.stderr.isatty()


def progress(items: Collection[T], label: str) -> Iterable[T]:
    """Return the items with Click's progress bar on a terminal, else unchanged."""
    if not items or not on_terminal():
        return items
    return _bar(items, label)


def _bar(items: Collection[T], label: str) -> Iterator[T]:
    """Yield the items while the bar counts them."""
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield from bar
