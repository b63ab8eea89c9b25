"""Addresses with letters outside ASCII: an IDN domain goes out as punycode, and a local part
outside ASCII is refused with a clear error unless the mail server takes SMTPUTF8."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from gvisite.config import from_environment
from gvisite.models import Case
from tests.fixtures_forms import (
    REPORT_ANSWERS,
    STAFF_MAILBOX,
    all_cases,
    count,
    form_url,
    form_values,
    send_case,
    submit,
)
from tests.fixtures_servers import SmtpServer, smtp_server_offering
from tests.helpers import parse, translate

IDN = "asa@järfälla.se"
PUNYCODE = "asa@xn--jrflla-buac.se"  # what every mail server reads
LOCAL_UTF8 = "åsa@järfälla.se"
REFUSED = (
    "We cannot send email to addresses with letters like å, ä or ö before the @."
    " Enter another email address."
)


def send_outbox(app: Flask) -> Result:
    """Run `flask outbox send`, as the timer does in production."""
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    return result


def advertises_smtputf8(server: SmtpServer) -> bool:
    """Ask the server, over SMTP, whether it offers SMTPUTF8."""
    with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
        smtp.ehlo()
        return smtp.has_extn("smtputf8")


def headers_of(data: bytes) -> bytes:
    """Return a message's header block (the body may be 8-bit text)."""
    return data.replace(b"\r\n", b"\n").partition(b"\n\n")[0]


@pytest.fixture
def plain_server() -> Iterator[SmtpServer]:
    """A mail server that does not take SMTPUTF8, as many still do not."""
    with smtp_server_offering(False) as server:
        assert not advertises_smtputf8(server)
        yield server


@pytest.fixture
def smtputf8_server() -> Iterator[SmtpServer]:
    """A mail server that takes SMTPUTF8."""
    with smtp_server_offering(True) as server:
        assert advertises_smtputf8(server)
        yield server


def test_an_idn_domain_gets_its_receipt_as_punycode_from_a_server_without_smtputf8(
    make_forms_app: Callable[..., Flask], plain_server: SmtpServer
) -> None:
    app = make_forms_app(**plain_server.config())
    send_case(app.test_client(), "sv", "report", email=IDN)
    send_outbox(app)
    [receipt] = plain_server.to(PUNYCODE)
    assert receipt.message["To"] == PUNYCODE
    assert headers_of(receipt.data).isascii()  # readable by a server without SMTPUTF8
    [staff] = plain_server.to(STAFF_MAILBOX)
    assert staff.message["Reply-To"] == PUNYCODE  # staff reply with one click
    [case] = all_cases(app)
    assert case.email == IDN  # staff read the address as the resident wrote it


def test_an_idn_domain_is_written_as_punycode_in_the_mail_file(
    make_forms_app: Callable[..., Flask],
) -> None:
    app = make_forms_app()  # MAIL_BACKEND=file: each message an .eml in the instance folder
    send_case(app.test_client(), "sv", "report", email=IDN)
    send_outbox(app)
    files = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    messages = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
    assert PUNYCODE in [str(message["To"]) for message in messages]
    assert all(headers_of(path.read_bytes()).isascii() for path in files)


@pytest.mark.parametrize("locale", ["sv", "fi", "en", "ar"])
def test_letters_outside_ascii_before_the_at_are_refused_with_a_clear_error(
    make_forms_app: Callable[..., Flask], locale: str
) -> None:
    app = make_forms_app()
    answers = {**REPORT_ANSWERS, "email": LOCAL_UTF8}
    response = submit(app.test_client(), form_url(locale, "report"), answers)
    assert response.status_code == 200
    link = parse(response.data).select_one('main a[href="#email"]')
    assert link is not None
    assert link.get_text(strip=True) == translate(app, locale, REFUSED)
    assert form_values(response.data)["email"] == LOCAL_UTF8  # kept, to be corrected
    assert count(app, Case) == 0


def test_with_smtp_utf8_set_such_an_address_is_accepted_and_delivered(
    make_forms_app: Callable[..., Flask], smtputf8_server: SmtpServer
) -> None:
    """For a mail server that takes SMTPUTF8 (RFC 6531), say so: `SMTP_UTF8=true`."""
    assert from_environment({"SMTP_UTF8": "true"})["SMTP_UTF8"] is True
    assert from_environment({"SMTP_UTF8": "0"})["SMTP_UTF8"] is False
    app = make_forms_app(SMTP_UTF8=True, **smtputf8_server.config())
    send_case(app.test_client(), "sv", "report", email=LOCAL_UTF8)
    send_outbox(app)
    [receipt] = smtputf8_server.to("åsa@xn--jrflla-buac.se")
    assert receipt.message["To"] == "åsa@xn--jrflla-buac.se"
