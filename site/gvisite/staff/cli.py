"""The staff area's commands: `flask staff ...` for accounts, `flask cases ...` for the data."""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from ..extensions import db
from ..forms import CONTROL
from ..i18n import DEFAULT_LOCALE
from ..models import Role, SessionEnd, StaffUser, utcnow
from ..progress import progress
from .audit import audit
from .mfa import forget_factors
from .passwords import password_problem, set_password
from .reports import export_rows, render_export
from .retention import purge
from .sessions import end_sessions

staff_cli = AppGroup("staff", help="Manage staff accounts.")


def _valid_email(email: str) -> str:
    """Return the address normalized and in lower case, or refuse it as the public forms do."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise click.BadParameter(f"not a valid email address ({exc})", param_hint="EMAIL") from exc


def _new_password(password_stdin: bool, email: str, name: str) -> str:
    """Read a new password (from stdin, or asked twice) and apply the password policy."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with force_locale(DEFAULT_LOCALE):  # the policy's messages, as the staff area shows them
        problem = password_problem(password, email, name)
        if problem is not None:
            raise click.ClickException(str(problem))
    return password


def _account(email: str) -> StaffUser:
    """Return the account with this address, or stop with a message."""
    email = email.strip().lower()
    # No account has a control character (PostgreSQL would refuse a NUL in the query).
    user = None
    if not CONTROL.search(email):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        raise click.ClickException(f"no account for {email!r}")
    return user


@staff_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", type=click.Choice(Role.ALL), default=Role.HANDLER, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_command(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for, or read from stdin)."""
    email, name = _valid_email(email), name.strip()
    if not name or CONTROL.search(name):
        raise click.BadParameter("give a name on one line", param_hint="--name")
    if db.session.scalar(select(StaffUser).where(StaffUser.email == email)):
        raise click.ClickException(f"{email} already has an account")
    user = StaffUser(email=email, name=name, role=role)
    set_password(user, _new_password(password_stdin, email, name))
    db.session.add(user)
    db.session.flush()  # for the id the audit line names
    audit(f"create:{role}", str(user.id))  # by id: the audit log holds no personal data
    db.session.commit()
    click.echo(f"created {role} {email}")


@staff_cli.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def password_command(email: str, password_stdin: bool) -> None:
    """Set a new password for an account (asked for twice, or read from stdin)."""
    user = _account(email)
    set_password(user, _new_password(password_stdin, user.email, user.name))
    end_sessions(user.id, SessionEnd.PASSWORD)  # a reset: every session of the account ends
    audit("password", str(user.id))  # by id: the audit log holds no personal data
    db.session.commit()
    click.echo(f"changed the password of {user.email}")


@staff_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Deactivate an account: it can no longer log in, its sessions end; its history stays."""
    user = _account(email)
    user.active = False
    ended = end_sessions(user.id, SessionEnd.DEACTIVATED)
    audit("deactivate", str(user.id))
    db.session.commit()
    click.echo(f"deactivated {user.email}, {ended} session(s) ended")


@staff_cli.command("activate")
@click.argument("email")
def activate_command(email: str) -> None:
    """Let a deactivated account log in again, with the password it had (or set a new one)."""
    user = _account(email)
    if user.active:
        click.echo(f"{user.email} is already active; nothing changed")
        return
    user.active = True
    audit("activate", str(user.id))  # by id: the audit log holds no personal data
    db.session.commit()
    click.echo(f"activated {user.email}; it logs in with the password it had")


@staff_cli.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(Role.ALL))
def role_command(email: str, role: str) -> None:
    """Give an account another role; it applies from the account's next request."""
    user = _account(email)
    if user.role == role:
        click.echo(f"{user.email} is already {role}; nothing changed")
        return
    # Each request reads the role afresh (permissions.py), so open sessions change at once.
    audit(f"role:{user.role}-to-{role}", str(user.id))
    user.role = role
    db.session.commit()
    click.echo(f"{user.email} is now {role}")


@staff_cli.command("reset-mfa")
@click.argument("email")
def reset_mfa_command(email: str) -> None:
    """Remove an account's passkeys, code secret and recovery codes; it enrols again at login."""
    user = _account(email)
    passkeys, codes = len(user.passkeys), bool(user.totp_secret)
    forget_factors(user)
    # A session that showed a factor now gone must not live on: the person logs in again.
    ended = end_sessions(user.id, SessionEnd.MFA_RESET)
    audit("reset-mfa", str(user.id))  # by id: the audit log holds no personal data
    db.session.commit()
    click.echo(
        f"reset the second factor of {user.email}: {passkeys} passkey(s) and "
        f"{'the' if codes else 'no'} one-time-code secret removed, with the recovery codes; "
        f"{ended} session(s) ended"
    )


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
    purged, deleted, again = purge(utcnow(), current_app.config["RETENTION_DAYS"], progress)
    click.echo(f"{purged} case(s) purged of personal data, {deleted} spam case(s) deleted")
    if again:
        click.echo(f"{again} erased case(s) had text added since and were erased again")


@cases_cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
def export_command(fmt: str) -> None:
    """Write every case to standard output, without purged data."""
    audit("export", f"cli-{fmt}")
    db.session.commit()
    # As UTF-8 bytes whatever the server's locale: the CSV's byte order mark promises UTF-8.
    click.echo(render_export(fmt, export_rows(progress)).encode(), nl=False)


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(staff_cli)
    app.cli.add_command(cases_cli)
