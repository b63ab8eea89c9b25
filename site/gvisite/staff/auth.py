"""Staff accounts and logging in: argon2 hashes, throttling (throttle.py), logging out.

Each login starts a session row (sessions.py), which logging out ends on the server.
"""

from __future__ import annotations

import functools
import logging
import math

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField

from ..errors import RETRY_AFTER_SECONDS, error_templates
from ..extensions import db
from ..forms import CONTROL, PostedForm, Required, error_summary
from ..models import SecondFactor, SessionEnd, StaffUser
from ..security import split_url
from . import oidc, throttle
from .audit import account_tag, audit
from .sessions import current_session, end_session, start_session

hasher = PasswordHasher()
login_manager = LoginManager()
bp = Blueprint("auth", __name__, url_prefix="/staff")  # open pages: area.py guards the rest


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to verify against when the account does not exist: the same timing."""
    # Made on first use, not at import: every command and worker start would pay for it.
    return hasher.hash("not a real password")


class LoginForm(PostedForm):
    """E-mail address and password."""

    email = StringField(_l("Email address"), validators=[Required(_l("Enter your email address."))])
    password = PasswordField(_l("Password"), validators=[Required(_l("Enter your password."))])


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """Return the logged-in account, or None if it was deactivated or its session ended."""
    try:
        return _live_account(user_id)
    except SQLAlchemyError:
        # The 503 page that answers must not read the account again (Flask-Login's template
        # context would, and fail inside the error handler): anonymous for the rest of it.
        g._login_user = login_manager.anonymous_user()
        raise


def _live_account(user_id: str) -> StaffUser | None:
    """Return the active account whose open session this request's cookie holds."""
    user = db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None
    row = current_session()
    if user is None or not user.active or row is None or row.user_id != user.id:
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    """Send an anonymous visitor to the login page, remembering where they were going."""
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str:
    """Return the `next` target only if it stays on this site's staff area."""
    if not target:
        return url_for("staff.inbox")
    parts = split_url(target)
    unsafe = not parts or parts.scheme or parts.netloc or "\\" in target or CONTROL.search(target)
    if unsafe or not target.startswith("/staff"):
        return url_for("staff.inbox")  # a line break would end in a header: a 500, or worse
    return target


def verify_password(user: StaffUser | None, password: str) -> bool:
    """Check a password in about the same time whether or not the account exists."""
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


# Failed attempts are counted by `throttle`: per browser for a browser that logged in to the
# account before (its device cookie), else per address, per address and account, and per
# account. So strangers guessing from many addresses slow down guessing without locking out the
# owner's browser. If the counts cannot be kept, nobody logs in (the attempt would be free).
@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """Log a member of staff in, with a fresh session."""
    form = LoginForm()
    message, refused = None, []
    if request.args.get("timeout"):
        message = _("You were logged out because you were inactive. Log in again.")
    elif request.args.get("lifetime"):
        message = _(
            "You were logged out because you have been logged in for too long. Log in again."
        )
    if request.method == "POST" and not current_app.config["STAFF_PASSWORD_LOGIN"]:
        return _password_login_off(form)
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        tag = account_tag(email[:320])  # the account as the log names it: never the address
        try:
            attempt = throttle.attempt(tag)
            wait = throttle.seconds_to_wait(attempt)
        except throttle.CannotCount as exc:
            return _cannot_count(form, tag, exc)
        if wait is not None:
            return _throttled(form, tag, wait)
        # No account has a control character (PostgreSQL would refuse a NUL in the query).
        user = None
        if not CONTROL.search(email) and len(email) <= 320:
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        if verify_password(user, form.password.data) and user and user.active:
            return _logged_in(user, form.password.data, tag)
        try:
            throttle.count_failure(attempt)
        except throttle.CannotCount as exc:
            return _cannot_count(form, tag, exc)
        audit("login-failed", tag, level=logging.WARNING)
        db.session.commit()
        wrong = _("The email address or password is wrong, or the account is not active.")
        refused = [{"href": "#email", "text": wrong}]
    return _login_page(form, message, error_summary(form) + refused)


def _logged_in(user: StaffUser, password: str, tag: str) -> Response:
    """Start a fresh session for the account; send it on to its second factor if it needs one."""
    target = safe_next(request.args.get("next"))
    session.clear()  # a new session at login: nothing from before carries over
    login_user(user)
    start_session(user)  # second_factor None: area.py's guard lets it reach the second step only
    audit("login", actor=user)
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    db.session.commit()
    if has_factor(user):
        return redirect(url_for("mfa.second_step", next=target), code=303)
    if current_app.config["STAFF_REQUIRE_MFA"]:
        return redirect(url_for("mfa.enrol", next=target), code=303)
    # STAFF_REQUIRE_MFA off and no factor enrolled: the password is the whole login, so this
    # browser is trusted now; otherwise only once the second factor is shown (mfa.complete).
    response = redirect(target, code=303)
    throttle.remember_device(response, tag)
    return response


def _password_login_off(form: LoginForm) -> Response:
    """Refuse a posted password, unchecked, where password login is off (STAFF_PASSWORD_LOGIN)."""
    text = _("Logging in with a password is turned off. Log in with Järfälla kommun's account.")
    page = _login_page(form, None, [{"href": "#sso", "text": text}])
    return make_response(page, 403)


def has_factor(user: StaffUser) -> bool:
    """Tell whether an account has a second factor of its own (a passkey or a code secret)."""
    # Recovery codes alone are no factor: they come with one and stand in for it once each.
    return bool(user.totp_secret) or bool(user.passkeys)


def _refused(form: LoginForm, text: str, status: int, retry_after: int) -> Response:
    """Answer the login form with why it was refused, and when to try again."""
    page = _login_page(form, None, [{"href": "#email", "text": text}])
    response = make_response(page, status)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _throttled(form: LoginForm, tag: str, wait: int) -> Response:
    """Refuse an attempt over a limit: 429, saying how long to wait."""
    audit("login-throttled", tag, level=logging.WARNING)
    db.session.commit()
    minutes = math.ceil(wait / 60)
    text = _(
        "There have been too many failed attempts to log in. Try again in %(wait)s, or ask "
        "an administrator for help.",
        wait=ngettext("%(num)d minute", "%(num)d minutes", minutes),
    )
    return _refused(form, text, 429, wait)


def _cannot_count(form: LoginForm, tag: str, error: throttle.CannotCount) -> Response:
    """Refuse a login whose attempt cannot be counted (fail closed): 503, and say so in the log."""
    throttle.uncounted("login-uncounted", tag, error)
    text = _(
        "Logging in is not possible right now because of a technical fault. Try again in a few "
        "minutes."
    )
    return _refused(form, text, 503, RETRY_AFTER_SECONDS)


def _login_page(form: LoginForm, message: str | None, errors: list[dict[str, str]]) -> str:
    """Render the login form; the password typed is never sent back."""
    form.password.data = ""
    return render_template("staff/login.html", form=form, notice=message, errors=errors)


def expired_form(error: CSRFError) -> tuple[str, int]:
    """Explain an expired or missing CSRF token instead of a bare 400."""
    if request.endpoint == "auth.login":
        message = _("The login page had expired. Log in again.")
        return _login_page(LoginForm(formdata=None), message, []), 400
    return render_template(error_templates("expired")), 400


@bp.post("/logout")
def logout() -> Response:
    """Log out: end the session row, so no copy of the cookie opens anything, and forget it."""
    row = current_session()
    single_sign_on = row is not None and row.second_factor == SecondFactor.SSO
    if row is not None:
        end_session(row, SessionEnd.LOGOUT)
    if current_user.is_authenticated:
        audit("logout", actor=current_user)
    db.session.commit()
    logout_user()
    session.clear()
    target = url_for("auth.login")
    if single_sign_on and oidc.enabled():
        # Then out of the provider too (RP-initiated logout), which sends the browser back here.
        target = oidc.logout_url(url_for("auth.login", _external=True)) or target
    return redirect(target, code=303)


def init_app(app: Flask) -> None:
    """Set up Flask-Login, the expired-form page and the login routes."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    app.register_error_handler(CSRFError, expired_form)
    app.register_blueprint(bp)
