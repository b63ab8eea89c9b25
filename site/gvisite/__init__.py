"""Järfälla kommun's GVI site: the application factory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    assets,
    auth,
    cli,
    errors,
    feedback,
    formats,
    formats_refresh,
    outbox,
    pages,
    security,
    sessions,
    staff,
    statement,
)
from .config import PROJECT_ROOT, defaults, from_environment, site_url
from .content import ContentError, load_site
from .database import init_database
from .extensions import babel, csrf, limiter
from .i18n import best_locale, check_locales
from .templating import init_templating


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app: config from defaults, then the environment, then `test_config`."""
    instance = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    app = Flask(__name__, instance_path=str(instance or PROJECT_ROOT / "instance"))
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_mapping(from_environment(os.environ))
    if test_config is not None:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or _development_secret(app)
    app.config["SITE_URL"] = site_url(app.config)

    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the client address comes from X-Forwarded-For; the rate
        # limits and login throttling would otherwise count every visitor as the proxy.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    check_locales(app)
    babel.init_app(
        app,
        locale_selector=best_locale,
        default_translation_directories=str(PROJECT_ROOT / "translations"),
    )
    _load_content(app)
    statement.init_app(app)
    init_database(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    limiter.init_app(app)
    sessions.init_app(app)  # before anything that reads the session
    csrf.init_app(app)
    # The public forms check their token themselves, to show the answers again on failure.
    csrf.exempt(feedback.bp)
    init_templating(app)
    security.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    outbox.init_app(app)
    app.url_map.converters["locale"] = pages.LocaleConverter
    app.register_blueprint(statement.bp)
    app.register_blueprint(feedback.bp)
    auth.init_app(app)
    staff.init_app(app)
    formats.init_app(app)  # other formats of every page: routes, the block, `flask formats`
    formats_refresh.init_app(app)  # ...rebuilt in the background when they go stale
    app.register_blueprint(pages.bp)  # last: its catch-all route must not shadow the others
    return app


def _load_content(app: Flask) -> None:
    """Load all pages once; any error stops start-up and names the file."""
    site, problems = load_site(Path(app.config["CONTENT_DIR"]))
    if problems and not app.config.get("CONTENT_LENIENT"):
        raise ContentError(problems[0].source, "\n".join(str(p) for p in problems))
    app.extensions["gvisite.site"] = site


def _development_secret(app: Flask) -> str:
    """Keep a random key in the instance folder so a fresh machine needs no set-up."""
    # Production sets SECRET_KEY in the environment; this file only serves `make run`.
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()
