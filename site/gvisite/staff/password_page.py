"""The "Byt lösenord" page: a logged-in member of staff changes their own password."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..extensions import db, limiter
from ..forms import error_summary
from ..models import SessionEnd
from ..security import private
from .audit import audit
from .auth import current_session, end_sessions, enforce_idle_timeout, verify_password
from .passwords import ChangePasswordForm, set_password
from .permissions import Permission, require

bp = Blueprint("password", __name__, url_prefix="/staff")
bp.after_request(private)
bp.before_request(login_required(enforce_idle_timeout))  # a live, logged-in session


def _account_key() -> str:
    """Throttle guesses at the current password per account, not per address."""
    return f"password-change:{current_user.get_id()}"


def _guessed_wrong(response: Response) -> bool:
    """Count only wrong current passwords: a stolen session must not guess it freely."""
    return bool(g.get("wrong_current_password"))


@bp.route("/losenord", methods=["GET", "POST"])
@require(Permission.HANDLE)
@limiter.limit(
    "10 per 15 minutes", methods=["POST"], key_func=_account_key, deduct_when=_guessed_wrong
)
def change() -> str | Response:
    """Change the logged-in account's password: the current one first, the new one twice."""
    form = ChangePasswordForm()
    if form.is_submitted():
        valid = form.validate()
        typed = form.current.data
        right = bool(typed) and verify_password(current_user, typed)
        if valid and right:
            set_password(current_user, form.new.data)
            # Whoever else holds a session of this account (ASVS 3.3.3) is logged out now.
            end_sessions(current_user.id, SessionEnd.PASSWORD, keep=current_session())
            audit("password", str(current_user.id), actor=current_user)
            db.session.commit()
            flash(_("Your password has been changed."))
            return redirect(url_for("password.change"), code=303)
        if typed and not right:
            g.wrong_current_password = True
            form.current.errors = [_("The current password is wrong.")]
    errors = error_summary(form)
    form.clear()
    return render_template("staff/password.html", form=form, errors=errors)


def init_app(app: Flask) -> None:
    """Register the page."""
    app.register_blueprint(bp)
