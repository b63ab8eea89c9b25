"""The second-factor pages: the second step of a login, enrolment, the account's security page.

The second step is under /staff/login, so the login throttle's device cookie (sent to that path
only) counts its failures as the login's: the owner's trusted browser is not slowed by others.

Which session reaches which page is decided by area.py's guard (mfa.second_step_check): a
session without its second factor reaches the second step or enrolment only; the security page
and its buttons (remove a factor, make new recovery codes) need a complete login.
"""

from __future__ import annotations

import math

import segno
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import Length

from ..extensions import db
from ..forms import PostedForm, Required, error_summary
from ..models import SecondFactor, SessionEnd, StaffPasskey, StaffUser
from . import mfa
from .audit import account_tag, audit
from .forms import SimpleForm
from .sessions import current_session, end_sessions

bp = Blueprint("mfa", __name__, url_prefix="/staff")
TOTP_KEY = "totp_enrolment"  # the cookie session's key for a code secret not yet confirmed


class CodeForm(PostedForm):
    """A one-time code from an authenticator app."""

    code = StringField(
        _l("Code from the app"),
        validators=[Required(_l("Enter the 6-digit code from the app.")), Length(max=20)],
    )


class RecoveryForm(PostedForm):
    """One of the account's recovery codes."""

    recovery = StringField(
        _l("Recovery code"),
        validators=[Required(_l("Enter one of your recovery codes.")), Length(max=40)],
    )


def _user() -> StaffUser:
    """Return the logged-in account itself (not Flask-Login's proxy), for the database."""
    return current_user._get_current_object()


# --- The second step ---------------------------------------------------------------------------


def _step_page(
    code_form: CodeForm, recovery_form: RecoveryForm, errors: list[dict[str, str]], status: int
) -> Response:
    """Render the second step: passkey first, then a code, then a recovery code."""
    code_form.code.data = ""
    recovery_form.recovery.data = ""
    page = render_template(
        "staff/second_step.html",
        code_form=code_form,
        recovery_form=recovery_form,
        errors=errors,
        user=current_user,
        target=mfa.next_target(),
    )
    return make_response(page, status)


def _refused(
    refused: mfa.Refused, code_form: CodeForm, recovery_form: RecoveryForm, href: str
) -> Response:
    """Answer an attempt over the limit (429) or not countable (503), saying what to do."""
    response = _step_page(code_form, recovery_form, [refusal_text(refused, href)], refused.status)
    response.headers["Retry-After"] = str(refused.retry_after)
    return response


def refusal_text(refused: mfa.Refused, href: str) -> dict[str, str]:
    """Say why a second-step attempt was refused before it was checked (an error-summary item)."""
    if refused.status == 429:
        minutes = math.ceil(refused.retry_after / 60)
        text = _(
            "There have been too many failed attempts to log in. Try again in %(wait)s, or ask "
            "an administrator for help.",
            wait=ngettext("%(num)d minute", "%(num)d minutes", minutes),
        )
    else:
        text = _(
            "Logging in is not possible right now because of a technical fault. Try again in a "
            "few minutes."
        )
    return {"href": href, "text": text}


@bp.route("/login/steg-2", methods=["GET", "POST"])
def second_step() -> Response:
    """Ask for the second factor after the password; a one-time code is posted here."""
    if not mfa.pending():
        return redirect(mfa.next_target(), code=303)  # nothing left to show
    code_form, recovery_form = CodeForm(), RecoveryForm(formdata=None)
    if not code_form.validate_on_submit():
        return _step_page(code_form, recovery_form, error_summary(code_form), 200)
    user = _user()
    try:
        attempt = mfa.checked_attempt(user)
        if mfa.accept_code(user, code_form.code.data):
            return mfa.complete(user, SecondFactor.TOTP, redirect(mfa.next_target(), code=303))
        mfa.failed(user, attempt, SecondFactor.TOTP)
    except mfa.Refused as refused:
        return _refused(refused, code_form, recovery_form, "#code")
    code_form.code.errors = [_("The code is wrong or has already been used. Try the next code.")]
    return _step_page(code_form, recovery_form, error_summary(code_form), 200)


@bp.post("/login/reservkod")
def recovery_step() -> Response:
    """Take one of the account's recovery codes instead of the second factor (once each)."""
    if not mfa.pending():
        return redirect(mfa.next_target(), code=303)
    code_form, recovery_form = CodeForm(formdata=None), RecoveryForm()
    if not recovery_form.validate_on_submit():
        return _step_page(code_form, recovery_form, error_summary(recovery_form), 200)
    user = _user()
    try:
        attempt = mfa.checked_attempt(user)
        if mfa.use_recovery_code(user, recovery_form.recovery.data):
            left = mfa.recovery_left(user)
            audit("recovery-used", str(left), actor=user)  # how many are left
            flash(
                ngettext(
                    "You used a recovery code. You have %(num)d code left: make new ones on the "
                    "security page.",
                    "You used a recovery code. You have %(num)d codes left: make new ones on "
                    "the security page.",
                    left,
                )
            )
            target = redirect(mfa.next_target(), code=303)
            return mfa.complete(user, SecondFactor.RECOVERY, target)
        mfa.failed(user, attempt, SecondFactor.RECOVERY)
    except mfa.Refused as refused:
        return _refused(refused, code_form, recovery_form, "#recovery")
    recovery_form.recovery.errors = [
        _("The recovery code is wrong or has already been used. Each code works once.")
    ]
    return _step_page(code_form, recovery_form, error_summary(recovery_form), 200)


# --- Enrolment ---------------------------------------------------------------------------------


def qr_code(uri: str) -> Markup:
    """Draw the otpauth:// address as an inline SVG QR code (no image request: CSP-safe)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", omitsize=True)
    label = _("QR code for your authenticator app")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))  # noqa: S704


def _pending_secret() -> str:
    """Return the code secret being set up in this session, made on first use."""
    secret = session.get(TOTP_KEY)
    if not isinstance(secret, str) or not secret:
        secret = session[TOTP_KEY] = mfa.new_totp_secret()
    return secret


def _enrol_page(form: CodeForm, errors: list[dict[str, str]], status: int = 200) -> Response:
    """Render enrolment: a passkey first, or one-time codes with the QR code and the secret."""
    user = _user()
    secret = None if user.totp_secret else _pending_secret()
    form.code.data = ""
    page = render_template(
        "staff/enrol.html",
        form=form,
        errors=errors,
        secret=secret,
        qr=qr_code(mfa.provisioning_uri(secret, user)) if secret else None,
        first=not mfa.has_factor(user),
        target=mfa.next_target(),
    )
    return make_response(page, status)


@bp.get("/konto/sakerhet/ny")
def enrol() -> Response:
    """Show how to add a second factor (the only page an account without one may open)."""
    return _enrol_page(CodeForm(formdata=None), [])


@bp.post("/konto/sakerhet/engangskod")
def confirm_totp() -> Response:
    """Save the code secret once the first code from the app is right."""
    user = _user()
    form = CodeForm()
    if user.totp_secret:
        flash(_("One-time codes are already set up for your account."))
        return redirect(url_for("mfa.security"), code=303)
    secret = session.get(TOTP_KEY)
    if not isinstance(secret, str) or not secret:
        return redirect(url_for("mfa.enrol", next=mfa.next_target()), code=303)
    if not form.validate_on_submit():
        return _enrol_page(form, error_summary(form))
    step = mfa.matching_step(secret, form.code.data)
    if step is None:
        form.code.errors = [
            _("The code is wrong. Check that the app shows this account, and type the newest code.")
        ]
        return _enrol_page(form, error_summary(form))
    first = not mfa.has_factor(user)
    user.totp_secret, user.totp_last_step = secret, step  # this code is used now
    session.pop(TOTP_KEY, None)
    audit("mfa-enrol:totp", actor=user)
    return enrolled(user, SecondFactor.TOTP, first, json=False)


def enrolled(user: StaffUser, factor: str, first: bool, *, json: bool) -> Response:
    """Finish enrolling a factor (commits): a first one completes the session, with new codes."""
    row = current_session()
    was_pending = row is not None and row.second_factor is None
    if row is not None and was_pending:
        row.second_factor = factor  # they have just shown the new factor
        audit(f"mfa:{factor}", actor=user)
    codes = mfa.new_recovery_codes(user) if first and factor == SecondFactor.TOTP else None
    if codes:
        audit("recovery-codes", str(len(codes)), actor=user)
    db.session.commit()
    if codes:
        page = render_template("staff/recovery_codes.html", codes=codes, target=mfa.next_target())
        response: Response = make_response(page)
    elif first:  # a passkey (posted as JSON): the codes are made on the next page, by a button
        target = url_for("mfa.recovery_codes", next=mfa.next_target())
        response = make_response({"redirect": target}) if json else redirect(target, code=303)
    else:
        flash(_("The second factor was added."))
        target = url_for("mfa.security")
        response = make_response({"redirect": target}) if json else redirect(target, code=303)
    if was_pending:
        mfa.throttle.remember_device(response, account_tag(user.email))
    return response


# --- Recovery codes ----------------------------------------------------------------------------


@bp.get("/konto/sakerhet/reservkoder")
def recovery_codes() -> str:
    """Offer to make (new) recovery codes; making them shows them once."""
    return render_template(
        "staff/recovery_codes.html",
        codes=None,
        left=mfa.recovery_left(_user()),
        form=SimpleForm(),
        target=mfa.next_target(),
    )


@bp.post("/konto/sakerhet/reservkoder")
def new_recovery_codes() -> Response:
    """Make ten new recovery codes, which replace the old ones, and show them this once."""
    user = _user()
    if not SimpleForm().validate_on_submit():
        abort(400)
    if not mfa.has_factor(user):
        return redirect(url_for("mfa.enrol"), code=303)  # codes stand in for a factor only
    codes = mfa.new_recovery_codes(user)
    audit("recovery-codes", str(len(codes)), actor=user)
    db.session.commit()
    page = render_template("staff/recovery_codes.html", codes=codes, target=mfa.next_target())
    return make_response(page)


# --- The security page -------------------------------------------------------------------------


def _security_page(errors: list[dict[str, str]] | None = None, status: int = 200) -> Response:
    """Render the account's passkeys, one-time-code state and recovery codes."""
    user = _user()
    page = render_template(
        "staff/security.html",
        user=user,
        passkeys=list(user.passkeys),
        left=mfa.recovery_left(user),
        form=SimpleForm(),
        errors=errors or [],
    )
    return make_response(page, status)


@bp.get("/konto/sakerhet")
def security() -> Response:
    """Show the account's second factors, with buttons to add and remove them."""
    return _security_page()


def _last_factor_refused(href: str) -> Response | None:
    """Refuse to remove the account's only factor while STAFF_REQUIRE_MFA is on."""
    user = _user()
    factors = len(user.passkeys) + (1 if user.totp_secret else 0)
    if factors > 1 or not mfa.require_mfa():
        return None
    text = _(
        "You cannot remove your only second factor. Add another passkey or one-time codes "
        "first, then remove this one."
    )
    return _security_page([{"href": href, "text": text}], 409)


def _end_other_sessions(user: StaffUser) -> None:
    """End the account's sessions but this one: a removed factor opens nothing any more."""
    # Someone who copied or stole the factor may have logged in with it; its owner removes it
    # for that reason, so whatever it opened ends with it, as a changed password ends sessions.
    end_sessions(user.id, SessionEnd.FACTOR_REMOVED, keep=current_session())


@bp.post("/konto/sakerhet/nycklar/<int:passkey_id>/ta-bort")
def remove_passkey(passkey_id: int) -> Response:
    """Remove one of the account's passkeys (never the last factor while MFA is required)."""
    if not SimpleForm().validate_on_submit():
        abort(400)
    user = _user()
    passkey = db.session.get(StaffPasskey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        abort(404)
    refusal = _last_factor_refused(f"#passkey-{passkey.id}")
    if refusal is not None:
        return refusal
    user.passkeys.remove(passkey)
    _forget_codes_without_factor(user)
    _end_other_sessions(user)
    audit("mfa-remove:passkey", str(passkey_id), actor=user)
    db.session.commit()
    flash(_("The passkey “%(name)s” was removed.", name=passkey.name))
    return redirect(url_for("mfa.security"), code=303)


@bp.post("/konto/sakerhet/engangskod/ta-bort")
def remove_totp() -> Response:
    """Turn one-time codes off for the account (never the last factor while MFA is required)."""
    if not SimpleForm().validate_on_submit():
        abort(400)
    user = _user()
    if not user.totp_secret:
        return redirect(url_for("mfa.security"), code=303)
    refusal = _last_factor_refused("#remove-totp")
    if refusal is not None:
        return refusal
    user.totp_secret, user.totp_last_step = None, None
    _forget_codes_without_factor(user)
    _end_other_sessions(user)
    audit("mfa-remove:totp", actor=user)
    db.session.commit()
    flash(_("One-time codes were turned off for your account."))
    return redirect(url_for("mfa.security"), code=303)


def _forget_codes_without_factor(user: StaffUser) -> None:
    """Drop the recovery codes of an account left with no factor (they stand in for one)."""
    if not mfa.has_factor(user) and user.recovery_codes:
        user.recovery_codes.clear()
        audit("recovery-codes-removed", actor=user)


def init_app(app: Flask) -> None:
    """Register the pages, and tell the staff layout when the whole menu may show."""
    app.register_blueprint(bp)
    app.add_template_global(mfa.second_factor_done, "staff_login_complete")
