"""Database set-up: SQLite by default (WAL), PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any, cast

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result, make_url
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db, migrate

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# The tables an erasure rewrites: their old row versions are what a database keeps longest.
ERASED_TABLES = ("cases", "case_events", "receipts", "outbox")
# How long a VACUUM after an erasure waits for a lock before it leaves the work to autovacuum.
VACUUM_LOCK_TIMEOUT = "2s"
BUSY_TIMEOUT_MS = 10000  # how long a SQLite write waits for another
CHECKPOINT_WAIT_MS = 2000  # how long emptying the WAL after an erasure waits for readers
PRIVATE_FILE = 0o600  # the database and its WAL: for the app's user only
PRIVATE_FOLDER = 0o700


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout for every SQLite connection."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Deleted and overwritten content is zeroed, not left in free space for `strings`.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()
        # SQLite's lower() folds ASCII alone; PostgreSQL's folds Å and Ö too, and so must ours
        # (the staff's search finds "åsa" in "Åsa Öberg" on either database).
        connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    """Lower-case a text as PostgreSQL does (anything else unchanged), for SQLite."""
    return value.lower() if isinstance(value, str) else value


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite database address, or None (another database, in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in {None, "", ":memory:"}:
        return None
    return Path(parsed.database)


def private_folder(path: Path) -> Path:
    """Create a folder for the app's user only (0700), or tighten one others could read."""
    path.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)  # the umask may widen nothing
    _tighten(path, PRIVATE_FOLDER)
    return path


def private_file(path: Path) -> None:
    """Create an empty file for the app's user only (0600), or tighten one that exists."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    except OSError as exc:  # read-only: SQLite will say so more clearly
        log.warning("cannot create %s: %s", path, exc.strerror)
    _tighten(path, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    """Take away what group and others may do with a file or folder of ours."""
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except FileNotFoundError:
        return
    except OSError as exc:  # not ours: the operator set it up, say so and go on
        log.warning("cannot make %s private: %s", path, exc.strerror)


def keep_private(path: Path) -> None:
    """Make the SQLite file and its companions the app's user's only, before SQLite opens it."""
    # A folder of the operator's choosing (even /tmp) is only created, never changed.
    path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    # Created here, not by SQLite (0644 less umask): its WAL and -shm take this file's mode.
    private_file(path)
    for companion in ("-wal", "-shm", "-journal"):
        _tighten(Path(f"{path}{companion}"), PRIVATE_FILE)


def init_database(app: Flask) -> None:
    """Bind SQLAlchemy and Alembic (Flask-Migrate) to the app."""
    path = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is not None:
        keep_private(path)
    db.init_app(app)
    # Batch mode lets later migrations alter SQLite tables (it has no ALTER for constraints).
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)


def changed_rows(result: Result[Any]) -> int:
    """Return how many rows an UPDATE or DELETE run through the session changed."""
    # Session.execute is typed to return any Result; for these it is a CursorResult, which counts.
    return cast(CursorResult[Any], result).rowcount


def discard_session() -> None:
    """Roll back after a database error, even when the connection itself is gone."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()  # a fresh session (and connection) for the next request


def forget_old_versions() -> None:
    """After an erasure, shorten how long the database keeps the erased rows' old versions."""
    # SQLite keeps them in the WAL until a checkpoint (secure_delete zeroes the file itself);
    # PostgreSQL in dead rows until VACUUM. Neither runs inside a transaction. If another
    # process holds them back, they go at the next erasure (or autovacuum): never an error.
    engine = db.engine
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if engine.dialect.name == "sqlite":
                # Readers hold it back: wait for them briefly, not a whole busy_timeout.
                connection.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
                busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
                connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                if busy:
                    log.warning("erasure: the SQLite WAL is in use; it is emptied next time")
            elif engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SET lock_timeout = '{VACUUM_LOCK_TIMEOUT}'")
                connection.exec_driver_sql("VACUUM " + ", ".join(ERASED_TABLES))
                connection.exec_driver_sql("RESET lock_timeout")
    except SQLAlchemyError as exc:
        log.warning("erasure: old row versions are left to autovacuum (%s)", type(exc).__name__)
