"""Length as people count it: a line break is one character, and no form within its limits
is ever refused as too large (413), in any script, urlencoded or multipart."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from wtforms.validators import Length

from gvisite.feedback.forms import FormatForm, ReportForm
from tests.feedback.test_followup import add_form, additions, status_path
from tests.fixtures_forms import ANSWERS, all_cases, form_url, form_values, hidden_fields
from tests.fixtures_staff import StaffSite, case_events, make_case, post_action
from tests.helpers import parse

MEGABYTE = 1024 * 1024
EMOJI = "\U0001f600"  # 😀: four bytes of UTF-8, twelve when urlencoded
ARABIC = "ض"
# Answers that must stay what they are (a choice, an address, a number) in the filled forms.
KEEP = {"format", "delivery", "email", "phone", "language"}
FORMS = {"report": ReportForm, "format": FormatForm}


def lines(total: int, letter: str, width: int = 60) -> str:
    """Return `total` characters as people count them: lines of `letter` joined by CRLF."""
    text = ""
    while len(text.replace("\r\n", "\n")) < total:
        room = total - len(text.replace("\r\n", "\n"))
        text += ("\r\n" if text else "") + letter * min(width, room - (1 if text else 0))
    return text


def stated_limit(form: type, name: str) -> int | None:
    """Return the most characters a form's field says it takes, or None if it states none."""
    validators = getattr(form, name).kwargs.get("validators", [])
    limits = [v.max for v in validators if isinstance(v, Length) and v.max >= 0]
    return min(limits) if limits else None


def filled_to_the_limit(kind: str, letter: str) -> dict[str, str]:
    """Return a form's answers with every free-text field as long as its limit allows."""
    form = FORMS[kind]
    answers = {**ANSWERS[kind], "format": "annat"} if kind == "format" else dict(ANSWERS[kind])
    for name in answers:
        limit = stated_limit(form, name)
        if limit is None or name in KEEP:
            continue
        multiline = name in {"problem", "message", "address"}
        answers[name] = lines(limit, letter) if multiline else letter * limit
    return answers


def test_5000_characters_with_line_breaks_are_accepted(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    text = lines(5000, "a")
    assert len(text.replace("\r\n", "\n")) == 5000 < len(text)  # as a browser sends it
    url = form_url("sv", "report")
    data = {**hidden_fields(forms_client, url), **ANSWERS["report"], "problem": text}
    assert forms_client.post(url, data=data).status_code == 303
    [case] = all_cases(forms_app)
    assert case.answers["problem"] == text.replace("\r\n", "\n")


def test_5001_characters_with_line_breaks_are_refused_with_the_limit(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    url = form_url("sv", "report")
    data = {**hidden_fields(forms_client, url), **ANSWERS["report"], "problem": lines(5001, "a")}
    response = forms_client.post(url, data=data)
    assert response.status_code == 200
    summary = parse(response.data).select_one('main a[href="#problem"]')
    limit = "Använd högst 5\u00a0000 tecken."
    assert summary.get_text(strip=True) == limit
    assert form_values(response.data)["problem"] == data["problem"].replace("\r\n", "\n")


def test_a_staff_note_of_5000_characters_with_line_breaks_is_saved(staff_site: StaffSite) -> None:
    case = staff_site.case()
    text = lines(5000, "a")
    client = staff_site.client("handler")
    response = post_action(client, f"/staff/cases/{case.reference}/note", {"note": text})
    assert response.status_code == 303, response.status_code
    assert ("note", text.replace("\r\n", "\n")) in case_events(staff_site.app, case.reference)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
@pytest.mark.parametrize("letter", [EMOJI, ARABIC], ids=["emoji", "arabic"])
@pytest.mark.parametrize("kind", ["report", "format"])
def test_a_form_filled_to_every_limit_is_stored_not_refused_as_too_large(
    make_forms_app: Callable[..., Flask], kind: str, letter: str, encoding: str
) -> None:
    app = make_forms_app()
    client = app.test_client()
    url = form_url("ar", kind)
    answers = filled_to_the_limit(kind, letter)
    data = {**hidden_fields(client, url), **answers}
    options = {"content_type": "multipart/form-data"} if encoding == "multipart" else {}
    response = client.post(url, data=data, **options)
    assert response.status_code == 303, response.status_code
    [case] = all_cases(app)
    if kind == "report":
        assert case.answers["problem"] == answers["problem"].replace("\r\n", "\n")
    else:
        assert case.answers["message"] == answers["message"].replace("\r\n", "\n")


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_an_addition_filled_to_its_limit_with_emoji_is_stored(
    make_forms_app: Callable[..., Flask], encoding: str
) -> None:
    app = make_forms_app()
    client = app.test_client()
    case = make_case(app, status="vantar")
    page = client.get(status_path("sv", case))
    text = lines(5000, EMOJI)
    data = {**add_form(parse(page.data)), "information": text}
    options = {"content_type": "multipart/form-data"} if encoding == "multipart" else {}
    response = client.post(f"/sv/arende/{case.reference}", data=data, **options)
    assert response.status_code == 303, response.status_code
    assert additions(app, case) == [text.replace("\r\n", "\n")]


def test_the_body_limit_stays_bounded(forms_app: Flask) -> None:
    """Derived from the fields, yet never unlimited: a megabyte is still refused."""
    assert 0 < forms_app.config["MAX_CONTENT_LENGTH"] <= MEGABYTE
    client = forms_app.test_client()
    url = form_url("sv", "report")
    data = {**hidden_fields(client, url), "problem": "x" * MEGABYTE}
    assert client.post(url, data=data).status_code == 413
