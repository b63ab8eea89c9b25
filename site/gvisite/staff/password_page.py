"""The "Byt lösenord" page: a logged-in member of staff changes their own password."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Flask,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from limits import parse
from werkzeug.wrappers import Response

from ..extensions import db
from ..forms import error_summary
from ..models import SessionEnd
from .audit import audit
from .auth import verify_password
from .passwords import ChangePasswordForm, set_password
from .sessions import current_session, end_sessions
from .throttle import Attempt, CannotCount, count_failure, seconds_to_wait, uncounted

# Any logged-in account may change its own password, whatever its role: area.py guards it.
bp = Blueprint("password", __name__, url_prefix="/staff")


# Wrong current passwords per account, whatever the address: a stolen session must not guess
# it freely. Counted like the login's (throttle.py), and refused when it cannot be counted.
GUESS_LIMIT = parse("10 per 15 minutes")
RETRY_AFTER_SECONDS = 60


def _guesses() -> Attempt:
    """Return the counter of wrong current passwords for the logged-in account."""
    return Attempt(((GUESS_LIMIT, f"password-change:{current_user.get_id()}"),), trusted=True)


@bp.route("/losenord", methods=["GET", "POST"])
def change() -> str | Response:
    """Change the logged-in account's password: the current one first, the new one twice."""
    form = ChangePasswordForm()
    if form.is_submitted():
        try:
            wait = seconds_to_wait(_guesses())
        except CannotCount as exc:
            return _cannot_count(form, exc)
        if wait is not None:
            return _throttled(form, wait)
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
            try:
                count_failure(_guesses())
            except CannotCount as exc:
                return _cannot_count(form, exc)
            form.current.errors = [_("The current password is wrong.")]
    return _page(form)


def _page(form: ChangePasswordForm, refused: str | None = None, status: int = 200) -> Response:
    """Render the form with its errors (and why it was refused); no password is sent back."""
    errors = error_summary(form) + ([{"href": "#current", "text": refused}] if refused else [])
    form.clear()
    page = render_template("staff/password.html", form=form, errors=errors)
    return make_response(page, status)


def _throttled(form: ChangePasswordForm, wait: int) -> Response:
    """Refuse a try over the limit: 429, saying how long to wait."""
    audit("password-throttled", str(current_user.id), actor=current_user, level=logging.WARNING)
    db.session.commit()
    minutes = -(-wait // 60)
    text = _(
        "There have been too many wrong passwords. Try again in %(wait)s.",
        wait=ngettext("%(num)d minute", "%(num)d minutes", minutes),
    )
    response = _page(form, text, 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _cannot_count(form: ChangePasswordForm, error: CannotCount) -> Response:
    """Refuse a try that cannot be counted (fail closed): 503, and say so in the log."""
    uncounted("password-uncounted", str(current_user.id), error, actor=current_user)
    text = _(
        "Your password cannot be changed right now because of a technical fault. Try again in a "
        "few minutes."
    )
    response = _page(form, text, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    """Register the page."""
    app.register_blueprint(bp)
