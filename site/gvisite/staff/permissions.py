"""What each staff role may do, and the one check of it: the `require` decorator and `can`.

Modelled on GOV.UK Notify's `user_has_permissions`: views name the permission they need,
and only this module knows which roles hold it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, request
from flask_login import current_user

from ..extensions import db
from ..models import Role, StaffUser
from .audit import audit


class Permission:
    """The things a member of staff may be allowed to do."""

    HANDLE = "handle"  # the inbox, the case pages and their actions, the statistics
    EXPORT = "export"  # download every case, personal data included
    AUDIT_LOG = "audit_log"  # read who did what


PERMISSIONS: dict[str, frozenset[str]] = {
    Role.HANDLER: frozenset({Permission.HANDLE}),
    Role.ADMIN: frozenset({Permission.HANDLE, Permission.EXPORT, Permission.AUDIT_LOG}),
}


def may(user: StaffUser | Any, permission: str) -> bool:
    """Tell whether an account (or the anonymous user) has a permission."""
    if not getattr(user, "is_authenticated", False):
        return False
    return permission in PERMISSIONS.get(user.role, frozenset())


def can(permission: str) -> bool:
    """Tell whether the logged-in member of staff has a permission (a template global)."""
    return may(current_user, permission)


def require(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer 403 to anyone whose role lacks the permission (after the login check)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not can(permission):
                # Logged and kept: a handler probing admin pages is worth an administrator's look.
                actor = current_user if current_user.is_authenticated else None
                audit("forbidden", request.endpoint, actor, level=logging.WARNING)
                db.session.commit()
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
