"""The identity provider single sign-on uses: Authlib's client for it, and what its tokens grant.

Read from the OIDC_* settings (docs/operations.md, "Single sign-on"). Authlib does the protocol:
discovery, the Authorization Code flow with PKCE, state and nonce, and the ID token's checks.
This module only decides what a checked token's claims mean here: a second factor shown, a role
granted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_client import OAuth
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import current_app
from requests import RequestException

from ..models import Role

SCOPE = "openid email profile"
DISCOVERY = "/.well-known/openid-configuration"
TIMEOUT_SECONDS = 10  # for each request to the provider: discovery, keys, the token exchange
# RFC 8176 methods that are not a factor on their own: "user" is presence (a tap), "mca" says
# several channels were used, not which.
NOT_FACTORS = frozenset({"user", "mca"})


def enabled() -> bool:
    """Tell whether single sign-on is on (an issuer is set)."""
    return bool(current_app.config["OIDC_ISSUER"])


def issuer() -> str:
    """Return the configured issuer, the exact `iss` every ID token must carry."""
    return current_app.config["OIDC_ISSUER"].rstrip("/")


def origin() -> str:
    """Return the issuer's origin (scheme, host, port): where the browser is sent to log in."""
    parts = urlsplit(issuer())
    return f"{parts.scheme}://{parts.netloc}"


def client() -> FlaskOAuth2App:
    """Return the Authlib client for the configured provider (its discovery read once, kept)."""
    config = current_app.config
    settings = (issuer(), config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"])
    clients = current_app.extensions.setdefault("oidc_clients", {})
    if settings not in clients:
        # Kept by settings: a changed setting (a test, a reload) gets a client of its own.
        clients[settings] = OAuth(current_app._get_current_object()).register(  # type: ignore[attr-defined]  # a LocalProxy, typed as the app
            "oidc",
            client_id=settings[1],
            client_secret=settings[2],
            server_metadata_url=settings[0] + DISCOVERY,
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                "timeout": TIMEOUT_SECONDS,
            },
        )
    return clients[settings]


def claims_options() -> dict[str, Any]:
    """Return what Authlib must find in an ID token besides its signature, audience and expiry."""
    # The issuer is the configured one, not whatever discovery said, and a nonce is required.
    # Authlib checks `aud` only when told to: without this, a token for another client that
    # names us as its `azp` would pass.
    return {
        "iss": {"essential": True, "values": [issuer()]},
        "aud": {"essential": True, "values": [current_app.config["OIDC_CLIENT_ID"]]},
        "nonce": {"essential": True},
    }


def email_verified(claims: Mapping[str, Any]) -> bool:
    """Tell whether the provider vouches for the e-mail address: `email_verified` is true."""
    # Entra ID sends no email_verified; its optional claim `xms_edov` (the address's domain is
    # verified by the tenant that owns it) says the same for a tenant's own accounts.
    return claims.get("email_verified") is True or claims.get("xms_edov") is True


def shows_mfa(claims: Mapping[str, Any]) -> bool:
    """Tell whether the ID token's `amr` shows a second factor: "mfa", or two distinct methods."""
    amr = claims.get("amr")
    if not isinstance(amr, list):
        return False
    methods = {method for method in amr if isinstance(method, str)} - NOT_FACTORS
    return "mfa" in methods or len(methods) >= 2


def role_map() -> dict[str, str]:
    """Read OIDC_ROLES ("groupA=admin,groupB=handler") as claim value -> role."""
    mapping = {}
    for pair in current_app.config["OIDC_ROLES"].split(","):
        value, _, role = pair.partition("=")
        if value.strip() and role.strip() in Role.ALL:
            mapping[value.strip()] = role.strip()
    return mapping


def granted_role(claims: Mapping[str, Any]) -> str | None:
    """Return the role the role claim grants (admin before handler), or None if it grants none."""
    values = claims.get(current_app.config["OIDC_ROLE_CLAIM"])
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        return None
    mapping = role_map()
    roles = {mapping[value] for value in values if isinstance(value, str) and value in mapping}
    return next((role for role in (Role.ADMIN, Role.HANDLER) if role in roles), None)


def roles_from_claim() -> bool:
    """Tell whether roles come from the provider (a role claim is named)."""
    return bool(current_app.config["OIDC_ROLE_CLAIM"])


def logout_url(post_logout_redirect_uri: str) -> str | None:
    """Return the provider's end-session address for RP-initiated logout, or None if it has none."""
    try:
        result = client().create_logout_url(
            post_logout_redirect_uri=post_logout_redirect_uri,
            client_id=current_app.config["OIDC_CLIENT_ID"],
        )
    except (RequestException, ValueError, RuntimeError):  # unreachable, not JSON, no endpoint
        current_app.logger.warning("single sign-on: no end-session address; logged out here only")
        return None
    return result["url"]
