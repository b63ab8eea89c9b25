"""The production set-up the app writes itself: `flask deploy nginx` (nginx.py, nginx.conf).

nginx stands in front of the app servers as a caching reverse proxy (see docs/operations.md,
"Running in production"); the command writes its whole configuration from the app's own
settings, pages, headers and error templates, so nothing there is kept by hand.
"""

from __future__ import annotations

from flask import Flask

from .cli import deploy_cli


def init_app(app: Flask) -> None:
    """Register `flask deploy`."""
    app.cli.add_command(deploy_cli)
