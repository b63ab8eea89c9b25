"""Handling a case: assign, status, notes, replies to the resident, retries and spam."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from gvisite.extensions import db
from gvisite.models import OutboxMessage, utcnow
from tests.fixtures_forms import ALT_FORMAT_MAILBOX, STAFF_MAILBOX
from tests.fixtures_servers import SmtpServer
from tests.fixtures_staff import (
    ACCOUNTS,
    StaffSite,
    add_account,
    add_message,
    audit_rows,
    case_events,
    load_case,
    post_action,
)
from tests.helpers import as_mailed, parse, translate


def case_page(client: FlaskClient, reference: str) -> BeautifulSoup:
    """GET a case page and parse it."""
    response = client.get(f"/staff/cases/{reference}")
    assert response.status_code == 200
    return parse(response.data)


def summary_value(soup: BeautifulSoup, term: str) -> str:
    """Return the text of the `<dd>` after the `<dt>` with this text."""
    for dt_tag in soup.select("main dt"):
        if dt_tag.get_text(strip=True) == term:
            return dt_tag.find_next_sibling("dd").get_text(strip=True)
    raise AssertionError(f"no <dt>{term}</dt>")


def error_links(soup: BeautifulSoup) -> dict[str, str]:
    """Return the error summary's links as {href: text}."""
    return {a["href"]: a.get_text(strip=True) for a in soup.select(".error-summary a")}


def history(soup: BeautifulSoup) -> list[str]:
    """Return the lines of the case's history, whitespace collapsed."""
    return [" ".join(li.get_text(" ").split()) for li in soup.select("ol.history > li")]


def t(site: StaffSite, message: str, **variables: object) -> str:
    """Translate staff-area text into Swedish, as the catalog has it."""
    return translate(site.app, "sv", message, **variables)


# --- Assigning ---------------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["handler", "colleague", "admin"])
def test_assign(staff_site: StaffSite, handler_client: FlaskClient, to: str) -> None:
    case = staff_site.case()
    response = post_action(
        handler_client,
        f"/staff/cases/{case.reference}/assign",
        {"assignee": str(staff_site.ids[to])},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/cases/{case.reference}"
    stored = load_case(staff_site.app, case.reference)
    assert stored.assignee_id == staff_site.ids[to]
    assert stored.status == "pagaende"  # taking a new case starts the handling
    assert case_events(staff_site.app, case.reference) == [("assign", ACCOUNTS[to][1])]
    assert ("assign", case.reference, staff_site.ids["handler"]) in audit_rows(staff_site.app)
    soup = case_page(handler_client, case.reference)
    assert summary_value(soup, t(staff_site, "Assigned to")) == ACCOUNTS[to][1]
    assert soup.select_one("#assignee option[selected]")["value"] == str(staff_site.ids[to])
    assert t(staff_site, "The case was assigned.") in soup.select_one("[role=status]").get_text()


def test_unassign_keeps_the_status(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case(status="vantar", assignee_id=staff_site.ids["handler"])
    response = post_action(
        handler_client, f"/staff/cases/{case.reference}/assign", {"assignee": ""}
    )
    assert response.status_code == 303
    stored = load_case(staff_site.app, case.reference)
    assert (stored.assignee_id, stored.status) == (None, "vantar")


def test_only_active_accounts_can_be_assigned(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    gone = add_account(staff_site.app, "slutat@jarfalla.se", "Slutat", active=False)
    case = staff_site.case()
    soup = case_page(handler_client, case.reference)
    offered = {option["value"] for option in soup.select("#assignee option")}
    assert offered == {""} | {str(i) for i in staff_site.ids.values()}
    for value in [str(gone), "9999", "abc"]:
        response = post_action(
            handler_client, f"/staff/cases/{case.reference}/assign", {"assignee": value}
        )
        assert response.status_code == 400, value
        assert load_case(staff_site.app, case.reference).assignee_id is None
        assert "#assignee" in error_links(parse(response.data))


# --- Status ------------------------------------------------------------------------------------

STATUS_CHANGES = [
    # (new status, reason, accepted)
    ("pagaende", "", True),
    ("vantar", "", True),
    ("ny", "", True),
    ("avslutad", "Åtgärdat i version 2.", True),
    ("avslutad", "", False),
    ("avslutad", "   ", False),
    ("stangd", "Fel värde.", False),
    ("", "", False),
]


@pytest.mark.parametrize(("status", "reason", "accepted"), STATUS_CHANGES)
def test_change_status(
    staff_site: StaffSite, handler_client: FlaskClient, status: str, reason: str, accepted: bool
) -> None:
    case = staff_site.case(status="pagaende" if status == "ny" else "ny")
    before = load_case(staff_site.app, case.reference).status
    response = post_action(
        handler_client,
        f"/staff/cases/{case.reference}/status",
        {"status": status, "reason": reason},
    )
    stored = load_case(staff_site.app, case.reference)
    if accepted:
        assert response.status_code == 303
        assert stored.status == status
        assert (stored.closed_at is not None) == (status == "avslutad")
        assert case_events(staff_site.app, case.reference) == [
            (f"status:{status}", reason.strip() or None)
        ]
        return
    assert response.status_code == 400
    assert stored.status == before and stored.closed_at is None
    assert case_events(staff_site.app, case.reference) == []
    soup = parse(response.data)
    assert soup.title.get_text().startswith(t(staff_site, "Error:"))
    links = error_links(soup)
    if status == "avslutad":
        assert links == {"#reason": t(staff_site, "Write why the case is closed.")}
        reason_box = soup.select_one("textarea#reason")
        assert reason_box["aria-invalid"] == "true"
        assert "reason-error" in reason_box["aria-describedby"]
        # The choice is kept so the handler only adds the reason.
        assert soup.select_one("input[name=status][checked]")["value"] == "avslutad"
    else:
        # WTForms' own "not a valid choice" message may come first; either way it links there.
        assert list(links) == ["#status-0"]


def test_closing_and_reopening(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case()
    url = f"/staff/cases/{case.reference}/status"
    post_action(handler_client, url, {"status": "avslutad", "reason": "Klart."})
    closed = load_case(staff_site.app, case.reference)
    assert closed.closed_at is not None and closed.closed_at <= utcnow()
    soup = case_page(handler_client, case.reference)
    assert summary_value(soup, t(staff_site, "Status")) == t(staff_site, "Closed")
    assert any("Klart." in line for line in history(soup))
    # A closed case leaves the default inbox.
    assert case.reference not in handler_client.get("/staff/").get_data(as_text=True)
    post_action(handler_client, url, {"status": "pagaende", "reason": ""})
    assert load_case(staff_site.app, case.reference).closed_at is None


# --- Notes -------------------------------------------------------------------------------------


def test_internal_note(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case()
    note = "Ringde Åsa, hon använder NVDA.\nÅterkommer i morgon."
    response = post_action(handler_client, f"/staff/cases/{case.reference}/note", {"note": note})
    assert response.status_code == 303
    assert case_events(staff_site.app, case.reference) == [("note", note)]
    soup = case_page(handler_client, case.reference)
    entry = soup.select("ol.history > li")[-1]
    assert ACCOUNTS["handler"][1] in entry.get_text()
    assert entry.select_one(".pre").get_text() == note
    # Nothing goes to the resident.
    assert [m.purpose for m in load_case(staff_site.app, case.reference).messages] == []


def test_empty_note_is_refused(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case()
    response = post_action(handler_client, f"/staff/cases/{case.reference}/note", {"note": "  "})
    assert response.status_code == 400
    assert error_links(parse(response.data)) == {"#note": t(staff_site, "Write the note.")}
    assert case_events(staff_site.app, case.reference) == []


# --- Replies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "locale"), [("report", "sv"), ("report", "fi"), ("report", "en"), ("format", "ar")]
)
def test_reply_is_queued_in_the_residents_language(
    staff_site: StaffSite, handler_client: FlaskClient, kind: str, locale: str
) -> None:
    case = staff_site.case(kind, locale=locale, email="resident@example.se")
    text = "Tack! Vi har rättat knappen.\n\nMed vänlig hälsning\nHanna"
    response = post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": text})
    assert response.status_code == 303
    stored = load_case(staff_site.app, case.reference)
    [message] = stored.messages
    assert (message.purpose, message.status, message.recipients) == (
        "reply",
        "pending",
        ["resident@example.se"],
    )
    subject = translate(
        staff_site.app, locale, "Answer about your case %(reference)s", reference=case.reference
    )
    assert message.subject == as_mailed(locale, subject)
    assert case.reference in message.subject
    assert message.body.startswith(text)
    footer = translate(staff_site.app, locale, "Reference: %(reference)s", reference=case.reference)
    assert as_mailed(locale, footer) in message.body
    assert message.reply_to == (ALT_FORMAT_MAILBOX if kind == "format" else STAFF_MAILBOX)
    assert stored.first_reply_at is not None
    assert case_events(staff_site.app, case.reference) == [("reply", text)]
    assert ("reply", case.reference, staff_site.ids["handler"]) in audit_rows(staff_site.app)
    soup = case_page(handler_client, case.reference)
    row = soup.select("table tbody tr")[-1]
    cells = [" ".join(td.get_text().split()) for td in row.find_all("td")]
    assert cells[:3] == [t(staff_site, "Reply"), "resident@example.se", message.subject]
    assert cells[3].startswith(t(staff_site, "Waiting to be sent"))


def test_an_arabic_reply_keeps_numbers_and_latin_names_in_their_own_order(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case(locale="ar", email="resident@example.se")
    text = "مرحبًا،\nاتصلي بـ Åsa Öberg على الرقم 08-580 285 00 أو اكتبي إلى kontakt@jarfalla.se."
    post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": text})
    [message] = load_case(staff_site.app, case.reference).messages
    # In a right-to-left line, 08-580 285 00 showed as 00 285 580-08: each left-to-right
    # run is isolated, as the pages' <bdi dir="ltr"> does, in what staff write too.
    assert message.body.startswith(
        "مرحبًا،\nاتصلي بـ \u2066Åsa Öberg\u2069 على الرقم \u206608-580 285 00\u2069"
        " أو اكتبي إلى \u2066kontakt@jarfalla.se\u2069.\n"
    )
    footer = translate(staff_site.app, "ar", "Reference: %(reference)s", reference="REF")
    assert footer.replace("REF", f"\u2066{case.reference}\u2069") in message.body
    assert f"\u2066{case.reference}\u2069" in message.subject
    # What staff wrote is kept as they wrote it in the case's history.
    assert case_events(staff_site.app, case.reference) == [("reply", text)]


def test_a_second_reply_keeps_the_first_reply_time(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    url = f"/staff/cases/{case.reference}/reply"
    post_action(handler_client, url, {"reply": "Första svaret."})
    first = load_case(staff_site.app, case.reference).first_reply_at
    post_action(handler_client, url, {"reply": "Andra svaret."})
    stored = load_case(staff_site.app, case.reference)
    assert stored.first_reply_at == first
    assert [m.purpose for m in stored.messages] == ["reply", "reply"]


def test_the_reply_reaches_the_resident_over_smtp(
    staff_site: StaffSite,
    handler_client: FlaskClient,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in smtp_server.config().items():
        monkeypatch.setitem(staff_site.app.config, key, value)
    case = staff_site.case(locale="en", email="resident@example.se")
    text = "Thank you, the button now works with the keyboard."
    post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": text})
    result = staff_site.app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    [mail] = smtp_server.to("resident@example.se")
    assert case.reference in mail.message["Subject"]
    assert mail.message["Reply-To"] == STAFF_MAILBOX
    assert mail.body.startswith(text)
    soup = case_page(handler_client, case.reference)
    delivery = soup.select("table tbody tr")[-1].find_all("td")[3].get_text(" ", strip=True)
    assert delivery.startswith(t(staff_site, "Sent %(time)s", time="")), delivery


def test_empty_reply_is_refused(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case()
    response = post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": " "})
    assert response.status_code == 400
    assert error_links(parse(response.data)) == {"#reply": t(staff_site, "Write the reply.")}
    assert load_case(staff_site.app, case.reference).messages == []


def test_no_reply_form_without_an_email_address(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case(
        "format",
        email=None,
        phone="070-123 45 67",
        answers={"format": "storstil", "delivery": "phone", "message": ""},
    )
    soup = case_page(handler_client, case.reference)
    assert soup.select_one("textarea#reply") is None
    assert "070-123 45 67" in soup.select_one("#reply-heading").find_parent("section").get_text()
    response = post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": "Hej"})
    assert response.status_code == 409
    assert load_case(staff_site.app, case.reference).messages == []


# --- Retrying mail -----------------------------------------------------------------------------


def test_retry_a_failed_delivery(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case()
    sent = add_message(staff_site.app, case.id, status="sent", sent_at=utcnow(), attempts=1)
    failed = add_message(
        staff_site.app, case.id, status="failed", attempts=7, last_error="SMTPRecipientsRefused"
    )
    soup = case_page(handler_client, case.reference)
    retry_forms = [form["action"] for form in soup.select("form[action*='/retry']")]
    assert retry_forms == [f"/staff/cases/{case.reference}/messages/{failed}/retry"]
    response = post_action(handler_client, retry_forms[0])
    assert response.status_code == 303
    with staff_site.app.app_context():
        message = db.session.get(OutboxMessage, failed)
        assert (message.status, message.attempts) == ("pending", 0)
        assert message.next_attempt_at <= utcnow()
        assert db.session.get(OutboxMessage, sent).status == "sent"
    assert case_events(staff_site.app, case.reference) == [("retry", None)]


def test_retry_refuses_a_message_that_was_not_failed(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    """A delivered message must not be sent twice by a hand-made request."""
    case = staff_site.case()
    sent = add_message(staff_site.app, case.id, status="sent", sent_at=utcnow(), attempts=1)
    response = post_action(handler_client, f"/staff/cases/{case.reference}/messages/{sent}/retry")
    assert response.status_code == 400
    with staff_site.app.app_context():
        assert db.session.get(OutboxMessage, sent).status == "sent"


def test_retry_refuses_another_cases_message(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case, other = staff_site.case(), staff_site.case()
    failed = add_message(staff_site.app, other.id, status="failed", attempts=7)
    response = post_action(handler_client, f"/staff/cases/{case.reference}/messages/{failed}/retry")
    assert response.status_code == 400
    with staff_site.app.app_context():
        assert db.session.get(OutboxMessage, failed).status == "failed"


# --- Spam --------------------------------------------------------------------------------------


def inbox_references(client: FlaskClient, query: str = "") -> list[str]:
    """Return the references listed in the inbox, in order."""
    response = client.get(f"/staff/{query}")
    assert response.status_code == 200
    return [a.get_text(strip=True) for a in parse(response.data).select("table.cases tbody th a")]


def test_spam_and_not_spam(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case()
    url = f"/staff/cases/{case.reference}/spam"
    assert inbox_references(handler_client) == [case.reference]
    assert post_action(handler_client, url, {"value": "1"}).status_code == 303
    assert load_case(staff_site.app, case.reference).spam is True
    assert inbox_references(handler_client) == []
    assert inbox_references(handler_client, "?spam=1") == [case.reference]
    soup = case_page(handler_client, case.reference)
    assert " ".join(soup.select_one("main .warning").get_text().split()) == t(
        staff_site, "This case is marked as spam."
    )
    assert soup.select_one("form[action$='/spam'] input[name=value]")["value"] == "0"
    assert post_action(handler_client, url, {"value": "0"}).status_code == 303
    assert load_case(staff_site.app, case.reference).spam is False
    assert inbox_references(handler_client) == [case.reference]
    assert [a for a, _ in case_events(staff_site.app, case.reference)] == ["spam", "not-spam"]


# --- What the case page shows ------------------------------------------------------------------


def test_case_page_shows_everything_the_resident_sent(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case(
        "format",
        locale="fi",
        name="Örjan Ärlig",
        email=None,
        address="Storgatan 1\n177 30 Järfälla",
        answers={
            "format": "punktskrift",
            "format_other": "",
            "language": "finska",
            "delivery": "post",
            "message": "Helst före jul.",
        },
    )
    soup = case_page(handler_client, case.reference)
    expect = {
        "Name": "Örjan Ärlig",
        "Language wanted": "finska",
        "Delivery": "Post",  # staff's word for the choice, not the stored code `post`
        "Message": "Helst före jul.",
        "Language": "finska (Suomi)",  # by name, not the code `fi`
        "Page": "/sv/om-gvi",
        "Format": translate(staff_site.app, "sv", "Braille"),
    }
    for term, value in expect.items():
        assert summary_value(soup, t(staff_site, term)) == value, term
    assert summary_value(soup, t(staff_site, "Postal address")) == "Storgatan 1\n177 30 Järfälla"
    assert ("view", case.reference, staff_site.ids["handler"]) in audit_rows(staff_site.app)


def test_overdue_case_says_so_in_words(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case(created_at=utcnow() - dt.timedelta(days=30))
    due = load_case(staff_site.app, case.reference).due_on
    soup = case_page(handler_client, case.reference)
    assert " ".join(soup.select_one("main .warning").get_text().split()) == t(
        staff_site, "Overdue: the answer was due on %(date)s.", date=due.isoformat()
    )
