"""Ace by DAISY, the EPUB accessibility checker, over many books at once, its passes kept.

`tests/formats/ace.mjs` runs Ace's core (npm `@daisy/ace-core`, the library `ace-cli` wraps)
over every book in one Node process and one Chromium, Debian's, as the other browser tests use
it: a few seconds a book here. A book's result can only change with its bytes, Ace, the
Chromium that runs axe for it, or this checking code, so a pass is kept under a key of all of
them in `.cache/ace/` (checked_pages.py's `load` and `keep`) and that book is not checked again.
A failure is never kept: it is checked again on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests import checked_pages
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, PROJECT_ROOT, require_chromium, require_tool

SCRIPT = Path(__file__).with_name("ace.mjs")
PACKAGES = PROJECT_ROOT / "node_modules" / "@daisy"
FOLDER = PROJECT_ROOT / ".cache" / "ace"
# What the result depends on besides the book: Ace, the axe-core it runs, and how it is run.
ACE_PACKAGES = ("ace-core", "ace-axe-runner-puppeteer", "axe-core-for-ace")
SECONDS_PER_BOOK = 120  # a few here; a loaded machine's Chromium may take far longer


@dataclass(frozen=True)
class AceFailure:
    """One assertion Ace made about a book that failed."""

    document: str
    rule: str
    impact: str
    title: str

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}) in {self.document}: {self.title}"


def require_ace() -> str:
    """Require Node.js, Ace from npm and Chromium; return the path to `node`."""
    node = shutil.which("node")
    require_tool(node is not None, "Node.js")
    require_tool((PACKAGES / "ace-core").is_dir(), "Ace by DAISY (npm @daisy/ace-core)")
    require_chromium()
    assert node is not None
    return node


def ace_version() -> str:
    """Return the version of the installed Ace."""
    return str(json.loads((PACKAGES / "ace-core" / "package.json").read_bytes())["version"])


@cache
def run_key() -> str:
    """Return what every book's result depends on besides the book itself."""
    digest = hashlib.sha256()
    for package in ACE_PACKAGES:
        digest.update((PACKAGES / package / "package.json").read_bytes() + b"\0")
    for path in (SCRIPT, Path(__file__)):
        digest.update(path.read_bytes() + b"\0")
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, check=True)
    digest.update(chromium.stdout)
    return digest.hexdigest()


def book_key(book: Path) -> str:
    """Return the key of one book's check: the run's key and the book's bytes."""
    return hashlib.sha256(run_key().encode() + b"\0" + book.read_bytes()).hexdigest()


def ace_failures(books: Iterable[Path]) -> dict[Path, list[AceFailure]]:
    """Return what Ace finds failing in each book: kept passes are not checked again."""
    node = require_ace()  # even when every book passed before: it must be there to say so
    keys = {book: book_key(book) for book in books}
    found: dict[Path, list[AceFailure]] = {
        book: [] for book, key in keys.items() if checked_pages.load(key, FOLDER) is not None
    }
    unchecked = [book for book in keys if book not in found]
    if unchecked:
        for book, failures in run_ace(node, unchecked).items():
            found[book] = failures
            if not failures:
                result = {"book": book.name, "ace": ace_version(), "outcome": "pass"}
                checked_pages.keep(keys[book], result, FOLDER)
    return found


def run_ace(node: str, books: list[Path]) -> dict[Path, list[AceFailure]]:
    """Run Ace over the books in one Node process; return each book's failures."""
    environment = {
        **os.environ,
        "PUPPETEER_EXECUTABLE_PATH": CHROMIUM,
        "PUPPETEER_SKIP_DOWNLOAD": "1",
        # The tests' Chromium flags, but puppeteer says how headless; Ace adds --no-sandbox.
        "CHROMIUM_ARGS": json.dumps([arg for arg in CHROMIUM_ARGS if arg != "--headless"]),
        # Ace gives Chromium 5 s to start, too few for a loaded machine.
        "ACE_TIMEOUT_INITIAL": "60000",
    }
    with tempfile.TemporaryDirectory(prefix="gvisite-ace-") as folder:
        results = Path(folder) / "results.jsonl"
        finished = subprocess.run(
            [node, str(SCRIPT), str(results), *map(str, books)],
            cwd=PROJECT_ROOT, env=environment, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, timeout=60 + SECONDS_PER_BOOK * len(books),
            check=False,
        )  # fmt: skip
        lines = results.read_text(encoding="utf-8").splitlines() if results.exists() else []
    answers = [json.loads(line) for line in lines]
    by_book = {Path(answer["book"]): answer for answer in answers if "book" in answer}
    problem = f"Ace exited with {finished.returncode}: {finished.stderr[-3000:]}"
    assert finished.returncode == 0 and set(by_book) == set(books), problem
    errors = [f"{book.name}: {a['error']}" for book, a in by_book.items() if "error" in a]
    assert not errors, "Ace could not check:\n" + "\n".join(errors)
    return {book: book_failures(answer) for book, answer in by_book.items()}


def book_failures(answer: dict[str, Any]) -> list[AceFailure]:
    """Return a book's failures from its line of results; a failed outcome is never empty."""
    failures = [AceFailure(**failure) for failure in answer["failures"]]
    if answer["outcome"] != "pass" and not failures:
        failures.append(AceFailure("", "earl:outcome", "", answer["outcome"]))
    return failures
