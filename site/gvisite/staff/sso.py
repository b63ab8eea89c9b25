"""Single sign-on: staff log in with the municipality's account through OpenID Connect.

`/staff/sso/start` sends the browser to the provider (oidc.py's Authlib client: PKCE, state,
nonce); `/staff/sso/callback` takes its answer. Authlib checks the ID token (signature through
the JWKS, issuer, audience, expiry, nonce); here it must also show a second factor, name an
active staff account, and (with a role claim) grant a role. Only then is anything written: the
provider's subject on the account, a changed role, the session. Every refusal is a page that
says why, and an audit line without personal data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from authlib.common.errors import AuthlibBaseError
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from joserfc.errors import JoseError
from requests import RequestException
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..errors import RETRY_AFTER_SECONDS
from ..extensions import db
from ..models import SecondFactor, StaffUser
from ..pages.load import current_site
from ..security import CONTENT_SECURITY_POLICY
from . import oidc
from .area import in_area
from .audit import account_tag, audit
from .auth import safe_next
from .sessions import start_session

log = logging.getLogger(__name__)
bp = Blueprint("sso", __name__, url_prefix="/staff/sso")  # open pages: see area.OPEN_ENDPOINTS
NEXT_KEY = "sso_next"  # where the browser was going when it left for the provider


@dataclass
class Refusal(Exception):
    """Why a single sign-on is refused: a REFUSALS key, and a detail for the log only."""

    reason: str
    detail: str = ""
    target: str | None = None  # the audit line's reference: an account id or tag, never an address


# What each refusal answers: its status, heading and explanation. The heading is the page title.
REFUSALS: dict[str, tuple[int, Any, Any]] = {
    "failed": (
        400,
        _l("The login could not be completed"),
        _l(
            "The answer from the login service could not be checked, or it belonged to an "
            "earlier attempt. Nothing has been saved. Start again from the login page."
        ),
    ),
    "no-mfa": (
        403,
        _l("Log in with two steps"),
        _l(
            "The login service did not confirm a second step, such as a code in an app or a "
            "security key, and the staff area needs one. Log in again and confirm with your "
            "second step. If you are not asked for one, contact the municipality's IT support."
        ),
    ),
    "unknown": (
        403,
        _l("You do not have an account here"),
        _l(
            "You logged in with the municipality's account, but there is no staff account for "
            "you in this case handling. Ask an administrator of this site to create one for "
            "your email address, then log in again."
        ),
    ),
    "inactive": (
        403,
        _l("Your account is not active"),
        _l(
            "Your staff account on this site has been deactivated. If you still need it in your "
            "work, ask an administrator of this site to activate it."
        ),
    ),
    "no-role": (
        403,
        _l("Your account is not in a group that gives access"),
        _l(
            "The login service says you are not in any of the groups that may use this case "
            "handling. If you need it in your work, ask an administrator of this site or the "
            "municipality's IT support to add you to the right group."
        ),
    ),
    "unavailable": (
        503,
        _l("The login service is not answering"),
        _l(
            "The municipality's login service could not be reached, so you cannot log in with "
            "it right now. Try again in a few minutes."
        ),
    ),
}

ASK_AN_ADMINISTRATOR = frozenset({"unknown", "inactive", "no-role"})


@bp.before_request
def only_when_configured() -> None:
    """Answer 404 while single sign-on is off (no OIDC_ISSUER)."""
    if not oidc.enabled():
        abort(404)


@bp.post("/start")
def start() -> Response:
    """Send the browser to the provider's login, remembering where it was going."""
    try:
        response = oidc.client().authorize_redirect(url_for("sso.callback", _external=True))
    except (RequestException, ValueError, RuntimeError) as exc:  # discovery failed
        return refused(Refusal("unavailable", type(exc).__name__))
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    return response


@bp.get("/callback")
def callback() -> Response:
    """Take the provider's answer: log the account in, or say why not."""
    try:
        claims = verified_claims()
        user = account_for(claims)
        role = role_for(user, claims)
    except Refusal as refusal:
        return refused(refusal)
    return signed_in(user, claims, role)


def verified_claims() -> dict[str, Any]:
    """Exchange the code and return the checked ID token's claims; refuse any fault."""
    try:
        token = oidc.client().authorize_access_token(claims_options=oidc.claims_options())
    except RequestException as exc:  # the provider unreachable at the token exchange
        raise Refusal("unavailable", type(exc).__name__) from exc
    except (AuthlibBaseError, JoseError, ValueError) as exc:
        # A tampered or used state, the provider's own error, a bad or foreign token. The
        # exception's name and error code say which; its text could quote the token.
        # Authlib's description names the claim at fault, never its value.
        code = getattr(exc, "error", "") or ""
        description = str(getattr(exc, "description", "") or "")[:200]
        raise Refusal("failed", f"{type(exc).__name__} {code}: {description}") from exc
    claims = token.get("userinfo")
    if not claims:
        raise Refusal("failed", "no ID token")
    if current_app.config["OIDC_REQUIRE_MFA"] and not oidc.shows_mfa(claims):
        raise Refusal("no-mfa", f"amr={claims.get('amr')!r}")
    return dict(claims)


def account_for(claims: dict[str, Any]) -> StaffUser:
    """Return the active account the claims name: by subject, else once by a verified address."""
    subject = str(claims["sub"])
    user = db.session.scalar(select(StaffUser).where(StaffUser.oidc_subject == subject))
    email = claims.get("email")
    if user is None and oidc.email_verified(claims) and isinstance(email, str):
        user = db.session.scalar(
            select(StaffUser).where(
                StaffUser.email == email.strip().lower()[:320], StaffUser.oidc_subject.is_(None)
            )
        )
    if user is None:
        tag = account_tag(email.strip().lower()[:320] if isinstance(email, str) else subject)
        raise Refusal("unknown", target=tag)
    if not user.active:
        raise Refusal("inactive", target=str(user.id))
    return user


def role_for(user: StaffUser, claims: dict[str, Any]) -> str:
    """Return the account's role: ours, or the one the role claim grants (refused if none)."""
    if not oidc.roles_from_claim():
        return user.role
    role = oidc.granted_role(claims)
    if role is None:
        raise Refusal("no-role", target=str(user.id))
    return role


def signed_in(user: StaffUser, claims: dict[str, Any], role: str) -> Response:
    """Link the subject, apply the granted role, and start a session whose second factor is SSO."""
    target = session.get(NEXT_KEY) or url_for("staff.inbox")
    if user.oidc_subject is None:
        user.oidc_subject = str(claims["sub"])
        audit("sso-linked", str(user.id), actor=user)
    if role != user.role:
        audit(f"sso-role:{user.role}-to-{role}", str(user.id), actor=user)
        user.role = role
    session.clear()  # a new session at login: nothing from before carries over
    login_user(user)
    start_session(user, SecondFactor.SSO)  # the provider's multi-factor: ours is not asked
    audit("login", "sso", actor=user)
    db.session.commit()
    return redirect(safe_next(target), code=303)


def refused(refusal: Refusal) -> Response:
    """Answer a refused single sign-on with its page; audit and log it, without personal data."""
    db.session.rollback()  # nothing of the attempt is kept but its audit line
    status, title, text = REFUSALS[refusal.reason]
    if refusal.reason == "unavailable" and request.endpoint == "sso.callback":
        status = 502  # the provider failed in the middle of the exchange
    log.warning("single sign-on refused: %s %s", refusal.reason, refusal.detail)
    audit(f"sso-refused:{refusal.reason}", refusal.target, level=logging.WARNING)
    db.session.commit()
    # Where the page says to ask an administrator: and who runs the site (content/site.yaml).
    owner = None
    if refusal.reason in ASK_AN_ADMINISTRATOR:
        owner = current_site().facts.get("default_owner", {}).get("name")
    page = render_template("staff/sso_refused.html", title=title, text=text, owner=owner)
    response = make_response(page, status)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def let_forms_reach_provider(response: Response) -> Response:
    """Let staff-area forms lead on to the provider: the login button and logout redirect there."""
    # A browser applies the page's CSP form-action to where a form's redirects go, too.
    if oidc.enabled() and in_area(request.path):
        policy = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {oidc.origin()}"
        )
        response.headers["Content-Security-Policy"] = policy
    return response


def init_app(app: Flask) -> None:
    """Serve the single sign-on pages (they answer 404 while it is off)."""
    # Registered whatever the settings: the area guard names these endpoints as open pages,
    # and the login page asks `sso_enabled()` whether to offer the button.
    app.add_template_global(oidc.enabled, "sso_enabled")
    app.after_request(let_forms_reach_provider)
    app.register_blueprint(bp)
