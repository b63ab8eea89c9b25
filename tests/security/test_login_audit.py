"""Failed logins, throttling, 403s and the account commands are audited, without secrets (#22 §4).

Each audit line goes to the log as well as to the audit table. No line may hold the password,
and the address someone tried is a keyed hash: without SECRET_KEY, hashing a list of likely
addresses does not find it.
"""

from __future__ import annotations

import hashlib
import logging

import pytest
from flask import Flask

from gvisite.staff.audit import account_tag
from tests.fixtures_staff import ACCOUNTS, PASSWORD, StaffSite, audit_rows, login
from tests.staff.test_auth import account, invoke

HANDLER_EMAIL = ACCOUNTS["handler"][0]
WRONG = "hemlig gissning Zebra-42"
NEW_PASSWORD = "blå cykel under gammal ek"


def tag_of(app: Flask, email: str) -> str:
    """Return the keyed hash the app names an account by."""
    with app.app_context():
        return account_tag(email)


def logged(caplog: pytest.LogCaptureFixture, action: str) -> list[logging.LogRecord]:
    """Return the audit log records of one action."""
    return [
        r
        for r in caplog.records
        if r.name == "gvisite.staff.audit" and r.getMessage().startswith(f"audit: {action} ")
    ]


def assert_no_secrets(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Check that no log record, nor any of its arguments, holds one of the secrets."""
    for record in caplog.records:
        shown = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}".casefold()
        for secret in secrets:
            assert secret.casefold() not in shown, (secret, record.getMessage())


def test_failed_logins_are_audited_with_the_address_hashed(
    staff_site: StaffSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for email in [HANDLER_EMAIL, HANDLER_EMAIL.upper(), "ingen.alls@jarfalla.se"]:
        assert login(staff_site.client(), email, WRONG).status_code == 200
    tag = tag_of(staff_site.app, HANDLER_EMAIL)
    unknown = tag_of(staff_site.app, "ingen.alls@jarfalla.se")
    failed = [("login-failed", tag, None)] * 2 + [("login-failed", unknown, None)]
    assert [row for row in audit_rows(staff_site.app) if row[0] == "login-failed"] == failed
    records = logged(caplog, "login-failed")
    assert len(records) == 3 and all(r.levelno == logging.WARNING for r in records)
    assert tag in records[0].getMessage() and "127.0.0.1" in records[0].getMessage()
    assert_no_secrets(caplog, WRONG, HANDLER_EMAIL, "ingen.alls", "hanna.handlaggare")


def test_the_hash_is_keyed_with_the_secret_key(staff_site: StaffSite, make_staff_app) -> None:
    tag = tag_of(staff_site.app, HANDLER_EMAIL)
    plain = hashlib.sha256(HANDLER_EMAIL.encode()).hexdigest()
    assert tag.removeprefix("acct-") not in plain  # not a plain hash a dictionary reverses
    other = make_staff_app(SECRET_KEY="another key entirely")
    assert tag_of(other.app, HANDLER_EMAIL) != tag
    assert len(tag) <= 40  # fits the audit log's target column


def test_throttling_is_audited(staff_site: StaffSite, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    statuses = [login(staff_site.client(), HANDLER_EMAIL, WRONG).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    tag = tag_of(staff_site.app, HANDLER_EMAIL)
    assert ("login-throttled", tag, None) in audit_rows(staff_site.app)
    [record] = logged(caplog, "login-throttled")
    assert record.levelno == logging.WARNING
    assert_no_secrets(caplog, WRONG, HANDLER_EMAIL)


def test_forbidden_pages_are_audited(
    staff_site: StaffSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = staff_site.client("handler")
    assert client.get("/staff/logg").status_code == 403
    handler = staff_site.ids["handler"]
    assert ("forbidden", "staff.audit_log", handler) in audit_rows(staff_site.app)
    [record] = logged(caplog, "forbidden")
    assert record.levelno == logging.WARNING
    assert f"actor={handler}" in record.getMessage()
    assert_no_secrets(caplog, PASSWORD, HANDLER_EMAIL)


def test_the_account_commands_are_audited(
    staff_site: StaffSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    email = "ny.person@jarfalla.se"
    create = ("staff", "create", email, "--name", "Ny Person", "--password-stdin")
    assert invoke(staff_site, *create, stdin=NEW_PASSWORD + "\n").exit_code == 0
    new_id = str(account(staff_site, email).id)
    password = ("staff", "password", email, "--password-stdin")
    assert invoke(staff_site, *password, stdin=PASSWORD + "\n").exit_code == 0
    assert invoke(staff_site, "staff", "deactivate", email).exit_code == 0
    rows = [row for row in audit_rows(staff_site.app) if row[1] == new_id]
    assert rows == [
        ("create:handler", new_id, None),
        ("password", new_id, None),
        ("deactivate", new_id, None),
    ]
    for action in ("create:handler", "password", "deactivate"):
        assert len(logged(caplog, action)) == 1, action
    assert_no_secrets(caplog, NEW_PASSWORD, PASSWORD, email, "Ny Person")
