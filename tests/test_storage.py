"""Storage: migrations, a case and its mail in one transaction; on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from gvisite import cases
from gvisite.extensions import db
from gvisite.feedback import views as feedback
from gvisite.models import Case, OutboxMessage, utcnow
from gvisite.outbox import claim
from tests.conftest import migrate
from tests.fixtures_forms import (
    ANSWERS,
    DEFAULT_OWNER,
    REFERENCE,
    REPORT_ANSWERS,
    STAFF_MAILBOX,
    all_cases,
    all_messages,
    count,
    form_url,
    form_values,
    send_case,
    submit,
)
from tests.helpers import parse

TABLES = {"cases", "outbox"}


def test_migrations_build_the_schema_the_models_describe(db_app: Flask) -> None:
    with db_app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "the models and the migrations disagree: add a migration"


def test_migrations_go_down_and_up_again(make_forms_app, database_url: str) -> None:
    app = make_forms_app(database_url)
    migrate(app, downgrade, None, "base")
    with app.app_context():
        assert not TABLES & set(inspect(db.engine).get_table_names())
    migrate(app, upgrade)
    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) >= TABLES


@pytest.mark.parametrize("kind", ["report", "format"])
def test_a_case_and_its_mail_are_stored_together(db_app: Flask, kind: str) -> None:
    before = utcnow() - dt.timedelta(seconds=1)
    reference = send_case(db_app.test_client(), "fi", kind)
    [case] = all_cases(db_app)
    assert case.reference == reference and REFERENCE.match(reference)
    assert (case.kind, case.locale, case.page, case.status) == (kind, "fi", "/sv/om-gvi", "ny")
    assert case.spam is False
    assert before <= case.created_at <= utcnow()
    answers = ANSWERS[kind]
    assert case.name == answers["name"]
    assert case.email == answers["email"]
    if kind == "report":
        assert case.answers["problem"] == answers["problem"]
        assert case.answers["assistive_tech"] == answers["assistive_tech"]
    else:
        assert case.answers["format"] == answers["format"]
        assert case.answers["delivery"] == answers["delivery"]
    messages = all_messages(db_app)
    assert [m.purpose for m in messages] == ["staff", "receipt"]
    assert {m.case_id for m in messages} == {case.id}
    assert all(m.status == "pending" and m.attempts == 0 for m in messages)
    assert DEFAULT_OWNER in messages[0].recipients
    assert messages[1].recipients == [answers["email"]]


def bad_message(case: Case) -> list[OutboxMessage]:
    """Compose one good message and one the database refuses (no body)."""
    good = OutboxMessage(purpose="staff", recipients=[STAFF_MAILBOX], subject="Ok", body="Ok")
    bad = OutboxMessage(purpose="receipt", recipients=["a@example.se"], subject="Trasig", body=None)
    return [good, bad]


def failing_template(case: Case) -> list[OutboxMessage]:
    """Fail the way a broken mail template would."""
    raise RuntimeError("the template could not be rendered")


@pytest.mark.parametrize(
    ("compose", "status"),
    [(bad_message, 503), (failing_template, 500)],
    ids=["db-refuses", "raises"],
)
def test_nothing_is_stored_and_no_receipt_shown_when_the_mail_cannot_be_composed(
    db_app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    compose: Callable[[Case], list[OutboxMessage]],
    status: int,
) -> None:
    """A refusing database gets the "not sent" page with the answers (503), a bug the 500."""
    monkeypatch.setattr(feedback, "compose_mail", compose)
    client = db_app.test_client()
    response = submit(client, form_url("sv", "report"), REPORT_ANSWERS)
    assert response.status_code == status
    if status == 503:
        assert form_values(response.data)["problem"] == REPORT_ANSWERS["problem"]
    assert count(db_app, Case) == 0
    assert count(db_app, OutboxMessage) == 0
    assert parse(client.get("/sv/tillganglighet/kvitto").data).select_one(".reference") is None


def test_a_reference_clash_is_retried_with_a_new_reference(
    db_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken, fresh = "TG-2026-AAAAAA", "TG-2026-BBBBBB"
    planned: Iterator[str] = iter([taken, taken, fresh])
    monkeypatch.setattr(cases, "new_reference", lambda kind, now=None: next(planned))
    client = db_app.test_client()
    assert send_case(client, "sv", "report") == taken
    assert send_case(client, "sv", "report") == fresh
    stored = {case.reference: case.id for case in all_cases(db_app)}
    assert set(stored) == {taken, fresh}
    messages = all_messages(db_app)
    per_case = [sum(m.case_id == case_id for m in messages) for case_id in stored.values()]
    assert per_case == [2, 2], "a retried transaction must not leave extra mail behind"
    assert all(m.case_id is not None for m in messages)


def test_the_database_refuses_a_duplicate_reference(db_app: Flask) -> None:
    with db_app.app_context():
        for _ in range(2):
            db.session.add(
                Case(
                    reference="TG-2026-CCCCCC", kind="report", locale="sv", page="/sv/", answers={}
                )
            )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert count(db_app, Case) == 0


TEXTS = [
    pytest.param("Åsa, Ärlig & Östen: å ä ö", id="swedish"),
    pytest.param("لا أستطيع قراءة النص في هذه الصفحة", id="arabic"),
    pytest.param("Näkövammainen käyttäjä 👩‍🦯 ja emoji", id="emoji"),
    pytest.param("x" * 5000, id="5000-characters"),
]


@pytest.mark.parametrize("text", TEXTS)
def test_text_is_stored_exactly(db_app: Flask, text: str) -> None:
    send_case(db_app.test_client(), "ar", "report", problem=text, name=text[:200].strip())
    [case] = all_cases(db_app)
    assert case.answers["problem"] == text
    assert case.name == text[:200].strip()
    staff = all_messages(db_app)[0]
    assert text in staff.body


@pytest.mark.parametrize(
    ("kind", "field", "extra"),
    [
        ("report", "problem", {}),
        ("format", "message", {}),
        ("format", "address", {"format": "punktskrift", "delivery": "post", "email": ""}),
    ],
    ids=["report-problem", "format-message", "format-address"],
)
def test_a_nul_character_in_free_text_is_refused_or_dropped_not_a_500(
    db_app: Flask, kind: str, field: str, extra: dict[str, str]
) -> None:
    answers = {**ANSWERS[kind], **extra, field: "Rad ett\x00 rad två"}
    response = submit(db_app.test_client(), form_url("sv", kind), answers)
    assert response.status_code in {200, 303}
    for case in all_cases(db_app):
        assert "\x00" not in str(case.answers) + str(case.address)
    for message in all_messages(db_app):
        assert "\x00" not in message.body


def test_only_one_sender_can_claim_a_message(db_app: Flask) -> None:
    now = utcnow()
    with db_app.app_context():
        row = OutboxMessage(purpose="staff", recipients=[STAFF_MAILBOX], subject="S", body="B")
        db.session.add(row)
        db.session.commit()
        assert claim(row.id, "sender-a", now) is True
        assert claim(row.id, "sender-b", now) is False
        # A claim that ran out (a sender crashed) can be taken over.
        assert claim(row.id, "sender-b", now + dt.timedelta(minutes=6)) is True
