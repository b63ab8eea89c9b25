"""Make every page's other formats ahead of time: `flask formats build` (cli.py) runs `build`.

A file is rebuilt only when what it is made from changed: its key hashes the page's content,
the versions of the tools that make it and this code. Conversions that wait on other programs
(espeak-ng + lame, liblouis, pandoc) run in a thread pool, while the PDFs (WeasyPrint, pure
Python) are made on the main thread, so two cores are busy.

`flask formats build` builds by hand; the running site keeps them current by itself (see
refresh.py). A lock file in FORMATS_DIR lets only one process build at a time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

from flask import Flask

from ..i18n import LOCALES
from ..pages import reading, sentences
from ..progress import Track, unchanged
from .catalogue import ALL_FILES, COMPANIONS, FORMATS
from .convert import LARGE_PRINT_CSS, PACKAGE, Prepared, prepare, tool_versions
from .lexicon import Lexicon, app_lexicon
from .sandbox import sandboxed_for
from .source import ARTICLE_TEMPLATE, CONTACT_TEMPLATE, Source, render_source, source_names
from .speech import SPEECH_TOOLS
from .store import Store, store, write_atomic

HERE = Path(__file__).parent


@cache
def code_version() -> str:
    """Hash this code, its templates and stylesheet: a change to any rebuilds every file."""
    digest = hashlib.sha256()
    # What a file is made of besides its page: every module of this package (found by where
    # it is, not by a naming convention, so a new module counts), the templates the formats
    # render (their own, and the article partial that is their pages' text) and the stylesheet;
    # and the pages' reader, which reads a page's HTML into the blocks the text formats write.
    templates = PACKAGE / "templates"
    paths = [
        *sorted(HERE.glob("*.py")),
        Path(reading.__file__),
        Path(sentences.__file__),  # the spans the recordings' timings and the book's text name
        *sorted((templates / "formats").glob("*")),
        templates / ARTICLE_TEMPLATE,
        templates / CONTACT_TEMPLATE,
        templates / "_macros" / "quick_exit.html",  # in the large-print web page
        LARGE_PRINT_CSS,
    ]
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_key(
    source: Source, key: str, versions: dict[str, str | None], lexicon: Lexicon | None = None
) -> str:
    """Return what a file must have been built from to be current."""
    fmt = FORMATS[key]
    tools = [versions.get(name) or "" for name in (*fmt.tools, *fmt.optional_tools)]
    parts = [source.digest, key, *tools, code_version()]
    if fmt.reads and lexicon is not None:  # made from a recording: what the voice is told
        parts.append(lexicon.digest_for(source.locale))
    if key == "brf":
        parts.append(LOCALES[source.locale].braille_table)
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


# --- The build -----------------------------------------------------------------------------


class BuildBusy(Exception):
    """Another build is running on the same folder."""


@dataclass(frozen=True)
class Failure:
    """A file that could not be built: which one, and why."""

    locale: str
    name: str
    key: str | None  # the format; None when the page itself could not be rendered
    reason: str  # what the tool said, which may quote the page

    @property
    def where(self) -> str:
        """Name the file by page and format only: "sv/om-gvi mp3"."""
        return f"{self.locale}/{self.name}" + (f" {self.key}" if self.key else "")

    def __str__(self) -> str:
        """Return the failure as the command line prints it."""
        return f"{self.where}: {self.reason}"


@dataclass
class Report:
    """What a build did."""

    built: Counter[str] = field(default_factory=Counter)
    current: Counter[str] = field(default_factory=Counter)  # format: files already current
    skipped: Counter[str] = field(default_factory=Counter)  # format: pages, for a missing tool
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    sizes: Counter[str] = field(default_factory=Counter)  # format: bytes of all its files
    # format: seconds its conversions took (a Counter holds whole numbers only, by its types)
    busy: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def summary(self) -> list[str]:
        """Return the report as lines for the command line."""
        lines = [
            f"built {self.built.total()} file(s), {self.current.total()} already current, "
            f"{len(self.failed)} failed, in {self.seconds:.1f} s"
        ]
        for key in FORMATS:
            line = (
                f"  {key:<8} built {self.built[key]:>4}  total {self.sizes[key] / 1e6:8.2f} MB"
                f"  {self.busy[key]:7.1f} s"
            )
            if self.skipped[key]:
                line += f"  skipped {self.skipped[key]} (tool missing)"
            lines.append(line)
        return lines


@dataclass
class _Task:
    prepared: Prepared
    key: str
    build_key: str


@contextmanager
def build_lock(files: Store) -> Iterator[None]:
    """Hold the folder's build lock, shared by every process on it; BuildBusy if it is taken."""
    files.root.mkdir(parents=True, exist_ok=True)
    with open(files.root / ".build.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildBusy(f"another build is running in {files.root}") from exc
        yield  # closing the file releases the lock


def build(
    app: Flask, *, force: bool = False, jobs: int | None = None, track: Track = unchanged
) -> Report:
    """Build what is missing or stale in `FORMATS_DIR`; return what was done.

    `track` wraps the pages read and the files built (the command's progress bar).
    Raise SandboxUnavailable, before anything is built, if the tools cannot run in the sandbox
    and the operator has not allowed them to run without it.
    """
    sandboxed = sandboxed_for(app)
    files = store(app)
    with build_lock(files):
        return _build_locked(app, files, force, jobs, sandboxed, track)


def _build_locked(
    app: Flask, files: Store, force: bool, jobs: int | None, sandboxed: bool, track: Track
) -> Report:
    """Build with the folder locked."""
    started = time.monotonic()
    report = Report()
    versions = tool_versions()
    lexicon = app_lexicon(app)
    speaks = all(versions.get(tool) for tool in SPEECH_TOOLS)
    manifests: dict[tuple[str, str], dict[str, Any]] = {}
    tasks: list[_Task] = []
    for locale, name in track(source_names(app), "Reading the pages"):
        try:
            source = render_source(app, locale, name)
        except Exception as exc:  # one broken page must not stop the others
            report.failed.append(Failure(locale, name, None, f"cannot render the page: {exc}"))
            continue
        if source is None:
            continue
        manifest = dict(files.manifest(locale, name))
        manifests[(locale, name)] = manifest
        prepared: Prepared | None = None
        for key, fmt in FORMATS.items():
            if any(versions.get(tool) is None for tool in fmt.tools):
                report.skipped[key] += 1
                for gone in (key, *fmt.companions):
                    manifest.pop(gone, None)
                continue
            wanted = build_key(source, key, versions, lexicon)
            made = [fmt, *(COMPANIONS[other] for other in fmt.companions)]
            current = all(
                (manifest.get(each.key) or {}).get("key") == wanted
                and files.file(locale, name, each).is_file()
                for each in made
            )
            if not force and current:
                report.current[key] += 1
                continue
            prepared = prepared or prepare(app, source, sandboxed=sandboxed, speaks=speaks)
            if fmt.reads and prepared.speaks:
                prepared.will_read(fmt.reads)
            tasks.append(_Task(prepared, key, wanted))
    _convert_all(files, tasks, manifests, report, jobs, track)
    for (locale, name), manifest in manifests.items():
        if manifest != files.manifest(locale, name):
            files.write_manifest(locale, name, manifest)
        for key, entry in manifest.items():
            report.sizes[key] += int(entry["size"])
    _prune(files, set(source_names(app)))
    report.seconds = time.monotonic() - started
    return report


def _convert_all(
    files: Store,
    tasks: list[_Task],
    manifests: dict[tuple[str, str], dict[str, Any]],
    report: Report,
    jobs: int | None,
    track: Track,
) -> None:
    """Run the conversions: other programs' in threads, the PDFs meanwhile on this thread."""

    def finish(task: _Task, convert: Callable[[], tuple[bytes | dict[str, bytes], float]]) -> None:
        source = task.prepared.source
        manifest = manifests[(source.locale, source.name)]
        try:
            data, seconds = convert()
        except Exception as exc:  # report every failure, build the rest
            for gone in (task.key, *FORMATS[task.key].companions):
                manifest.pop(gone, None)
            report.failed.append(Failure(source.locale, source.name, task.key, str(exc)))
            return
        made = data if isinstance(data, dict) else {task.key: data}
        # The companions first: a recording is offered only once its timings are there too.
        for key in sorted(made, key=lambda k: k == task.key):
            write_atomic(files.file(source.locale, source.name, ALL_FILES[key]), made[key])
            manifest[key] = {
                "key": task.build_key,
                "content": source.digest,
                "size": len(made[key]),
                "etag": hashlib.sha256(made[key]).hexdigest()[:32],
            }
        report.built[task.key] += 1
        report.busy[task.key] += seconds

    workers = max(1, jobs or len(os.sched_getaffinity(0)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="formats") as pool:
        pending: list[tuple[_Task, Future[tuple[bytes | dict[str, bytes], float]]]] = [
            (task, pool.submit(_timed, task)) for task in tasks if FORMATS[task.key].in_thread
        ]
        # In the order they always finished: the PDFs here first, then the threads' results.
        steps: list[tuple[_Task, Callable[[], tuple[bytes | dict[str, bytes], float]]]] = [
            *((task, partial(_timed, task)) for task in tasks if not FORMATS[task.key].in_thread),
            *((task, future.result) for task, future in pending),
        ]
        for task, convert in track(steps, "Building the files"):
            finish(task, convert)


def _timed(task: _Task) -> tuple[bytes | dict[str, bytes], float]:
    """Convert, and say how long it took (the benchmark's time per format)."""
    started = time.perf_counter()
    data = FORMATS[task.key].convert(task.prepared)
    return data, time.perf_counter() - started


def _prune(files: Store, sources: set[tuple[str, str]]) -> None:
    """Delete the files of pages that no longer exist (and leftovers of stopped builds)."""
    # Longest first: "om-gvi.langsam.mp3" is om-gvi's slow recording, not a page "om-gvi.langsam".
    suffixes = sorted((*(fmt.suffix for fmt in ALL_FILES.values()), ".json"), key=len, reverse=True)
    for folder in files.root.iterdir():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            name = next((path.name[: -len(s)] for s in suffixes if path.name.endswith(s)), None)
            stale_temp = path.name.startswith(".") and path.name.endswith(".tmp")
            if stale_temp or (name is not None and (folder.name, name) not in sources):
                path.unlink(missing_ok=True)
