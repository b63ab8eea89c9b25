"""One submission, one case: the same answers arriving twice are stored and mailed once.

A resident sends the form again when our answer never reached them (the connection dropped
after the commit, a 503 from a proxy) or when they click "Send" twice. Each rendering of a form
carries a signed submission key; it stays the same while the same answers come back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gvisite.cases import AlreadyStored, receipt_ticket_for, store_case
from gvisite.extensions import db
from gvisite.feedback.mail import compose_mail
from gvisite.models import Case, OutboxMessage
from tests.fixtures_forms import (
    ANSWERS,
    REPORT_ANSWERS,
    all_cases,
    count,
    form_url,
    form_values,
    hidden_fields,
)
from tests.helpers import parse, translate

RECEIPT = "/sv/tillganglighet/kvitto"


def twin_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Return a second client with the first one's cookies: the same browser, once more."""
    twin = app.test_client()
    for cookie in client._cookies.values():
        twin.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return twin


def reference_on(html: bytes) -> str:
    """Return the reference a receipt page shows."""
    shown = parse(html).select_one("main .reference")
    assert shown is not None, html[:2000]
    return shown.get_text(strip=True)


@pytest.mark.parametrize("kind", ["report", "format"])
def test_a_resend_whose_first_answer_was_lost_gets_the_first_receipt(
    db_app: Flask, kind: str
) -> None:
    """Sent, the answer lost, sent again: one case, one set of mails, the first reference."""
    client = db_app.test_client()
    url = form_url("sv", kind)
    data = {**hidden_fields(client, url), **ANSWERS[kind]}
    first = client.post(url, data=data)
    assert first.status_code == 303  # stored; say the resident never saw this answer
    again = twin_of(db_app, client)  # a new connection, the same page's answers
    second = again.post(url, data=data)
    assert second.status_code == 303
    [case] = all_cases(db_app)
    assert reference_on(again.get(RECEIPT).data) == case.reference
    mails = [message.purpose for message in case_messages(db_app)]
    assert sorted(mails) == ["receipt", "staff"]


def case_messages(app: Flask) -> list[OutboxMessage]:
    """Return every queued message."""
    with app.app_context():
        return list(db.session.scalars(db.select(OutboxMessage)))


def test_a_resend_after_the_receipt_was_seen_says_so(forms_app: Flask) -> None:
    """Back, then Send again: no second case, and a page that says it was sent already."""
    empty = forms_app.test_client()
    url = form_url("sv", "report")
    data = {**hidden_fields(empty, url), **REPORT_ANSWERS}
    assert empty.post(url, data=data).status_code == 303
    reference = reference_on(empty.get(RECEIPT).data)
    second = empty.post(url, data=data)
    assert second.status_code == 303
    page = parse(empty.get(RECEIPT).data)
    assert page.h1.get_text(strip=True) == translate(
        forms_app, "sv", "You have already sent this form"
    )
    assert reference not in page.get_text()  # the receipt is shown once, even now
    assert [case.reference for case in all_cases(forms_app)][-1] == reference
    # A fresh form is a new submission: it is stored as one.
    assert empty.post(url, data={**hidden_fields(empty, url), **REPORT_ANSWERS}).status_code == 303
    assert parse(empty.get(RECEIPT).data).select_one("main .reference") is not None


def test_a_form_shown_again_after_an_error_keeps_its_key(forms_app: Flask) -> None:
    """A mistake corrected and sent is stored once; sent again after that, still once."""
    client = forms_app.test_client()
    url = form_url("sv", "report")
    before = count(forms_app, Case)
    wrong = client.post(url, data={**hidden_fields(client, url), **REPORT_ANSWERS, "problem": ""})
    assert wrong.status_code == 200
    corrected = {**form_values(wrong.data), "problem": REPORT_ANSWERS["problem"]}
    assert client.post(url, data=corrected).status_code == 303
    assert client.post(url, data=corrected).status_code == 303
    assert count(forms_app, Case) == before + 1


def test_two_clicks_at_once_store_one_case(db_app: Flask) -> None:
    """Two requests with one key racing into the database: the second finds the first."""
    client = db_app.test_client()
    url = form_url("sv", "report")
    data = {**hidden_fields(client, url), **REPORT_ANSWERS}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def click() -> None:
        twin = twin_of(db_app, client)
        barrier.wait()
        statuses.append(twin.post(url, data=data).status_code)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303, 303]
    assert count(db_app, Case) == 1
    assert count(db_app, OutboxMessage) == 2


def test_the_store_itself_refuses_a_second_case_for_one_key(db_app: Flask) -> None:
    """The unique key holds even when the check before storing was passed by both."""
    with db_app.test_request_context():

        def case() -> Case:
            return Case(kind="report", locale="sv", page="/sv/", answers={"problem": "x"})

        store_case(case(), compose_mail, "the-key")
        with pytest.raises(AlreadyStored) as raised:
            store_case(case(), compose_mail, "the-key")
        assert raised.value.ticket == receipt_ticket_for("the-key")
        db.session.rollback()
    assert count(db_app, Case) == 1


def test_the_key_is_signed(forms_app: Flask, make_forms_app: Callable[..., Flask]) -> None:
    """A key from another site (another secret) is no key: the form counts as not ours."""
    other = make_forms_app(SECRET_KEY="another-secret")
    url = form_url("sv", "report")
    foreign = hidden_fields(other.test_client(), url)["started"]
    client = forms_app.test_client()
    data = {**hidden_fields(client, url), **REPORT_ANSWERS, "started": foreign}
    response = client.post(url, data=data)
    assert response.status_code == 200  # shown again to be checked and sent, not stored
    assert form_values(response.data)["started"] != foreign
