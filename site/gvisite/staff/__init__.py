"""The staff area: logging in, the inbox, handling a case, reports, and its `flask` commands.

Nothing outside this package imports it: the public site works without it, and the
published problems the statement shows are read by `statement.py` itself.
"""

from __future__ import annotations

from flask import Flask

from . import account, area, auth, cli, mfa_pages, passkeys, password_page, sso, views
from .audit import audit_residents


def init_app(app: Flask) -> None:
    """Register the area's guard, logging in, the staff and account pages, the commands."""
    area.init_app(app)
    auth.init_app(app)
    sso.init_app(app)
    views.init_app(app)
    account.init_app(app)
    password_page.init_app(app)
    mfa_pages.init_app(app)
    passkeys.init_app(app)
    cli.init_app(app)
    audit_residents()  # the public status page cannot import the audit log, so it is watched
