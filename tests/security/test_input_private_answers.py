"""Every page that shows a resident's answers back is kept out of caches and Referer headers.

A shared computer's cache, or a proxy's, must not keep a resident's answers; a Referer must not
carry a status link's secret into the logs of whatever the page loads.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.feedback.test_faults import database_down
from tests.feedback.test_followup import add, add_form, status_path
from tests.fixtures_forms import REPORT_ANSWERS, form_url, submit
from tests.fixtures_staff import make_case
from tests.helpers import parse


def form_errors(app: Flask, client: FlaskClient) -> TestResponse:
    """A form sent with an answer missing."""
    return submit(client, form_url("sv", "report"), {**REPORT_ANSWERS, "problem": ""})


def form_rate_limited(app: Flask, client: FlaskClient) -> TestResponse:
    """A form sent once too often (the limit is one an hour here)."""
    assert submit(client, form_url("sv", "report"), REPORT_ANSWERS).status_code == 303
    return submit(app.test_client(), form_url("sv", "report"), REPORT_ANSWERS)


def form_not_stored(app: Flask, client: FlaskClient) -> TestResponse:
    """A form sent while the database is down."""
    with database_down(app):
        return submit(client, form_url("sv", "report"), REPORT_ANSWERS)


def receipt(app: Flask, client: FlaskClient) -> TestResponse:
    """The receipt after a form was stored."""
    response = submit(client, form_url("sv", "report"), REPORT_ANSWERS)
    return client.get(response.headers["Location"])


def status_page_down(app: Flask, client: FlaskClient) -> TestResponse:
    """A status link opened while the database is down."""
    case = make_case(app, status="vantar")
    with database_down(app):
        return client.get(status_path("sv", case))


def shown_after_the_redirect(client: FlaskClient, sent: TestResponse) -> TestResponse:
    """Open the page a refused addition is sent back to (its address holds the key)."""
    assert sent.status_code == 303, sent.data[:300]
    assert sent.headers["Cache-Control"] == "no-store"  # the redirect names the key too
    return client.get(sent.headers["Location"])


def addition_errors(app: Flask, client: FlaskClient) -> TestResponse:
    """An empty addition sent from the status page, shown again with its error."""
    return shown_after_the_redirect(client, add(client, "sv", make_case(app, status="vantar"), ""))


def addition_rate_limited(app: Flask, client: FlaskClient) -> TestResponse:
    """An addition sent after the hour's one submission was used."""
    assert submit(client, form_url("sv", "report"), REPORT_ANSWERS).status_code == 303
    sent = add(client, "sv", make_case(app, status="vantar"), "Mer om felet.")
    return shown_after_the_redirect(client, sent)


def addition_not_stored(app: Flask, client: FlaskClient) -> TestResponse:
    """An addition sent while the database is down."""
    case = make_case(app, status="vantar")
    page = client.get(status_path("sv", case))
    data = {**add_form(parse(page.data)), "information": "Mer om felet."}
    with database_down(app):
        return client.post(f"/sv/arende/{case.reference}", data=data)


PAGES = {
    "form-errors": (form_errors, 200),
    "form-429": (form_rate_limited, 429),
    "form-503": (form_not_stored, 503),
    "receipt": (receipt, 200),
    "status-page-503": (status_page_down, 503),
    "addition-errors": (addition_errors, 200),
    "addition-429": (addition_rate_limited, 429),
    "addition-503": (addition_not_stored, 503),
}


@pytest.mark.parametrize("what", PAGES)
def test_pages_with_a_residents_answers_are_not_cached_and_send_no_referer(
    make_forms_app: Callable[..., Flask], what: str
) -> None:
    app = make_forms_app(SUBMISSION_RATE_LIMIT="1 per hour")
    action, status = PAGES[what]
    response = action(app, app.test_client())
    assert response.status_code == status, response.data[:300]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
