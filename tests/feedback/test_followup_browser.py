"""The status page's follow-up in Chromium: every state with axe-core, and the keyboard only."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from tests.feedback.test_browser import focused_matches, follow_first_summary_link, tab_to
from tests.feedback.test_faults import database_down
from tests.fixtures_servers import LiveServer
from tests.fixtures_staff import MadeCase, load_case, make_case
from tests.helpers import assert_no_axe_violations, desktop_tab, watched_context

SEND = "main form:has(#information) button[type=submit]"
WITHDRAW = "main form[action$='/aterkalla'] button[type=submit]"
TEXT = "Felet syns bara i mörkt läge."


@pytest.fixture(scope="module")
def tab(browser: Any, forms_live_server: LiveServer) -> Iterator[Any]:
    """One desktop-sized tab on the live server that takes submissions."""
    with desktop_tab(browser, forms_live_server.url) as page:
        yield page


def open_status(tab: Any, server: LiveServer, locale: str, case: MadeCase) -> None:
    """Open a case's private status page."""
    url = f"{server.url}/{locale}/arende/{case.reference}?nyckel={case.secret}"
    response = tab.goto(url, wait_until="load")
    assert response is not None and response.status == 200


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_every_state_of_the_follow_up_has_no_axe_violations(
    tab: Any, forms_live_server: LiveServer, locale: str
) -> None:
    case = make_case(forms_live_server.app, locale=locale, status="vantar")
    open_status(tab, forms_live_server, locale, case)
    assert tab.locator("input[name=website]").is_hidden(), "the honeypot is visible"
    assert_no_axe_violations(tab)

    with tab.expect_navigation():
        tab.click(SEND)
    assert tab.locator("main .error-summary a[href='#information']").count() == 1
    assert_no_axe_violations(tab)

    with database_down(forms_live_server.app), tab.expect_navigation() as navigation:
        tab.fill("#information", TEXT)
        tab.click(SEND)
    assert navigation.value.status == 503
    assert tab.locator("main [role=alert]").count() == 1
    assert tab.input_value("#information") == TEXT
    assert_no_axe_violations(tab)

    with tab.expect_navigation(url="**tillagt=*"):
        tab.click(SEND)
    assert tab.locator("main [role=status]").count() == 1
    assert_no_axe_violations(tab)
    assert load_case(forms_live_server.app, case.reference).status == "pagaende"

    with tab.expect_navigation():
        tab.click(WITHDRAW)
    # Yes, and "No, go back", which posts the key rather than carry it in a link.
    assert tab.locator("main form[action$='/aterkalla'] button").count() == 1
    assert tab.locator("main form[action$='/visa'] button").count() == 1
    assert_no_axe_violations(tab)
    with tab.expect_navigation(url=f"**/arende/{case.reference}?nyckel=*"):
        tab.click("main form[action$='/aterkalla'] button")
    assert tab.locator("main form").count() == 0
    assert_no_axe_violations(tab)
    assert load_case(forms_live_server.app, case.reference).purged_at is not None

    closed = make_case(forms_live_server.app, locale=locale, status="avslutad")
    open_status(tab, forms_live_server, locale, closed)
    assert tab.locator("main .notice a[href^='tel:']").count() == 1
    assert_no_axe_violations(tab)


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_adding_and_withdrawing_with_the_keyboard_only(
    tab: Any, forms_live_server: LiveServer, locale: str
) -> None:
    app = forms_live_server.app
    case = make_case(app, locale=locale, status="vantar")
    open_status(tab, forms_live_server, locale, case)
    tab_to(tab, SEND)
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    follow_first_summary_link(tab, "information")
    tab.keyboard.type(TEXT)
    tab.keyboard.press("Enter")  # a new line in the text, not a send
    tab.keyboard.type("Rad två.")
    tab_to(tab, SEND)
    with tab.expect_navigation(url="**tillagt=*"):
        tab.keyboard.press("Enter")
    assert focused_matches(tab, "main [role=status]"), "the confirmation does not get focus"
    assert load_case(app, case.reference).events[0].detail == f"{TEXT}\nRad två."

    tab_to(tab, WITHDRAW)
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    tab_to(tab, "main form button[type=submit]")
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert load_case(app, case.reference).status == "avslutad"


@contextmanager
def too_fast_for(app: Flask, refused: bool) -> Iterator[None]:
    """Make every form count as sent too fast (a browser's autofill), or leave it as it is."""
    before = app.config["FORM_MIN_SECONDS"]
    app.config["FORM_MIN_SECONDS"] = 3600 if refused else before
    try:
        yield
    finally:
        app.config["FORM_MIN_SECONDS"] = before


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no javascript"])
@pytest.mark.parametrize("why", ["empty", "too fast"])
def test_a_refused_addition_can_be_reloaded_and_bookmarked(
    browser: Any,
    forms_live_server: LiveServer,
    caplog: pytest.LogCaptureFixture,
    why: str,
    javascript: bool,
) -> None:
    """After a refused post the address is the status link: reload, bookmark and share it."""
    app = forms_live_server.app
    case = make_case(app, locale="sv")
    text = "" if why == "empty" else TEXT
    with (
        caplog.at_level(logging.DEBUG),
        watched_context(browser, forms_live_server.url, java_script_enabled=javascript) as (
            context,
            _,
        ),
    ):
        tab = context.new_page()
        open_status(tab, forms_live_server, "sv", case)
        tab.fill("#information", text)
        with too_fast_for(app, why == "too fast"), tab.expect_navigation() as navigation:
            tab.click(SEND)
        assert navigation.value.request.method == "GET"  # the post was answered with a 303
        address = urlsplit(tab.url)
        assert address.path == f"/sv/arende/{case.reference}"
        assert parse_qs(address.query)["nyckel"] == [case.secret]
        # The error is announced (an alert or a status that takes focus), the text kept.
        assert tab.locator("main [data-error-summary]").count() == 1
        assert focused_matches(tab, "main [data-error-summary]"), "the error gets no focus"
        assert tab.input_value("#information") == text
        # A reload is a GET of the page: no question to resend, nothing sent again.
        response = tab.reload(wait_until="load")
        assert response is not None and response.status == 200
        assert response.request.method == "GET"
        assert tab.locator("main [data-error-summary]").count() == 0
        assert tab.locator("main textarea#information").count() == 1
        # The address as bookmarked, or shared with a helper, opens the case in a new tab.
        bookmark = context.new_page()
        opened = bookmark.goto(tab.url, wait_until="load")
        assert opened is not None and opened.status == 200
        assert bookmark.locator("h1 bdi").inner_text() == case.reference
        # Sent again as written, it is received once.
        tab.fill("#information", TEXT)
        with tab.expect_navigation(url="**tillagt=*"):
            tab.click(SEND)
    assert [event.detail for event in load_case(app, case.reference).events] == [TEXT]
    # The server's access log saw these requests, without their query (security.NoQueryStrings).
    assert f"/sv/arende/{case.reference} HTTP" in caplog.text
    assert case.secret not in caplog.text
    assert TEXT not in caplog.text
