"""Configuration: defaults, then the environment, then a test mapping."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Minutes the outbox waits after each failed attempt; after the last the message is failed.
OUTBOX_RETRY_MINUTES = "1,5,15,60,240,720"

# Environment variables the operator may set, with their types; everything else is a default.
_INT_VARS = {
    "FORM_MIN_SECONDS",
    "MAX_CONTENT_LENGTH",
    "STAFF_IDLE_MINUTES",
    "STAFF_SESSION_HOURS",
    "RETENTION_DAYS",
    "SMTP_PORT",
    "PORT",
    "TRUSTED_PROXIES",
    "FORMATS_REFRESH_SECONDS",
    "OUTBOX_CLAIM_SECONDS",
    "NGINX_CACHE_SECONDS",
}
# Yes-or-no settings: 1, true, yes or on (any case) is yes; anything else is no.
_BOOL_VARS = {
    "FORMATS_WITHOUT_SANDBOX",
    "SMTP_UTF8",
    "STAFF_REQUIRE_MFA",
    "STAFF_PASSWORD_LOGIN",
    "OIDC_REQUIRE_MFA",
}
_STR_VARS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "SITE_URL",
    "MAIL_BACKEND",
    "SMTP_HOST",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_SECURITY",
    "MAIL_FROM",
    "STAFF_MAILBOX",
    "ALT_FORMAT_MAILBOX",
    "SUBMISSION_RATE_LIMIT",
    "RATELIMIT_STORAGE_URI",
    "HOST",
    "CONTENT_DIR",
    "INSTANCE_PATH",
    "FORMATS_DIR",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_ROLE_CLAIM",
    "OIDC_ROLES",
    "OUTBOX_RETRY_MINUTES",
}


def defaults(instance_path: str) -> dict[str, Any]:
    """Return the built-in defaults, safe for a fresh development machine."""
    return {
        "SECRET_KEY": None,
        "CONTENT_DIR": str(PROJECT_ROOT / "content"),
        "CONTENT_LENIENT": False,  # True only for `flask content check`: start despite bad pages
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'gvisite.sqlite3'}",
        "SITE_URL": None,  # derived from HOST and PORT by `site_url` unless set
        "MAIL_BACKEND": "file",
        "SMTP_HOST": "localhost",
        "SMTP_PORT": 25,
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",
        "SMTP_SECURITY": "none",
        # Whether the mail server takes SMTPUTF8 (RFC 6531): only then can an address have
        # letters like å before the @. A domain like järfälla.se goes out as punycode anyway.
        "SMTP_UTF8": False,
        "MAIL_FROM": "Järfälla kommun <no-reply@jarfalla.se>",
        "STAFF_MAILBOX": "tillganglighet@jarfalla.se",
        "ALT_FORMAT_MAILBOX": "",
        "FORM_MIN_SECONDS": 3,
        "SUBMISSION_RATE_LIMIT": "10 per hour",
        # Counters every worker shares: in the database (ratelimits.py), or Redis (redis://).
        "RATELIMIT_STORAGE_URI": "database://",
        "RATELIMIT_HEADERS_ENABLED": False,
        # A counter store that fails (the database down) must not turn a page into an error:
        # the limit is then not counted, and the failure is logged. The staff login is the
        # exception: it counts for itself and refuses when it cannot count (staff/throttle.py).
        "RATELIMIT_SWALLOW_ERRORS": True,
        # None: derived from the forms' length limits at start-up (forms.py `limit_bodies`), so
        # a form filled in to every limit, in emoji, is never refused as too large.
        "MAX_CONTENT_LENGTH": None,
        "STAFF_IDLE_MINUTES": 30,
        # A sender that died mid-delivery leaves its message claimed this long; then another
        # sends it again (with the same Message-ID). Longer than any SMTP delivery takes.
        "OUTBOX_CLAIM_SECONDS": 300,
        "OUTBOX_RETRY_MINUTES": OUTBOX_RETRY_MINUTES,
        "STAFF_SESSION_HOURS": 12,  # a staff session ends this long after login, however busy
        # A local account (password login) must show a second factor, a passkey or a one-time
        # code; one without either may only enrol one. Off only for a first set-up by hand.
        "STAFF_REQUIRE_MFA": True,
        # Whether local accounts may log in with a password at all: off once single sign-on works.
        "STAFF_PASSWORD_LOGIN": True,
        # Single sign-on (OpenID Connect, staff/sso.py): on when an issuer is set.
        "OIDC_ISSUER": "",
        "OIDC_CLIENT_ID": "",
        "OIDC_CLIENT_SECRET": "",
        # An ID token must show the provider's own multi-factor (amr/acr), or it is refused.
        "OIDC_REQUIRE_MFA": True,
        # A claim of group names or roles that may grant a role here, and which value grants
        # which role ("gvi-admins=admin,gvi-handlers=handler"); empty: roles only from the CLI.
        "OIDC_ROLE_CLAIM": "",
        "OIDC_ROLES": "",
        "RETENTION_DAYS": 90,
        "FORMATS_DIR": str(Path(instance_path) / "formats"),
        "FORMATS_REFRESH_SECONDS": None,  # 60, or off while TESTING; 0 turns it off
        # The formats' tools read editors' text, so they run in a bubblewrap sandbox
        # (formats/sandbox.py) and the build refuses where it cannot run. True lets them run
        # without it there (with the same limits, a warning logged at every build).
        "FORMATS_WITHOUT_SANDBOX": False,
        "TRUSTED_PROXIES": 0,
        # How long nginx (`flask deploy nginx`) serves a public page from its cache before it asks
        # the app again: a published change to the statement shows within this many seconds.
        "NGINX_CACHE_SECONDS": 5,
        "HOST": "127.0.0.1",
        "PORT": 5000,
        # Bound parameters are residents' answers: never in an error message or a log line.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        # The session cookie (set only by the forms and the staff area, see sessions.py).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Staff never ask to be remembered; should the cookie be cleared, only under /staff.
        "REMEMBER_COOKIE_PATH": "/staff",
    }


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read the documented variables that are set in the environment."""
    found: dict[str, Any] = {}
    for name in _STR_VARS | _INT_VARS | _BOOL_VARS:
        value = environ.get(name)
        if value is None or value == "":
            continue
        if name in _BOOL_VARS:
            found[name] = value.strip().lower() in {"1", "true", "yes", "on"}
        else:
            found[name] = int(value) if name in _INT_VARS else value
    return found


def site_url(config: Mapping[str, Any]) -> str:
    """Return the public address: SITE_URL if set, else where `make run` serves (HOST, PORT)."""
    if config.get("SITE_URL"):
        return str(config["SITE_URL"]).rstrip("/")
    host = str(config["HOST"])
    # A wildcard address is where the server listens, not an address a browser can open.
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{config['PORT']}"


def configure(
    app: Flask, environ: Mapping[str, str], test_config: Mapping[str, Any] | None = None
) -> None:
    """Set the app's config: defaults, the environment, `test_config`, then derived values."""
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_mapping(from_environment(environ))
    if test_config is not None:
        app.config.from_mapping(test_config)
    config = app.config
    config["SECRET_KEY"] = config["SECRET_KEY"] or _development_secret(Path(app.instance_path))
    config["SITE_URL"] = site_url(config)
    config["SESSION_COOKIE_SECURE"] = config["SITE_URL"].startswith("https://")
    # Under HTTPS the `__Secure-` prefix makes browsers refuse the cookie unless it was set over
    # HTTPS with `Secure`, so a plain-HTTP page (or a network attacker) cannot plant one.
    # `__Host-` would be stronger but needs `Path=/`, and our cookies are path-scoped
    # (`Path=/staff` and the form folders, see sessions.py) to keep them off reading pages.
    config["SESSION_COOKIE_NAME"] = (
        "__Secure-session" if config["SESSION_COOKIE_SECURE"] else "session"
    )
    config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(config["DATABASE_URL"])
    config["OUTBOX_RETRY_MINUTES"] = minutes_list(config["OUTBOX_RETRY_MINUTES"])


def minutes_list(value: str | list[float] | tuple[float, ...]) -> tuple[float, ...]:
    """Read "1,5,15" (or a list, as a config passed on as JSON has it) as minutes; refuse at
    start-up what a sender could not use."""
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    try:
        minutes = tuple(float(part) for part in parts if str(part).strip())
    except (TypeError, ValueError):
        minutes = ()
    if not minutes or min(minutes) <= 0:
        raise ValueError(f"OUTBOX_RETRY_MINUTES must list minutes above 0, e.g. 1,5,15: {value!r}")
    return minutes


def sqlalchemy_url(url: str) -> str:
    """Use the psycopg 3 driver for PostgreSQL addresses written the common way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret(instance: Path) -> str:
    """Keep a random key in the instance folder so a fresh machine needs no set-up."""
    # Production sets SECRET_KEY in the environment; this file only serves `make run`.
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()
