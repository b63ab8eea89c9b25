"""Delivery of the outbox: claim a due message, send it, record the result, retry later."""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from .config import OUTBOX_RETRY_MINUTES, minutes_list
from .database import PRIVATE_FILE, changed_rows, discard_session, private_folder
from .extensions import db
from .handling_snapshot import refresh_if_new_day
from .models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

# Growing delays between attempts (OUTBOX_RETRY_MINUTES); after the last one the message is
# marked failed. These are the defaults; `retry_delays` reads the app's own.
RETRY_DELAYS = [dt.timedelta(minutes=m) for m in minutes_list(OUTBOX_RETRY_MINUTES)]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Pauses (seconds) while the database refuses to record a delivery: about two minutes in
# all, inside the default claim (OUTBOX_CLAIM_SECONDS), so no other sender takes it meanwhile.
SENT_RETRY_PAUSES = (0.5, 1, 2, 4, 8, 15, 30, 60)
BATCH = 50
MESSAGE_ID_PREFIX = "outbox-"  # <outbox-<row id>.<created>@<site host>>


class Backend(Protocol):
    """Something that can deliver one e-mail."""

    def send(self, message: EmailMessage) -> None:
        """Deliver the message or raise."""


class FileBackend:
    """Write each message as an .eml file: the fresh-machine default."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        """Write the message to `<folder>/<message id>.eml`: a resend replaces, never doubles."""
        private_folder(self.folder)
        local_part = str(message["Message-ID"]).strip("<>").partition("@")[0]
        path = self.folder / f"{local_part}.eml"
        # A mailbox of residents' mail: the app's user's only, whatever the umask.
        with os.fdopen(
            os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb"
        ) as file:
            file.write(bytes(message))
        if path.stat().st_mode & 0o077:  # written before files were kept private
            path.chmod(PRIVATE_FILE)

    def forget(self, message_ids: list[int]) -> int:
        """Delete the files of these outbox messages (purge: we keep no copy); return how many."""
        removed = 0
        for message_id in message_ids:
            for path in self.folder.glob(f"{MESSAGE_ID_PREFIX}{message_id}.*.eml"):
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class SmtpBackend:
    """Speak SMTP to the configured server, with STARTTLS or implicit TLS if asked."""

    def __init__(self, config: dict) -> None:
        # Each SMTP step may take this long: with the steps of one message, well inside the
        # claim, so a slow server cannot keep a send going until another sender takes it over.
        self.timeout = max(2.0, min(30.0, int(config["OUTBOX_CLAIM_SECONDS"]) / 10))
        self.host = config["SMTP_HOST"]
        self.port = int(config["SMTP_PORT"])
        self.user = config.get("SMTP_USER") or ""
        self.password = config.get("SMTP_PASSWORD") or ""
        self.security = (config.get("SMTP_SECURITY") or "none").lower()
        # Building a TLS context costs tens of milliseconds: once per backend, and only if used.
        self.context = ssl.create_default_context() if self.security != "none" else None

    def send(self, message: EmailMessage) -> None:
        """Open a connection, send one message, close."""
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=self.context)
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def backend_for(app: Flask) -> Backend:
    """Choose the backend named by MAIL_BACKEND."""
    if app.config["MAIL_BACKEND"] == "smtp":
        return SmtpBackend(app.config)
    return FileBackend(Path(app.instance_path) / "mail")


def build_email(row: OutboxMessage, sender: str, domain: str) -> EmailMessage:
    """Build the e-mail; EmailMessage refuses CR/LF in headers, so no header can be injected."""
    recipients = [ascii_domain(address) for address in row.recipients]
    reply_to = ascii_domain(row.reply_to) if row.reply_to else None
    # Left non-ASCII only before an @, which the forms accept only when SMTP_UTF8 says the server
    # takes it: then written as UTF-8 (RFC 6532), not as encoded words no server can read.
    utf8 = not all(address.isascii() for address in [*recipients, reply_to or ""])
    message = EmailMessage(policy=policy.default.clone(utf8=True) if utf8 else policy.default)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=False)
    # A stable id per outbox row lets mail systems drop a duplicate after a crash mid-send.
    message["Message-ID"] = f"<{MESSAGE_ID_PREFIX}{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body, charset="utf-8")
    return message


def ascii_domain(address: str) -> str:
    """Write an address's domain in ASCII (järfälla.se as punycode), as every mail server takes."""
    if address.rpartition("@")[2].isascii():
        return address
    try:  # the library the forms validate with, so both agree on the domain (IDNA 2008)
        found = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return address  # stored before the forms checked it: the server refuses, logged by class
    return f"{found.local_part}@{found.ascii_domain}"


def retry_delays() -> list[dt.timedelta]:
    """Return the waits after each failed attempt, from OUTBOX_RETRY_MINUTES."""
    return [dt.timedelta(minutes=m) for m in current_app.config["OUTBOX_RETRY_MINUTES"]]


def claim_period() -> dt.timedelta:
    """Return how long a claimed message is left to its sender before another may take it."""
    return dt.timedelta(seconds=current_app.config["OUTBOX_CLAIM_SECONDS"])


def claim(message_id: int, token: str, now: dt.datetime) -> bool:
    """Claim one message for this sender; false if another sender got it first."""
    # The conditional UPDATE is the lock: on PostgreSQL a second sender waits for the first
    # and then sees the claim; on SQLite writers are serialized. Works across app servers.
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == "pending",
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(claimed_by=token, claimed_until=now + claim_period())
    )
    db.session.commit()
    return changed_rows(result) == 1


def deliver(row: OutboxMessage, backend: Backend, now: dt.datetime) -> bool:
    """Try to send one claimed message and record the outcome."""
    config = current_app.config
    domain = urlsplit(config["SITE_URL"]).hostname or "localhost"
    row.attempts += 1
    try:
        backend.send(build_email(row, config["MAIL_FROM"], domain))
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        # Only the error class and code: never the message text or addresses.
        row.last_error = f"{type(exc).__name__}: {getattr(exc, 'smtp_code', '')}".strip(": ")
        delays = retry_delays()
        if row.attempts > len(delays):
            row.status = "failed"
        else:
            row.next_attempt_at = now + delays[row.attempts - 1]
        row.claimed_by = row.claimed_until = None
        db.session.commit()
        log.warning(
            "outbox message %s attempt %s failed (%s)", row.id, row.attempts, row.last_error
        )
        return False
    record_sent(row.id, row.claimed_by or "", row.attempts)
    return True


def record_sent(message_id: int, token: str, attempts: int) -> None:
    """Mark a delivered message sent and drop its text, waiting out a database hiccup."""
    # Once delivered, the row keeps what the staff page shows (who, subject, when) and no
    # longer the body: it held the status link's secret and the resident's text, and the
    # mail server (or the file backend's folder, which stands for it) has the copy now.
    # Delivered but not marked, a message would go out again once its claim ran out: the
    # only duplicate left is a sender killed between the server's "250 OK" and this commit.
    for pause in (*SENT_RETRY_PAUSES, None):
        try:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == token)
                .values(
                    status="sent",
                    body="",
                    attempts=attempts,
                    sent_at=utcnow(),
                    last_error=None,
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            db.session.commit()
            return
        except SQLAlchemyError:
            discard_session()
            if pause is None:
                raise
            log.warning("outbox message %s was sent; marking it waits for the database", message_id)
            time.sleep(pause)


def send_due(backend: Backend | None = None, now: dt.datetime | None = None) -> tuple[int, int]:
    """Deliver every message that is due once; return (sent, failed attempts)."""
    backend = backend or backend_for(current_app)
    token = uuid.uuid4().hex
    sent = failed = 0
    after = 0  # the round walks the queue once, in id order: a fixed-size query each batch
    while True:
        moment = now or utcnow()
        ids = db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= moment,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < moment),
                OutboxMessage.id > after,
            )
            .order_by(OutboxMessage.id)
            .limit(BATCH)
        ).all()
        db.session.commit()  # end the read transaction before claiming
        if not ids:
            return sent, failed
        after = ids[-1]
        for message_id in ids:
            # The claim runs from now, not from the batch's start: on a slow machine or with a
            # slow mail server the last of 50 would otherwise be claimed already expired, and a
            # second sender would take it while this one still sends it (seen: 337 of 10,000).
            if not claim(message_id, token, now or utcnow()):
                continue
            row = db.session.get(OutboxMessage, message_id, populate_existing=True)
            if row is None:
                continue
            if deliver(row, backend, moment):
                sent += 1
            else:
                failed += 1


outbox_cli = AppGroup("outbox", help="Deliver queued e-mail.")


@outbox_cli.command("send")
def send_command() -> None:
    """Deliver everything that is due, once, and exit."""
    sent, failed = send_due()
    click.echo(f"{sent} sent, {failed} failed attempt(s)")


@outbox_cli.command("worker")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.")
@click.option("--rounds", default=0, help="Stop after this many rounds (0: run until stopped).")
def worker_command(interval: float, rounds: int) -> None:
    """Keep delivering due messages until stopped."""
    done = 0
    while rounds == 0 or done < rounds:
        try:
            sent, failed = send_due()
            if sent or failed:
                click.echo(f"{sent} sent, {failed} failed attempt(s)")
        except Exception:  # a database hiccup must not end the worker
            db.session.rollback()
            log.exception("outbox round failed")
        # It wakes every few seconds anyway: the public handling figures follow the day here.
        refresh_if_new_day(current_app._get_current_object())  # type: ignore[attr-defined]  # a LocalProxy, typed as the app
        done += 1
        time.sleep(interval)


def forget_copies(message_ids: list[int]) -> int:
    """Delete what the mail backend keeps of these messages (only the file backend keeps any)."""
    backend = backend_for(current_app)
    return backend.forget(message_ids) if isinstance(backend, FileBackend) else 0


def init_app(app: Flask) -> None:
    """Register the outbox commands."""
    app.cli.add_command(outbox_cli)
