"""Database set-up: SQLite by default (WAL), PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db, migrate

MIGRATIONS = Path(__file__).parent / "migrations"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout for every SQLite connection."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def init_database(app: Flask) -> None:
    """Bind SQLAlchemy and Alembic (Flask-Migrate) to the app."""
    db.init_app(app)
    # Batch mode lets later migrations alter SQLite tables (it has no ALTER for constraints).
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)


def discard_session() -> None:
    """Roll back after a database error, even when the connection itself is gone."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()  # a fresh session (and connection) for the next request
