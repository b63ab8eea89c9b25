"""Rate-limit counters in the site's own database, shared by every worker and server.

Flask-Limiter keeps its counts in RATELIMIT_STORAGE_URI. `memory://` counts per process, so
with several gunicorn workers an attacker simply gets each worker's allowance; Redis is the
usual answer. Where there is no Redis, `database://` (the default) keeps the counts in the
`rate_limits` table, next to the cases, with the same fixed windows.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, cast

from flask import current_app
from limits.storage import Storage
from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .database import changed_rows
from .extensions import db
from .models import RateLimitCounter

# A mapped class with a __tablename__ has a Table, which DeclarativeBase types as any FromClause.
_TABLE = cast(Table, RateLimitCounter.__table__)


def _row(key: str) -> str:
    """Return the stored name of a counter: a hash, so no address or account is kept in clear."""
    # A key holds what a client typed (a NUL, say, which PostgreSQL refuses in text).
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _upsert(dialect: str) -> Any:
    """Return the dialect's INSERT that can add to a counter on conflict."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(_TABLE)


class DatabaseStorage(Storage):
    """A fixed-window counter store over the app's database (scheme `database://`)."""

    STORAGE_SCHEME = ["database"]  # noqa: RUF012  (limits reads it as a class attribute)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self) -> type[Exception]:
        """Tell `limits` what a failing store raises."""
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add to a counter, starting a new window if the old one ran out; return the count."""
        now, engine, name = time.time(), db.engine, _row(key)
        row = _TABLE.c.key == name
        insert = _upsert(engine.dialect.name).values(
            key=name, count=amount, expires_at=now + expiry
        )
        add = insert.on_conflict_do_update(
            index_elements=[_TABLE.c.key], set_={"count": _TABLE.c.count + amount}
        )
        with engine.begin() as connection:  # its own transaction: never the request's
            connection.execute(delete(_TABLE).where(row, _TABLE.c.expires_at <= now))
            connection.execute(add)
            return int(connection.execute(select(_TABLE.c.count).where(row)).scalar_one())

    def decr(self, key: str, amount: int = 1) -> int:
        """Take from a counter (not below zero); return the count."""
        with db.engine.begin() as connection:
            connection.execute(
                update(_TABLE)
                .where(_TABLE.c.key == _row(key))
                .values(count=_TABLE.c.count - amount)
            )
        return self.get(key)

    def get(self, key: str) -> int:
        """Return a counter's value in its current window (0 if none)."""
        with db.engine.connect() as connection:
            value = connection.execute(
                select(_TABLE.c.count).where(
                    _TABLE.c.key == _row(key), _TABLE.c.expires_at > time.time()
                )
            ).scalar()
        return max(0, int(value or 0))

    def get_expiry(self, key: str) -> float:
        """Return when a counter's window ends (now, if it has none)."""
        with db.engine.connect() as connection:
            value = connection.execute(
                select(_TABLE.c.expires_at).where(_TABLE.c.key == _row(key))
            ).scalar()
        return float(value) if value is not None else time.time()

    def check(self) -> bool:
        """Tell whether the database answers."""
        try:
            with db.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter."""
        with db.engine.begin() as connection:
            return connection.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        """Forget one counter."""
        with db.engine.begin() as connection:
            connection.execute(delete(_TABLE).where(_TABLE.c.key == _row(key)))


def forget_expired() -> int:
    """Delete counters whose window ran out (the purge calls it)."""
    result = db.session.execute(delete(_TABLE).where(_TABLE.c.expires_at <= time.time()))
    current_app.logger.debug("rate limits: %d expired counters deleted", changed_rows(result))
    return changed_rows(result)
