"""`flask content check`: the editors' check of every page before it is published."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from flask import Flask

from ..progress import progress
from .lint import Problem, check_site
from .load import load_site
from .model import Site
from .readability import reading, summary
from .views import route_exists


def make_content_cli(
    create_app: Callable[[Mapping[str, Any]], Flask],
    checks: Sequence[Callable[[Flask], list[Problem]]] = (),
) -> click.Group:
    """Return the `content` command group, which makes its own lenient app with `create_app`."""
    # `checks`: the other parts' checks of content they read (the formats' lexicon). The pages
    # import nothing of theirs, so the factory hands them in.
    # A plain group, registered as a `flask.commands` entry point: with an app of its own that
    # accepts broken pages, it can still start, and name every problem, where the site cannot.
    group = click.Group("content", help="Check the pages in content/.")

    @group.command("check")
    def content_check() -> None:
        """Check every page; exit 1 on any error (warnings do not fail)."""
        app = create_app({"CONTENT_LENIENT": True})
        with app.app_context():
            site, errors = load_site(Path(app.config["CONTENT_DIR"]))
            problems = check_site(site, errors, route_exists, progress)
            problems += [problem for check in checks for problem in check(app)]
        for line in readability_lines(site):
            click.echo(line)
        for problem in problems:
            click.echo(str(problem), err=problem.level == "error")
        failed = sum(p.level == "error" for p in problems)
        click.echo(f"{len(site.pages)} pages checked, {failed} error(s)")
        if failed:
            raise SystemExit(1)

    return group


def readability_lines(site: Site) -> list[str]:
    """Return each page's readability score, and each language's lack of a measure, one a line."""
    lines, unmeasured = [], set()
    for page in sorted(site.pages.values(), key=lambda p: str(p.source)):
        score = reading(page)
        if score is None:
            unmeasured.add(page.locale)
        else:
            lines.append(f"readability: {page.source}: {summary(score)}")
    for locale in sorted(unmeasured):
        lines.append(
            f"readability: content/{locale}: no established measure for this language"
            " (see site/gvisite/pages/readability.py)"
        )
    return lines
