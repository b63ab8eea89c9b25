"""How long the copy of every public page takes, and what writing it costs the running site.

nginx serves the copy while no app server answers (site/gvisite/prebuilt/copy.py). It is
written by `flask deploy nginx` and, after every public change, by the refresher's child
process. This times the refresher's way: a fresh process that starts the app and writes the
whole copy (`python -m` the child, as refresh.py runs it), for the shipped content and for the
shipped content with 4,000 more pages (benchmarks/startup.py's generated pages). Then it
serves the shipped site with gunicorn (2 workers) and measures pages per second with wrk,
without a copy being written and while one copy after another is written beside it.

    python benchmarks/pagecopy.py [--seconds 8] [--skip-4000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from serving import free_port, gunicorn, running, wrk  # noqa: E402
from startup import make_content  # noqa: E402

# The refresher's child (formats/refresh.py `_COPY_CHILD`), timed from start to end.
CHILD = "from gvisite import create_app; from gvisite.prebuilt.copy import child; child(create_app)"
PAGE = "/sv/"


def settings(folder: Path, content: Path | None) -> dict[str, Any]:
    """Return the app's settings for a site in `folder` (its own database, copy and caches)."""
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": "benchmark-only",
        "SITE_URL": "http://127.0.0.1",
        "FORMATS_DIR": str(folder / "formats"),
        "FORMATS_REFRESH_SECONDS": 0,
    }
    if content is not None:
        config["CONTENT_DIR"] = str(content)
    return config


def migrate(config: dict[str, Any]) -> None:
    """Create the database, and the render cache as a started site has it."""
    environment = {**os.environ, **{key: str(value) for key, value in config.items()}}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=environment, check=True, capture_output=True, timeout=900,
    )  # fmt: skip


def copy_once(config: dict[str, Any]) -> tuple[float, int]:
    """Write a whole copy in a fresh process, as the refresher does; return (seconds, pages)."""
    link = Path(config["FORMATS_DIR"]) / "pages-copy"
    if link.is_symlink():
        link.unlink()  # a copy is written only when it is missing or stale: force a whole one
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(config), text=True, cwd=ROOT,
        capture_output=True, check=True, timeout=1800,
    )  # fmt: skip
    seconds = time.monotonic() - started
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, int(report.get("pages", 0))


def timed_copies(name: str, folder: Path, content: Path | None) -> None:
    """Print the time of a first copy (after the app's first start) and of a second one."""
    config = settings(folder, content)
    migrate(config)
    first, pages = copy_once(config)
    second, _ = copy_once(config)
    print(
        f"  {name:28} {pages:6,} pages  first {first:6.1f} s  again {second:6.1f} s"
        f"  ({pages / second:5.0f} pages/s)"
    )


def pages_per_second_while_copying(seconds: float) -> None:
    """Serve the shipped site and measure it without, then beside, copies being written."""
    folder = Path(tempfile.mkdtemp(prefix="gvisite-pagecopy-serve-"))
    try:
        config = settings(folder, None)
        migrate(config)
        environment = {**os.environ, **{key: str(value) for key, value in config.items()}}
        port = free_port()
        url = f"http://127.0.0.1:{port}{PAGE}"
        with running(gunicorn("wsgi:app", port, ROOT), url, env=environment):
            wrk(url, 1)  # warm: every worker has kept the page
            alone, _ = wrk(url, seconds)
            stop = threading.Event()
            copies = []

            def copying() -> None:
                while not stop.is_set():
                    copies.append(copy_once(config)[0])

            writer = threading.Thread(target=copying)
            writer.start()
            try:
                beside, _ = wrk(url, seconds)
            finally:
                stop.set()
                writer.join()
        print(
            f"  {PAGE} served by the app (gunicorn, 2 workers), wrk {seconds:g} s each:"
            f" {alone:,.0f} pages/s alone, {beside:,.0f} pages/s while {len(copies)}"
            f" copies were written ({beside / alone:.0%})"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    """Time the copies and their cost, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk's time per turn")
    parser.add_argument("--skip-4000", action="store_true", help="only the shipped content")
    args, _names = parser.parse_known_args()
    print("The copy nginx serves while no app server answers, written as the refresher does:")
    with tempfile.TemporaryDirectory(prefix="gvisite-pagecopy-") as folder:
        timed_copies("shipped content", Path(folder) / "shipped", None)
        if not args.skip_4000:
            content = make_content(Path(folder))  # 1,000 more pages in each locale
            timed_copies("with 4,000 more pages", Path(folder) / "grown", content)
    if shutil.which("wrk"):
        pages_per_second_while_copying(args.seconds)
    else:
        print("  wrk is not installed (make bench installs it): the cost was not measured")


if __name__ == "__main__":
    main()
