"""Every page in other formats: large print (HTML, PDF), audio (also slow), braille, text, EPUB.

catalogue.py lists the formats (one record each), source.py renders what they are made from,
convert.py, epub.py and text.py make the files, build.py builds them ahead of time into store.py's
folder, refresh.py keeps them current while the site runs, views.py offers and serves them,
cli.py is `flask formats`, lexicon.py how the voices say the names they read wrong.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .cli import formats_cli
from .lexicon import EXTENSION as LEXICON
from .lexicon import load_for_app as load_lexicon
from .refresh import init_app as init_refresher
from .store import EXTENSION, Store
from .views import bp, formats_for_path, other_formats


def init_app(app: Flask) -> None:
    """Register the downloads, "Other formats", `flask formats`, the refresher and the lexicon."""
    app.extensions[EXTENSION] = Store(Path(app.config["FORMATS_DIR"]))
    app.extensions[LEXICON] = load_lexicon(app)  # how the voices say names: content/uttal.yaml
    app.add_template_global(other_formats)
    app.add_template_global(formats_for_path)
    app.cli.add_command(formats_cli)
    app.register_blueprint(bp)
    init_refresher(app)  # rebuilt in the background when they go stale
