"""The two DOS-lagen forms: pre-filling, GOV.UK-style validation, spam defences and the receipt."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from gvisite.i18n import LOCALES, waiting_time
from gvisite.models import Case, OutboxMessage
from tests.fixtures_forms import (
    ANSWERS,
    FORMAT_ANSWERS,
    REFERENCE,
    REPORT_ANSWERS,
    STAFF_MAILBOX,
    all_cases,
    all_messages,
    copy_content,
    count,
    form_url,
    form_values,
    hidden_fields,
    page_text,
    send_case,
    submit,
)
from tests.helpers import parse, translate

KINDS = ("report", "format")

# --- ?page= --------------------------------------------------------------------------------------

PAGE_PARAMETERS = [
    # (what ?page= says, what the page field shows)
    ("/sv/om-gvi", "/sv/om-gvi"),
    ("/fi/om-gvi", "/fi/om-gvi"),
    ("/sv/", "/sv/"),
    ("/sv/tillganglighet", "/sv/tillganglighet"),
    ("http://localhost/en/om-gvi", "/en/om-gvi"),  # our own SITE_URL
    ("/sv/om-gvi?utm=x#del", "/sv/om-gvi"),
    ("https://evil.example/sv/om-gvi", ""),
    ("http://localhost.evil.example/sv/om-gvi", ""),
    ("//evil.example/sv/om-gvi", ""),
    ("///evil.example/sv/om-gvi", ""),
    ("javascript:alert(1)", ""),
    ("JavaScript:alert(document.cookie)//", ""),
    ("data:text/html,<script>alert(1)</script>", ""),
    ("/sv/finns-inte", ""),
    ("/xx/om-gvi", ""),
    ("sv/om-gvi", ""),
    ("/sv/om-gvi\r\nSet-Cookie: x=1", ""),
    ("/sv/../../etc/passwd", ""),
    ("", ""),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("given", "shown"), PAGE_PARAMETERS)
def test_page_parameter_prefills_only_pages_of_this_site(
    forms_client: FlaskClient, kind: str, given: str, shown: str
) -> None:
    response = forms_client.get(form_url("sv", kind), query_string={"page": given})
    assert response.status_code == 200
    assert form_values(response.data)["page"] == shown


WHICH_PAGE = [
    # (what the resident typed or pasted, what is stored)
    ("http://localhost/sv/om-gvi", "/sv/om-gvi"),
    ("  http://localhost/en/om-gvi?utm=x#del ", "/en/om-gvi"),
    ("HTTP://LOCALHOST/fi/", "/fi/"),
    ("/sv/tillganglighet", "/sv/tillganglighet"),
    ("Brevet från socialtjänsten den 3 november", "Brevet från socialtjänsten den 3 november"),
    ("https://evil.example/sv/om-gvi", "https://evil.example/sv/om-gvi"),
    ("javascript:alert(1)", "javascript:alert(1)"),
    ("/sv/finns-inte", "/sv/finns-inte"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("typed", "stored"), WHICH_PAGE)
def test_which_page_takes_a_pasted_address_or_a_description(
    forms_app: Flask, forms_client: FlaskClient, kind: str, typed: str, stored: str
) -> None:
    response = submit(forms_client, form_url("sv", kind), {**ANSWERS[kind], "page": typed})
    assert response.status_code == 303
    [case] = all_cases(forms_app)
    # Only a page of the site is kept as the page; anything else is the resident's own text,
    # an answer like the others (erased with them).
    is_page = stored.startswith("/") and stored != "/sv/finns-inte"
    assert (case.page, case.answers.get("page_description")) == (
        (stored, None) if is_page else ("", stored)
    )
    staff = next(m for m in all_messages(forms_app) if m.purpose == "staff")
    # Only an address of ours becomes a link in the staff mail; a description stays text.
    links = [line.strip() for line in staff.body.splitlines() if "localhost/" in line]
    if is_page:
        assert f"http://localhost{stored}" in links
    else:
        assert not any(stored in link for link in links)


# --- The form's markup ---------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_form_is_validated_on_the_server_only(
    forms_client: FlaskClient, kind: str, locale: str
) -> None:
    soup = parse(forms_client.get(form_url(locale, kind)).data)
    form = soup.select_one("main form")
    assert form is not None and form.get("method") == "post"
    assert form.has_attr("novalidate")
    assert not soup.select("[required], [aria-required]")
    names = {tag["name"] for tag in form.select("[name]")}
    expected = {"page", "problem", "assistive_tech", "browser", "name", "email"}
    if kind == "format":
        expected = {"page", "format", "format_other", "language", "delivery", "name", "email"}
        expected |= {"phone", "address", "message"}
    assert expected | {"csrf_token", "started", "website"} == names


@pytest.mark.parametrize("kind", KINDS)
def test_honeypot_is_hidden_from_everyone(forms_client: FlaskClient, kind: str) -> None:
    soup = parse(forms_client.get(form_url("sv", kind)).data)
    trap = soup.select_one("input[name=website]")
    assert trap is not None
    assert trap.get("autocomplete") == "off"
    assert trap.get("tabindex") == "-1"
    assert trap.get("value", "") == ""
    hidden = trap.find_parent(attrs={"aria-hidden": "true"})
    assert hidden is not None, "the honeypot must be hidden from assistive technology"
    assert "trap" in hidden.get("class", [])  # the class the style sheet hides


@pytest.mark.parametrize("kind", KINDS)
def test_every_hint_is_tied_to_its_field(forms_client: FlaskClient, kind: str) -> None:
    soup = parse(forms_client.get(form_url("en", kind)).data)
    described = {
        ref: tag
        for tag in soup.select("[aria-describedby]")
        for ref in tag["aria-describedby"].split()
    }
    for ref in described:
        assert soup.find(id=ref) is not None, f"aria-describedby names a missing id: {ref}"
    hints = soup.select("main form .hint[id]")
    assert hints, "the form has hints"
    for hint in hints:
        assert hint["id"] in described, f"hint {hint['id']} is not tied to a field"


# --- Validation ----------------------------------------------------------------------------------

PAGE_MISSING = "Enter the page the problem is on, or describe where you saw it."
TOO_LONG_ID = "Use %(most)s characters or fewer."
# How each language writes 5000: with a no-break space in Swedish and Finnish, never "5 000"
# with one a line can break at.
FIVE_THOUSAND = {"sv": "5\u00a0000", "fi": "5\u00a0000", "en": "5,000", "ar": "5,000"}
# A message with a length limit: its id and the limit, written as each language writes it.
PAGE_LONG = (TOO_LONG_ID, dict.fromkeys(LOCALES, "500"))
EMAIL_FORMAT = "Enter an email address in the correct format, like namn@exempel.se."
ONE_LINE = "Write this on one line, without line breaks."
TOO_LONG = (TOO_LONG_ID, FIVE_THOUSAND)
LONG = "x" * 201
# (form, changes to valid answers, the id the summary links to, message id or None for any)
VALIDATION_ERRORS = [
    pytest.param("report", {"page": ""}, "page", PAGE_MISSING, id="r-page"),
    pytest.param("report", {"page": "x" * 501}, "page", PAGE_LONG, id="r-page-long"),
    pytest.param("report", {"page": "/sv/om-gvi\nX: y"}, "page", ONE_LINE, id="r-page-lf"),
    pytest.param("report", {"problem": "   "}, "problem", "Describe the problem.", id="r-problem"),
    pytest.param("report", {"problem": "x" * 5001}, "problem", TOO_LONG, id="r-problem-long"),
    pytest.param("report", {"assistive_tech": LONG}, "assistive_tech", None, id="r-at-long"),
    pytest.param(
        "report", {"assistive_tech": "NVDA\nJAWS"}, "assistive_tech", ONE_LINE, id="r-at-lf"
    ),
    pytest.param("report", {"browser": LONG}, "browser", None, id="r-browser-long"),
    pytest.param("report", {"name": LONG}, "name", None, id="r-name-long"),
    # U+0085 (NEL) is a line break too, to Python's str.splitlines() among others.
    pytest.param("report", {"name": "Åsa\x85Bcc: x"}, "name", ONE_LINE, id="r-name-nel"),
    pytest.param("report", {"email": "inte-en-adress"}, "email", EMAIL_FORMAT, id="r-email"),
    pytest.param(
        "format", {"page": ""}, "page", "Enter the page or document you need.", id="f-page"
    ),
    pytest.param("format", {"page": "x" * 501}, "page", PAGE_LONG, id="f-page-long"),
    pytest.param(
        "format", {"format": ""}, "format-0", "Select the format you need.", id="f-format"
    ),
    pytest.param(
        "format",
        {"format": "annat", "format_other": ""},
        "format_other",
        "Describe the format you need.",
        id="f-other-missing",
    ),
    pytest.param("format", {"format_other": LONG}, "format_other", None, id="f-other-long"),
    pytest.param("format", {"language": "x" * 101}, "language", None, id="f-language-long"),
    pytest.param(
        "format",
        {"delivery": ""},
        "delivery-0",
        "Select how you want to receive it.",
        id="f-delivery",
    ),
    pytest.param(
        "format",
        {"delivery": "post", "format": "lattlast", "address": "Storgatan 1\n177 80 Järfälla"},
        "delivery-0",
        "Post is only possible for large print, braille and DAISY.",
        id="f-post-not-physical",
    ),
    pytest.param("format", {"name": ""}, "name", "Enter your name.", id="f-name"),
    pytest.param(
        "format",
        {"delivery": "email", "email": ""},
        "email",
        "Enter your email address.",
        id="f-email-missing",
    ),
    pytest.param("format", {"email": "namn@"}, "email", EMAIL_FORMAT, id="f-email-invalid"),
    pytest.param(
        "format",
        {"delivery": "phone", "phone": ""},
        "phone",
        "Enter your phone number.",
        id="f-phone-missing",
    ),
    pytest.param(
        "format",
        {"delivery": "phone", "phone": "ring mig"},
        "phone",
        "Enter a phone number with digits only, like 070-123 45 67.",
        id="f-phone-invalid",
    ),
    pytest.param(
        "format",
        {"delivery": "post", "address": ""},
        "address",
        "Enter your postal address.",
        id="f-address-missing",
    ),
    pytest.param("format", {"message": "x" * 5001}, "message", TOO_LONG, id="f-message-long"),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("kind", "changes", "anchor", "msgid"), VALIDATION_ERRORS)
def test_validation_error_is_summarised_shown_inline_and_keeps_every_answer(
    forms_app: Flask,
    forms_client: FlaskClient,
    locale: str,
    kind: str,
    changes: dict[str, str],
    anchor: str,
    msgid: str | tuple[str, dict[str, str]] | None,
) -> None:
    answers = {**ANSWERS[kind], **changes}
    response = submit(forms_client, form_url(locale, kind), answers)
    assert response.status_code == 200
    soup = parse(response.data)
    field = anchor.removesuffix("-0")

    # "Error: " before the title, in the page's language.
    title = soup.title.get_text()
    assert title.startswith(translate(forms_app, locale, "Error:") + " ")

    # The summary is the first thing in main, can take focus, and links to the field.
    main = soup.select_one("main")
    summary = main.find(True)
    assert summary is not None and "error-summary" in summary.get("class", [])
    assert summary.get("tabindex") == "-1"
    assert summary.find(id="error-summary-title").get_text(strip=True) == translate(
        forms_app, locale, "There is a problem"
    )
    links = {a["href"]: a.get_text(strip=True) for a in summary.select("a[href]")}
    assert f"#{anchor}" in links, links
    target = soup.find(id=anchor)
    assert target is not None and target.name in {"input", "textarea"}
    for href in links:
        assert soup.find(id=href[1:]) is not None, f"the summary links to a missing id: {href}"

    # The same words inline, tied to the field.
    message = links[f"#{anchor}"]
    if isinstance(msgid, tuple):
        text, limit = msgid
        assert message == translate(forms_app, locale, text, most=limit[locale])
    elif msgid is not None:
        assert message == translate(forms_app, locale, msgid)
    inline = soup.find(id=f"{field}-error")
    assert inline is not None
    assert message in inline.get_text(" ", strip=True)
    described = target if target.get("type") != "radio" else target.find_parent("fieldset")
    assert f"{field}-error" in described.get("aria-describedby", "").split()
    if target.get("type") != "radio":
        assert target.get("aria-invalid") == "true"

    # Every answer kept (trimmed, as stored), and nothing stored.
    shown = form_values(response.data)
    for name, value in answers.items():
        assert shown[name] == value.strip(), name
    assert count(forms_app, Case) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_empty_form_lists_every_required_field(forms_client: FlaskClient, kind: str) -> None:
    answers = {name: "" for name in ANSWERS[kind]}
    soup = parse(submit(forms_client, form_url("en", kind), answers).data)
    hrefs = [a["href"] for a in soup.select(".error-summary a")]
    if kind == "report":
        assert hrefs == ["#page", "#problem"]
    else:
        assert hrefs == ["#page", "#format-0", "#delivery-0", "#name"]


def test_format_form_offers_post_only_for_physical_formats(forms_client: FlaskClient) -> None:
    for fmt in ("storstil", "punktskrift", "daisy"):
        answers = {**FORMAT_ANSWERS, "format": fmt, "delivery": "post", "email": ""}
        answers["address"] = "Vasaplatsen 11\n177 80 Järfälla"
        response = submit(forms_client, form_url("sv", "format"), answers)
        assert response.status_code == 303, fmt


# --- Spam defences -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_honeypot_hit_is_stored_as_spam_not_mailed_and_gets_a_normal_receipt(
    forms_app: Flask, forms_client: FlaskClient, kind: str
) -> None:
    response = submit(
        forms_client, form_url("en", kind), ANSWERS[kind], website="https://spam.example"
    )
    assert response.status_code == 303
    receipt = forms_client.get(response.headers["Location"])
    assert receipt.status_code == 200
    reference = parse(receipt.data).select_one(".reference").get_text(strip=True)
    assert REFERENCE.match(reference)
    [case] = all_cases(forms_app)
    assert case.spam is True
    assert case.reference == reference
    assert count(forms_app, OutboxMessage) == 0


# What a receipt would say if it claimed a mail had gone out.
SENT_CLAIMS = {"en": "we have sent", "sv": "vi har skickat"}


@pytest.mark.parametrize("locale", sorted(SENT_CLAIMS))
@pytest.mark.parametrize("kind", KINDS)
def test_a_receipt_never_says_a_mail_was_sent(
    forms_app: Flask, forms_client: FlaskClient, kind: str, locale: str
) -> None:
    """A form the honeypot caught gets no mail but anyone's receipt: so no receipt says "sent"."""
    receipts = {}
    for name, hidden in {"robot": {"website": "https://spam.example"}, "person": {}}.items():
        client = forms_app.test_client()
        response = submit(client, form_url(locale, kind), ANSWERS[kind], **hidden)
        receipt = client.get(response.headers["Location"])
        reference = parse(receipt.data).select_one(".reference").get_text(strip=True)
        receipts[name] = page_text(receipt.data).replace(reference, "REFERENCE")
    assert receipts["robot"] == receipts["person"]  # nothing tells the robot it was caught
    assert [m.purpose for m in all_messages(forms_app)] == ["staff", "receipt"]  # the person's
    assert SENT_CLAIMS[locale] not in receipts["robot"].lower()


@pytest.mark.parametrize("kind", KINDS)
def test_sending_too_fast_shows_the_form_again_with_a_calm_notice(
    forms_app: Flask, forms_client: FlaskClient, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setitem(forms_app.config, "FORM_MIN_SECONDS", 3600)
    url = form_url("en", kind)
    response = submit(forms_client, url, ANSWERS[kind])
    assert response.status_code == 200
    soup = parse(response.data)
    assert not soup.title.get_text().startswith(translate(forms_app, "en", "Error:"))
    assert not soup.select(".error-summary, .error-message, [aria-invalid]")
    notice = soup.select_one("main [data-error-summary]")
    # Why, in plain words, and that nothing typed is lost.
    assert notice is not None and notice.get_text(" ", strip=True) == (
        "The form was sent faster than a person usually fills it in, so we did not receive it."
        " Your answers are still here. Check them and send the form again."
    )
    shown = form_values(response.data)
    assert all(shown[name] == value for name, value in ANSWERS[kind].items())
    assert count(forms_app, Case) == 0

    # A person who waits and sends the same form again gets through.
    monkeypatch.setitem(forms_app.config, "FORM_MIN_SECONDS", 0)
    resent = forms_client.post(url, data=shown)
    assert resent.status_code == 303
    assert count(forms_app, Case) == 1


@pytest.mark.parametrize("started", ["", "1700000000.0", "bm90IHNpZ25lZA.abc.def"])
def test_missing_or_forged_start_time_counts_as_too_fast(
    forms_app: Flask, forms_client: FlaskClient, started: str
) -> None:
    response = submit(forms_client, form_url("sv", "report"), REPORT_ANSWERS, started=started)
    assert response.status_code == 200
    assert form_values(response.data)["problem"] == REPORT_ANSWERS["problem"]
    assert count(forms_app, Case) == 0


@pytest.mark.parametrize("token", [None, "", "wrong", "IjEyMyI.abc.def"])
@pytest.mark.parametrize("kind", KINDS)
def test_missing_or_wrong_csrf_token_shows_the_form_again_with_the_answers(
    forms_app: Flask, forms_client: FlaskClient, kind: str, token: str | None
) -> None:
    url = form_url("fi", kind)
    response = submit(forms_client, url, ANSWERS[kind], csrf_token=token)
    assert response.status_code == 200
    soup = parse(response.data)
    message = translate(
        forms_app, "fi", "The form had expired. Check your answers and send it again."
    )
    notice = soup.select_one("main [data-error-summary]")
    assert notice is not None and message in notice.get_text(" ", strip=True)
    shown = form_values(response.data)
    assert all(shown[name] == value for name, value in ANSWERS[kind].items())
    assert count(forms_app, Case) == 0

    # The form shown again carries a fresh token, so sending it again works.
    resent = forms_client.post(url, data=shown)
    assert resent.status_code == 303
    assert count(forms_app, Case) == 1


def test_a_token_from_another_session_is_refused(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    url = form_url("sv", "report")
    other = forms_app.test_client()
    token = hidden_fields(other, url)["csrf_token"]
    response = submit(forms_client, url, REPORT_ANSWERS, csrf_token=token)
    assert response.status_code == 200
    assert count(forms_app, Case) == 0


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_rate_limit_keeps_the_answers_says_when_and_offers_phone_and_mail(
    make_forms_app, locale: str
) -> None:
    app = make_forms_app(SUBMISSION_RATE_LIMIT="2 per hour")
    client = app.test_client()
    url = form_url(locale, "report")
    for _ in range(2):
        assert submit(client, url, REPORT_ANSWERS).status_code == 303
    answers = {**REPORT_ANSWERS, "problem": "Den tredje rapporten, med mina egna ord."}
    response = submit(client, url, answers)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    soup = parse(response.data)
    assert soup.html["lang"] == locale
    assert soup.html["dir"] == ("rtl" if locale == "ar" else "ltr")
    alert = soup.select_one("main [role=alert]")
    heading = translate(app, locale, "Too many messages from your connection")
    assert alert.h2.get_text(strip=True) == heading
    assert alert.select_one('a[href^="tel:"]') is not None
    assert alert.select_one(f'a[href="mailto:{STAFF_MAILBOX}"]') is not None
    # Nothing typed is lost: the form is shown again with every answer.
    shown = form_values(response.data)
    assert {key: shown[key] for key in answers} == answers
    assert count(app, Case) == 2
    # Reading the form is not limited.
    assert client.get(url).status_code == 200


# "Try again in N minutes" as each language says it for 11 to 99 minutes (Arabic's plural form
# for those numbers is the singular noun: "15 دقيقة").
TRY_AGAIN = {
    "sv": "Försök igen om {} minuter.",
    "en": "Try again in {} minutes.",
    "fi": "Yritä uudelleen, kun on kulunut {} minuuttia.",
    "ar": "حاول مرة أخرى بعد أن تمضي {} دقيقة.",
}


@pytest.mark.parametrize("locale", LOCALES)
def test_rate_limit_says_how_long_to_wait_in_words(make_forms_app, locale: str) -> None:
    """Not "wait a while": the minutes the Retry-After header gives, rounded up."""
    app = make_forms_app(SUBMISSION_RATE_LIMIT="1 per hour")
    client = app.test_client()
    url = form_url(locale, "report")
    assert submit(client, url, REPORT_ANSWERS).status_code == 303
    response = submit(client, url, REPORT_ANSWERS)
    assert response.status_code == 429
    minutes = -(-int(response.headers["Retry-After"]) // 60)
    assert 11 <= minutes <= 60, minutes  # the hour's window has just begun
    alert = parse(response.data).select_one("main [role=alert]")
    assert TRY_AGAIN[locale].format(minutes) in alert.get_text(" ", strip=True)


# Seconds to wait, and how each language says them (Arabic has a form for one, two, 3-10, 11+).
WAIT_WORDS = {
    "sv": {20: "1 minut", 150: "3 minuter", 3600: "60 minuter", 7000: "2 timmar"},
    "en": {60: "1 minute", 5400: "2 hours"},
    "fi": {120: "2 minuuttia"},
    "ar": {60: "دقيقة واحدة", 120: "دقيقتان", 180: "3 دقائق", 900: "15 دقيقة", 7200: "ساعتان"},
}


@pytest.mark.parametrize("locale", WAIT_WORDS)
def test_waiting_time_is_said_with_the_languages_plurals(forms_app: Flask, locale: str) -> None:
    with forms_app.test_request_context(f"/{locale}/"), force_locale(locale):
        said = {seconds: waiting_time(seconds) for seconds in WAIT_WORDS[locale]}
    assert said == WAIT_WORDS[locale]


def test_mistakes_and_too_fast_resends_do_not_use_up_the_limit(make_forms_app) -> None:
    # A library's shared connection: many people, some mistakes, nobody locked out.
    app = make_forms_app(SUBMISSION_RATE_LIMIT="2 per hour", FORM_MIN_SECONDS=2)
    client = app.test_client()
    url = form_url("sv", "report")
    for _ in range(5):
        assert submit(client, url, {**REPORT_ANSWERS, "problem": ""}).status_code == 200
        assert submit(client, url, REPORT_ANSWERS).status_code == 200  # sent too fast
    with app.app_context():
        from gvisite.forms import _serializer

        signed_long_ago = _serializer().dumps(0.0)
    for _ in range(2):
        assert submit(client, url, REPORT_ANSWERS, started=signed_long_ago).status_code == 303
    assert submit(client, url, REPORT_ANSWERS, started=signed_long_ago).status_code == 429
    assert count(app, Case) == 2


# A digit group broken by a space a line can wrap at ("5 000" over two lines at 320 px).
BREAKABLE_NUMBER = re.compile(r"\d[ \t\n]\d")


@pytest.mark.parametrize("locale", LOCALES)
def test_body_over_the_limit_gets_a_localized_413_page(
    forms_app: Flask, forms_client: FlaskClient, locale: str
) -> None:
    url = form_url(locale, "report")
    data = {**hidden_fields(forms_client, url), **REPORT_ANSWERS, "problem": "å" * 40_000}
    response = forms_client.post(url, data=data)
    assert response.status_code == 413
    soup = parse(response.data)
    assert soup.html["lang"] == locale
    heading = translate(forms_app, locale, "What you sent was too large")
    assert soup.select_one("main h1").get_text(strip=True) == heading
    assert "08-580 285 00" in page_text(response.data)  # Servicecenter, from site.yaml
    # The limit as the language writes it, never broken over two lines (the text as it is:
    # collapsing white space would turn the no-break space into a space).
    text = soup.select_one("main").get_text().replace("08-580 285 00", "")
    assert FIVE_THOUSAND[locale] in text
    assert not BREAKABLE_NUMBER.search(text), repr(text)
    assert count(forms_app, Case) == 0


@pytest.mark.parametrize("locale", LOCALES)
def test_the_length_limit_is_written_the_languages_way_and_never_wraps(
    forms_client: FlaskClient, locale: str
) -> None:
    soup = parse(forms_client.get(form_url(locale, "report")).data)
    hint = soup.select_one("main #problem-hint").get_text()
    assert FIVE_THOUSAND[locale] in hint
    assert not BREAKABLE_NUMBER.search(hint), repr(hint)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_the_privacy_text_links_the_data_protection_officers_address(
    forms_client: FlaskClient, locale: str, kind: str
) -> None:
    section = parse(forms_client.get(form_url(locale, kind)).data).select_one(
        "main section[aria-labelledby=privacy-heading]"
    )
    link = section.select_one('a[href="mailto:dataskydd@jarfalla.se"]')
    assert link is not None and link.get_text(strip=True) == "dataskydd@jarfalla.se"


# --- The receipt ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seven_day_app(tmp_path_factory: pytest.TempPathFactory):
    """An app whose statement promises an answer within 7 working days."""
    from gvisite import create_app
    from tests.conftest import close_database, migrate
    from tests.fixtures_forms import forms_config

    folder = tmp_path_factory.mktemp("seven-days")
    content = copy_content(folder, lambda data: data.update(response_target_days=7))
    app = create_app(forms_config(folder / "instance", CONTENT_DIR=str(content)))
    migrate(app)
    yield app
    close_database(app)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_receipt_after_post_redirect_get_shows_reference_and_due_date_once(
    seven_day_app: Flask, kind: str, locale: str
) -> None:
    client = seven_day_app.test_client()
    response = submit(client, form_url(locale, kind), ANSWERS[kind])
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"]).path
    assert location == f"/{locale}/tillganglighet/kvitto"
    receipt = client.get(location)
    assert receipt.status_code == 200
    assert receipt.headers["Cache-Control"] == "no-store"
    soup = parse(receipt.data)
    assert soup.html["lang"] == locale
    reference = soup.select_one("main .reference").get_text(strip=True)
    assert REFERENCE.match(reference), reference
    assert reference.startswith("TG-" if kind == "report" else "AF-")
    (case,) = [case for case in all_cases(seven_day_app) if case.reference == reference]
    # The real date, seven working days on, not only "within 7 working days".
    due = soup.select_one(f'main time[datetime="{case.due_on.isoformat()}"]')
    assert due is not None
    assert (case.due_on - case.created_at.date()).days >= 9
    # Shown once: reopening it (a shared computer, the Back button) shows no reference.
    again = client.get(location)
    assert again.status_code == 200
    assert parse(again.data).select_one(".reference") is None
    assert reference not in again.get_data(as_text=True)
    assert sum(case.reference == reference for case in all_cases(seven_day_app)) == 1


@pytest.mark.parametrize(
    ("delivery", "changes", "promise"),
    [
        ("post", {"address": "Storgatan 1, 177 80 Järfälla"}, "by post to the address you gave"),
        ("phone", {"phone": "070-123 45 67"}, "We will call you by"),
        ("email", {"email": "anna@example.se"}, "We will answer you by email by"),
    ],
)
def test_receipt_says_how_the_answer_will_come(
    forms_app: Flask, forms_client: FlaskClient, delivery: str, changes: dict, promise: str
) -> None:
    answers = {**FORMAT_ANSWERS, "delivery": delivery, "email": "", **changes}
    response = submit(forms_client, form_url("en", "format"), answers)
    assert response.status_code == 303
    text = page_text(forms_client.get(response.headers["Location"]).data)
    assert promise in text
    others = {"post": "by post", "phone": "call you", "email": "by email"}
    assert all(word not in text for key, word in others.items() if key != delivery)


def test_no_reference_or_secret_is_kept_in_the_cookie(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    response = submit(forms_client, form_url("sv", "report"), REPORT_ANSWERS)
    cookie = forms_client.get_cookie("session", path="/sv/tillganglighet/")
    with forms_app.test_request_context("/sv/tillganglighet/kvitto"):
        serializer = forms_app.session_interface.get_signing_serializer(forms_app)
        stored = serializer.loads(cookie.value)
    receipt = parse(forms_client.get(response.headers["Location"]).data)
    reference = receipt.select_one(".reference").get_text(strip=True)
    secret = parse_qs(urlsplit(receipt.select_one('a[href*="nyckel="]')["href"]).query)["nyckel"]
    # The signed cookie is readable by anyone at the computer: only a one-time ticket is there.
    assert set(stored) == {"csrf_token", "receipt"}
    assert reference not in str(stored) and secret[0] not in str(stored)


def test_anonymous_report_receipt_says_we_cannot_reply(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    answers = {**REPORT_ANSWERS, "name": "", "email": ""}
    response = submit(forms_client, form_url("en", "report"), answers)
    receipt = forms_client.get(response.headers["Location"])
    expected = translate(
        forms_app,
        "en",
        "You did not leave any contact details, so we cannot reply to you."
        " We will still look at what you reported.",
    )
    assert expected in page_text(receipt.data)


def test_references_differ_between_cases(forms_client: FlaskClient) -> None:
    references = {send_case(forms_client, "sv", "report") for _ in range(10)}
    assert len(references) == 10
    assert all(REFERENCE.match(reference) for reference in references)


@pytest.mark.parametrize("locale", LOCALES)
def test_receipt_without_a_submission_says_it_is_gone(
    forms_app: Flask, forms_client: FlaskClient, locale: str
) -> None:
    response = forms_client.get(f"/{locale}/tillganglighet/kvitto")
    assert response.status_code == 200
    heading = translate(forms_app, locale, "This receipt is no longer available")
    assert parse(response.data).select_one("main h1").get_text(strip=True) == heading
    assert "08-580 285 00" in page_text(response.data)


# --- The footer ----------------------------------------------------------------------------------

# An easy-to-read page's footer leads to the easy-to-read statement and forms, in easy words, and
# the statement itself: tests/pages/test_easy_to_read.py checks it (and selkosuomi's `?page=`).
FOOTER_SAMPLES = [
    "/sv/",
    "/sv/om-gvi",
    "/sv/nyheter/jarfalla-infor-gvi",
    "/sv/tillganglighet",
    "/fi/",
    "/fi/anhoriga-och-boende",
    "/en/om-webbplatsen/kakor",
    "/en/tillganglighet",
    "/ar/",
    "/ar/lamna-kriminalitet",
    "/ar/nyheter",
]


@pytest.mark.parametrize("path", FOOTER_SAMPLES)
def test_footer_links_to_the_statement_and_both_forms_with_this_page(
    forms_client: FlaskClient, path: str
) -> None:
    response = forms_client.get(path)
    assert response.status_code == 200, path
    locale = path.split("/")[1]
    section = parse(response.data).select_one(
        "footer section[aria-labelledby=footer-accessibility]"
    )
    assert section is not None
    links = [urlsplit(a["href"]) for a in section.select("a[href]")]
    assert [link.path for link in links] == [
        f"/{locale}/tillganglighet",
        f"/{locale}/tillganglighet/rapportera",
        f"/{locale}/tillganglighet/alternativt-format",
    ]
    for link in links[1:]:
        assert parse_qs(link.query) == {"page": [path]}
        # Following the link pre-fills the page field with this page.
        shown = form_values(forms_client.get(f"{link.path}?{link.query}").data)
        assert shown["page"] == path


@pytest.mark.parametrize("kind", KINDS)
def test_footer_on_a_form_passes_on_the_page_the_form_is_about(
    forms_client: FlaskClient, kind: str
) -> None:
    soup = parse(forms_client.get(form_url("en", kind, page="/en/om-gvi")).data)
    section = soup.select_one("footer section[aria-labelledby=footer-accessibility]")
    queries = [parse_qs(urlsplit(a["href"]).query) for a in section.select("a[href]")[1:]]
    assert queries == [{"page": ["/en/om-gvi"]}] * 2


@pytest.mark.parametrize(("proxies", "second_status"), [(0, 429), (1, 303)])
def test_rate_limit_counts_the_client_behind_a_trusted_proxy(
    make_forms_app, proxies: int, second_status: int
) -> None:
    # Two residents behind one reverse proxy: only a trusted proxy's X-Forwarded-For tells
    # them apart; an untrusted header must not let one client dodge the limit.
    app = make_forms_app(SUBMISSION_RATE_LIMIT="1 per hour", TRUSTED_PROXIES=proxies)
    url = form_url("sv", "report")
    first = app.test_client()
    first.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.10"
    assert submit(first, url, REPORT_ANSWERS).status_code == 303
    second = app.test_client()
    second.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.20"
    assert submit(second, url, REPORT_ANSWERS).status_code == second_status


def test_a_field_added_to_a_form_is_stored_without_any_other_change(
    make_forms_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form's fields are what it stores: a new question can never be silently dropped."""
    from wtforms import StringField

    from gvisite.feedback import views
    from gvisite.feedback.forms import ReportForm

    class LongerReport(ReportForm):
        operating_system = StringField("Operating system")

    monkeypatch.setitem(views.FORMS, "report", LongerReport)
    app = make_forms_app()
    answers = {**REPORT_ANSWERS, "operating_system": "Linux Mint 22"}
    assert submit(app.test_client(), form_url("sv", "report"), answers).status_code == 303
    [case] = all_cases(app)
    assert case.answers["operating_system"] == "Linux Mint 22"
    assert case.answers["problem"] == REPORT_ANSWERS["problem"]
    assert (case.page, case.name, case.email) == (
        "/sv/om-gvi",
        "Åsa Öberg",
        REPORT_ANSWERS["email"],
    )
    assert "page" not in case.answers and "email" not in case.answers
