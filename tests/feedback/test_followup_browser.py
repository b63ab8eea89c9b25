"""The status page's follow-up in Chromium: every state with axe-core, and the keyboard only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.feedback.test_browser import focused_matches, follow_first_summary_link, tab_to
from tests.feedback.test_faults import database_down
from tests.fixtures_servers import LiveServer
from tests.fixtures_staff import MadeCase, load_case, make_case
from tests.helpers import assert_no_axe_violations, desktop_tab

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


def test_a_refused_addition_can_be_reloaded_and_bookmarked(
    tab: Any, forms_live_server: LiveServer
) -> None:
    """After an empty post the address is the status link again, not the form's target."""
    case = make_case(forms_live_server.app, locale="sv")
    open_status(tab, forms_live_server, "sv", case)
    own = tab.url
    with tab.expect_navigation():
        tab.click(SEND)
    assert tab.locator("main .error-summary").count() == 1
    assert tab.url == own
    response = tab.reload(wait_until="load")  # a GET of the page, not the form sent again
    assert response is not None and response.status == 200
    assert response.request.method == "GET"
    assert tab.locator("main .error-summary").count() == 0
    assert tab.locator("main textarea#information").count() == 1
