"""The editors' pages: loaded from `content/` once, rendered and sanitized, served per locale.

`load` reads and checks the Markdown files and site facts, `markdown` is the only place
Markdown becomes HTML (and HTML is sanitized), `views` serves them, `lint` and `cli` are the
editors' `flask content check`.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .load import ContentError, load_site
from .views import LocaleConverter, bp


def init_app(app: Flask) -> None:
    """Load every page (any error stops start-up and names the file), then serve them."""
    site, problems = load_site(Path(app.config["CONTENT_DIR"]))
    if problems and not app.config["CONTENT_LENIENT"]:
        raise ContentError(problems[0].source, "\n".join(str(p) for p in problems))
    app.extensions["gvisite.site"] = site
    app.url_map.converters["locale"] = LocaleConverter
    app.register_blueprint(bp)
