"""Fixtures for the staff-area tests: accounts, logged-in clients, cases made to order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.test import TestResponse

from gvisite import create_app
from gvisite.cases import hash_secret, new_reference, response_target_days, status_secret
from gvisite.extensions import db, limiter
from gvisite.i18n import long_date
from gvisite.models import (
    AuditEntry,
    Case,
    OutboxMessage,
    StaffUser,
    utcnow,
)
from gvisite.staff import auth
from gvisite.staff.mfa import current_step
from gvisite.workdays import add_working_days, local_date
from tests.conftest import empty_tables, migrate
from tests.fixtures_forms import forms_config, shared_app
from tests.fixtures_servers import LiveServer, SmtpServer, serving
from tests.helpers import parse

PASSWORD = "rätt häst batteri häftklammer"
# Who works in the staff area in these tests: key -> (email, display name, role).
ACCOUNTS = {
    "handler": ("hanna.handlaggare@jarfalla.se", "Hanna Handläggare", "handler"),
    "colleague": ("kalle.kollega@jarfalla.se", "Kalle Kollega", "handler"),
    "admin": ("ada.admin@jarfalla.se", "Ada Admin", "admin"),
}
# The one-time-code secret every test account has (STAFF_REQUIRE_MFA is on): tests compute
# its codes from the site's clock, as an authenticator app would from its own.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SECOND_STEP = "/staff/login/steg-2"
# Markup a hostile resident might send; it must always come back as text.
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@cache
def password_hash(password: str = PASSWORD) -> str:
    """Hash a password once per session with the site's own argon2 hasher."""
    return auth.hasher.hash(password)


def add_account(
    app: Flask,
    email: str,
    name: str,
    role: str = "handler",
    *,
    active: bool = True,
    password: str = PASSWORD,
    totp: bool = True,
) -> int:
    """Store a staff account directly (the CLI is tested on its own) and return its id.

    It has the test one-time-code secret (TOTP_SECRET) unless `totp` is False.
    """
    with app.app_context():
        user = StaffUser(
            email=email,
            name=name,
            role=role,
            active=active,
            password_hash=password_hash(password),
            totp_secret=TOTP_SECRET if totp else None,
        )
        db.session.add(user)
        db.session.commit()
        return user.id


def set_active(app: Flask, email: str, active: bool) -> None:
    """Activate or deactivate an account, as `flask staff deactivate` would."""
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        user.active = active
        db.session.commit()


def add_accounts(app: Flask) -> dict[str, int]:
    """Create the three test accounts; return their ids by key."""
    return {key: add_account(app, *account) for key, account in ACCOUNTS.items()}


# --- Logging in --------------------------------------------------------------------------------


def csrf_token(client: FlaskClient, url: str = "/staff/login") -> str:
    """GET a staff page and return the CSRF token of its first form."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    field = parse(response.data).select_one("input[name=csrf_token]")
    assert field is not None, f"no CSRF token on {url}"
    return field["value"]


def totp_code(secret: str = TOTP_SECRET, steps: int = 0) -> str:
    """Return the one-time code an app shows now (by the site's clock), or `steps` later."""
    return pyotp.TOTP(secret).generate_otp(current_step() + steps)


def forget_last_code(app: Flask, email: str) -> str:
    """Let the account take the current code again, as if its owner waited for the next one;
    return its one-time-code secret (TOTP_SECRET, or the one it enrolled)."""
    # Tests log in to one account many times within 30 seconds; each code is taken only once.
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None or not user.totp_secret:
            return TOTP_SECRET
        user.totp_last_step = None
        db.session.commit()
        return user.totp_secret


def in_second_step(response: TestResponse) -> bool:
    """Tell whether a login answered by sending the browser to the second step."""
    location = urlsplit(response.headers.get("Location", ""))
    return response.status_code == 303 and location.path == SECOND_STEP


def pass_second_step(
    client: FlaskClient, email: str, step_url: str, **request_options: Any
) -> TestResponse:
    """Send the current one-time code on the second-step page (without following redirects)."""
    page = client.get(step_url, **request_options)  # the same address: the session is bound to it
    assert page.status_code == 200, (step_url, page.status_code)
    token = parse(page.data).select_one("input[name=csrf_token]")["value"]
    secret = forget_last_code(client.application, email)
    code = totp_code(secret)
    return client.post(step_url, data={"code": code, "csrf_token": token}, **request_options)


ENROL = "/staff/konto/sakerhet/ny"


def enrol_code(client: FlaskClient) -> list[str]:
    """Set up one-time codes as a person would (the key shown, a code typed); return the
    recovery codes the page then shows once."""
    page = parse(client.get(ENROL).data)
    secret = "".join(page.select_one("#totp-secret").get_text().split())
    form = page.select_one("form[action^='/staff/konto/sakerhet/engangskod']")
    token = form.select_one("input[name=csrf_token]")["value"]
    response = client.post(form["action"], data={"code": totp_code(secret), "csrf_token": token})
    assert response.status_code == 200, response.status_code
    return [code.get_text() for code in parse(response.data).select(".recovery-codes code")]


def login(
    client: FlaskClient,
    email: str,
    password: str = PASSWORD,
    next_url: str | None = None,
    *,
    second_step: bool = True,
    **request_options: Any,
) -> TestResponse:
    """Fill in and send the login form, as a browser would (without following redirects).

    When the password is right, the second step follows with the current one-time code, and
    its answer is returned (a 303 to the target); `second_step=False` stops after the password.
    """
    url = "/staff/login" if next_url is None else f"/staff/login?{urlencode({'next': next_url})}"
    token = csrf_token(client, url)
    response = client.post(
        url,
        data={"email": email, "password": password, "csrf_token": token},
        **request_options,
    )
    if second_step and in_second_step(response):
        response = pass_second_step(
            client, email.strip().lower(), response.headers["Location"], **request_options
        )
    return response


def logged_in(app: Flask, who: str) -> FlaskClient:
    """Return a fresh client logged in as one of ACCOUNTS, the second step done."""
    client = app.test_client()
    response = login(client, ACCOUNTS[who][0])
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return client


def browser_login(
    tab: Any, server_url: str, app: Flask, email: str, password: str = PASSWORD
) -> None:
    """Log in through the forms in Chromium: the password, then a one-time code; at the inbox."""
    tab.goto(f"{server_url}/staff/login")
    tab.fill("#email", email)
    tab.fill("#password", password)
    with tab.expect_navigation(url=f"{server_url}{SECOND_STEP}**"):
        tab.click("main form button[type=submit]")
    tab.fill("#code", totp_code(forget_last_code(app, email)))
    with tab.expect_navigation(url=f"{server_url}/staff/"):
        tab.click("main form[action^='/staff/login/steg-2'] button[type=submit]")


def post_action(
    client: FlaskClient, url: str, data: dict[str, str] | None = None, *, token: bool = True
) -> TestResponse:
    """POST a staff action with (or without) the session's CSRF token."""
    payload = dict(data or {})
    if token:
        payload["csrf_token"] = csrf_token(client, "/staff/")
    return client.post(url, data=payload)


def publish(
    client: FlaskClient, reference: str, form: dict[str, str], *, confirm: bool = False
) -> TestResponse:
    """Publish a problem as staff do: show the preview, then press its Publish button.

    The preview's own form is sent back (its digest included); `confirm` ticks the box that
    says what looks like personal data may be published.
    """
    url = f"/staff/cases/{reference}/publish"
    preview = post_action(client, url, {**form, "action": "preview"})
    if preview.status_code != 200:
        return preview  # refused before any preview (a missing text, an unknown criterion)
    digest = parse(preview.data).select_one("input[name=previewed]")["value"]
    data = {**form, "previewed": digest, "action": "publish"}
    if confirm:
        data["personal_ok"] = "y"
    return post_action(client, url, data)


def login_redirect_next(response: TestResponse) -> str | None:
    """Return the `next` of a redirect to the login page (None if it goes anywhere else)."""
    location = urlsplit(response.headers.get("Location", ""))
    if response.status_code not in {302, 303} or location.path != "/staff/login":
        return None
    return parse_qs(location.query).get("next", [""])[0]


def staff_menu(response: TestResponse) -> list[str]:
    """Check that a page has the staff layout; return the links of its staff menu (if shown).

    The staff layout is in Swedish, with the staff header and no footer; the residents' parts
    (their menu, the quick exit, the language list, the search box) are not on it.
    """
    assert response.mimetype == "text/html", response.mimetype
    page = parse(response.data)
    assert page.html is not None and page.html.get("lang") == "sv"
    assert page.select_one("header.site-header--staff") is not None, "not the staff layout"
    for residents in ("[data-quick-exit]", "nav.languages", "form.site-search", "footer"):
        assert page.select_one(residents) is None, f"a residents' page part: {residents}"
    return [link["href"] for link in page.select("header nav.primary a")]


# --- Cases -------------------------------------------------------------------------------------


@dataclass
class MadeCase:
    """A case a test stored, with the status-link secret the resident got."""

    id: int
    reference: str
    secret: str


def make_case(
    app: Flask,
    kind: str = "report",
    *,
    created_at: dt.datetime | None = None,
    answers: dict[str, Any] | None = None,
    **fields: Any,
) -> MadeCase:
    """Store a case the way the site does (reference, due date, hashed secret), with `fields`."""
    created_at = created_at or utcnow()
    if answers is None:
        answers = (
            {"problem": "Knappen går inte att nå.", "assistive_tech": "NVDA", "browser": "Firefox"}
            if kind == "report"
            else {
                "format": "storstil",
                "format_other": "",
                "language": "svenska",
                "delivery": "email",
                "message": "Gärna 20 punkter.",
            }
        )
    defaults: dict[str, Any] = {
        "locale": "sv",
        "page": "/sv/om-gvi",
        "name": "Åsa Öberg",
        "email": "asa.oberg@example.se",
    }
    with app.app_context():
        due_on = fields.pop(
            "due_on", add_working_days(local_date(created_at), response_target_days())
        )
        reference = new_reference(kind, created_at)
        secret = status_secret(reference)
        case = Case(
            kind=kind,
            reference=reference,
            created_at=created_at,
            due_on=due_on,
            answers=answers,
            secret_hash=hash_secret(secret),
            **{**defaults, **fields},
        )
        db.session.add(case)
        db.session.commit()
        return MadeCase(case.id, case.reference, secret)


def add_message(app: Flask, case_id: int, **fields: Any) -> int:
    """Store an outbox message about a case and return its id."""
    values: dict[str, Any] = {
        "purpose": "receipt",
        "recipients": ["asa.oberg@example.se"],
        "subject": "Kvitto",
        "body": "Vi har tagit emot ditt ärende.",
        **fields,
    }
    with app.app_context():
        message = OutboxMessage(case_id=case_id, **values)
        db.session.add(message)
        db.session.commit()
        return message.id


def load_case(app: Flask, reference: str) -> Case:
    """Return a case with its history and mail loaded, detached from the session."""
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None, reference
        _ = (case.events, case.messages, case.assignee)
        db.session.expunge_all()
        return case


def case_events(app: Flask, reference: str) -> list[tuple[str, str | None]]:
    """Return a case's history as (action, detail) pairs, oldest first."""
    return [(event.action, event.detail) for event in load_case(app, reference).events]


def audit_rows(app: Flask) -> list[tuple[str, str | None, int | None]]:
    """Return the audit log as (action, target, actor id) rows, oldest first."""
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(entry.action, entry.target, entry.actor_id) for entry in entries]


def long_date_in(app: Flask, locale: str, day: dt.date) -> str:
    """Format a date as the site's `long_date` filter does in a locale."""
    with app.test_request_context(f"/{locale}/"), force_locale(locale):
        return long_date(day)


def today() -> dt.date:
    """Return today's date in Stockholm, as the app counts due dates."""
    return local_date(utcnow())


# --- Fixtures ----------------------------------------------------------------------------------


@dataclass
class StaffSite:
    """A migrated app with three staff accounts and nothing else stored."""

    app: Flask
    ids: dict[str, int]

    def client(self, who: str | None = None) -> FlaskClient:
        """Return a fresh client, logged in as `who` (a key of ACCOUNTS) or anonymous."""
        return self.app.test_client() if who is None else logged_in(self.app, who)

    def case(self, kind: str = "report", **fields: Any) -> MadeCase:
        """Store a case."""
        return make_case(self.app, kind, **fields)


@pytest.fixture(scope="session")
def staff_base_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One migrated SQLite app for the staff tests; `staff_site` empties it for each test."""
    yield from shared_app(tmp_path_factory, "staff")


@pytest.fixture
def staff_site(staff_base_app: Flask) -> StaffSite:
    """The shared staff app, emptied, with fresh accounts and no login attempts counted.

    Tests that change its config do so with `monkeypatch.setitem`, which puts it back.
    """
    empty_tables(staff_base_app)
    ids = add_accounts(staff_base_app)
    with staff_base_app.app_context():
        limiter.reset()  # the limiter's storage is shared by every app in the process
    return StaffSite(staff_base_app, ids)


@pytest.fixture
def handler_client(staff_site: StaffSite) -> FlaskClient:
    """A client logged in as a handler."""
    return staff_site.client("handler")


@pytest.fixture
def admin_client(staff_site: StaffSite) -> FlaskClient:
    """A client logged in as an admin."""
    return staff_site.client("admin")


@pytest.fixture
def make_staff_app(make_forms_app: Callable[..., Flask]) -> Callable[..., StaffSite]:
    """Build a migrated app on any database (`database_url`), with the three accounts."""

    def build(database_url: str | None = None, **overrides: Any) -> StaffSite:
        app = make_forms_app(database_url, **overrides)
        return StaffSite(app, add_accounts(app))

    return build


@dataclass
class StaffLiveServer(LiveServer):
    """A live server whose app delivers mail to the session's SMTP server."""

    smtp: SmtpServer | None = None


@pytest.fixture(scope="session")
def staff_live_server(
    tmp_path_factory: pytest.TempPathFactory, smtp_session: SmtpServer
) -> Iterator[StaffLiveServer]:
    """Serve a migrated app with staff accounts, sending mail to aiosmtpd, for the browser."""
    instance: Path = tmp_path_factory.mktemp("staff-live") / "instance"

    def make(url: str) -> Flask:
        app = create_app(forms_config(instance, SITE_URL=url, **smtp_session.config()))
        migrate(app)
        add_accounts(app)
        return app

    with serving(make, "staff-live") as live:
        yield StaffLiveServer(live.app, live.url, smtp_session)
