"""Every page in other formats: large print (HTML, PDF), audio, braille, plain text and EPUB."""

from __future__ import annotations

from flask import Flask

from . import refresh, views


def init_app(app: Flask) -> None:
    """Register the downloads, the "Other formats" block, `flask formats` and the refresher."""
    views.init_app(app)
    refresh.init_app(app)  # rebuilt in the background when they go stale
