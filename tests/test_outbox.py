"""Mail through a real SMTP server (aiosmtpd): recipients, Reply-To, text, retries, no injection."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from email.utils import getaddresses
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import update

from gvisite import create_app
from gvisite.extensions import db
from gvisite.i18n import LOCALES, long_date
from gvisite.models import OutboxMessage, utcnow
from gvisite.outbox import MAX_ATTEMPTS, RETRY_DELAYS, backend_for, send_due
from gvisite.pages.load import current_site
from tests.conftest import close_database, empty_tables, migrate
from tests.fixtures_forms import (
    ALT_FORMAT_MAILBOX,
    DEFAULT_OWNER,
    FORMAT_ANSWERS,
    REPORT_ANSWERS,
    STAFF_MAILBOX,
    all_cases,
    all_messages,
    copy_content,
    form_url,
    forms_config,
    send_case,
    submit,
)
from tests.fixtures_servers import SmtpServer, free_port
from tests.helpers import as_mailed, parse, translate

OWNER = "trygghet@jarfalla.se"
OWNED_PAGE = """---
title: Trygghet i Järfälla
description: Om tryggheten i Järfälla.
updated: 2026-01-01
owner:
  name: Trygghetsenheten
  email: trygghet@jarfalla.se
---

Text om trygghet.
"""
SITE_URL = "https://gvi.jarfalla.se"


def send_outbox(app: Flask) -> Result:
    """Run `flask outbox send` against the app."""
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    return result


def addresses(header: str | None) -> set[str]:
    """Return the bare addresses in an address header."""
    return {address for _name, address in getaddresses([header or ""])}


@pytest.fixture(scope="module")
def shared_mail_app(
    tmp_path_factory: pytest.TempPathFactory, smtp_session: SmtpServer
) -> Iterator[Flask]:
    """An app that delivers to the test SMTP server and knows a page with its own owner."""
    folder = tmp_path_factory.mktemp("mail")
    content = copy_content(folder)
    (content / "sv" / "trygghet.md").write_text(OWNED_PAGE, encoding="utf-8")
    config = {"CONTENT_DIR": str(content), "SITE_URL": SITE_URL, **smtp_session.config()}
    app = create_app(forms_config(folder / "instance", **config))
    migrate(app)
    yield app
    close_database(app)


@pytest.fixture
def mail_app(shared_mail_app: Flask, smtp_server: SmtpServer) -> Flask:
    """The shared mail app with empty tables (and an SMTP server that received nothing)."""
    empty_tables(shared_mail_app)
    return shared_mail_app


def test_report_reaches_staff_and_page_owner_with_every_field(
    mail_app: Flask, smtp_server: SmtpServer
) -> None:
    client = mail_app.test_client()
    reference = send_case(client, "sv", "report", page="/sv/trygghet")
    assert smtp_server.received == [], "nothing is sent before the outbox runs"
    assert "2 sent" in send_outbox(mail_app).output

    [staff] = smtp_server.to(STAFF_MAILBOX)
    assert set(staff.rcpt_tos) == {STAFF_MAILBOX, OWNER}
    message = staff.message
    assert addresses(message["To"]) == {STAFF_MAILBOX, OWNER}
    assert addresses(message["Reply-To"]) == {REPORT_ANSWERS["email"]}
    assert reference in message["Subject"]
    body = staff.body
    for name, value in REPORT_ANSWERS.items():
        if name != "page":
            assert value in body, name
    assert f"{SITE_URL}/sv/trygghet" in body
    assert "Trygghet i Järfälla" in body  # the page's title
    assert f"{SITE_URL}/staff/cases/{reference}" in body
    assert reference in body
    # Staff mail is plain text.
    assert message.get_content_type() == "text/plain"
    assert not message.is_multipart()


def test_report_on_a_page_without_owner_goes_to_the_default_owner(
    mail_app: Flask, smtp_server: SmtpServer
) -> None:
    send_case(mail_app.test_client(), "fi", "report", page="/fi/om-gvi")
    send_outbox(mail_app)
    [staff] = smtp_server.to(STAFF_MAILBOX)
    assert set(staff.rcpt_tos) == {STAFF_MAILBOX, DEFAULT_OWNER}


def test_format_request_goes_to_the_format_mailbox_and_the_page_owner(
    mail_app: Flask, smtp_server: SmtpServer
) -> None:
    reference = send_case(
        mail_app.test_client(),
        "en",
        "format",
        page="/sv/trygghet",
        format="annat",
        format_other="Teckenspråk med textning",
        language="arabiska",
    )
    send_outbox(mail_app)
    [staff] = smtp_server.to(ALT_FORMAT_MAILBOX)
    assert set(staff.rcpt_tos) == {ALT_FORMAT_MAILBOX, OWNER}
    assert smtp_server.to(STAFF_MAILBOX) == []
    message = staff.message
    assert addresses(message["Reply-To"]) == {FORMAT_ANSWERS["email"]}
    assert reference in message["Subject"]
    body = staff.body
    for value in ("Teckenspråk med textning", "arabiska", FORMAT_ANSWERS["name"]):
        assert value in body
    assert FORMAT_ANSWERS["email"] in body
    assert FORMAT_ANSWERS["message"] in body
    assert translate(mail_app, "sv", "Something else") in body  # the format, in Swedish


def test_format_mailbox_defaults_to_the_staff_mailbox(
    make_forms_app, smtp_server: SmtpServer
) -> None:
    app = make_forms_app(ALT_FORMAT_MAILBOX="", **smtp_server.config())
    send_case(app.test_client(), "sv", "format", delivery="phone", phone="070-123 45 67", email="")
    send_outbox(app)
    [staff] = smtp_server.received  # phone delivery: no receipt mail
    assert set(staff.rcpt_tos) == {STAFF_MAILBOX, DEFAULT_OWNER}
    assert staff.message["Reply-To"] is None
    assert "070-123 45 67" in staff.body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ["report", "format"])
def test_resident_receipt_arrives_in_their_locale(
    mail_app: Flask, smtp_server: SmtpServer, locale: str, kind: str
) -> None:
    resident = REPORT_ANSWERS["email"] if kind == "report" else FORMAT_ANSWERS["email"]
    reference = send_case(mail_app.test_client(), locale, kind)
    send_outbox(mail_app)
    [receipt] = smtp_server.to(resident)
    assert receipt.rcpt_tos == [resident]
    message = receipt.message
    assert addresses(message["To"]) == {resident}
    assert message["Subject"] == as_mailed(
        locale,
        translate(
            mail_app, locale, "We have received your case %(reference)s", reference=reference
        ),
    )
    body = receipt.body
    text = "Your reference number is %(reference)s. Give it if you contact us about your case."
    assert as_mailed(locale, translate(mail_app, locale, text, reference=reference)) in body
    (case,) = [case for case in all_cases(mail_app) if case.reference == reference]
    with mail_app.test_request_context(), force_locale(locale):
        due = long_date(case.due_on)
    answer = translate(mail_app, locale, "We will answer you by %(date)s.", date=due)
    assert as_mailed(locale, answer) in body
    # Replying works: the answer goes to the people who handle the case, reference in subject.
    mailbox = STAFF_MAILBOX if kind == "report" else ALT_FORMAT_MAILBOX
    assert addresses(message["Reply-To"]) == {mailbox}
    assert reference in message["Subject"]


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_the_receipt_mail_sends_additions_to_the_status_page(
    mail_app: Flask, smtp_server: SmtpServer, locale: str
) -> None:
    """One way to add information: the status page's form; a reply still reaches the staff."""
    client = mail_app.test_client()
    reference = send_case(client, locale, "report")
    send_outbox(mail_app)
    [receipt] = smtp_server.to(REPORT_ANSWERS["email"])
    paragraphs = receipt.body.split("\n\n")
    thanks = "Thank you for telling us about a problem with the accessibility of our website."
    number = "Your reference number is %(reference)s. Give it if you contact us about your case."
    # Paragraphs of their own, with a blank line between (a template once ran them together).
    assert as_mailed(locale, translate(mail_app, locale, thanks)) in paragraphs
    assert as_mailed(locale, translate(mail_app, locale, number, reference=reference)) in paragraphs
    with mail_app.app_context():
        phone = current_site().facts["contact"]["servicecenter"]
    add = (
        "If you want to add something, write it in the form on your case's page (the link"
        " above). You can also call Servicecenter on %(phone)s and give your reference number."
    )
    assert as_mailed(locale, translate(mail_app, locale, add, phone=phone)) in paragraphs
    [link] = [line for line in receipt.body.splitlines() if "/arende/" in line]
    assert link.startswith(f"{SITE_URL}/{locale}/arende/{reference}?nyckel=")
    page = client.get(link.removeprefix(SITE_URL))
    assert page.status_code == 200
    assert parse(page.data).select_one("main textarea[name=information]") is not None
    # A resident who answers the mail anyway reaches the team, the reference in the subject.
    assert addresses(receipt.message["Reply-To"]) == {STAFF_MAILBOX}
    assert reference in receipt.message["Subject"]


def test_anonymous_report_sends_only_the_staff_mail_without_reply_to(
    mail_app: Flask, smtp_server: SmtpServer
) -> None:
    send_case(mail_app.test_client(), "sv", "report", name="", email="")
    send_outbox(mail_app)
    [staff] = smtp_server.received
    assert STAFF_MAILBOX in staff.rcpt_tos
    assert staff.message["Reply-To"] is None


def test_swedish_and_arabic_letters_survive_the_trip(
    mail_app: Flask, smtp_server: SmtpServer
) -> None:
    problem = "Texten på sidan är för liten för mig. النص صغير جدا ولا أستطيع قراءته."
    name = "Åsa Öberg-Ärlemark عائشة"
    reference = send_case(
        mail_app.test_client(), "ar", "report", problem=problem, name=name, page="/ar/om-gvi"
    )
    # Every message arrives exactly as it was stored, subject and body (read before the
    # delivery: a delivered row keeps no body).
    stored = {row.subject: row.body for row in all_messages(mail_app)}
    send_outbox(mail_app)
    [staff] = smtp_server.to(STAFF_MAILBOX)
    assert problem in staff.body
    assert name in staff.body
    for mail in smtp_server.received:
        subject = mail.message["Subject"]
        assert subject in stored
        assert mail.body.rstrip("\n") == stored[subject].rstrip("\n")
    [receipt] = smtp_server.to(REPORT_ANSWERS["email"])
    subject = translate(
        mail_app, "ar", "We have received your case %(reference)s", reference=reference
    )
    assert receipt.message["Subject"] == as_mailed("ar", subject)
    # What was stored is what was sent.
    [case] = all_cases(mail_app)
    assert case.answers["problem"] == problem
    assert case.name == name


def test_an_arabic_receipt_shows_numbers_and_references_in_their_own_order(
    mail_app: Flask, smtp_server: SmtpServer
) -> None:
    reference = send_case(mail_app.test_client(), "ar", "report")
    send_outbox(mail_app)
    [receipt] = smtp_server.to(REPORT_ANSWERS["email"])
    # Servicecenter's number came out as 00 285 580-08 in a right-to-left line: isolated left
    # to right, as the pages' <bdi dir="ltr">, it reads 08-580 285 00.
    [call] = [line for line in receipt.body.splitlines() if "08-580 285 00" in line]
    assert "\u206608-580 285 00\u2069" in call
    assert "\u2066Servicecenter\u2069" in call
    lines = receipt.body.splitlines()
    [given] = [line for line in lines if reference in line and "/arende/" not in line]
    assert f"\u2066{reference}\u2069" in given
    assert f"\u2066{reference}\u2069" in receipt.message["Subject"]
    # A line of its own left to right (the status link) is left as it is: it is copied.
    [link] = [line for line in lines if "/arende/" in line]
    assert link.startswith("https://") and "\u2066" not in link


def test_smtp_down_during_submission_then_delivered_once_it_is_back(
    make_forms_app, smtp_server: SmtpServer
) -> None:
    down = {**smtp_server.config(), "SMTP_PORT": free_port()}  # nothing listens there
    app = make_forms_app(**down)
    client = app.test_client()
    reference = send_case(client, "sv", "report")  # the receipt is shown
    [case] = all_cases(app)
    assert case.reference == reference

    before = utcnow()
    assert "0 sent, 2 failed" in send_outbox(app).output
    for row in all_messages(app):
        assert row.status == "pending"
        assert row.attempts == 1
        assert row.last_error
        assert row.next_attempt_at > before
        assert row.next_attempt_at >= before + RETRY_DELAYS[0] - dt.timedelta(seconds=5)
        assert row.sent_at is None

    # SMTP is back, but the retry is not due yet.
    app.config["SMTP_PORT"] = smtp_server.port
    assert "0 sent" in send_outbox(app).output
    assert smtp_server.received == []

    # The time has come.
    with app.app_context():
        past = utcnow() - dt.timedelta(seconds=1)
        db.session.execute(update(OutboxMessage).values(next_attempt_at=past))
        db.session.commit()
    assert "2 sent" in send_outbox(app).output
    assert len(smtp_server.received) == 2
    assert all(row.status == "sent" and row.attempts == 2 for row in all_messages(app))
    assert all(row.sent_at is not None for row in all_messages(app))
    # Nothing is sent twice.
    assert "0 sent" in send_outbox(app).output
    assert len(smtp_server.received) == 2


def test_retries_wait_longer_each_time_then_the_message_is_marked_failed(
    make_forms_app, smtp_server: SmtpServer
) -> None:
    app = make_forms_app(**{**smtp_server.config(), "SMTP_PORT": free_port()})
    send_case(app.test_client(), "sv", "report", email="", name="")  # one staff mail
    delays = []
    with app.app_context():
        backend = backend_for(app)
        now = utcnow()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert send_due(backend, now=now) == (0, 1)
            row = db.session.scalars(db.select(OutboxMessage)).one()
            assert row.attempts == attempt
            if attempt < MAX_ATTEMPTS:
                assert row.status == "pending"
                delays.append(row.next_attempt_at - now)
                assert send_due(backend, now=row.next_attempt_at - dt.timedelta(seconds=1)) == (
                    0,
                    0,
                )
                now = row.next_attempt_at
        assert row.status == "failed"
        assert send_due(backend, now=now + dt.timedelta(days=365)) == (0, 0)
        db.session.refresh(row)
        assert row.attempts == MAX_ATTEMPTS
    assert delays == RETRY_DELAYS
    assert all(later > earlier for earlier, later in pairwise(delays))
    assert smtp_server.received == []


def test_an_operator_can_set_the_waits_between_attempts(
    make_forms_app, smtp_server: SmtpServer
) -> None:
    app = make_forms_app(
        **{**smtp_server.config(), "SMTP_PORT": free_port(), "OUTBOX_RETRY_MINUTES": "0.5, 2"}
    )
    send_case(app.test_client(), "sv", "report", email="", name="")
    with app.app_context():
        backend, now = backend_for(app), utcnow()
        assert send_due(backend, now=now) == (0, 1)
        row = db.session.scalars(db.select(OutboxMessage)).one()
        assert row.next_attempt_at - now == dt.timedelta(seconds=30)
        assert send_due(backend, now=row.next_attempt_at) == (0, 1)
        assert row.next_attempt_at - now == dt.timedelta(seconds=150)
        assert send_due(backend, now=row.next_attempt_at) == (0, 1)
        assert row.status == "failed"  # two waits: three attempts in all


def test_the_retry_setting_survives_the_trip_to_the_formats_child_as_json(tmp_path: Path) -> None:
    """The formats refresher passes the config to its child as JSON: the tuple becomes a list."""
    app = create_app({"INSTANCE_PATH": str(tmp_path), "OUTBOX_RETRY_MINUTES": "0.5, 2"})
    passed_on = json.loads(json.dumps(app.config["OUTBOX_RETRY_MINUTES"]))
    child = create_app({"INSTANCE_PATH": str(tmp_path), "OUTBOX_RETRY_MINUTES": passed_on})
    assert child.config["OUTBOX_RETRY_MINUTES"] == app.config["OUTBOX_RETRY_MINUTES"] == (0.5, 2.0)


@pytest.mark.parametrize("value", ["", "soon", "1,0,5", "-1", ",", [], ["x"]])
def test_a_wrong_retry_setting_stops_the_site_from_starting(value: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="OUTBOX_RETRY_MINUTES"):
        create_app({"INSTANCE_PATH": str(tmp_path), "OUTBOX_RETRY_MINUTES": value})


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("subject", "Hej\r\nBcc: x@evil.example"),
        ("subject", "Hej\nX-Injected: yes"),
        ("reply_to", "anna@example.se\r\nBcc: x@evil.example"),
        ("recipients", ["tillganglighet@jarfalla.se\r\nBcc: x@evil.example"]),
    ],
)
def test_a_line_break_in_a_stored_value_cannot_add_a_header(
    make_forms_app, smtp_server: SmtpServer, column: str, value: object
) -> None:
    app = make_forms_app(**smtp_server.config())
    row = {
        "purpose": "staff",
        "recipients": [STAFF_MAILBOX],
        "reply_to": None,
        "subject": "Hej",
        "body": "Text.\nBcc: x@evil.example\n",  # in the body it is only text
        column: value,
    }
    with app.app_context():
        db.session.add(OutboxMessage(**row))
        db.session.commit()
    send_outbox(app)
    for mail in smtp_server.received:
        assert "x@evil.example" not in mail.rcpt_tos
        headers = {name.lower() for name in mail.message}
        assert not headers & {"bcc", "x-injected"}
        assert all("\n" not in str(value) for value in mail.message.values())
    [stored] = all_messages(app)
    assert stored.status != "sent" or smtp_server.received


def test_line_breaks_in_the_body_stay_in_the_body(make_forms_app, smtp_server: SmtpServer) -> None:
    app = make_forms_app(**smtp_server.config())
    address = "Vasaplatsen 11\r\nBcc: x@evil.example\r\n177 80 Järfälla"
    send_case(
        app.test_client(),
        "sv",
        "format",
        delivery="post",
        email="",
        address=address,
        message="Hej\r\n\r\nBcc: x@evil.example",
    )
    send_outbox(app)
    [staff] = smtp_server.received
    assert "x@evil.example" not in staff.rcpt_tos
    assert "bcc" not in {name.lower() for name in staff.message}
    assert "Bcc: x@evil.example" in staff.body  # quoted as text


def test_message_id_is_stable_for_an_outbox_row(make_forms_app, smtp_server: SmtpServer) -> None:
    """A message sent again after a crash mid-send keeps its Message-ID (to deduplicate)."""
    app = make_forms_app(**smtp_server.config())
    send_case(app.test_client(), "sv", "report", email="", name="")
    send_outbox(app)
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(status="pending", sent_at=None))
        db.session.commit()
    send_outbox(app)
    first, second = smtp_server.received
    assert first.message["Message-ID"] == second.message["Message-ID"]


def test_form_contents_never_reach_the_logs(
    make_forms_app, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_forms_app(**{**smtp_server.config(), "SMTP_PORT": free_port()})
    secret = "Hemlig-beskrivning-4711"
    send_case(app.test_client(), "sv", "report", problem=secret, name="Zlatan Logg")
    send_outbox(app)
    assert caplog.records, "the failed attempts are logged"
    logged = caplog.text
    for private in (secret, "Zlatan Logg", REPORT_ANSWERS["email"], STAFF_MAILBOX):
        assert private not in logged


def test_file_backend_writes_each_message_as_an_eml_file(make_forms_app) -> None:
    app = make_forms_app(MAIL_BACKEND="file")
    reference = send_case(app.test_client(), "sv", "report")
    send_outbox(app)
    files = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(files) == 2
    texts = [path.read_bytes() for path in files]
    assert all(reference.encode() in text for text in texts)


def test_outbox_worker_delivers_and_stops_after_its_rounds(
    make_forms_app, smtp_server: SmtpServer
) -> None:
    app = make_forms_app(**smtp_server.config())
    send_case(app.test_client(), "sv", "report")
    result = app.test_cli_runner().invoke(
        args=["outbox", "worker", "--rounds", "1", "--interval", "0"]
    )
    assert result.exit_code == 0, result.output
    assert len(smtp_server.received) == 2


def test_spam_is_stored_but_never_mailed(make_forms_app, smtp_server: SmtpServer) -> None:
    app = make_forms_app(**smtp_server.config())
    response = submit(app.test_client(), form_url("sv", "report"), REPORT_ANSWERS, website="x")
    assert response.status_code == 303
    send_outbox(app)
    assert smtp_server.received == []
    assert [case.spam for case in all_cases(app)] == [True]
    assert all_messages(app) == []


def test_a_delivery_the_database_cannot_record_at_once_is_not_sent_twice(
    make_forms_app, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses the "sent" update twice: the sender waits, then records it."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from gvisite import outbox

    monkeypatch.setattr(outbox, "SENT_RETRY_PAUSES", (0.01, 0.01, 0.01))
    app = make_forms_app(**smtp_server.config())
    submit(app.test_client(), form_url("sv", "report"), REPORT_ANSWERS)
    refusals = {"left": 2}

    def refuse_marking_sent(_conn, _cursor, statement, parameters, *_args) -> None:
        marking_sent = statement.startswith("UPDATE outbox") and "sent" in str(parameters)
        if marking_sent and refusals["left"]:
            refusals["left"] -= 1
            raise OperationalError(statement, {}, ConnectionResetError("restarting"))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", refuse_marking_sent)
        try:
            assert send_due() == (2, 0)
        finally:
            event.remove(db.engine, "before_cursor_execute", refuse_marking_sent)
        assert refusals["left"] == 0, "the refusal never happened: the test proves nothing"
        # Long after every claim has run out, nothing is sent again.
        assert send_due(now=utcnow() + dt.timedelta(hours=1)) == (0, 0)
    assert len(smtp_server.received) == 2
    assert {m.status for m in all_messages(app)} == {"sent"}
    assert {m.attempts for m in all_messages(app)} == {1}


def test_one_round_queries_a_bounded_batch_however_long_the_queue(
    make_forms_app, smtp_server: SmtpServer
) -> None:
    """The round pages through the queue by id; no query grows with what it has seen."""
    from sqlalchemy import event

    app = make_forms_app(**smtp_server.config())
    with app.app_context():
        db.session.add_all(
            OutboxMessage(purpose="staff", recipients=[STAFF_MAILBOX], subject="s", body="b")
            for _ in range(130)
        )
        db.session.commit()
        parameters: list[int] = []

        def measure(_conn, _cursor, statement, params, *_args) -> None:
            if "ORDER BY outbox.id" in statement:
                parameters.append(len(params) if params else 0)

        event.listen(db.engine, "before_cursor_execute", measure)
        try:
            assert send_due() == (130, 0)
        finally:
            event.remove(db.engine, "before_cursor_execute", measure)
    assert len(parameters) == 4  # 50 + 50 + 30, then one that finds nothing
    assert len(set(parameters)) == 1, parameters
