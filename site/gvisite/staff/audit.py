"""The audit log: who viewed, changed, replied to, exported or purged what, by reference only.

Every line is also written to the `gvisite.staff.audit` logger, so the server's log shows it
(security events, such as failed logins, at WARNING). No line holds a password or an e-mail
address: an account someone tried to log in to is named by `account_tag`, a keyed hash.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..feedback.followup import RESIDENT_ACTIONS
from ..models import AuditEntry, CaseEvent, StaffUser

log = logging.getLogger(__name__)


def account_tag(email: str) -> str:
    """Name an account by a keyed hash of its address: matchable in the log, not reversible."""
    # Keyed with SECRET_KEY: without it, hashing a list of likely addresses finds nothing.
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else str(key).encode("utf-8")
    message = b"staff-account\0" + email.encode("utf-8", "surrogatepass")
    return "acct-" + hmac.new(key, message, hashlib.sha256).hexdigest()[:32]  # fits `target`


def audit(
    action: str,
    target: str | None = None,
    actor: StaffUser | None = None,
    level: int = logging.INFO,
) -> None:
    """Add a line to the audit log: the actor (None for the system), the action, a reference."""
    address = request.remote_addr if has_request_context() else None
    log.log(
        level,
        "audit: %s target=%s actor=%s address=%s",
        action,
        target or "-",
        actor.id if actor else "system",
        address or "-",
    )
    db.session.add(AuditEntry(actor_id=actor.id if actor else None, action=action, target=target))


def newest_first() -> Select[AuditEntry]:
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
