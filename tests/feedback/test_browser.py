"""The two forms in Chromium: axe-core, the Nu checker, and sending them with the keyboard only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from flask.testing import FlaskClient

from gvisite.i18n import LOCALES
from tests.feedback.test_faults import database_down
from tests.fixtures_forms import ANSWERS, REFERENCE, form_url, hidden_fields, submit
from tests.fixtures_servers import LiveServer
from tests.helpers import assert_no_axe_violations, desktop_tab, nu_errors

KINDS = ("report", "format")
SUBMIT = "main form button[type=submit]"


@pytest.fixture(scope="module")
def tab(browser: Any, forms_live_server: LiveServer) -> Iterator[Any]:
    """One desktop-sized tab on the live server that takes submissions."""
    with desktop_tab(browser, forms_live_server.url) as page:
        yield page


def open_form(tab: Any, server: LiveServer, locale: str, kind: str, page: str | None) -> None:
    """Open a form in a fresh session."""
    tab.context.clear_cookies()
    response = tab.goto(server.url + form_url(locale, kind, page), wait_until="load")
    assert response is not None and response.status == 200


def fill_in(tab: Any, kind: str) -> None:
    """Fill in valid answers with the mouse-free Playwright helpers."""
    for name, value in ANSWERS[kind].items():
        if name in {"format", "delivery"}:
            tab.check(f"input[name={name}][value={value}]")
        else:
            tab.fill(f"[name={name}]", value)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_form_empty_with_errors_and_receipt_have_no_axe_violations(
    tab: Any, forms_live_server: LiveServer, kind: str, locale: str
) -> None:
    open_form(tab, forms_live_server, locale, kind, page=None)
    assert tab.locator("input[name=website]").is_hidden(), "the honeypot is visible"
    assert_no_axe_violations(tab)

    with tab.expect_navigation():
        tab.click(SUBMIT)
    assert tab.locator("main .error-summary").count() == 1
    assert_no_axe_violations(tab)

    fill_in(tab, kind)
    with tab.expect_navigation(url="**/tillganglighet/kvitto*"):
        tab.click(SUBMIT)
    assert REFERENCE.match(tab.inner_text("main .reference").strip())
    assert_no_axe_violations(tab)


@pytest.mark.parametrize("locale", ["sv", "ar"])
@pytest.mark.parametrize("state", ["not a form", "database down"])
def test_the_pages_for_a_form_that_was_not_sent_have_no_axe_violations(
    tab: Any, forms_live_server: LiveServer, locale: str, state: str
) -> None:
    """A form posted as text/plain (HTML allows that enctype): the refusal page (415). The
    database down: the "not sent" alert with the answers under it (503)."""
    open_form(tab, forms_live_server, locale, "report", page=None)
    fill_in(tab, "report")
    down = database_down(forms_live_server.app) if state == "database down" else nullcontext()
    with down, tab.expect_navigation() as navigation:
        if state == "not a form":
            tab.evaluate(
                """() => { const form = document.querySelector("main form");
                           form.enctype = "text/plain"; form.submit(); }"""
            )
        else:
            tab.click(SUBMIT)
    if state == "not a form":
        assert navigation.value.status == 415
        assert tab.locator(f"main a[href$='/{locale}/tillganglighet/rapportera']").count() == 1
    else:
        assert navigation.value.status == 503
        assert tab.locator("main [role=alert]").count() == 1
    assert_no_axe_violations(tab)


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_the_page_for_a_form_sent_twice_has_no_axe_violations(
    tab: Any, forms_live_server: LiveServer, locale: str
) -> None:
    """The receipt seen, the same answers sent again: "you have already sent this form"."""
    open_form(tab, forms_live_server, locale, "report", page=None)
    fill_in(tab, "report")
    answers = tab.evaluate("Object.fromEntries(new FormData(document.querySelector('main form')))")
    with tab.expect_navigation(url="**/tillganglighet/kvitto*"):
        tab.click(SUBMIT)
    url = forms_live_server.url + form_url(locale, "report")
    assert tab.request.post(url, form=answers, max_redirects=0).status == 303
    tab.goto(tab.url, wait_until="load")
    assert tab.locator("main .reference").count() == 0
    assert tab.locator("h1").count() == 1
    assert_no_axe_violations(tab)


@pytest.mark.parametrize(("locale", "chosen"), [("sv", "fi"), ("ar", "en")])
def test_a_receipt_follows_the_language_chosen_on_it_and_stays_one_time(
    tab: Any, forms_live_server: LiveServer, locale: str, chosen: str
) -> None:
    """Sent anonymously, the language pressed on the receipt: the same receipt in it. Back
    and a reload still find it gone, and the pages have no axe violations."""
    open_form(tab, forms_live_server, locale, "report", page=None)
    fill_in(tab, "report")
    tab.fill("[name=name]", "")
    tab.fill("[name=email]", "")
    with tab.expect_navigation(url="**/tillganglighet/kvitto*"):
        tab.click(SUBMIT)
    reference = tab.inner_text("main .reference").strip()
    with tab.expect_navigation(url=f"**/{chosen}/tillganglighet/kvitto"):
        tab.click(f'header .languages button[lang="{chosen}"]')
    assert tab.get_attribute("html", "lang") == chosen
    assert tab.inner_text("main .reference").strip() == reference
    assert tab.locator('main a[href*="nyckel="]').count() == 1
    assert_no_axe_violations(tab)
    tab.go_back(wait_until="load")
    assert tab.get_attribute("html", "lang") == locale
    assert tab.locator("main .reference").count() == 0
    tab.go_forward(wait_until="load")
    assert tab.locator("main .reference").count() == 0


def test_forms_and_receipts_are_valid_html(forms_client: FlaskClient) -> None:
    documents: dict[str, str] = {}
    for locale in LOCALES:
        for kind in KINDS:
            url = form_url(locale, kind)
            documents[f"{url} (empty)"] = forms_client.get(url).get_data(as_text=True)
            empty = {name: "" for name in ANSWERS[kind]}
            errors = submit(forms_client, url, empty)
            documents[f"{url} (errors)"] = errors.get_data(as_text=True)
            answers = {**hidden_fields(forms_client, url), **ANSWERS[kind]}
            sent = forms_client.post(url, data=answers)
            assert sent.status_code == 303
            receipt = forms_client.get(sent.headers["Location"])
            documents[f"{url} (receipt)"] = receipt.get_data(as_text=True)
            assert forms_client.post(url, data=answers).status_code == 303  # sent once more
            again = forms_client.get(sent.headers["Location"])
            documents[f"{url} (sent twice)"] = again.get_data(as_text=True)
            refused = forms_client.post(url, data="{}", content_type="application/json")
            assert refused.status_code == 415
            documents[f"{url} (not a form)"] = refused.get_data(as_text=True)
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)


# --- Keyboard only -------------------------------------------------------------------------------


def focused_matches(tab: Any, selector: str) -> bool:
    """Tell whether the focused element matches a CSS selector."""
    return tab.evaluate(
        "(s) => !!document.activeElement && document.activeElement.matches(s)", selector
    )


def tab_to(tab: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has focus."""
    for _ in range(limit):
        tab.keyboard.press("Tab")
        if focused_matches(tab, selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def type_into(tab: Any, field_id: str, text: str) -> None:
    """Tab to a field and type into it."""
    tab_to(tab, f"#{field_id}")
    tab.keyboard.press("Control+A")
    tab.keyboard.type(text)


def send_with_keyboard(tab: Any, url_glob: str = "**") -> None:
    """Tab to the send button and press Enter."""
    tab_to(tab, SUBMIT)
    with tab.expect_navigation(url=url_glob):
        tab.keyboard.press("Enter")


def follow_first_summary_link(tab: Any, field_id: str) -> None:
    """From the focused error summary, Tab to its first link, press Enter: the field gets focus."""
    assert focused_matches(tab, "[data-error-summary]"), "focus is not on the error summary"
    tab.keyboard.press("Tab")
    assert focused_matches(tab, f'.error-summary li:first-child a[href="#{field_id}"]')
    tab.keyboard.press("Enter")
    tab.wait_for_timeout(100)
    active = tab.evaluate("() => document.activeElement && document.activeElement.id")
    assert active == field_id, f"focus went to {active!r}, not to the field #{field_id}"


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_report_form_with_the_keyboard_only(
    tab: Any, forms_live_server: LiveServer, locale: str
) -> None:
    open_form(tab, forms_live_server, locale, "report", page=None)
    send_with_keyboard(tab)
    follow_first_summary_link(tab, "page")

    answers = ANSWERS["report"]
    tab.keyboard.type(f"/{locale}/om-gvi")
    for name in ("problem", "assistive_tech", "browser", "name", "email"):
        type_into(tab, name, answers[name])
    send_with_keyboard(tab, "**/tillganglighet/kvitto*")
    assert REFERENCE.match(tab.inner_text("main .reference").strip())


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_format_form_with_the_keyboard_only(
    tab: Any, forms_live_server: LiveServer, locale: str
) -> None:
    open_form(tab, forms_live_server, locale, "format", page=f"/{locale}/om-gvi")
    send_with_keyboard(tab)
    follow_first_summary_link(tab, "format-0")

    tab.keyboard.press("ArrowDown")  # arrows move through a radio group and select
    tab.keyboard.press("ArrowDown")
    assert tab.is_checked("#format-2")  # storstil
    tab_to(tab, "#delivery-0")
    tab.keyboard.press("Space")
    assert tab.is_checked("#delivery-0")  # email
    type_into(tab, "name", "Örjan Ärlig")
    type_into(tab, "email", "orjan@example.se")
    send_with_keyboard(tab, "**/tillganglighet/kvitto*")
    assert REFERENCE.match(tab.inner_text("main .reference").strip())


@pytest.mark.parametrize("kind", KINDS)
def test_every_summary_link_moves_focus_to_its_field(
    tab: Any, forms_live_server: LiveServer, kind: str
) -> None:
    open_form(tab, forms_live_server, "en", kind, page=None)
    with tab.expect_navigation():
        tab.click(SUBMIT)
    hrefs = tab.eval_on_selector_all(".error-summary a", "links => links.map(a => a.hash)")
    assert hrefs
    for href in hrefs:
        tab.focus(f'.error-summary a[href="{href}"]')
        tab.keyboard.press("Enter")
        tab.wait_for_timeout(50)
        active = tab.evaluate("() => document.activeElement && document.activeElement.id")
        assert f"#{active}" == href
