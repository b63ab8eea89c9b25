"""Passkeys (WebAuthn) through py_webauthn: enrol one, and show one as a login's second factor.

The browser's part is static/js/passkeys.js: it asks for options here (JSON), runs
`navigator.credentials.create()` or `.get()`, and posts the answer back. Every POST carries
the CSRF token in its X-CSRFToken header. The challenge is kept in the signed cookie session
with the session row it belongs to and a time limit, and is taken out on its first use, so an
answer is checked once against a challenge of this login, never one of another.

The relying party is the site itself: its ID is SITE_URL's host, its origin SITE_URL's origin.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, request, session
from flask_babel import gettext as _
from flask_login import current_user
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from werkzeug.wrappers import Response

from ..extensions import db
from ..forms import CONTROL
from ..models import SecondFactor, StaffPasskey, StaffUser, utcnow
from . import mfa
from .audit import audit
from .mfa_pages import enrolled, refusal_text
from .sessions import current_session

# The second step sits under /staff/login, where the login throttle's device cookie is sent.
bp = Blueprint("passkeys", __name__, url_prefix="/staff")
CHALLENGE_KEY = "webauthn"  # the cookie session's key for the open ceremony
CHALLENGE_SECONDS = 300  # the browser's own timeout is 60 s; a person may be slower
NAME_LENGTH = 60  # StaffPasskey.name
TRANSPORTS = frozenset(transport.value for transport in AuthenticatorTransport)
# The parsing and checking errors py_webauthn raises for a malformed or wrong answer.
BAD_ANSWER = (WebAuthnException, ValueError, KeyError, TypeError)


def relying_party() -> tuple[str, str]:
    """Return the relying party's ID (SITE_URL's host) and origin (its scheme, host and port)."""
    parts = urlsplit(current_app.config["SITE_URL"])
    return parts.hostname or "", f"{parts.scheme}://{parts.netloc}"


def _user() -> StaffUser:
    """Return the logged-in account itself (not Flask-Login's proxy)."""
    return current_user._get_current_object()


def _descriptors(user: StaffUser) -> list[PublicKeyCredentialDescriptor]:
    """Describe the account's passkeys, for allowCredentials or excludeCredentials."""
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(passkey.credential_id),
            transports=[AuthenticatorTransport(t) for t in passkey.transports.split()],
        )
        for passkey in user.passkeys
    ]


def _now() -> float:
    """Return the site's clock as seconds since the epoch (tests run on a shifted clock)."""
    return utcnow().replace(tzinfo=dt.UTC).timestamp()


def _keep_challenge(kind: str, challenge: bytes) -> None:
    """Remember a ceremony's challenge for this session row, for a few minutes."""
    row = current_session()
    session[CHALLENGE_KEY] = {
        "kind": kind,
        "challenge": bytes_to_base64url(challenge),
        "row": row.id if row else None,
        "until": _now() + CHALLENGE_SECONDS,
    }


def _take_challenge(kind: str) -> bytes | None:
    """Take the open ceremony's challenge out (single use); None if none is open or it expired."""
    kept = session.pop(CHALLENGE_KEY, None)
    row = current_session()
    if not isinstance(kept, dict) or kept.get("kind") != kind or row is None:
        return None
    if kept.get("row") != row.id or not isinstance(kept.get("until"), int | float):
        return None
    if _now() > kept["until"] or not isinstance(kept.get("challenge"), str):
        return None
    return base64url_to_bytes(kept["challenge"])


def _options(options: Any) -> Response:
    """Answer options as the JSON the browser's script turns into a WebAuthn call."""
    return Response(options_to_json(options), mimetype="application/json")


def _error(text: str, status: int = 400) -> Response:
    """Answer a refused ceremony with the message the page shows."""
    response = jsonify(error=text)
    response.status_code = status
    return response


def _body() -> dict[str, Any]:
    """Return the posted JSON object, or an empty one."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


# --- Enrolment ---------------------------------------------------------------------------------


@bp.post("/nycklar/registrering/start")
def register_options() -> Response:
    """Start adding a passkey: the options for navigator.credentials.create()."""
    user = _user()
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=current_app.config.get("STAFF_TOTP_ISSUER") or "GVI Järfälla",
        user_name=user.email,
        user_display_name=user.name,
        user_id=f"staff-{user.id}".encode(),  # no personal data in the authenticator's handle
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(user),  # the same authenticator is not added twice
    )
    _keep_challenge("register", options.challenge)
    return _options(options)


def _passkey_name(value: Any) -> str | None:
    """Return the name the person gave the passkey, or None if it is empty or not one line."""
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > NAME_LENGTH or CONTROL.search(name):
        return None
    return name


@bp.post("/nycklar/registrering")
def register_verify() -> Response:
    """Check the new passkey's answer and store it under the name given."""
    body = _body()
    name = _passkey_name(body.get("name"))
    if name is None:
        return _error(_("Give the passkey a name, at most 60 characters, on one line."))
    challenge = _take_challenge("register")
    if challenge is None:
        return _error(_("Adding the passkey took too long. Try again."))
    rp_id, origin = relying_party()
    answer = body.get("credential")
    try:
        verified = verify_registration_response(
            # Anything but a JSON text or object is as bad an answer as a malformed one.
            credential=answer if isinstance(answer, str | dict) else {},
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except BAD_ANSWER:
        return _error(_("The passkey could not be added. Try again, or use one-time codes."))
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.query(StaffPasskey.id).filter_by(credential_id=credential_id).first():
        return _error(_("This passkey is already added."))
    user = _user()
    first = not mfa.has_factor(user)
    sent = answer.get("response") if isinstance(answer, dict) else None
    transports = sent.get("transports") if isinstance(sent, dict) else None
    transports = transports if isinstance(transports, list) else []
    user.passkeys.append(
        StaffPasskey(
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=name,
            transports=" ".join(t for t in transports if isinstance(t, str) and t in TRANSPORTS),
        )
    )
    db.session.flush()
    audit("mfa-enrol:passkey", str(user.passkeys[-1].id), actor=user)
    return enrolled(user, SecondFactor.PASSKEY, first, json=True)


# --- The second step ---------------------------------------------------------------------------


@bp.post("/login/nyckel/start")
def login_options() -> Response:
    """Start the second step with a passkey: options listing the account's own passkeys."""
    user = _user()
    if not user.passkeys:
        return _error(_("Your account has no passkey. Use a one-time code instead."))
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _keep_challenge("login", options.challenge)
    return _options(options)


@bp.post("/login/nyckel")
def login_verify() -> Response:
    """Check a passkey's answer as this login's second factor (counted like a wrong code)."""
    user = _user()
    if not mfa.pending():
        return jsonify(redirect=mfa.next_target())
    try:
        attempt = mfa.checked_attempt(user)
        passkey = _verified_passkey(user, _body())
        if passkey is not None:
            return mfa.complete(user, SecondFactor.PASSKEY, jsonify(redirect=mfa.next_target()))
        mfa.failed(user, attempt, SecondFactor.PASSKEY)
    except mfa.Refused as refused:
        response = _error(refusal_text(refused, "")["text"], refused.status)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    return _error(
        _("This passkey is not one of your account's, or it could not be checked. Try again.")
    )


def _verified_passkey(user: StaffUser, body: dict[str, Any]) -> StaffPasskey | None:
    """Return the account's passkey that signed this login's challenge, its count moved on."""
    challenge = _take_challenge("login")
    passkey = next((p for p in user.passkeys if p.credential_id == body.get("id")), None)
    if challenge is None or passkey is None:
        return None
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=body,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,  # a lower count means a clone
            require_user_verification=True,
        )
    except BAD_ANSWER:
        return None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey


def init_app(app: Flask) -> None:
    """Register the JSON endpoints."""
    app.register_blueprint(bp)
