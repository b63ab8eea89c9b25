"""Staff accounts and logging in: argon2 hashes, throttling, session renewal, idle timeout."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField

from ..extensions import db, limiter
from ..forms import CONTROL, PostedForm, Required, error_summary
from ..models import StaffUser
from ..security import private
from .audit import audit

hasher = PasswordHasher()
login_manager = LoginManager()
bp = Blueprint("auth", __name__, url_prefix="/staff")
bp.after_request(private)
# Verifying against this when the account does not exist keeps the timing the same.
_DUMMY_HASH = hasher.hash("not a real password")


class LoginForm(PostedForm):
    """E-mail address and password."""

    email = StringField(_l("Email address"), validators=[Required(_l("Enter your email address."))])
    password = PasswordField(_l("Password"), validators=[Required(_l("Enter your password."))])


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """Return the logged-in account, or None if it was deactivated meanwhile."""
    user = db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None
    return user if user and user.active else None


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    """Send an anonymous visitor to the login page, remembering where they were going."""
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str:
    """Return the `next` target only if it stays on this site's staff area."""
    if not target:
        return url_for("staff.inbox")
    parts = urlsplit(target)
    unsafe = parts.scheme or parts.netloc or "\\" in target or CONTROL.search(target)
    if unsafe or not target.startswith("/staff"):
        return url_for("staff.inbox")  # a line break would end in a header: a 500, or worse
    return target


def verify_password(user: StaffUser | None, password: str) -> bool:
    """Check a password in about the same time whether or not the account exists."""
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


def _typed_account() -> str:
    """Return the account a login attempt names, the way accounts are stored."""
    return request.form.get("email", "").strip().lower()[:320]


def _login_address_account_key() -> str:
    """Key the close throttle on the client address and the account it tries."""
    return f"login:{get_remote_address()}:{_typed_account()}"


def _login_account_key() -> str:
    """Key the slow throttle on the account alone, whichever addresses the attempts come from."""
    return f"login-account:{_typed_account()}"


def _failed(response: Response) -> bool:
    """Count only failed attempts against the throttle."""
    return response.status_code != 303


# Failed attempts are throttled per address (20 in 15 minutes), per address and account (5),
# and per account from anywhere (30 an hour). An attacker's failures from one address thus do
# not lock the account: its owner, from another address, still logs in, unless many addresses
# have been trying. The counts live in RATELIMIT_STORAGE_URI (Redis in production, so every
# worker and server shares them).
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", methods=["POST"], deduct_when=_failed)
@limiter.limit(
    "5 per 15 minutes", methods=["POST"], key_func=_login_address_account_key, deduct_when=_failed
)
@limiter.limit("30 per hour", methods=["POST"], key_func=_login_account_key, deduct_when=_failed)
def login() -> str | Response:
    """Log a member of staff in, with a fresh session."""
    form = LoginForm()
    message, refused = None, []
    if request.args.get("timeout"):
        message = _("You were logged out because you were inactive. Log in again.")
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        # No account has a control character (PostgreSQL would refuse a NUL in the query).
        user = None
        if not CONTROL.search(email) and len(email) <= 320:
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        if verify_password(user, form.password.data) and user and user.active:
            target = safe_next(request.args.get("next"))
            session.clear()  # a new session at login: nothing from before carries over
            login_user(user)
            session["last_seen"] = time.time()
            audit("login", actor=user)
            if hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hasher.hash(form.password.data)
            db.session.commit()
            return redirect(target, code=303)
        wrong = _("The email address or password is wrong, or the account is not active.")
        refused = [{"href": "#email", "text": wrong}]
    return _login_page(form, message, error_summary(form) + refused)


def _login_page(form: LoginForm, message: str | None, errors: list[dict[str, str]]) -> str:
    """Render the login form; the password typed is never sent back."""
    form.password.data = ""
    return render_template("staff/login.html", form=form, message=message, errors=errors)


def expired_form(error: CSRFError) -> tuple[str, int]:
    """Explain an expired or missing CSRF token instead of a bare 400."""
    if request.endpoint == "auth.login":
        message = _("The login page had expired. Log in again.")
        return _login_page(LoginForm(formdata=None), message, []), 400
    return render_template("errors/expired.html"), 400


@bp.post("/logout")
def logout() -> Response:
    """Log out and forget the session."""
    if current_user.is_authenticated:
        audit("logout", actor=current_user)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)


def enforce_idle_timeout() -> Response | None:
    """Log out a session that has been idle longer than STAFF_IDLE_MINUTES."""
    if not current_user.is_authenticated:
        return None
    now = time.time()
    idle = dt.timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"]).total_seconds()
    last = session.get("last_seen")
    if last is None or now - float(last) > idle:
        logout_user()
        session.clear()
        return redirect(url_for("auth.login", timeout=1))
    session["last_seen"] = now
    return None


def init_app(app: Flask) -> None:
    """Set up Flask-Login, the expired-form page and the login routes."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    app.register_error_handler(CSRFError, expired_form)
    app.register_blueprint(bp)
