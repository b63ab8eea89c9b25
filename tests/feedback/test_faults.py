"""The database failing around a submission: never a 500, never an answer lost or half-told.

The failure is made by the engine itself refusing statements (SQLAlchemy's cursor event), at
the moment that matters: before the case is stored, or just after its commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from gvisite.extensions import db
from gvisite.models import Case, OutboxMessage
from tests.fixtures_forms import (
    ANSWERS,
    REPORT_ANSWERS,
    all_cases,
    count,
    form_url,
    form_values,
    submit,
)
from tests.fixtures_staff import csrf_token
from tests.helpers import nu_errors, parse, translate


@contextmanager
def database_down(app: Flask, after_commit: bool = False) -> Iterator[None]:
    """Make every statement fail (from the next commit on, with `after_commit`)."""
    with app.app_context():
        engine = db.engine
    state = {"down": not after_commit}

    def refuse(*_args: Any) -> None:
        if state["down"]:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("server closed"))

    def went_down(_session: Any) -> None:
        state["down"] = True

    event.listen(engine, "before_cursor_execute", refuse)
    if after_commit:
        event.listen(db.session, "after_commit", went_down)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
        if after_commit:
            event.remove(db.session, "after_commit", went_down)


@pytest.mark.parametrize("kind", ["report", "format"])
@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_a_submission_during_an_outage_is_refused_with_every_answer_kept(
    make_forms_app: Callable[..., Flask],
    caplog: pytest.LogCaptureFixture,
    kind: str,
    locale: str,
) -> None:
    """A 503 says the form was not sent and when to try again; the log names nobody."""
    app = make_forms_app()
    client = app.test_client()
    with caplog.at_level(logging.DEBUG), database_down(app):
        response = submit(client, form_url(locale, kind), ANSWERS[kind])
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    page = parse(response.data)
    alert = page.select_one("main [role=alert]")
    assert alert is not None
    assert alert.h2.get_text(strip=True) == translate(app, locale, "Your form was not sent")
    shown = form_values(response.data)
    assert all(shown[name] == value for name, value in ANSWERS[kind].items())
    assert count(app, Case) == 0
    logged = caplog.text
    assert "could not be stored" in logged
    for private in (ANSWERS[kind]["email"], ANSWERS[kind]["name"], ANSWERS[kind]["page"]):
        assert private not in logged
    # Once the database is back, the page as shown sends: its answers, token and start time.
    again = client.post(form_url(locale, kind), data=shown)
    assert again.status_code == 303
    [case] = all_cases(app)
    assert all(value == ANSWERS[kind][key] for key, value in case.answers.items())


def test_a_failure_after_the_commit_still_gives_the_receipt(
    make_forms_app: Callable[..., Flask],
) -> None:
    """Once the case is committed, nothing may turn the answer into an error page."""
    app = make_forms_app()
    client = app.test_client()
    with database_down(app, after_commit=True):
        response = submit(client, form_url("sv", "report"), REPORT_ANSWERS)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/sv/tillganglighet/kvitto")
    [case] = all_cases(app)
    assert count(app, OutboxMessage) == 2  # the staff mail and the receipt mail
    receipt = client.get(response.headers["Location"])
    assert parse(receipt.data).select_one("main .reference").get_text(strip=True) == (
        case.reference
    )


@pytest.mark.parametrize(
    "url",
    ["/sv/tillganglighet/kvitto", "/sv/arende/TG-2026-ABCDEF?nyckel=x", "/staff/login"],
)
def test_pages_that_need_the_database_answer_503_during_an_outage(
    make_forms_app: Callable[..., Flask], url: str
) -> None:
    """The receipt, the status page and the staff area say the service is down, not 500."""
    app = make_forms_app()
    client = app.test_client()
    if url.endswith("kvitto"):  # a receipt waiting to be shown
        assert submit(client, form_url("sv", "report"), REPORT_ANSWERS).status_code == 303
    if url == "/staff/login":
        data = {"email": "a@b.se", "password": "x", "csrf_token": csrf_token(client)}
        with database_down(app):
            response = client.post(url, data=data)
    else:
        with database_down(app):
            response = client.get(url)
    assert response.status_code == 503, response.data[:300]
    assert int(response.headers["Retry-After"]) > 0
    assert "Content-Security-Policy" in response.headers
    page = parse(response.data)
    if url == "/staff/login":
        # The login cannot count the attempt (its counters are in the database): it says so on
        # the login form itself, and fails closed (tests/security/test_login_fail_closed.py).
        fault = translate(
            app,
            "sv",
            "Logging in is not possible right now because of a technical fault. Try again in a "
            "few minutes.",
        )
        assert fault in " ".join(page.select_one(".error-summary").get_text().split())
    else:
        assert page.h1.get_text(strip=True) == translate(
            app, "sv", "The service is not available right now"
        )


def test_the_statement_is_shown_during_an_outage(make_forms_app: Callable[..., Flask]) -> None:
    """The statement is a legal duty: it is shown from its data file alone."""
    app = make_forms_app()
    with database_down(app):
        response = app.test_client().get("/sv/tillganglighet")
    assert response.status_code == 200


def test_the_outage_pages_are_valid_html(make_forms_app: Callable[..., Flask]) -> None:
    """The form with its "not sent" alert and the 503 page pass the Nu Html Checker."""
    app = make_forms_app()
    client = app.test_client()
    documents = {}
    with database_down(app):
        for locale in ("sv", "ar"):
            for kind in ("report", "format"):
                url = form_url(locale, kind)
                documents[f"{url} (not sent)"] = submit(client, url, ANSWERS[kind]).data
            documents[f"/{locale}/arende (503)"] = client.get(
                f"/{locale}/arende/TG-2026-ABCDEF?nyckel=x"
            ).data
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)
