"""Build time and size of every page's other formats (large print, audio, braille, text, EPUB).

Builds the whole site's formats from scratch into a temporary folder, prints the time it took
and the total size per format, then builds again to show that a second run does no work.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from flask_migrate import upgrade

from gvisite import create_app
from gvisite.formats.build import build
from gvisite.formats.catalogue import FORMATS
from gvisite.formats.convert import tool_versions
from gvisite.formats.source import source_names


def main() -> None:
    """Build twice into a fresh folder and print the figures."""
    folder = Path(tempfile.mkdtemp(prefix="gvisite-formats-bench-"))
    try:
        app = create_app(
            {
                "INSTANCE_PATH": str(folder / "instance"),
                "SITE_URL": "http://127.0.0.1",
                "FORMATS_DIR": str(folder / "formats"),
            }
        )
        with app.app_context():
            logging.disable(logging.INFO)  # Alembic's migration log is not a figure
            upgrade()
            logging.disable(logging.NOTSET)
        missing = [name for name, version in tool_versions().items() if version is None]
        pages = len(source_names(app))
        cores = len(os.sched_getaffinity(0))
        print(f"{pages} pages and statements, {cores} core(s); missing tools: {missing or 'none'}")
        first = build(app)
        print(f"from scratch: {first.seconds:.1f} s for {sum(first.built.values())} files")
        for key, fmt in FORMATS.items():
            total = first.sizes[key]
            average = total / max(1, first.built[key])
            print(
                f"  {fmt.suffix.lstrip('.'):<14} {first.built[key]:>4} files"
                f"  total {total / 1e6:8.2f} MB  average {average / 1e3:8.1f} kB"
                f"  converting {first.busy[key]:7.1f} s"
            )
        print(f"  all formats    total {sum(first.sizes.values()) / 1e6:8.2f} MB")
        for failure in first.failed:
            print(f"  failed: {failure}")
        second = build(app)
        print(
            f"second build: {second.seconds:.2f} s, {sum(second.built.values())} files built, "
            f"{second.current} already current"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
