"""Bad input to the forms: each gets its clear error or page, nothing invalid is stored, no 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote_from_bytes, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gvisite.feedback.forms import PAGE_MAX, SHORT_MAX
from gvisite.models import SUBJECT_MAX, Case, OutboxMessage
from tests.fixtures_forms import (
    ANSWERS,
    all_cases,
    all_messages,
    count,
    form_url,
    hidden_fields,
)
from tests.helpers import parse, translate

EVIL = "x@evil.example"


@dataclass(frozen=True)
class Bad:
    """One bad submission and what it must lead to."""

    kind: str
    changes: dict[str, str] = field(default_factory=dict)
    hidden: dict[str, str | None] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)  # fields sent as raw bytes
    status: int = 200
    anchor: str | None = None  # the field the error summary must link to
    notice: str | None = None  # a form-wide message instead of a field error
    may_store: bool = False  # the input is acceptable once decoded (stored cleanly)


BAD_INPUTS = [
    pytest.param(Bad("report", {"name": f"Anna\r\nBcc: {EVIL}"}, anchor="name"), id="crlf-name"),
    pytest.param(Bad("report", {"name": f"Anna\nBcc: {EVIL}"}, anchor="name"), id="lf-name"),
    pytest.param(
        Bad("report", {"email": f"anna@example.se\r\nBcc: {EVIL}"}, anchor="email"),
        id="crlf-email",
    ),
    pytest.param(Bad("format", {"name": f"Anna\rBcc: {EVIL}"}, anchor="name"), id="cr-name-format"),
    pytest.param(
        Bad("format", {"email": f"anna@example.se\nBcc: {EVIL}"}, anchor="email"),
        id="lf-email-format",
    ),
    pytest.param(
        Bad("format", {"phone": "070-123\r\n45 67", "delivery": "phone"}, anchor="phone"),
        id="crlf-phone",
    ),
    pytest.param(Bad("report", {"problem": "å" * 1_000_000}, status=413), id="1mb-field"),
    pytest.param(Bad("format", {"message": "x" * 1_000_000}, status=413), id="1mb-field-format"),
    pytest.param(
        Bad("report", raw={"problem": b"Trasig \xff\xfe text \xc3\x28"}, may_store=True),
        id="invalid-utf8-problem",
    ),
    pytest.param(
        Bad("report", raw={"name": b"\xed\xa0\x80Anna"}, may_store=True), id="invalid-utf8-name"
    ),
    pytest.param(
        Bad("report", raw={"page": b"/sv/om-gvi\xff"}, anchor="page"), id="invalid-utf8-page"
    ),
    pytest.param(
        Bad("format", raw={"format": b"storstil\xff"}, anchor="format-0"),
        id="invalid-utf8-format",
    ),
    pytest.param(Bad("report", {"problem": "a\x00b"}, may_store=True), id="nul-in-problem"),
    pytest.param(
        Bad("report", hidden={"csrf_token": None}, notice="expired"), id="missing-csrf-token"
    ),
    pytest.param(
        Bad("format", hidden={"csrf_token": "wrong"}, notice="expired"), id="wrong-csrf-token"
    ),
    pytest.param(
        Bad("format", {"format": "pdf-med-virus"}, anchor="format-0"), id="unknown-format"
    ),
    pytest.param(
        Bad("format", {"delivery": "brevduva"}, anchor="delivery-0"), id="unknown-delivery"
    ),
    pytest.param(
        Bad("format", {"delivery": "post", "address": "", "email": ""}, anchor="address"),
        id="post-without-address",
    ),
    pytest.param(
        Bad(
            "format",
            {"format": "ljud", "delivery": "post", "address": "Vasaplatsen 11\n177 80 Järfälla"},
            anchor="delivery-0",
        ),
        id="post-for-non-physical-format",
    ),
    pytest.param(Bad("report", {"problem": "x" * 5001}, anchor="problem"), id="problem-too-long"),
]


def send_bad(client: FlaskClient, url: str, bad: Bad) -> TestResponse:
    """Send a bad submission, raw bytes and all, as a client could."""
    data: dict[str, str] = {**hidden_fields(client, url), **ANSWERS[bad.kind], **bad.changes}
    for name, value in bad.hidden.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    for name in bad.raw:
        data.pop(name, None)
    body = urlencode(data).encode("ascii")
    for name, value in bad.raw.items():
        body += f"&{name}=".encode() + value.replace(b"&", b"%26").replace(b" ", b"+")
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


def assert_clean(text: str | None) -> None:
    """Fail if a stored text could not have come from a valid form answer."""
    if text is None:
        return
    text.encode("utf-8")  # raises for lone surrogates
    assert "\x00" not in text


@pytest.mark.parametrize("bad", BAD_INPUTS)
def test_bad_input_gets_a_clear_answer_and_nothing_invalid_is_stored(
    forms_app: Flask, forms_client: FlaskClient, bad: Bad
) -> None:
    url = form_url("en", bad.kind)
    response = send_bad(forms_client, url, bad)
    assert response.status_code != 500
    if bad.may_store:
        assert response.status_code in {200, 303}
    else:
        assert response.status_code == bad.status
    soup = parse(response.data)
    assert soup.html["lang"] == "en"

    if bad.anchor:
        links = [a["href"] for a in soup.select("main .error-summary a")]
        assert f"#{bad.anchor}" in links
    if bad.notice:
        expected = translate(
            forms_app, "en", "The form had expired. Check your answers and send it again."
        )
        assert expected in soup.select_one("main [data-error-summary]").get_text(" ")
    if not bad.may_store:
        assert count(forms_app, Case) == 0
        assert count(forms_app, OutboxMessage) == 0
        return
    for case in all_cases(forms_app):
        for text in (case.page, case.name, case.email, case.phone, case.address):
            assert_clean(text)
        for value in case.answers.values():
            assert_clean(value)
    for message in all_messages(forms_app):
        for text in (message.subject, message.body, message.reply_to, *message.recipients):
            assert_clean(text)
            assert EVIL not in (text or "")


def test_percent_encoded_invalid_utf8_is_not_a_500(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    url = form_url("sv", "report")
    data = {**hidden_fields(forms_client, url), **ANSWERS["report"]}
    data.pop("problem")
    body = urlencode(data) + "&problem=" + quote_from_bytes(b"trasig \xff\xfe\xc0\xaf")
    response = forms_client.post(
        url, data=body.encode("ascii"), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in {200, 303}
    for case in all_cases(forms_app):
        assert_clean(case.answers["problem"])


def test_a_form_sent_as_multipart_with_a_file_is_not_a_500(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    import io

    url = form_url("sv", "report")
    data: dict[str, object] = {**hidden_fields(forms_client, url), **ANSWERS["report"]}
    data["problem"] = (io.BytesIO(b"\x00\x01binary"), "virus.exe")
    response = forms_client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code in {200, 303, 400}
    for case in all_cases(forms_app):
        assert_clean(case.answers["problem"])


JSON_BODIES = [
    '{"page": 1}',
    '{"csrf_token": 5}',
    '{"problem": {"k": "<b>x</b>"}}',
    '{"page": ["/sv/om-gvi"], "problem": [1, 2]}',
    "[1, 2, 3]",
    "null",
    "{not json",
]


@pytest.mark.parametrize("kind", ["report", "format"])
@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_a_json_body_gets_a_clear_refusal_and_nothing_is_stored(
    forms_app: Flask, forms_client: FlaskClient, kind: str, locale: str
) -> None:
    """JSON is not what a form sends: a localized page says nothing was sent, never a 500."""
    url = form_url(locale, kind)
    token = hidden_fields(forms_client, url)["csrf_token"]
    bodies = [*JSON_BODIES, f'{{"csrf_token": "{token}", "problem": {{"k": "<b>x</b>"}}}}']
    for body in bodies:
        response = forms_client.post(url, data=body, content_type="application/json")
        assert response.status_code == 415, body
        page = parse(response.data)
        assert page.html["lang"] == locale
        assert page.h1.get_text(strip=True) == translate(
            forms_app, locale, "The form could not be read"
        )
        # The way back is the form itself, ready to be filled in.
        assert page.find("a", href=url) is not None
    assert count(forms_app, Case) == 0


def test_a_form_body_under_another_content_type_is_refused(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    """A body that only looks like a form (text/plain, XML) is refused, not half-read."""
    url = form_url("sv", "report")
    data = urlencode({**hidden_fields(forms_client, url), **ANSWERS["report"]})
    for content_type in ("text/plain", "application/xml", "application/octet-stream"):
        response = forms_client.post(url, data=data, content_type=content_type)
        assert response.status_code == 415, content_type
    assert count(forms_app, Case) == 0


def test_a_nul_in_a_case_address_is_a_plain_404_on_both_databases(
    make_forms_app, database_url: str
) -> None:
    """PostgreSQL refuses NUL in text: the address must not reach it as a query."""
    client = make_forms_app(database_url).test_client()
    for path in ("/sv/arende/%00?nyckel=x", "/sv/arende/TG-2026-ABCDE%00?nyckel=x"):
        assert client.get(path).status_code == 404, path


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_direction_overrides_are_not_stored(forms_app: Flask, forms_client: FlaskClient) -> None:
    """An override (U+202E) would reorder the text staff read; marks (U+200F) are kept."""
    url = form_url("ar", "report")
    problem = "الزر \u202elacol\u202c لا يعمل \u200fهنا"
    data = {**hidden_fields(forms_client, url), **ANSWERS["report"], "problem": problem}
    data["name"] = "\u2067Åsa\u2069 Öberg"
    assert forms_client.post(url, data=data).status_code == 303
    [case] = all_cases(forms_app)
    assert case.answers["problem"] == "الزر lacol لا يعمل \u200fهنا"
    assert case.name == "Åsa Öberg"
    assert not set(BIDI_CONTROLS) & set(case.answers["problem"] + case.name)


@pytest.mark.parametrize("kind", ["report", "format"])
def test_the_longest_answers_allowed_are_stored_on_either_database(
    db_app: Flask, kind: str
) -> None:
    """A 500-character page once overflowed the subject column on PostgreSQL (a 503)."""
    client = db_app.test_client()
    url = form_url("sv", kind)
    longest = {
        "page": "Sidan om " + "å" * (PAGE_MAX - 9),
        "name": "Ö" * SHORT_MAX,
        "email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + ".se",
    }
    data = {**hidden_fields(client, url), **ANSWERS[kind], **longest}
    response = client.post(url, data=data)
    assert response.status_code == 303, response.status_code
    (case,) = all_cases(db_app)
    # A description, not a site path: kept whole as an answer (the page column holds paths).
    assert (case.answers["page_description"], case.name, case.email) == tuple(longest.values())
    messages = all_messages(db_app)
    assert [m.purpose for m in messages] == ["staff", "receipt"]
    staff = messages[0]
    # The subject names the case, never the description: a mailbox lists and keeps subjects.
    assert staff.subject.startswith(f"[{case.reference}] ") and "Sidan om" not in staff.subject
    assert len(staff.subject) <= SUBJECT_MAX
    assert longest["page"] in staff.body  # the whole page, where staff read it
