"""How every process learns that a public page's inputs changed: a stamp file they stat().

A built format changes the "Other formats" block of its page (formats/store.py), a published
or resolved problem changes the statement (the `public_pages_changed` signal: prebuilt/). Each
such change appends a byte to `FORMATS_DIR/.pages-changed` (the folder every app server
shares), so its size counts the changes even within one clock tick; each process compares the
file's inode, size and mtime per request (one stat(), microseconds).
"""

from __future__ import annotations

from pathlib import Path

from flask import has_request_context, request

EXTENSION = "gvisite.prebuilt"  # where the app keeps its layer
STAMP_NAME = ".pages-changed"
STAMP_ROTATE_BYTES = 64 * 1024  # one byte per change; started afresh past this
KEEP = "gvisite.prebuilt.keep"  # environ keys: the view may be kept; it was made incomplete
INCOMPLETE = "gvisite.prebuilt.incomplete"


def stamp_file(folder: Path | str) -> Path:
    """Return the stamp file in a formats folder."""
    return Path(folder) / STAMP_NAME


def pages_changed(folder: Path | str) -> None:
    """Tell every process serving pre-built pages from this folder that their inputs changed."""
    path = stamp_file(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Appending makes the size a counter: a change is seen even within one clock tick.
    with path.open("ab") as stamp:
        stamp.write(b".")
        size = stamp.tell()
    if size > STAMP_ROTATE_BYTES:
        temporary = path.with_name(f"{STAMP_NAME}.tmp")
        temporary.write_bytes(b"")
        temporary.replace(path)  # a new file: its inode and size differ from the old one's


def dont_keep() -> None:
    """Keep the page being rendered out of the pre-built ones (an input could not be read)."""
    if has_request_context():
        request.environ[INCOMPLETE] = True
