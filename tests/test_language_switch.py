"""The language menu keeps the page: the one-time receipt, a case's pages, the words searched.

The receipt and the case's pages hold a secret (a one-time ticket, the status key): their menu
posts it in a small form per language, so no link carries it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gvisite.cases import RECEIPT_VALID
from gvisite.i18n import LOCALES
from tests.conftest import Clock
from tests.feedback.test_faults import database_down
from tests.fixtures_forms import REPORT_ANSWERS, form_url, submit
from tests.helpers import parse, translate

ANONYMOUS = {**REPORT_ANSWERS, "name": "", "email": ""}
OTHERS = {code: [other for other in LOCALES if other != code] for code in LOCALES}


def menu(page: BeautifulSoup) -> Tag:
    """Return the header's language menu."""
    found = page.select_one("header nav.languages")
    assert found is not None, "no language menu"
    return found


def press(client: FlaskClient, page: BeautifulSoup, code: str) -> TestResponse:
    """Press a language in the menu, as a browser does: follow its link or send its form."""
    entry = menu(page).select_one(f'[lang="{code}"]:is(a[hreflang], button)')
    assert entry is not None, f"no {code} in the language menu"
    if entry.name == "a":
        return client.get(entry["href"])
    form = entry.find_parent("form")
    assert form is not None and form.get("method") == "post", entry
    data = {tag["name"]: tag.get("value", "") for tag in form.select("input[name]")}
    return client.post(form["action"], data=data)


def arrive(client: FlaskClient, response: TestResponse) -> TestResponse:
    """Follow a post's redirect (post/redirect/get), as a browser does."""
    while response.status_code in (302, 303):
        response = client.get(response.headers["Location"])
    return response


def send_anonymously(client: FlaskClient, locale: str) -> BeautifulSoup:
    """Send the report form without contact details and return the receipt page."""
    sent = submit(client, form_url(locale, "report"), ANONYMOUS)
    assert sent.status_code == 303
    receipt = client.get(sent.headers["Location"])
    return parse(receipt.data)


def shown_receipt(page: BeautifulSoup) -> tuple[str, str] | None:
    """Return the reference and status link a receipt shows, or None if it shows none."""
    reference = page.select_one("main .reference")
    link = page.select_one('main a[href*="nyckel="]')
    if reference is None or link is None:
        return None
    return reference.get_text(strip=True), link["href"]


def receipt_on(page: BeautifulSoup) -> tuple[str, str]:
    """Return the reference and status link of a page that must show a receipt."""
    shown = shown_receipt(page)
    assert shown is not None, f"no receipt: {heading(page)}"
    return shown


def links_with(page: BeautifulSoup, secret: str) -> list[str]:
    """Return every address on a page that carries `secret`: links, form actions, metadata."""
    addresses = [tag["href"] for tag in page.find_all(href=True)]
    addresses += [tag["action"] for tag in page.find_all("form", action=True)]
    return [address for address in addresses if secret in address]


def secret_of(status_link: str) -> str:
    """Return the key in a status link."""
    return parse_qs(urlsplit(status_link).query)["nyckel"][0]


def heading(page: BeautifulSoup) -> str:
    """Return the page's h1 as read."""
    return " ".join(page.h1.get_text().split())


def is_gone(app: Flask, page: BeautifulSoup, locale: str) -> bool:
    """Tell whether a page is the receipt that is no longer available."""
    gone = translate(app, locale, "This receipt is no longer available")
    return heading(page) == gone and shown_receipt(page) is None


# --- The receipt ---------------------------------------------------------------------------------


PAIRS = [(locale, code) for locale in LOCALES for code in OTHERS[locale]]


@pytest.mark.parametrize(("locale", "code"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_the_receipts_language_menu_shows_the_same_receipt_in_the_chosen_language(
    forms_app: Flask, forms_client: FlaskClient, locale: str, code: str
) -> None:
    """An anonymous resident has only this page: the language chosen shows it, once more."""
    page = send_anonymously(forms_client, locale)
    reference, status_link = receipt_on(page)
    shown = arrive(forms_client, press(forms_client, page, code))
    assert shown.status_code == 200
    assert urlsplit(shown.request.url).path == f"/{code}/tillganglighet/kvitto"
    page = parse(shown.data)
    assert page.html["lang"] == code
    assert receipt_on(page)[0] == reference
    promise = translate(
        forms_app,
        code,
        "You did not leave any contact details, so we cannot reply to you."
        " We will still look at what you reported.",
    )
    assert promise in " ".join(page.select_one("main").get_text(" ").split())
    # The status link, in the language chosen, opens the case.
    link = urlsplit(receipt_on(page)[1])
    assert link.path == f"/{code}/arende/{reference}"
    assert secret_of(receipt_on(page)[1]) == secret_of(status_link)
    status = forms_client.get(f"{link.path}?{link.query}")
    assert status.status_code == 200 and parse(status.data).html["lang"] == code
    # A reload, Back, a second visit: gone, as before, in either language.
    for where in (code, locale):
        again = parse(forms_client.get(f"/{where}/tillganglighet/kvitto").data)
        assert is_gone(forms_app, again, where)


@pytest.mark.parametrize("locale", LOCALES)
def test_switching_languages_on_a_receipt_again_and_again_keeps_it(
    forms_app: Flask, forms_client: FlaskClient, locale: str
) -> None:
    """From the receipt in each language to each other one, pressed one after another."""
    page = send_anonymously(forms_client, locale)
    reference = receipt_on(page)[0]
    for code in [*OTHERS[locale], locale]:
        page = parse(arrive(forms_client, press(forms_client, page, code)).data)
        assert page.html["lang"] == code
        assert receipt_on(page)[0] == reference


def test_a_receipts_language_ticket_works_once_and_not_after_the_page_was_left(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    """The menu's ticket shows the receipt once; sent again (Back and press again), it is gone."""
    page = send_anonymously(forms_client, "sv")
    form = menu(page).select_one('button[lang="fi"]').find_parent("form")
    data = {tag["name"]: tag.get("value", "") for tag in form.select("input[name]")}
    first = arrive(forms_client, forms_client.post(form["action"], data=data))
    assert receipt_on(parse(first.data))
    again = arrive(forms_client, forms_client.post(form["action"], data=data))
    assert is_gone(forms_app, parse(again.data), "fi")
    # Another browser with the ticket (a copied page) finds nothing either, nor a made-up one.
    other = forms_app.test_client()
    for ticket in (data["ticket"], "x" * 32, "", "y" * 5000):
        shown = arrive(other, other.post("/en/tillganglighet/kvitto", data={"ticket": ticket}))
        assert shown.status_code == 200 and is_gone(forms_app, parse(shown.data), "en")


def test_a_receipts_language_ticket_expires(
    forms_app: Flask, forms_client: FlaskClient, clock: Clock
) -> None:
    """A receipt left open on a shared computer cannot be shown again in a language later."""
    page = send_anonymously(forms_client, "sv")
    clock.advance(seconds=RECEIPT_VALID.total_seconds() + 60)
    shown = arrive(forms_client, press(forms_client, page, "ar"))
    assert is_gone(forms_app, parse(shown.data), "ar")


def test_the_receipt_keeps_its_ticket_out_of_links_and_the_cookie(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    """The ticket is in the page's forms only; the one link with the key is the status link."""
    page = send_anonymously(forms_client, "sv")
    reference, status_link = receipt_on(page)
    tickets = {tag["value"] for tag in menu(page).select("input[name=ticket]")}
    assert len(tickets) == 1 and len(next(iter(tickets))) >= 32
    ticket = next(iter(tickets))
    assert links_with(page, ticket) == []
    assert links_with(page, secret_of(status_link)) == [status_link]
    # The signed cookie is readable by anyone at the computer: the ticket is not there.
    cookie = forms_client.get_cookie("session", path="/sv/tillganglighet/")
    with forms_app.test_request_context("/sv/tillganglighet/kvitto"):
        stored = forms_app.session_interface.get_signing_serializer(forms_app).loads(cookie.value)
    assert ticket not in str(stored) and reference not in str(stored)


def test_a_receipt_whose_language_ticket_cannot_be_stored_is_shown_all_the_same(
    forms_app: Flask, forms_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The database gone after the receipt was taken: the receipt, with a menu of links."""
    sent = submit(forms_client, form_url("sv", "report"), ANONYMOUS)
    with database_down(forms_app, after_commit=True):
        shown = forms_client.get(sent.headers["Location"])
    assert shown.status_code == 200
    page = parse(shown.data)
    reference, status_link = receipt_on(page)
    assert menu(page).select("form") == []
    assert len(menu(page).select("a[hreflang]")) == len(LOCALES)
    assert "could not be stored" in caplog.text
    assert reference not in caplog.text and secret_of(status_link) not in caplog.text


def test_a_gone_receipts_language_menu_is_links_as_elsewhere(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    """No receipt, nothing to keep: the menu links to the other languages as elsewhere."""
    page = parse(forms_client.get("/fi/tillganglighet/kvitto").data)
    assert menu(page).select("form") == []
    assert len(menu(page).select("a[hreflang]")) == len(LOCALES)


# --- The status page and the withdrawal page -----------------------------------------------------


def open_case(client: FlaskClient, locale: str) -> tuple[str, str, BeautifulSoup]:
    """Send a report, open its status link; return the reference, the key and the page."""
    reference, status_link = receipt_on(send_anonymously(client, locale))
    response = client.get(status_link)
    assert response.status_code == 200
    return reference, secret_of(status_link), parse(response.data)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_status_pages_language_menu_keeps_the_case(
    forms_app: Flask, forms_client: FlaskClient, locale: str
) -> None:
    reference, secret, page = open_case(forms_client, locale)
    assert links_with(page, secret) == []
    for code in OTHERS[locale]:
        pressed = press(forms_client, page, code)
        # To the status link's own address in that language: it can be bookmarked.
        assert pressed.status_code == 303
        assert pressed.headers["Location"] == f"/{code}/arende/{reference}?nyckel={secret}"
        other = parse(arrive(forms_client, pressed).data)
        assert other.html["lang"] == code
        assert heading(other) == translate(
            forms_app, code, "Your case %(reference)s", reference=reference
        )
        assert links_with(other, secret) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_the_withdrawal_pages_language_menu_keeps_the_question(
    forms_app: Flask, forms_client: FlaskClient, locale: str
) -> None:
    reference, secret, status_page = open_case(forms_client, locale)
    form = status_page.select_one("main form[action$='/aterkalla']")
    data = {tag["name"]: tag["value"] for tag in form.select("input[name]")}
    page = parse(arrive(forms_client, forms_client.post(form["action"], data=data)).data)
    for code in OTHERS[locale]:
        pressed = press(forms_client, page, code)
        # To the question's own address in that language, the key as in the status link.
        assert pressed.status_code == 303
        assert (
            pressed.headers["Location"] == f"/{code}/arende/{reference}/aterkalla?nyckel={secret}"
        )
        question = arrive(forms_client, pressed)
        assert question.status_code == 200
        other = parse(question.data)
        assert other.html["lang"] == code
        assert heading(other) == translate(
            forms_app,
            code,
            "Do you want to withdraw your report %(reference)s?",  # open_case sends a report
            reference=reference,
        )
        assert links_with(other, secret) == []
        # Nothing was withdrawn by changing language; "No, go back" leads to the case there.
        back = other.select_one("main form[action$='/visa']")
        assert back is not None, "no way back to the case"
        data = {tag["name"]: tag["value"] for tag in back.select("input[name]")}
        returned = forms_client.post(back["action"], data=data)
        assert returned.headers["Location"] == f"/{code}/arende/{reference}?nyckel={secret}"
        case = parse(arrive(forms_client, returned).data)
        assert case.select_one("main form[action$='/aterkalla']") is not None  # still open


def test_a_case_page_opened_with_a_wrong_key_stays_closed(forms_client: FlaskClient) -> None:
    """The menu's post opens nothing by itself: a wrong key still gets the 404."""
    reference, _secret, _page = open_case(forms_client, "sv")
    pressed = forms_client.post(f"/fi/arende/{reference}/visa", data={"nyckel": "wrong"})
    assert arrive(forms_client, pressed).status_code == 404
    assert forms_client.post("/fi/arende/not-a-reference/visa", data={}).status_code == 404


# --- Search --------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("query", ["Järfälla", "GVI & polis", "a/b?c=d#e"])
def test_the_search_pages_language_menu_keeps_the_query(
    site_client: FlaskClient, locale: str, query: str
) -> None:
    page = parse(site_client.get(f"/{locale}/sok?q={quote(query)}").data)
    for code in OTHERS[locale]:
        link = menu(page).select_one(f'a[hreflang="{code}"]')
        address = urlsplit(link["href"])
        assert (address.path, parse_qs(address.query)) == (f"/{code}/sok", {"q": [query]})
        other = parse(press(site_client, page, code).data)
        assert other.html["lang"] == code
        assert other.select_one("main input[name=q]")["value"] == query


def test_the_empty_search_pages_language_menu_leads_to_the_search_page(
    site_client: FlaskClient,
) -> None:
    page = parse(site_client.get("/sv/sok").data)
    for code in OTHERS["sv"]:
        assert menu(page).select_one(f'a[hreflang="{code}"]')["href"] == f"/{code}/sok"
