"""`flask formats build` and `flask formats check`: build the files by hand, check the tools."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..progress import progress
from . import sandbox
from .build import BuildBusy, build
from .catalogue import formats_needing
from .convert import TOOLS, tool_versions
from .epub import pandoc_sandbox_works

formats_cli = AppGroup("formats", help="Build and check the other formats of every page.")


@formats_cli.command("build")
@click.option("--force", is_flag=True, help="Build every file again, even if it is current.")
@click.option("--jobs", type=int, default=None, help="Conversions run at once (default: cores).")
def build_command(force: bool, jobs: int | None) -> None:
    """Build the missing and stale formats of every page; exit 1 if any failed."""
    try:
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as the app
        report = build(app, force=force, jobs=jobs, track=progress)
    except BuildBusy as exc:
        click.echo(str(exc))
        return
    except sandbox.SandboxUnavailable as exc:
        click.echo(f"refused: {exc}", err=True)
        raise SystemExit(1) from None
    for line in report.summary():
        click.echo(line)
    for failure in report.failed:
        click.echo(f"failed: {failure}", err=True)
    if report.failed:
        raise SystemExit(1)


@formats_cli.command("check")
def check_command() -> None:
    """List the tools the formats need, whether each is found, and whether the sandbox works."""
    versions = tool_versions()
    for tool in TOOLS:
        version = versions.get(tool.name)
        state = f"found ({version})" if version else f"MISSING: install {tool.install}"
        formats = ", ".join(fmt.suffix.lstrip(".") for fmt in formats_needing(tool.name))
        click.echo(f"{tool.name:<14} {state}  [{formats}]")
    problem = sandbox.problem()
    allowed = bool(current_app.config.get(sandbox.SETTING))
    if problem is None:
        click.echo(f"{'sandbox':<14} works (bubblewrap: no network, empty environment, limits)")
        if versions.get("pandoc"):
            own = "on" if pandoc_sandbox_works(True) else "not supported by this pandoc"
            click.echo(f"{'':<14} pandoc --sandbox: {own}")
    elif allowed:
        click.echo(f"{'sandbox':<14} NOT USED: {problem}; {sandbox.SETTING} lets the tools run"
                   " without it")  # fmt: skip
    else:
        click.echo(f"{'sandbox':<14} FAILS: {problem}; the build refuses to run (install"
                   f" bubblewrap, or set {sandbox.SETTING}=1 to build without one)")  # fmt: skip
    if not all(versions.get(tool.name) for tool in TOOLS) or (problem and not allowed):
        raise SystemExit(1)
