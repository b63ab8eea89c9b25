"""The audit log: who viewed, changed, replied to, exported or purged what, by reference only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..feedback.followup import RESIDENT_ACTIONS
from ..models import AuditEntry, CaseEvent, StaffUser


def audit(action: str, target: str | None = None, actor: StaffUser | None = None) -> None:
    """Add a line to the audit log: the actor (None for the system), the action, a reference."""
    db.session.add(AuditEntry(actor_id=actor.id if actor else None, action=action, target=target))


def newest_first() -> Select[tuple[AuditEntry]]:
    """Return the audit log's query, newest line first."""
    return select(AuditEntry).order_by(AuditEntry.id.desc())


def _audit_residents(session: Session, _context: Any, _instances: Any) -> None:
    """Give what a resident did on the status page its audit line, as staff actions get."""
    for obj in list(session.new):
        # Staff actions (handling.record) carry their actor and are audited there.
        if isinstance(obj, CaseEvent) and obj.actor_id is None and obj.action in RESIDENT_ACTIONS:
            audit(obj.action, obj.case.reference, None)


def audit_residents() -> None:
    """Audit residents' changes to their cases from now on (once, however many apps exist)."""
    if not event.contains(db.session, "before_flush", _audit_residents):
        event.listen(db.session, "before_flush", _audit_residents)
