"""Build time and size of every page's other formats, this code against an earlier commit.

Builds the whole site's formats from scratch into a temporary folder, once with the code of an
earlier commit (by default the last one before the read-along, issue #27) and once with this
checkout's, one after the other on the same machine, and prints side by side: the whole build,
seconds per page for each format, what 4,000 pages would take at that rate, and the sizes. Then
this checkout builds again, to show that a second run does no work.

    python benchmarks/formats.py                  # against BASELINE
    python benchmarks/formats.py --against HEAD~3
    python benchmarks/formats.py --against none   # this checkout only

Each build runs in a fresh process whose `gvisite` is that commit's (a git worktree on
PYTHONPATH), with the same tools, the same content (this checkout's) and the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
# The last commit before the read-along (timings, talking book, lexicon): the "before" of #27.
BASELINE = "e25e04a"
EXTRAPOLATE_TO = 4000  # pages: what a site that grew would build after a renderer upgrade


def measure(twice: bool) -> dict[str, Any]:
    """Build every page's formats from scratch in a fresh folder; return the figures."""
    import logging
    import shutil
    import time

    from flask_migrate import upgrade

    import gvisite
    from gvisite import create_app
    from gvisite.formats.build import build
    from gvisite.formats.catalogue import FORMATS
    from gvisite.formats.convert import tool_versions
    from gvisite.formats.source import source_names

    folder = Path(tempfile.mkdtemp(prefix="gvisite-formats-bench-"))
    try:
        app = create_app(
            {
                "INSTANCE_PATH": str(folder / "instance"),
                "SITE_URL": "http://127.0.0.1",
                "FORMATS_DIR": str(folder / "formats"),
                "CONTENT_DIR": str(PROJECT_ROOT / "content"),
            }
        )
        with app.app_context():
            logging.disable(logging.INFO)  # Alembic's migration log is not a figure
            upgrade()
            logging.disable(logging.NOTSET)
        started = time.monotonic()
        first = build(app)
        figures: dict[str, Any] = {
            "code": str(Path(gvisite.__file__).parent),
            "pages": len(source_names(app)),
            "missing": [name for name, version in tool_versions().items() if version is None],
            "seconds": first.seconds,
            "wall": time.monotonic() - started,
            "formats": {
                key: {
                    "built": first.built[key],
                    "busy": first.busy[key],
                    "bytes": first.sizes[key],
                }
                for key in FORMATS
            },
            "bytes": sum(first.sizes.values()),
            "failed": [str(failure) for failure in first.failed],
        }
        if twice:
            second = build(app)
            figures["again"] = {"seconds": second.seconds, "built": second.built.total()}
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_code(code: Path, twice: bool) -> dict[str, Any]:
    """Run `measure` in a fresh process on the `gvisite` package under `code`."""
    environment = {**os.environ, "PYTHONPATH": f"{code / 'site'}{os.pathsep}{code}"}
    said = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", *(["--twice"] * twice)],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(said.stdout.strip().splitlines()[-1])
    return figures


def compile_translations(code: Path) -> None:
    """Compile a checkout's catalogs (the .mo files are built, not kept in git)."""
    pybabel = Path(sys.executable).with_name("pybabel")
    for catalog in sorted((code / "translations").glob("*/LC_MESSAGES/messages.po")):
        subprocess.run(
            [
                str(pybabel),
                "compile",
                "-f",
                "-i",
                str(catalog),
                "-o",
                str(catalog.with_suffix(".mo")),
            ],
            check=True,
            capture_output=True,
        )


def per_page(figures: dict[str, Any], key: str) -> float | None:
    """Return a format's converting seconds per page built, or None if it was not built."""
    entry = figures["formats"].get(key)
    if not entry or not entry["built"]:
        return None
    return float(entry["busy"]) / int(entry["built"])


def cell(value: float | None, unit: str = "s", width: int = 10) -> str:
    """Write a figure, or a dash where there is none."""
    return f"{'-' if value is None else f'{value:.2f} {unit}':>{width}}"


def report(before: dict[str, Any] | None, after: dict[str, Any], against: str) -> None:
    """Print the figures side by side."""
    pages = after["pages"]
    cores = len(os.sched_getaffinity(0))
    missing = after["missing"] or "none"
    print(f"{pages} pages and statements, {cores} core(s); missing tools: {missing}")
    runs = [(f"before ({against})", before)] if before else []
    runs.append(("after (this checkout)", after))
    for label, figures in runs:
        print(f"  {label}: {figures['code']}")
    print()
    print(f"{'':<26}" + "".join(f"{label.split()[0]:>12}" for label, _ in runs))
    print(f"{'whole build':<26}" + "".join(f"{cell(f['seconds'], width=12)}" for _, f in runs))
    print(
        f"{'  per page':<26}" + "".join(f"{cell(f['seconds'] / pages, width=12)}" for _, f in runs)
    )
    scaled = [f["seconds"] / pages * EXTRAPOLATE_TO / 60 for _, f in runs]
    print(f"{f'  {EXTRAPOLATE_TO:,} pages':<26}" + "".join(cell(m, "min", 12) for m in scaled))
    print(
        f"{'size of every file':<26}" + "".join(cell(f["bytes"] / 1e6, "MB", 12) for _, f in runs)
    )
    print("\nconverting seconds per page, by format (threads run side by side: these add up to")
    print("more than the whole build)")
    keys = list(after["formats"])
    for key in keys:
        row = "".join(cell(per_page(f, key), width=12) for _, f in runs)
        sizes = "".join(
            cell((f["formats"].get(key) or {}).get("bytes", 0) / 1e6, "MB", 11) for _, f in runs
        )
        print(f"  {key:<24}{row}   {sizes}")
    for _, figures in runs:
        for failure in figures["failed"]:
            print(f"  failed: {failure}")
    if before:
        ratio = after["seconds"] / before["seconds"]
        verdict = "no longer" if ratio <= 1 else "LONGER"
        print(f"\nafter / before: {ratio:.2f} (the whole build takes {verdict} than before)")
    if "again" in after:
        print(
            f"second build: {after['again']['seconds']:.2f} s, "
            f"{after['again']['built']} files built"
        )


def main() -> None:
    """Measure the earlier commit and this checkout, one after the other; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=BASELINE, help="a commit, or 'none'")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--twice", action="store_true", help=argparse.SUPPRESS)
    options, _ = parser.parse_known_args()  # `make bench` runs this with its own arguments
    if options.measure:
        print(json.dumps(measure(options.twice)))
        return
    before = None
    if options.against != "none":
        with tempfile.TemporaryDirectory(prefix="gvisite-formats-before-") as folder:
            worktree = Path(folder) / "before"
            subprocess.run(
                ["git", "-C", str(PROJECT_ROOT), "worktree", "add", "--detach", "--quiet",
                 str(worktree), options.against],
                check=True,
            )  # fmt: skip
            try:
                compile_translations(worktree)
                before = measure_code(worktree, twice=False)
            finally:
                subprocess.run(
                    ["git", "-C", str(PROJECT_ROOT), "worktree", "remove", "--force",
                     str(worktree)],
                    check=False,
                )  # fmt: skip
    after = measure_code(PROJECT_ROOT, twice=True)
    report(before, after, options.against)


if __name__ == "__main__":
    main()
