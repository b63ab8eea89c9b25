"""Two sender processes, one outbox: every message delivered exactly once (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

from flask import Flask

from gvisite.extensions import db
from gvisite.models import OutboxMessage
from gvisite.outbox import send_due
from tests.fixtures_forms import STAFF_MAILBOX, all_messages
from tests.fixtures_servers import SmtpServer
from tests.helpers import PROJECT_ROOT

MESSAGES = 200
SENDERS = 2
FLASK = Path(sys.executable).with_name("flask")


def queue(app: Flask, number: int) -> None:
    """Queue `number` messages, each with its own subject."""
    with app.app_context():
        db.session.add_all(
            OutboxMessage(
                purpose="staff",
                recipients=[STAFF_MAILBOX],
                subject=f"Meddelande {index:03d}",
                body=f"Text {index}: å ä ö\n",
            )
            for index in range(number)
        )
        db.session.commit()


def sender_environment(app: Flask, smtp: SmtpServer) -> dict[str, str]:
    """The environment of a `flask outbox send` process that shares the app's database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "SMTP_", "MAIL_", "DATABASE_", "INSTANCE_"))
    }
    env.update(
        DATABASE_URL=app.config["DATABASE_URL"],
        INSTANCE_PATH=str(Path(app.instance_path) / "sender"),
        SECRET_KEY="test-secret-key",
        SITE_URL="http://localhost",
        MAIL_BACKEND="smtp",
        SMTP_HOST=smtp.host,
        SMTP_PORT=str(smtp.port),
    )
    return env


def test_two_sender_processes_deliver_each_message_exactly_once(
    make_forms_app, database_url: str, smtp_server: SmtpServer
) -> None:
    app = make_forms_app(database_url, **smtp_server.config())
    queue(app, MESSAGES)
    smtp_server.delay = 0.002  # slow the server a little so that the senders overlap
    env = sender_environment(app, smtp_server)
    senders = [
        subprocess.Popen(
            [str(FLASK), "--app", "wsgi", "outbox", "send"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(SENDERS)
    ]
    outputs = []
    for sender in senders:
        out, err = sender.communicate(timeout=120)
        assert sender.returncode == 0, err[-3000:]
        outputs.append(out)

    subjects = Counter(mail.message["Subject"] for mail in smtp_server.received)
    assert len(subjects) == MESSAGES
    assert set(subjects.values()) == {1}, [s for s, n in subjects.items() if n > 1]
    message_ids = Counter(mail.message["Message-ID"] for mail in smtp_server.received)
    assert len(message_ids) == MESSAGES and set(message_ids.values()) == {1}
    sent = [int(re.search(r"(\d+) sent", out).group(1)) for out in outputs]
    assert sum(sent) == MESSAGES, outputs
    rows = all_messages(app)
    assert {row.status for row in rows} == {"sent"}
    assert {row.attempts for row in rows} == {1}


class SlowBackend:
    """A mail server that takes a second per message and counts what it was given."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        """Take the message slowly."""
        time.sleep(1.0)
        with self.lock:
            self.received[str(message["Message-ID"])] += 1


def test_a_slow_sender_keeps_what_it_claimed(make_forms_app) -> None:
    """Claims run from the moment each message is taken, not from its batch's start: a batch
    that outlasts the claim period is not taken over message by message by a second sender."""
    app = make_forms_app(OUTBOX_CLAIM_SECONDS=3)
    queue(app, 6)
    backend = SlowBackend()

    def sender() -> None:
        with app.app_context():
            for _round in range(4):
                send_due(backend)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(backend.received) == 6
    assert [n for n in backend.received.values() if n > 1] == []
    assert {m.status for m in all_messages(app)} == {"sent"}
