"""The staff area's commands: `flask staff ...` for accounts, `flask cases ...` for the data."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Role, SessionEnd, StaffUser, utcnow
from .audit import audit
from .auth import end_sessions, hasher
from .reports import export_rows, render_export
from .retention import purge

staff_cli = AppGroup("staff", help="Manage staff accounts.")


@staff_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", type=click.Choice(Role.ALL), default=Role.HANDLER, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_command(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for, or read from stdin)."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    if db.session.scalar(select(StaffUser).where(StaffUser.email == email)):
        raise click.ClickException(f"{email} already has an account")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.ClickException("the password must be at least 12 characters")
    db.session.add(
        StaffUser(email=email, name=name, role=role, password_hash=hasher.hash(password))
    )
    db.session.commit()
    click.echo(f"created {role} {email}")


@staff_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Deactivate an account: it can no longer log in, its sessions end; its history stays."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account for {email}")
    user.active = False
    ended = end_sessions(user.id, SessionEnd.DEACTIVATED)
    db.session.commit()
    click.echo(f"deactivated {user.email}, {ended} session(s) ended")


@staff_cli.command("list")
def list_command() -> None:
    """List the accounts."""
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.email)):
        state = "active" if user.active else "inactive"
        click.echo(f"{user.email}\t{user.name}\t{user.role}\t{state}")


cases_cli = AppGroup("cases", help="Purge and export cases.")


@cases_cli.command("purge")
def purge_command() -> None:
    """Remove personal data from cases closed more than RETENTION_DAYS ago; delete old spam."""
    purged, deleted = purge(utcnow(), current_app.config["RETENTION_DAYS"])
    click.echo(f"{purged} case(s) purged of personal data, {deleted} spam case(s) deleted")


@cases_cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
def export_command(fmt: str) -> None:
    """Write every case to standard output, without purged data."""
    audit("export", f"cli-{fmt}")
    db.session.commit()
    click.echo(render_export(fmt, export_rows()), nl=False)


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(staff_cli)
    app.cli.add_command(cases_cli)
