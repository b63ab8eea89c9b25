"""Järfälla kommun's GVI site: the application factory.

The factory sets up the shared parts (configuration, languages, database, sessions, CSRF,
templates, the `<locale>` URL converter), then lets each part of the site register itself, in
the one list below: its blueprint, template globals, hooks and `flask` commands. Last it wraps
Flask in the WSGI middleware the parts provide, in the one order written in `middleware()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import partial
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
    open_data,
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
from .formats.lexicon import check_lexicon
from .forms import limit_bodies
from .i18n import LocaleConverter, best_locale, check_locales
from .pages.cli import make_content_cli
from .prebuilt.layer import WSGIApp
from .templating import init_templating

# The parts of the site, in the order they register. Pages come first: they load the content
# the others read. Their order decides no middleware: `middleware()` below does.
PARTS = (
    pages,
    statement,
    open_data,
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
    # Before any part adds a route: a rule finds its converter when it is added.
    app.url_map.converters["locale"] = LocaleConverter
    for part in PARTS:
        part.init_app(app)
    limit_bodies(app)  # from the limits of every form the parts declared
    wsgi: WSGIApp = app.wsgi_app
    for wrap in reversed(middleware(app)):  # innermost first, so the list's first is outermost
        wsgi = wrap(wsgi)
    # Replacing `wsgi_app` is Flask's documented way to add WSGI middleware.
    app.wsgi_app = wsgi  # type: ignore[method-assign, assignment]  # mypy sees a method
    return app


def middleware(app: Flask) -> list[Callable[[WSGIApp], WSGIApp]]:
    """Return the WSGI middleware around Flask, outermost first: the order is the point."""
    hops = app.config["TRUSTED_PROXIES"]
    stack = [
        # Behind a reverse proxy, first: the client address and host come from X-Forwarded-*,
        # so the rate limits and login throttling count visitors, not the proxy, and the
        # host check below judges the host the visitor asked for.
        partial(ProxyFix, x_for=hops, x_proto=hops, x_host=hops) if hops else None,
        # The host check before anything answers: Flask cannot build links for a Host that
        # is no host name (even its error page would fail), and no kept page may go to one.
        security.RefuseBadHosts,
        # The pre-built public pages, inside the host check; every other request goes on.
        partial(prebuilt.wrap, app),
    ]
    return [wrap for wrap in stack if wrap is not None]


# `flask content check`, a `flask.commands` entry point (see pyproject.toml): it builds its own
# app, so it still runs, and explains, when broken content would stop the normal app starting.
# The pronunciation lexicon is content too; its check lives with the formats that read it.
content_cli = make_content_cli(create_app, checks=(check_lexicon,))
