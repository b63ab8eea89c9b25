"""The audit log: who viewed, changed, replied to, exported or purged what, by reference only."""

from __future__ import annotations

from sqlalchemy import Select, select

from ..extensions import db
from ..models import AuditEntry, StaffUser


def audit(action: str, target: str | None = None, actor: StaffUser | None = None) -> None:
    """Add a line to the audit log: the actor (None for the system), the action, a reference."""
    db.session.add(AuditEntry(actor_id=actor.id if actor else None, action=action, target=target))


def newest_first() -> Select[tuple[AuditEntry]]:
    """Return the audit log's query, newest line first."""
    return select(AuditEntry).order_by(AuditEntry.id.desc())
