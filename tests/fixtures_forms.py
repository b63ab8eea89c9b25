"""Fixtures for the forms, storage and mail tests: PostgreSQL, an SMTP server, migrated apps."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.feedback.forms import FeedbackForm, FormatForm, ReportForm
from gvisite.forms import NOT_ANSWERS, declared_fields
from gvisite.models import Case, OutboxMessage
from tests.conftest import REAL_CONTENT, app_config, close_database, empty_tables, make_app
from tests.fixtures_servers import LiveServer, serving
from tests.helpers import parse

FORM_PATHS = {"report": "tillganglighet/rapportera", "format": "tillganglighet/alternativt-format"}
REFERENCE = re.compile(r"^(TG|AF)-\d{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{6}$")
STAFF_MAILBOX = "tillganglighet@jarfalla.se"
ALT_FORMAT_MAILBOX = "alternativt-format@jarfalla.se"
DEFAULT_OWNER = "kontaktcenter@jarfalla.se"  # content/site.yaml's default page owner


def valid_answers(form: type[FeedbackForm], **known: str) -> dict[str, str]:
    """Answer every question of a form in its order: `known` as given, any other one validly.

    A question added to a form gets an answer here without any test changing (its first
    choice, or a short line of text), so a new required field breaks no test.
    """
    answers = {}
    for name, field in declared_fields(form):
        if name in NOT_ANSWERS:
            continue
        choices = field.kwargs.get("choices")
        default = choices[0].value if choices else f"Svar: {name}"
        answers[name] = known.get(name, default)
    return answers


# Answers that pass every rule; tests change one thing at a time.
REPORT_ANSWERS = valid_answers(
    ReportForm,
    page="/sv/om-gvi",
    problem="Knappen för att byta språk går inte att nå med tangentbordet.",
    assistive_tech="NVDA 2026.1",
    browser="Firefox på Windows 11",
    name="Åsa Öberg",
    email="asa.oberg@example.se",
)
FORMAT_ANSWERS = valid_answers(
    FormatForm,
    page="/sv/om-gvi",
    format="storstil",
    format_other="",
    language="svenska",
    delivery="email",
    name="Örjan Ärlig",
    email="orjan@example.se",
    phone="",
    address="",
    message="Jag behöver texten i 20 punkters stil.",
)
ANSWERS = {"report": REPORT_ANSWERS, "format": FORMAT_ANSWERS}


def form_url(locale: str, kind: str, page: str | None = None) -> str:
    """Return the path of one of the two forms, with an optional `?page=`."""
    url = f"/{locale}/{FORM_PATHS[kind]}"
    return f"{url}?page={page}" if page is not None else url


# What apps that take submissions change: no waiting, no rate limit in the way.
FORMS_DEFAULTS = {
    "FORM_MIN_SECONDS": 0,
    "SUBMISSION_RATE_LIMIT": "10000 per hour",
    "STAFF_MAILBOX": STAFF_MAILBOX,
    "ALT_FORMAT_MAILBOX": ALT_FORMAT_MAILBOX,
}


def forms_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """Config for apps that take submissions (`FORMS_DEFAULTS`), unmigrated (see `forms_app_at`)."""
    return app_config(instance, **{**FORMS_DEFAULTS, **overrides})


def forms_app_at(instance: Path, **overrides: Any) -> Flask:
    """A migrated app that takes submissions, started as every test app is (`make_app`)."""
    return make_app(instance, **{**FORMS_DEFAULTS, **overrides})


def count(app: Flask, model: type) -> int:
    """Return how many rows a table holds."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def all_cases(app: Flask) -> list[Case]:
    """Return every stored case, detached, oldest first."""
    with app.app_context():
        found = list(db.session.scalars(select(Case).order_by(Case.id)))
        db.session.expunge_all()
        return found


def all_messages(app: Flask) -> list[OutboxMessage]:
    """Return every outbox row, detached, oldest first."""
    with app.app_context():
        found = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def copy_content(target: Path, statement: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Copy the real content/ folder, optionally editing the statement's data first."""
    root = target / "content"
    shutil.copytree(REAL_CONTENT, root)
    if statement is not None:
        source = root / "tillganglighet.yaml"
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        statement(data)
        source.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


@pytest.fixture
def make_forms_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build migrated apps that take submissions; `database_url` picks the database."""
    built: list[Flask] = []

    def build(database_url: str | None = None, **overrides: Any) -> Flask:
        instance = tmp_path / f"instance-{len(built)}"
        if database_url is not None:
            overrides["DATABASE_URL"] = database_url
        app = forms_app_at(instance, **overrides)
        built.append(app)
        return app

    yield build
    for app in built:
        close_database(app)


def shared_app(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Flask]:
    """Yield one migrated SQLite app with the default form config, disposed of afterwards."""
    app = forms_app_at(tmp_path_factory.mktemp(name) / "instance")
    yield app
    close_database(app)


@pytest.fixture(scope="session")
def forms_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One migrated SQLite app shared by the tests that only need the defaults."""
    yield from shared_app(tmp_path_factory, "forms")


@pytest.fixture
def forms_client(forms_app: Flask) -> FlaskClient:
    """A fresh client (no cookies) for `forms_app`, whose tables start empty."""
    empty_tables(forms_app)
    return forms_app.test_client()


# --- Filling in the forms ----------------------------------------------------------------------


def hidden_fields(client: FlaskClient, url: str) -> dict[str, str]:
    """GET a form and return its hidden fields (CSRF token, signed start time, honeypot)."""
    response = client.get(url)
    assert response.status_code == 200, url
    form = parse(response.data).select_one("main form")
    assert form is not None, f"no form in main on {url}"
    fields = {
        tag["name"]: tag.get("value", "")
        for tag in form.select("input[name]")
        if tag["name"] in {"csrf_token", "started", "website"}
    }
    assert {"csrf_token", "started"} <= fields.keys(), fields
    return fields


def submit(
    client: FlaskClient, url: str, answers: Mapping[str, str], **hidden: str | None
) -> TestResponse:
    """Fill in a form as a browser would and send it; `hidden` overrides (None drops) a field."""
    data: dict[str, str] = hidden_fields(client, url)
    data.update(answers)
    for name, value in hidden.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data=data)


def send_case(client: FlaskClient, locale: str, kind: str, **changes: str) -> str:
    """Send a valid form (with `changes`), follow the receipt and return the reference."""
    answers = {**ANSWERS[kind], **changes}
    response = submit(client, form_url(locale, kind), answers)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    receipt = client.get(response.headers["Location"])
    reference = parse(receipt.data).select_one(".reference")
    assert reference is not None
    return reference.get_text(strip=True)


def form_values(html: str | bytes) -> dict[str, str]:
    """Return what a form shows as its answers: input values, textarea text, checked radios."""
    form = parse(html).select_one("main form")
    assert form is not None, "no form in main"
    values: dict[str, str] = {}
    for tag in form.select("input[name], textarea[name]"):
        name = tag["name"]
        if tag.name == "textarea":
            values[name] = tag.get_text()
        elif tag.get("type") == "radio":
            values.setdefault(name, "")
            if tag.has_attr("checked"):
                values[name] = tag["value"]
        else:
            values[name] = tag.get("value", "")
    return values


def page_text(html: str | bytes) -> str:
    """Return the text of a document's main element, white space collapsed."""
    main = parse(html).select_one("main")
    assert main is not None, "no main element"
    return " ".join(main.get_text(" ").split())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_db_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """A migrated app per database kind, shared by a module's tests (see `db_app`)."""
    folder = tmp_path_factory.mktemp(f"db-{request.param}")
    url = f"sqlite:///{folder / 'cases.sqlite3'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_server").new_database()
    app = forms_app_at(folder / "instance", DATABASE_URL=url)
    yield app
    close_database(app)


@pytest.fixture
def db_app(shared_db_app: Flask) -> Flask:
    """The shared app of each database kind, with empty tables."""
    empty_tables(shared_db_app)
    return shared_db_app


# --- A live server that takes submissions ------------------------------------------------------


@pytest.fixture(scope="session")
def forms_live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve a migrated app that takes submissions at once, for the browser tests."""
    instance = tmp_path_factory.mktemp("forms-live") / "instance"

    def make(url: str) -> Flask:
        return forms_app_at(instance, SITE_URL=url)

    with serving(make, "forms-live") as live:
        yield live
