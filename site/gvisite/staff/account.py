"""The logged-in member of staff's own account: the list of their sessions, and ending them."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import SessionEnd, StaffSession
from .audit import audit
from .browsers import describe
from .forms import SimpleForm
from .sessions import current_session, end_session, end_sessions, row_expiry

# Any logged-in account may manage its own logins, whatever its role: area.py's guard is enough.
bp = Blueprint("account", __name__, url_prefix="/staff")
OTHERS = "others"  # the form value that ends every session but this one


def open_sessions() -> list[StaffSession]:
    """Return the logged-in account's open sessions, the latest active first."""
    query = (
        select(StaffSession)
        .where(StaffSession.user_id == current_user.id, StaffSession.ended_at.is_(None))
        .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
    )
    return list(db.session.scalars(query))


@bp.get("/sessioner")
def sessions() -> str:
    """List where this account is logged in, with a button to end each other session."""
    this = current_session()
    # A session that timed out stays open in the table until it is next used; not shown.
    shown = [row for row in open_sessions() if row is this or row_expiry(row) is None]
    return render_template(
        "staff/sessions.html",
        sessions=shown,
        this=this,
        describe=describe,
        form=SimpleForm(),
        others=OTHERS,
    )


@bp.post("/sessioner")
def end_sessions_view() -> Response:
    """End one other session of this account, or all the others (audited, by row id only)."""
    form = SimpleForm()
    if not form.validate_on_submit():
        abort(400)
    if form.value.data == OTHERS:
        count = end_sessions(current_user.id, SessionEnd.ENDED_BY_USER, keep=current_session())
        audit("end-other-sessions", str(count), current_user)
        message = _("Your other logins were ended.")
    else:
        row = _own_other_session(form.value.data or "")
        end_session(row, SessionEnd.ENDED_BY_USER)
        audit("end-session", str(row.id), current_user)
        message = _("The login was ended.")
    db.session.commit()
    flash(message)
    return redirect(url_for("account.sessions"), code=303)


def _own_other_session(value: str) -> StaffSession:
    """Return another open session of this account by its id, or answer 400."""
    # Only a plain number fits the id column (PostgreSQL refuses one over 64 bits).
    known = value.isascii() and value.isdigit() and len(value) < 19
    row = db.session.get(StaffSession, int(value)) if known else None
    if (
        row is None
        or row.user_id != current_user.id
        or row.ended_at is not None
        or row is current_session()
    ):
        abort(400)
    return row


def init_app(app: Flask) -> None:
    """Register the account pages."""
    app.register_blueprint(bp)
