"""Järfälla kommun's GVI site: the application factory.

The factory sets up the shared parts (configuration, languages, database, sessions, CSRF,
templates), then lets each part of the site register itself, in the one list below: its
blueprint, template globals, hooks and `flask` commands.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    assets,
    contact,
    deploy,
    errors,
    feedback,
    formats,
    outbox,
    pages,
    prebuilt,
    ratelimits,  # noqa: F401  (defines the `database://` store for Flask-Limiter)
    search,
    security,
    sessions,
    staff,
    statement,
)
from .config import PROJECT_ROOT, configure
from .database import init_database, private_folder
from .extensions import babel, csrf, limiter
from .forms import limit_bodies
from .i18n import best_locale, check_locales
from .pages.cli import make_content_cli
from .templating import init_templating

# The parts of the site, in the order they register. Pages come first: they load the content
# the others read, and the URL converter for `/<locale>/` that every part's routes use. The
# pre-built pages wrap the app before security does: the host check stays in front of them.
PARTS = (
    pages,
    statement,
    contact,
    search,
    feedback,
    staff,
    formats,
    outbox,
    prebuilt,
    security,
    assets,
    errors,
    deploy,
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app: config from defaults, then the environment, then `test_config`."""
    instance = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    app = Flask(__name__, instance_path=str(instance or PROJECT_ROOT / "instance"))
    private_folder(Path(app.instance_path))  # the database, mail and keys: the app's user only
    configure(app, os.environ, test_config)
    check_locales(app)
    babel.init_app(
        app,
        locale_selector=best_locale,
        default_translation_directories=str(PROJECT_ROOT / "translations"),
    )
    init_database(app)
    limiter.init_app(app)  # counters in RATELIMIT_STORAGE_URI (ratelimits.py: `database://`)
    sessions.init_app(app)  # before anything that reads the session
    csrf.init_app(app)
    init_templating(app)
    for part in PARTS:
        part.init_app(app)
    limit_bodies(app)  # from the limits of every form the parts declared
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the client address comes from X-Forwarded-For; the rate
        # limits and login throttling would otherwise count every visitor as the proxy.
        # Outermost, so the parts' own middleware (security's host check) sees the real host.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


# `flask content check`, a `flask.commands` entry point (see pyproject.toml): it builds its own
# app, so it still runs, and explains, when broken content would stop the normal app starting.
content_cli = make_content_cli(create_app)
