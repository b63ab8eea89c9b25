"""How every process learns that a public page's inputs changed: a stamp file they stat().

A built format changes the "Other formats" block of its page, a published or resolved problem
changes the statement. Each such change appends a byte to `FORMATS_DIR/.pages-changed` (the
folder every app server shares), so its size counts the changes even within one clock tick;
each process compares the file's inode, size and mtime per request (one stat(), microseconds).
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from ..extensions import db
from ..models import PublishedProblem

EXTENSION = "gvisite.prebuilt"  # where the app keeps its layer
WATCHED_MODELS = (PublishedProblem,)  # what the statement reads from the database
STAMP_NAME = ".pages-changed"
STAMP_ROTATE_BYTES = 64 * 1024  # one byte per change; started afresh past this
KEEP = "gvisite.prebuilt.keep"  # environ keys: the view may be kept; it was made incomplete
INCOMPLETE = "gvisite.prebuilt.incomplete"
_SESSION_CHANGED = "gvisite.prebuilt.changed"


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


def _flushed(session: Session, _context: UOWTransaction) -> None:
    """Remember that a transaction changed what a public page shows."""
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, WATCHED_MODELS) for obj in touched):
        session.info[_SESSION_CHANGED] = True


def _executed(state: ORMExecuteState) -> None:
    """Remember a bulk UPDATE or DELETE of a watched table (they skip the flush)."""
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in WATCHED_MODELS for mapper in state.all_mappers
    ):
        state.session.info[_SESSION_CHANGED] = True


def _committed(session: Session) -> None:
    """Once the change is saved (not before: a rebuild would read the old rows), say so."""
    if not session.info.pop(_SESSION_CHANGED, False) or not has_app_context():
        return
    layer = current_app.extensions.get(EXTENSION)
    if layer is not None:
        layer.changed_here()  # this process sees it even if the stamp cannot be written
    try:
        pages_changed(current_app.config["FORMATS_DIR"])
    except OSError:
        current_app.logger.exception("pre-built pages: cannot write the change stamp")


def _rolled_back(session: Session) -> None:
    """Forget a change that was not saved."""
    session.info.pop(_SESSION_CHANGED, None)


def watch_database() -> None:
    """Listen once per process to every session's flushes and commits."""
    for name, listener in (
        ("after_flush", _flushed),
        ("do_orm_execute", _executed),
        ("after_commit", _committed),
        ("after_rollback", _rolled_back),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
