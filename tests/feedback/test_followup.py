"""Following up on a case from the private status page: adding information, withdrawing it.

On SQLite and PostgreSQL (`shared_db_app`), through the pages as a browser sends them; the
mail is the outbox's real file backend.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from gvisite.extensions import db, limiter
from gvisite.models import AuditEntry, Case, CaseEvent, OutboxMessage, Receipt, utcnow
from gvisite.outbox import send_due
from gvisite.pages.load import current_site
from tests.conftest import empty_tables
from tests.feedback.test_faults import database_down
from tests.fixtures_forms import ALT_FORMAT_MAILBOX, DEFAULT_OWNER, STAFF_MAILBOX, count
from tests.fixtures_staff import (
    MadeCase,
    StaffSite,
    add_accounts,
    audit_rows,
    load_case,
    logged_in,
    make_case,
)
from tests.helpers import nu_errors, parse, translate

TEXT = "Jag glömde säga att felet bara syns i mörkt läge.\nSkärmläsaren säger ingenting."
PERSONAL = {"name": "Åsa Öberg", "email": "asa.oberg@example.se", "phone": "070-123 45 67"}
THANKS = "Thank you. We have added your information to the case and told the staff who handle it."
# After the status page's own address: the one-time marker that thanks for an addition.
THANKED = re.compile(r"^&tillagt=[0-9a-f]{64}$")
# After it too: the one-time marker of a refused addition, kept to be shown once.
KEPT = re.compile(r"^&utkast=[\w-]{32}$")


@pytest.fixture
def site(shared_db_app: Flask) -> StaffSite:
    """The module's app on each database, emptied (history included), with staff accounts."""
    empty_tables(shared_db_app)
    with shared_db_app.app_context():
        limiter.reset()
    return StaffSite(shared_db_app, add_accounts(shared_db_app))


def status_path(locale: str, case: MadeCase, secret: str | None = None) -> str:
    """Return the case's private status link (its own secret, or another)."""
    return f"/{locale}/arende/{case.reference}?nyckel={case.secret if secret is None else secret}"


def add_form(page: BeautifulSoup) -> dict[str, str]:
    """Return the fields the add form posts, as shown on a page."""
    form = page.select_one("main form:has(textarea[name=information])")
    assert form is not None, "no add form on the page"
    fields = {tag["name"]: tag.get("value", "") for tag in form.select("input[name]")}
    fields["information"] = form.select_one("textarea").get_text()
    return fields


def add(
    client: FlaskClient, locale: str, case: MadeCase, text: str, **changes: str | None
) -> TestResponse:
    """Open the status page, write `text` in the add form and send it; `changes` edit fields."""
    page = client.get(status_path(locale, case))
    assert page.status_code == 200
    data = {**add_form(parse(page.data)), "information": text}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(f"/{locale}/arende/{case.reference}", data=data)


def refused(
    client: FlaskClient, locale: str, case: MadeCase, text: str, **changes: str | None
) -> TestResponse:
    """Send an addition that is refused; return the page the browser is sent back to."""
    sent = add(client, locale, case, text, **changes)
    # Back to the status link itself (reload and bookmark open the page; nothing is resent),
    # with a marker that shows the text and the error once: never the text in the address.
    assert sent.status_code == 303
    location = sent.headers["Location"]
    assert KEPT.match(location.removeprefix(status_path(locale, case))), location
    assert sent.headers["Cache-Control"] == "no-store"
    return client.get(location)


def additions(app: Flask, case: MadeCase) -> list[str | None]:
    """Return the texts the resident added to a case, oldest first."""
    with app.app_context():
        query = select(CaseEvent.detail).where(
            CaseEvent.case_id == case.id, CaseEvent.action == "resident:added"
        )
        return list(db.session.scalars(query.order_by(CaseEvent.id)))


def staff_mail(app: Flask, case: MadeCase) -> list[OutboxMessage]:
    """Return the staff mail queued about a case, detached, oldest first."""
    with app.app_context():
        query = select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.purpose == "staff"
        )
        found = list(db.session.scalars(query.order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def main_text(response: TestResponse) -> str:
    """Return the text of a page's main element, white space collapsed."""
    return " ".join(parse(response.data).select_one("main").get_text(" ").split())


# --- Adding information ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mailboxes"),
    [("report", [STAFF_MAILBOX, DEFAULT_OWNER]), ("format", [ALT_FORMAT_MAILBOX, DEFAULT_OWNER])],
)
def test_an_addition_reaches_staff_and_reopens_a_waiting_case(
    site: StaffSite, kind: str, mailboxes: list[str]
) -> None:
    app = site.app
    case = site.case(kind, status="vantar", **PERSONAL)
    resident = site.client()
    response = add(resident, "sv", case, TEXT)
    assert response.status_code == 303
    assert THANKED.match(response.headers["Location"].removeprefix(status_path("sv", case)))
    # Its address holds the key: kept out of caches, as the page it leads to is.
    assert response.headers["Cache-Control"] == "no-store"
    confirmed = parse(resident.get(response.headers["Location"]).data)
    assert confirmed.select_one("main [role=status]").get_text(strip=True) == translate(
        app, "sv", THANKS
    )
    assert TEXT not in confirmed.get_text()  # anyone with the link sees the page: no text

    stored = load_case(app, case.reference)
    assert stored.status == "pagaende"
    assert [(e.action, e.detail, e.actor_id) for e in stored.events] == [
        ("resident:added", TEXT, None),
        ("status:pagaende", None, None),
    ]
    # In the audit log as the system's doing, like the lines staff actions leave.
    assert audit_rows(app) == [
        ("resident:added", case.reference, None),
        ("status:pagaende", case.reference, None),
    ]
    [mail] = staff_mail(app, case)
    assert mail.recipients == mailboxes
    assert mail.reply_to == PERSONAL["email"]
    assert case.reference in mail.subject
    assert TEXT in mail.body
    assert f"/staff/cases/{case.reference}" in mail.body

    staff_page = parse(logged_in(app, "handler").get(f"/staff/cases/{case.reference}").data)
    history = [" ".join(item.get_text(" ").split()) for item in staff_page.select(".history li")]
    resident_line = translate(app, "sv", "The resident")
    added = translate(app, "sv", "added information on the status page")
    assert any(
        f"{resident_line}: {added}" in line and TEXT.split("\n")[0] in line for line in history
    )
    assert staff_page.select_one(".history .pre").get_text() == TEXT  # line breaks kept


def test_an_addition_to_a_case_being_handled_leaves_its_status(site: StaffSite) -> None:
    for status in ("ny", "pagaende"):
        case = site.case(status=status)
        assert add(site.client(), "fi", case, TEXT).status_code == 303
        assert load_case(site.app, case.reference).status == status
        assert additions(site.app, case) == [TEXT]


def error_of(response: TestResponse) -> tuple[str, str]:
    """Return the error summary's link target and text for a refused addition."""
    link = parse(response.data).select_one("main .error-summary li a")
    assert link is not None, "no error summary"
    return link["href"], link.get_text(strip=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write what you want to add."),
        (" \n\t ", "Write what you want to add."),
        ("\x00\x01\x02", "Write what you want to add."),
        # The limit as each language writes it: "5 000" in Swedish, with a no-break space.
        ("å" * 5001, ("Use %(most)s characters or fewer.", {"sv": "5\u00a0000", "ar": "5,000"})),
    ],
    ids=["empty", "white space", "only control characters", "5,001 characters"],
)
@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_a_bad_addition_is_explained_with_the_text_kept(
    site: StaffSite, text: str, message: str | tuple[str, dict[str, str]], locale: str
) -> None:
    case = site.case(status="vantar")
    response = refused(site.client(), locale, case, text)
    assert response.status_code == 200
    if isinstance(message, str):
        expected = translate(site.app, locale, message)
    else:
        msgid, most = message
        expected = translate(site.app, locale, msgid, most=most[locale])
    assert error_of(response) == ("#information", expected)
    page = parse(response.data)
    assert page.title.get_text().startswith(translate(site.app, locale, "Error:"))
    field = page.select_one("main textarea#information")
    assert field["aria-invalid"] == "true"
    assert "information-error" in field["aria-describedby"]
    if len(text) > 5000:
        assert field.get_text() == text  # kept to be shortened, not lost
    assert add_form(page)["nyckel"] == case.secret  # the page can be sent again as it is
    assert additions(site.app, case) == []
    assert load_case(site.app, case.reference).status == "vantar"
    assert staff_mail(site.app, case) == []


def test_exactly_5000_characters_are_accepted(site: StaffSite) -> None:
    case = site.case()
    assert add(site.client(), "sv", case, "x" * 5000).status_code == 303
    assert additions(site.app, case) == ["x" * 5000]


def test_invisible_control_characters_are_dropped_and_line_breaks_kept(site: StaffSite) -> None:
    """A NUL (PostgreSQL refuses it) or a stray control character is no reason for an error."""
    case = site.case()
    response = add(site.client(), "sv", case, "Rad ett\x00\x01\r\nRad\x7f två\x1b\t!")
    assert response.status_code == 303
    assert additions(site.app, case) == ["Rad ett\nRad två\t!"]


@pytest.mark.parametrize("action", ["", "/aterkalla"])
def test_a_json_body_is_refused_before_it_is_read(site: StaffSite, action: str) -> None:
    case = site.case()
    response = site.client().post(
        f"/sv/arende/{case.reference}{action}",
        json={"nyckel": case.secret, "information": TEXT, "confirmed": "yes"},
    )
    assert response.status_code == 415
    assert additions(site.app, case) == []
    assert load_case(site.app, case.reference).status == "ny"


def wrong_links(case: MadeCase, other: MadeCase) -> dict[str, dict[str, str | None]]:
    """Return ways to send the form without this case's secret in the body."""
    return {
        "no secret": {"nyckel": None},
        "empty secret": {"nyckel": ""},
        "wrong secret": {"nyckel": "fel" + case.secret[3:]},
        "another case's secret": {"nyckel": other.secret},
    }


def test_an_addition_without_the_right_secret_is_404_and_stores_nothing(site: StaffSite) -> None:
    case, other = site.case(), site.case()
    client = site.client()
    for name, changes in wrong_links(case, other).items():
        assert add(client, "sv", case, TEXT, **changes).status_code == 404, name
    # The secret is taken from the form's body only, never from the address.
    data = {**add_form(parse(client.get(status_path("sv", case)).data)), "information": TEXT}
    secret = data.pop("nyckel")
    response = client.post(f"/sv/arende/{case.reference}?nyckel={secret}", data=data)
    assert response.status_code == 404
    unknown = client.post("/sv/arende/TG-2026-ZZZZZZ", data={**data, "nyckel": secret})
    assert unknown.status_code == 404
    assert client.post("/sv/arende/%00", data=data).status_code == 404
    assert additions(site.app, case) == [] and additions(site.app, other) == []
    assert count(site.app, OutboxMessage) == 0


def test_the_same_addition_sent_twice_is_stored_once(site: StaffSite) -> None:
    """A resend after a lost answer, or a double click: the same form, one addition."""
    case = site.case(status="vantar")
    client = site.client()
    data = {**add_form(parse(client.get(status_path("sv", case)).data)), "information": TEXT}
    first = client.post(f"/sv/arende/{case.reference}", data=data)
    second = client.post(f"/sv/arende/{case.reference}", data=data)
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert additions(site.app, case) == [TEXT]
    assert len(staff_mail(site.app, case)) == 1
    # A new form on the page is a new addition.
    assert add(client, "sv", case, "Och en sak till.").status_code == 303
    assert additions(site.app, case) == [TEXT, "Och en sak till."]


def test_the_honeypot_stores_nothing_and_tells_the_robot_nothing(site: StaffSite) -> None:
    case = site.case()
    response = add(site.client(), "sv", case, TEXT, website="https://spam.example")
    assert response.status_code == 303
    assert additions(site.app, case) == [] and staff_mail(site.app, case) == []


def thanked(response: TestResponse) -> bool:
    """Tell whether a status page thanks for an addition."""
    return parse(response.data).select_one("main [role=status]") is not None


def test_the_thanks_shows_once(site: StaffSite) -> None:
    """A reload, or the address bookmarked, shows the case without thanking again."""
    case = site.case(**PERSONAL)
    client = site.client()
    location = add(client, "sv", case, TEXT).headers["Location"]
    assert thanked(client.get(location))
    again = client.get(location)
    assert again.status_code == 200
    assert not thanked(again)
    assert translate(site.app, "sv", THANKS) not in main_text(again)
    assert count(site.app, Receipt) == 0  # the marker is gone once shown


def test_a_robot_is_answered_like_anyone_and_thanked_for_nothing(site: StaffSite) -> None:
    """The honeypot's answer looks like a stored addition's, but claims nothing."""
    case = site.case()
    client = site.client()
    robot = add(client, "sv", case, TEXT, website="https://spam.example")
    person = add(client, "sv", case, TEXT)
    for response in (robot, person):
        assert response.status_code == 303
        assert THANKED.match(response.headers["Location"].removeprefix(status_path("sv", case)))
    assert not thanked(client.get(robot.headers["Location"]))
    assert thanked(client.get(person.headers["Location"]))
    assert additions(site.app, case) == [TEXT]


@pytest.mark.parametrize("why", ["empty", "too fast", "stale form", "too long"])
def test_a_refused_addition_keeps_the_pages_address(
    make_forms_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture, why: str
) -> None:
    """After the refusal the address is the status link: it reloads, bookmarks and shares."""
    app = make_forms_app(FORM_MIN_SECONDS=60 if why == "too fast" else 0)
    case = make_case(app)
    client = app.test_client()
    text = {"empty": "", "too long": "å" * 5001}.get(why, TEXT)
    changes = {"started": "utgången"} if why == "stale form" else {}
    with caplog.at_level(logging.DEBUG):
        shown = client.post(
            f"/sv/arende/{case.reference}",
            data={
                **add_form(parse(client.get(status_path("sv", case)).data)),
                "information": text,
                **changes,
            },
            follow_redirects=True,
        )
    assert shown.status_code == 200
    # The browser's address: the link the resident came by, with its key and a one-time marker.
    final = shown.request.full_path
    assert shown.request.method == "GET"
    assert KEPT.match(final.removeprefix(status_path("sv", case))), final
    page = parse(shown.data)
    # Announced: the summary (an alert, or a status for "too fast") takes focus on load.
    summary = page.select_one("main [data-error-summary][tabindex='-1'][autofocus]")
    assert summary is not None and summary["role"] in ("alert", "status")
    if why in ("empty", "too long"):
        assert page.title.get_text().startswith("Fel:")
        assert page.select_one("main textarea#information")["aria-invalid"] == "true"
    assert add_form(page)["information"] == text  # kept, also when too long to send
    assert add_form(page)["nyckel"] == case.secret
    assert additions(app, case) == []
    # A reload, or the bookmark: the page itself, without the error or the text (shown once).
    for again in (final, final, status_path("sv", case)):
        reloaded = client.get(again)
        assert reloaded.status_code == 200, again
        assert parse(reloaded.data).select_one("main [data-error-summary]") is None
        assert add_form(parse(reloaded.data))["information"] == ""
    assert additions(app, case) == []
    # Neither the key nor the text went into a log line.
    assert case.secret not in caplog.text
    if text:
        assert text[:20] not in caplog.text


def test_a_refused_addition_is_kept_once_per_case_and_erased_with_it(site: StaffSite) -> None:
    """The text waits in the database only for its one view, one per case, never after erasure."""
    case = site.case()
    client = site.client()
    first = add(client, "sv", case, "", information="")
    second = add(client, "sv", case, "å" * 5001)
    with site.app.app_context():
        kept = list(db.session.scalars(select(Receipt.kept).where(Receipt.kept.is_not(None))))
    assert [k["information"] for k in kept] == ["å" * 5001]  # the latest only
    # The first one's marker shows nothing any more; another case's marker opens nothing here.
    assert (
        parse(client.get(first.headers["Location"]).data).select_one("main .error-summary") is None
    )
    withdraw(client, "sv", case, confirmed=True)
    assert count(site.app, Receipt) == 0
    assert client.get(second.headers["Location"]).status_code == 200


def test_a_refused_addition_left_unseen_expires_and_is_purged(site: StaffSite) -> None:
    """Not shown within the receipts' half hour: the page shows nothing, the purge removes it."""
    case = site.case()
    client = site.client()
    kept = add(client, "sv", case, "å" * 5001).headers["Location"]
    with site.app.app_context():
        db.session.execute(update(Receipt).values(created_at=utcnow() - dt.timedelta(hours=1)))
        db.session.commit()
    result = site.app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0, result.output
    assert count(site.app, Receipt) == 0
    page = parse(client.get(kept).data)
    assert page.select_one("main .error-summary") is None
    assert add_form(page)["information"] == ""


def test_the_status_pages_markers_open_no_receipt(site: StaffSite) -> None:
    """The thanks and a refused addition share the receipts' table, not what a receipt shows."""
    case = site.case()
    client = site.client()
    kept = add(client, "sv", case, "", information="").headers["Location"]
    thanks = add(client, "sv", case, TEXT).headers["Location"]
    for location in (kept, thanks):
        ticket = location.rsplit("=", 1)[1]
        client.post("/sv/tillganglighet/kvitto", data={"ticket": ticket})
        page = parse(client.get("/sv/tillganglighet/kvitto").data)
        assert page.h1.get_text(strip=True) == translate(
            site.app, "sv", "This receipt is no longer available"
        ), location
        assert case.reference not in page.get_text()
    # Still there for the status page, once.
    assert parse(client.get(kept).data).select_one("main .error-summary") is not None
    assert thanked(client.get(thanks))


MISTYPED = {
    "a full stop after the link": "{path}?nyckel={secret}.",
    "a space after the link": "{path}?nyckel={secret}%20",
    "a bracket and a comma": "{path}?nyckel={secret}),",
    "the reference in lower case": "{lower}?nyckel={secret}",
    "a space after the reference": "{path}%20?nyckel={secret}",
    "a full stop after the reference": "{path}.?nyckel={secret}",
}


@pytest.mark.parametrize("mistype", MISTYPED.values(), ids=MISTYPED.keys())
def test_a_mistyped_link_still_opens_the_case(site: StaffSite, mistype: str) -> None:
    case = site.case()
    path = f"/sv/arende/{case.reference}"
    url = mistype.format(path=path, lower=path.lower(), secret=case.secret)
    response = site.client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == status_path("sv", case)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert site.client().get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_a_link_that_opens_no_case_says_where_to_look(site: StaffSite, locale: str) -> None:
    case = site.case()
    with site.app.app_context():
        dial = "tel:" + current_site().facts["contact"]["servicecenter_tel"]
    wrong = {
        "a wrong secret": status_path(locale, case, "fel" + case.secret[3:]),
        "the secret's last letter lost to a full stop": status_path(locale, case)[:-1] + ".",
        "no secret": f"/{locale}/arende/{case.reference}",
        "an unknown reference": f"/{locale}/arende/TG-2026-ZZZZZZ?nyckel={case.secret}",
    }
    for name, url in wrong.items():
        response = site.client().get(url)
        assert response.status_code == 404, name
        page = parse(response.data)
        assert page.h1.get_text(strip=True) == translate(
            site.app, locale, "We cannot find your case"
        ), name
        assert page.select_one(f"main a[href='{dial}']") is not None, name
        assert response.headers["Referrer-Policy"] == "no-referrer", name


def test_an_addition_sent_too_fast_is_shown_again(
    make_forms_app: Callable[..., Flask],
) -> None:
    app = make_forms_app(FORM_MIN_SECONDS=60)
    case = make_case(app)
    response = refused(app.test_client(), "sv", case, TEXT)
    assert response.status_code == 200
    page = parse(response.data)
    # Why, in plain words, and that nothing typed is lost.
    assert page.select_one("main [data-error-summary]").get_text(strip=True) == (
        "Formuläret skickades snabbare än en människa brukar hinna fylla i det. Därför tog vi"
        " inte emot det. Dina svar finns kvar. Kontrollera dem och skicka formuläret igen."
    )
    assert add_form(page)["information"] == TEXT
    assert additions(app, case) == []


def test_additions_count_against_the_forms_rate_limit(
    make_forms_app: Callable[..., Flask],
) -> None:
    """The forms' limit per connection: the text comes back with the phone number."""
    app = make_forms_app(SUBMISSION_RATE_LIMIT="1 per hour")
    case = make_case(app)
    client = app.test_client()
    assert add(client, "sv", case, "", information="").status_code == 303  # an error: free
    assert add(client, "sv", case, TEXT).status_code == 303
    response = refused(client, "sv", case, "Och en sak till.")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    page = parse(response.data)
    alert = page.select_one("main [role=alert] h2")
    assert alert.get_text(strip=True) == translate(
        app, "sv", "Too many messages from your connection"
    )
    assert page.select_one("main [role=alert] a[href^='tel:']") is not None
    assert add_form(page)["information"] == "Och en sak till."
    assert additions(app, case) == [TEXT]


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_a_closed_case_gives_the_phone_number_instead_of_the_form(
    site: StaffSite, locale: str
) -> None:
    """Closed means answered: more to say about it goes to a person, a new problem to the form."""
    case = site.case(status="avslutad")
    client = site.client()
    page = parse(client.get(status_path(locale, case)).data)
    assert page.select_one("main textarea") is None
    assert page.select("main form") == []
    text = " ".join(page.select_one("main").get_text(" ").split())
    assert (
        translate(site.app, locale, "This case is closed, so you cannot add anything to it here.")
        in text
    )
    assert page.select_one("main .notice a[href^='tel:']") is not None
    assert page.select_one(f"main a[href='/{locale}/tillganglighet/rapportera']") is not None
    # A form shown before the case was closed: back to the page, nothing stored.
    with site.app.app_context():
        db.session.get(Case, case.id).status = "pagaende"
        db.session.commit()
    fields = {**add_form(parse(client.get(status_path(locale, case)).data)), "information": TEXT}
    with site.app.app_context():
        db.session.get(Case, case.id).status = "avslutad"
        db.session.commit()
    response = client.post(f"/{locale}/arende/{case.reference}", data=fields)
    assert response.status_code == 303
    assert response.headers["Location"] == status_path(locale, case)
    assert additions(site.app, case) == []


# --- Withdrawing -------------------------------------------------------------------------------


def withdraw(client: FlaskClient, locale: str, case: MadeCase, confirmed: bool) -> TestResponse:
    """Press "withdraw" on the status page, and "yes" on the question if `confirmed`."""
    page = parse(client.get(status_path(locale, case)).data)
    form = page.select_one("main form[action$='/aterkalla']")
    assert form is not None, "no withdraw button"
    data = {tag["name"]: tag["value"] for tag in form.select("input[name]")}
    asked = client.post(form["action"], data=data)
    # To the question's own address, with the key as in the status link: it reloads.
    assert asked.status_code == 303
    assert asked.headers["Location"] == f"{form['action']}?nyckel={case.secret}"
    question = client.get(asked.headers["Location"])
    assert question.status_code == 200
    if not confirmed:
        return question
    form = parse(question.data).select_one("main form[action$='/aterkalla']")
    data = {tag["name"]: tag["value"] for tag in form.select("input[name]")}
    return client.post(form["action"], data=data)


def test_the_withdraw_button_asks_first_and_changes_nothing(site: StaffSite) -> None:
    case = site.case(**PERSONAL)
    client = site.client()
    question = withdraw(client, "sv", case, confirmed=False)
    page = parse(question.data)
    assert " ".join(page.h1.get_text().split()) == translate(
        site.app,
        "sv",
        "Do you want to withdraw your report %(reference)s?",
        reference=case.reference,
    )
    # "No, go back" posts the key (no link carries it) and lands on the status link.
    assert [a["href"] for a in page.select("a[href*='nyckel=']")] == []
    back = page.select_one("main form[action$='/visa']")
    data = {tag["name"]: tag["value"] for tag in back.select("input[name]")}
    assert client.post(back["action"], data=data).headers["Location"] == status_path("sv", case)
    assert question.headers["Referrer-Policy"] == "no-referrer"
    stored = load_case(site.app, case.reference)
    assert (stored.status, stored.email, stored.events) == ("ny", PERSONAL["email"], [])


# What the withdrawal calls the case in English: a report is no request.
NOUN = {"report": "report", "format": "request"}


def texts(page: BeautifulSoup, selector: str) -> list[str]:
    """Return the texts of the elements a selector finds, white space collapsed."""
    return [" ".join(tag.get_text().split()) for tag in page.select(selector)]


def test_the_withdraw_question_has_an_address_that_reloads(site: StaffSite) -> None:
    """Reloaded, bookmarked or reached by Back, the question asks again or shows the case."""
    case = site.case()
    client = site.client()
    question = withdraw(client, "sv", case, confirmed=False)
    address = question.request.full_path
    assert address == f"/sv/arende/{case.reference}/aterkalla?nyckel={case.secret}"
    again = client.get(address)
    assert again.status_code == 200
    assert again.headers["Referrer-Policy"] == "no-referrer"
    assert parse(again.data).h1.get_text() == parse(question.data).h1.get_text()
    assert load_case(site.app, case.reference).status == "ny"  # asking changes nothing
    for wrong in ("?nyckel=fel", ""):
        assert client.get(f"/sv/arende/{case.reference}/aterkalla{wrong}").status_code == 404
    assert withdraw(client, "sv", case, confirmed=True).status_code == 303
    back = client.get(address)  # Back from the withdrawn case's page
    assert back.status_code == 303
    assert back.headers["Location"] == status_path("sv", case)


@pytest.mark.parametrize("kind", ["report", "format"])
def test_the_withdrawal_calls_a_report_a_report_and_a_request_a_request(
    site: StaffSite, kind: str
) -> None:
    case = site.case(kind, locale="en")
    client = site.client()
    noun = NOUN[kind]
    status = parse(client.get(status_path("en", case)).data)
    assert texts(status, "#withdraw-heading") == [f"Withdraw your {noun}"]
    assert texts(status, "main form[action$='/aterkalla'] button") == [f"Withdraw my {noun}"]
    question = parse(withdraw(client, "en", case, confirmed=False).data)
    assert texts(question, "h1") == [f"Do you want to withdraw your {noun} {case.reference}?"]
    assert question.title.get_text().startswith(f"Do you want to withdraw your {noun} ")
    assert texts(question, "main form[action$='/aterkalla'] button") == [f"Yes, withdraw my {noun}"]
    body = " ".join(question.select_one("main").get_text(" ").split())
    other = "request" if kind == "report" else "report"
    assert other not in body, body
    # The reference says the kind, so the page is right also when the database is down.
    with database_down(site.app):
        data = {"nyckel": case.secret, "confirmed": "yes"}
        down = client.post(f"/en/arende/{case.reference}/aterkalla", data=data)
    assert down.status_code == 503
    assert texts(parse(down.data), "h1") == [
        f"Do you want to withdraw your {noun} {case.reference}?"
    ]


# Arabic words for a case: معاملة is the one the site uses; قضية (also a court case) is not.
ARABIC_CASE = "معامل"
ARABIC_NOT_CASE = "قضي"


@pytest.mark.parametrize("kind", ["report", "format"])
def test_arabic_pages_of_a_case_use_one_word_for_case(site: StaffSite, kind: str) -> None:
    case = site.case(kind, locale="ar")
    client = site.client()
    pages = {
        "status": client.get(status_path("ar", case)),
        "too short": refused(client, "ar", case, ""),
        "are you sure": withdraw(client, "ar", case, confirmed=False),
    }
    for name, response in pages.items():
        text = main_text(response)
        assert ARABIC_CASE in text, name
        assert ARABIC_NOT_CASE not in text, f"{name}: {text}"


def test_english_dates_on_the_status_page_are_british(site: StaffSite) -> None:
    """Read aloud in British English: "6 December 2026", not "December 6, 2026"."""
    case = site.case(locale="en", due_on=dt.date(2026, 12, 11))
    page = parse(site.client().get(status_path("en", case)).data)
    due = page.select_one('main time[datetime="2026-12-11"]')
    assert due is not None and due.get_text(strip=True) == "11 December 2026"


@pytest.mark.parametrize("kind", ["report", "format"])
def test_withdrawing_closes_the_case_and_removes_every_copy_of_its_personal_data(
    site: StaffSite, kind: str
) -> None:
    app = site.app
    case = site.case(kind, status="vantar", address="Storgatan 1, 177 30 Järfälla", **PERSONAL)
    client = site.client()
    assert add(client, "sv", case, TEXT).status_code == 303
    with app.app_context():
        db.session.add(Receipt(case_id=case.id, ticket_hash="a" * 64, secret="hemligt"))
        db.session.commit()
        send_due()  # the addition's staff mail is delivered: a file in instance/mail
    mail_folder = Path(app.instance_path) / "mail"
    assert any(TEXT.split("\n")[0] in p.read_text() for p in mail_folder.glob("*.eml"))

    response = withdraw(client, "sv", case, confirmed=True)
    assert response.status_code == 303
    assert response.headers["Location"] == status_path("sv", case)

    stored = load_case(app, case.reference)
    assert stored.status == "avslutad" and stored.closed_at is not None
    assert stored.purged_at is not None
    assert (stored.name, stored.email, stored.phone, stored.address) == (None,) * 4
    kept = {"format": "storstil", "delivery": "email"} if kind == "format" else {}
    assert stored.answers == kept
    assert [(e.action, e.detail) for e in stored.events] == [
        ("resident:added", None),
        ("status:pagaende", None),
        ("resident:withdrawn", None),
    ]
    assert count(app, Receipt) == 0
    assert ("resident:withdrawn", case.reference, None) in audit_rows(app)
    [addition_mail, withdrawn_mail] = staff_mail(app, case)
    assert (addition_mail.subject, addition_mail.body, addition_mail.recipients) == ("", "", [])
    assert case.reference in withdrawn_mail.subject
    with app.app_context():
        rows = [
            str([getattr(row, column.key) for column in type(row).__table__.columns])
            for model in (Case, CaseEvent, OutboxMessage, Receipt, AuditEntry)
            for row in db.session.scalars(select(model))
        ]
    everything = "\n".join(rows)
    for private in [*PERSONAL.values(), "Storgatan", TEXT.split("\n")[0], "hemligt"]:
        assert private not in everything, private
    for file in mail_folder.glob("*.eml"):
        content = file.read_text()
        assert all(p not in content for p in [*PERSONAL.values(), TEXT.split("\n")[0]]), file

    page = parse(client.get(status_path("sv", case)).data)
    text = " ".join(page.select_one("main").get_text(" ").split())
    assert translate(app, "sv", "Withdrawn by you") in text
    assert page.select("main form") == []
    again = client.post(
        f"/sv/arende/{case.reference}/aterkalla", data={"nyckel": case.secret, "confirmed": "yes"}
    )
    assert again.status_code == 303  # withdrawn already: nothing more happens
    assert len(staff_mail(app, case)) == 2

    staff_page = parse(logged_in(app, "handler").get(f"/staff/cases/{case.reference}").data)
    history = " ".join(staff_page.select_one(".history").get_text(" ").split())
    assert (
        translate(
            app,
            "sv",
            "withdrew the request on the status page: the case was closed and its personal data"
            " removed",
        )
        in history
    )


def test_mail_not_yet_delivered_is_never_sent_after_a_withdrawal(site: StaffSite) -> None:
    case = site.case(**PERSONAL)
    client = site.client()
    assert add(client, "sv", case, TEXT).status_code == 303  # queued, not delivered
    assert withdraw(client, "sv", case, confirmed=True).status_code == 303
    [addition_mail, withdrawn_mail] = staff_mail(site.app, case)
    assert (addition_mail.status, withdrawn_mail.status) == ("cancelled", "pending")
    with site.app.app_context():
        assert send_due() == (1, 0)  # only the withdrawal's own mail
    staff_page = parse(logged_in(site.app, "handler").get(f"/staff/cases/{case.reference}").data)
    assert (
        translate(site.app, "sv", "Not sent: the personal data was removed")
        in staff_page.get_text()
    )


def test_a_withdrawal_without_the_right_secret_is_404_and_changes_nothing(
    site: StaffSite,
) -> None:
    case, other = site.case(**PERSONAL), site.case()
    client = site.client()
    url = f"/sv/arende/{case.reference}/aterkalla"
    for name, changes in wrong_links(case, other).items():
        data = {"confirmed": "yes", **{k: v for k, v in changes.items() if v is not None}}
        assert client.post(url, data=data).status_code == 404, name
    assert client.post(f"{url}?nyckel={case.secret}", data={"confirmed": "yes"}).status_code == 404
    assert load_case(site.app, case.reference).email == PERSONAL["email"]


# --- The database down, and what is logged -----------------------------------------------------


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_an_addition_during_an_outage_is_refused_with_the_text_kept(
    site: StaffSite, caplog: pytest.LogCaptureFixture, locale: str
) -> None:
    app = site.app
    case = site.case(status="vantar")
    client = site.client()
    data = {**add_form(parse(client.get(status_path(locale, case)).data)), "information": TEXT}
    with caplog.at_level(logging.DEBUG), database_down(app):
        response = client.post(f"/{locale}/arende/{case.reference}", data=data)
        refused = client.post(
            f"/{locale}/arende/{case.reference}/aterkalla",
            data={"nyckel": case.secret, "confirmed": "yes"},
        )
    assert response.status_code == refused.status_code == 503
    assert int(response.headers["Retry-After"]) > 0 and int(refused.headers["Retry-After"]) > 0
    page = parse(response.data)
    assert page.select_one("main [role=alert] h2").get_text(strip=True) == translate(
        app, locale, "Your form was not sent"
    )
    shown = add_form(page)
    assert shown["information"] == TEXT and shown["nyckel"] == case.secret
    assert case.secret not in caplog.text and TEXT.split("\n")[0] not in caplog.text
    assert "could not be stored" in caplog.text
    # Back up: the page as shown sends, once.
    assert client.post(f"/{locale}/arende/{case.reference}", data=shown).status_code == 303
    assert client.post(f"/{locale}/arende/{case.reference}", data=shown).status_code == 303
    assert additions(app, case) == [TEXT]
    assert load_case(app, case.reference).status == "pagaende"


def test_the_secret_stays_out_of_logs_addresses_and_referers(
    site: StaffSite, caplog: pytest.LogCaptureFixture
) -> None:
    """The forms post it in their body; every page that holds it sends no Referer."""
    case = site.case(status="vantar", **PERSONAL)
    client = site.client()
    with caplog.at_level(logging.DEBUG):
        shown = client.get(status_path("sv", case))
        errors = refused(client, "sv", case, "")
        added = add(client, "sv", case, TEXT)
        confirmed = client.get(added.headers["Location"])
        question = withdraw(client, "sv", case, confirmed=False)
    for response in (shown, errors, confirmed, question):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        for form in parse(response.data).select("main form"):
            assert case.secret not in form["action"]
    assert "Set-Cookie" not in str(shown.headers) + str(added.headers)
    assert case.secret not in caplog.text
    assert TEXT.split("\n")[0] not in caplog.text


# --- Valid HTML ----------------------------------------------------------------------------------


def test_every_state_of_the_status_page_is_valid_html(site: StaffSite) -> None:
    app = site.app
    client = site.client()
    documents: dict[str, str] = {}
    for locale in ("sv", "ar"):
        case = site.case(status="vantar", locale=locale)
        documents[f"{locale} open"] = client.get(status_path(locale, case)).get_data(as_text=True)
        documents[f"{locale} errors"] = refused(client, locale, case, "").get_data(as_text=True)
        added = add(client, locale, case, TEXT)
        documents[f"{locale} added"] = client.get(added.headers["Location"]).get_data(as_text=True)
        question = withdraw(client, locale, case, confirmed=False)
        documents[f"{locale} are you sure"] = question.get_data(as_text=True)
        with database_down(app):
            data = {"nyckel": case.secret, "information": TEXT}
            documents[f"{locale} 503"] = client.post(
                f"/{locale}/arende/{case.reference}", data=data
            ).get_data(as_text=True)
            documents[f"{locale} withdraw 503"] = client.post(
                f"/{locale}/arende/{case.reference}/aterkalla", data={**data, "confirmed": "yes"}
            ).get_data(as_text=True)
        assert withdraw(client, locale, case, confirmed=True).status_code == 303
        documents[f"{locale} withdrawn"] = client.get(status_path(locale, case)).get_data(
            as_text=True
        )
        closed = site.case(status="avslutad", locale=locale)
        documents[f"{locale} closed"] = client.get(status_path(locale, closed)).get_data(
            as_text=True
        )
        staff = logged_in(app, "handler").get(f"/staff/cases/{case.reference}")
        documents[f"{locale} staff case"] = staff.get_data(as_text=True)
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)
