"""Command-line tools for editors and operators (`flask ...`)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from .content import load_site
from .lint import check_site
from .pages import route_exists

# A plain group, registered as a `flask.commands` entry point: it builds its own app, so it
# still runs (and explains) when broken content would stop the normal app from starting.
content_cli = click.Group("content", help="Check the pages in content/.")


@content_cli.command("check")
def content_check() -> None:
    """Check every page; exit 1 on any error (warnings do not fail)."""
    from . import create_app

    app = create_app({"CONTENT_LENIENT": True})
    with app.app_context():
        site, errors = load_site(Path(app.config["CONTENT_DIR"]))
        problems = check_site(site, errors, route_exists)
    for problem in problems:
        click.echo(str(problem), err=problem.level == "error")
    failed = sum(p.level == "error" for p in problems)
    click.echo(f"{len(site.pages)} pages checked, {failed} error(s)")
    if failed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Register the command groups that need the app."""
