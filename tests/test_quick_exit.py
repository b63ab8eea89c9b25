"""Quick exit in Debian's Chromium: the button, Shift three times, the overlay, history, layout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from gvisite.i18n import LOCALES
from tests.conftest import make_app
from tests.fixtures_servers import LiveServer, serving
from tests.helpers import axe_rule_violations, build_without_tools, translate, watched_context

LONG_PAGE = "/sv/lamna-kriminalitet"
EXIT_TITLE = "Väder"
STATUS = "[data-quick-exit-status]"
OVERLAY = ".quick-exit-overlay"
BUTTON = "a[data-quick-exit]"
BAR = "[data-quick-exit-root]"


def exit_address(live_server: Any) -> str:
    """Return where the quick exit leads, from the site data."""
    return live_server.app.extensions["gvisite.site"].facts["quick_exit_url"]


@contextmanager
def tab(browser: Any, live_server: Any, stay: bool = False, **options: Any) -> Iterator[Any]:
    """Open a tab that answers the neutral site locally; with `stay`, with 204 No Content.

    A 204 ends the navigation without a new document, so the page stays as the reader saw it
    while the next site was loading.
    """
    options.setdefault("viewport", {"width": 1280, "height": 800})
    with watched_context(browser, live_server.url, **options) as (context, log):
        page = context.new_page()
        page.set_default_timeout(10_000)

        def neutral_site(route: Any) -> None:
            if stay:
                route.fulfill(status=204)
                return
            body = f"<!DOCTYPE html><title>{EXIT_TITLE}</title><p>Sol"
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

        # Routes added after watch_requests win, so only this one outside address is answered.
        page.route(f"{exit_address(live_server).rstrip('/')}/**", neutral_site)
        yield page
        assert [url for url in log.foreign if "smhi" not in url] == []
        assert log.console_errors == [], "console errors (a CSP refusal shows up here)"


def status_text(page: Any) -> str:
    """Return what the live region says now."""
    return page.locator(STATUS).text_content() or ""


def press_shift(page: Any, times: int) -> None:
    """Press and release Shift on its own, `times` times."""
    for _ in range(times):
        page.keyboard.press("Shift")


LEAVING = {
    "shift-three-times": lambda page: press_shift(page, 3),
    "button": lambda page: page.click(BUTTON),
}


def leave_from(page: Any, live: Any, path: str, how: str) -> None:
    """Read the home page, then `path`, and leave it `how`: in place of `path` in the history."""
    page.goto(f"{live.url}/sv/")
    page.goto(f"{live.url}{path}")
    length = page.evaluate("history.length")
    with page.expect_navigation(url=f"{exit_address(live).rstrip('/')}/**"):
        LEAVING[how](page)
    assert page.title() == EXIT_TITLE
    assert page.evaluate("history.length") == length, "leaving added a history entry"


@pytest.mark.parametrize("how", LEAVING)
def test_leaving_replaces_the_history_entry_so_back_does_not_return(
    browser: Any, live_server: Any, how: str
) -> None:
    with tab(browser, live_server) as page:
        leave_from(page, live_server, LONG_PAGE, how)
        page.go_back()
        assert page.url == f"{live_server.url}/sv/", "Back returned to the page the reader left"


@pytest.fixture(scope="module")
def large_print_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve the app with a page's large-print web page built (no tool needed for it)."""
    root = tmp_path_factory.mktemp("large-print")

    def make(url: str) -> Flask:
        app = make_app(root / "instance", SITE_URL=url, FORMATS_DIR=str(root / "formats"))
        build_without_tools(app, [("sv", "om-gvi"), ("ar", "om-gvi")])
        return app

    with serving(make, "large-print-server") as live:
        yield live


@pytest.mark.parametrize("how", LEAVING)
def test_the_large_print_web_page_can_be_left_quickly_too(
    browser: Any, large_print_server: LiveServer, how: str
) -> None:
    # `tab` fails on a console error: a script the page's policy refused would show there.
    with tab(browser, large_print_server) as page:
        leave_from(page, large_print_server, "/formats/sv/om-gvi.storstil.html", how)


@pytest.mark.parametrize("locale", LOCALES)
def test_live_region_counts_down_and_expires_in_each_language(
    browser: Any, live_server: Any, locale: str
) -> None:
    app = live_server.app
    with tab(browser, live_server) as page:
        page.clock.install()
        page.goto(f"{live_server.url}/{locale}/")
        region = page.locator(STATUS)
        assert region.get_attribute("role") == "status"
        assert status_text(page) == ""
        press_shift(page, 1)
        assert status_text(page) == translate(app, locale, "Shift, press 2 more times to exit.")
        press_shift(page, 1)
        assert status_text(page) == translate(app, locale, "Shift, press 1 more time to exit.")
        page.clock.run_for(5_100)
        assert status_text(page) == translate(app, locale, "Exit this page expired.")
        page.clock.run_for(5_100)
        assert status_text(page) == "", "the expiry message clears itself"
        assert page.url == f"{live_server.url}/{locale}/"


def test_two_shifts_then_a_pause_do_not_leave(browser: Any, live_server: Any) -> None:
    with tab(browser, live_server) as page:
        page.clock.install()
        page.goto(f"{live_server.url}{LONG_PAGE}")
        press_shift(page, 2)
        page.clock.run_for(5_100)
        press_shift(page, 1)
        page.wait_for_timeout(300)
        assert page.url == f"{live_server.url}{LONG_PAGE}"
        assert page.locator(OVERLAY).count() == 0
        # The third press after the pause counts as a first one.
        assert status_text(page) == "Skift: tryck 2 gånger till för att lämna sidan."


@pytest.mark.parametrize(
    "sequence",
    [
        ["Shift+A", "Shift+A", "Shift+A"],
        ["release Shift first", "release Shift first", "release Shift first"],
        ["Shift", "Shift", "a", "Shift"],
        ["click", "click", "click"],
    ],
    ids=["shift-a", "shift-released-first", "other-key-between", "shift-click"],
)
def test_shift_used_with_another_key_does_not_count(
    browser: Any, live_server: Any, sequence: list[str]
) -> None:
    with tab(browser, live_server) as page:
        page.goto(f"{live_server.url}{LONG_PAGE}")
        for step in sequence:
            if step == "release Shift first":
                page.keyboard.down("Shift")
                page.keyboard.down("a")
                page.keyboard.up("Shift")
                page.keyboard.up("a")
            elif step == "click":
                page.keyboard.down("Shift")
                page.mouse.click(5, 400)  # the page margin: no link there
                page.keyboard.up("Shift")
            else:
                page.keyboard.press(step)
        page.wait_for_timeout(300)
        assert page.url == f"{live_server.url}{LONG_PAGE}"
        assert page.locator(OVERLAY).count() == 0


BLANK_STATE = """() => {
  const overlay = document.querySelector(".quick-exit-overlay");
  const shown = (el) => !!el && el.getClientRects().length > 0;
  const r = overlay ? overlay.getBoundingClientRect() : null;
  return {overlay: shown(overlay), role: overlay && overlay.getAttribute("role"),
          text: overlay && overlay.textContent, title: document.title,
          width: r && r.width, height: r && r.height,
          shown: ["header", "main", "footer", "[data-quick-exit-root]", ".skip-link"]
            .filter((s) => shown(document.querySelector(s)))};
}"""


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_leaving_blanks_the_page_at_once_and_keeps_it_blank(
    browser: Any, live_server: Any, locale: str
) -> None:
    # The neutral site answers with no page, so this one is seen as a slow connection shows it.
    with tab(browser, live_server, stay=True) as page:
        page.goto(f"{live_server.url}/{locale}/")
        press_shift(page, 3)
        state = page.evaluate(BLANK_STATE)
        loading = translate(live_server.app, locale, "Loading.")
        assert state["overlay"] and state["role"] == "alert" and state["text"] == loading
        assert state["title"] == loading, "the tab must not name the page while the next loads"
        assert state["shown"] == [], "parts of the page still show"
        assert state["width"] >= 1280 and state["height"] >= 800
        # A return from the back/forward cache must not show the page again (GOV.UK resets it).
        page.evaluate("dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
        again = page.evaluate(BLANK_STATE)
        assert again["overlay"] and again["shown"] == []


def test_without_javascript_it_is_a_plain_link(browser: Any, live_server: Any) -> None:
    with tab(browser, live_server, java_script_enabled=False) as page:
        page.goto(f"{live_server.url}{LONG_PAGE}")
        link = page.locator(BUTTON)
        assert link.get_attribute("href") == exit_address(live_server)
        with page.expect_navigation(url=f"{exit_address(live_server).rstrip('/')}/**"):
            link.click()
        assert page.title() == EXIT_TITLE


IN_VIEW = """(selector) => {
  const el = document.querySelector(selector);
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          width: innerWidth, height: innerHeight, onTop: el === hit || el.contains(hit)};
}"""


@pytest.mark.parametrize("width", [1280, 320])
@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_button_stays_on_screen_after_scrolling_to_the_bottom(
    browser: Any, live_server: Any, width: int, locale: str
) -> None:
    with tab(browser, live_server, viewport={"width": width, "height": 568}) as page:
        page.goto(f"{live_server.url}/{locale}/lamna-kriminalitet")
        page.evaluate("scrollTo(0, document.documentElement.scrollHeight)")
        assert page.evaluate("scrollY") > 500, "the page is too short to test this"
        place = page.evaluate(IN_VIEW, BUTTON)
        assert place["top"] >= 0 and place["bottom"] <= place["height"], place
        assert place["left"] >= 0 and place["right"] <= place["width"], place
        assert place["onTop"], "something covers the button"


# For the element with focus: is any part of it under the sticky bar, and not drawn above it?
OBSCURED = """() => {
  const el = document.activeElement;
  const bar = document.querySelector("[data-quick-exit-root]");
  if (!el || el === document.body) return null;
  const label = `${el.tagName} ${el.getAttribute("href") || ""}`;
  if (bar.contains(el)) return {label, covered: false};
  const r = el.getBoundingClientRect(), b = bar.getBoundingClientRect();
  const x = Math.min(Math.max(r.left + 1, 0), innerWidth - 1);
  const points = [r.top + 1, (r.top + r.bottom) / 2, r.bottom - 1];
  const covered = points.some((y) => {
    const hit = document.elementFromPoint(x, y);
    return !!hit && bar.contains(hit) && !el.contains(hit);
  });
  return {label, covered, top: r.top, barBottom: b.bottom};
}"""


@pytest.mark.parametrize(
    ("viewport", "scale"),
    [({"width": 320, "height": 568}, 1), ({"width": 320, "height": 200}, 4)],
    ids=["320px", "400-percent-zoom"],
)
@pytest.mark.parametrize("key", ["Tab", "Shift+Tab"])
def test_the_bar_never_hides_the_focused_element(
    browser: Any, live_server: Any, viewport: dict[str, int], scale: int, key: str
) -> None:
    """WCAG 2.4.11: a sticky bar must not cover what has keyboard focus, forwards or back."""
    with tab(browser, live_server, viewport=viewport, device_scale_factor=scale) as page:
        page.goto(f"{live_server.url}{LONG_PAGE}")
        if key == "Shift+Tab":
            page.evaluate("scrollTo(0, document.documentElement.scrollHeight)")
            page.locator("footer a").last.focus()
        covered = []
        for _ in range(80):
            page.keyboard.press(key)
            stop = page.evaluate(OBSCURED)
            if stop is None:
                break
            if stop["covered"]:
                covered.append(stop)
        assert covered == []


def test_bar_takes_its_own_space_before_the_header(browser: Any, live_server: Any) -> None:
    with tab(browser, live_server, viewport={"width": 320, "height": 568}) as page:
        page.goto(f"{live_server.url}/sv/")
        bar = page.locator(BAR).bounding_box()
        header = page.locator("header").bounding_box()
        assert bar is not None and header is not None
        assert bar["y"] == 0 and bar["y"] + bar["height"] <= header["y"] + 0.5
        assert bar["height"] <= 60, "the bar must stay one row high on a phone"


def test_button_is_outlined_in_forced_colours(browser: Any, live_server: Any) -> None:
    """High-contrast themes drop background colours: the button keeps a border to be seen."""
    with tab(browser, live_server, forced_colors="active") as page:
        page.goto(f"{live_server.url}/sv/")
        style = page.eval_on_selector(
            BUTTON,
            "(el) => { const s = getComputedStyle(el);"
            " return [s.borderTopStyle, parseFloat(s.borderTopWidth)] }",
        )
        assert style[0] == "solid" and style[1] >= 2


# The landmark around an element, and that landmark's name (a section's, from aria-labelledby).
LANDMARK = """(selector) => {
  const landmark = document.querySelector(selector).closest(
    "header, nav, main, footer, aside, section[aria-label], section[aria-labelledby], [role]");
  if (!landmark) return null;
  const by = landmark.getAttribute("aria-labelledby");
  return {tag: landmark.tagName.toLowerCase(),
          name: by ? document.getElementById(by).textContent.trim() : landmark.ariaLabel};
}"""


@pytest.mark.parametrize(
    "path", ["/sv/", "/ar/", "/sv/finns-inte", "/en/tillganglighet/rapportera"]
)
def test_the_quick_exit_is_inside_a_landmark(browser: Any, live_server: Any, path: str) -> None:
    """axe's best-practice rule `region`: no content outside a landmark, the quick exit included."""
    locale = path.split("/")[1]
    # Not `tab`: the not-found page's own 404 is a console error there.
    with watched_context(browser, live_server.url) as (context, _log):
        page = context.new_page()
        page.goto(f"{live_server.url}{path}")
        assert axe_rule_violations(page, ["region"]) == []
        landmark = page.evaluate(LANDMARK, BUTTON)
        name = translate(live_server.app, locale, "Leave this page quickly")
        assert landmark == {"tag": "section", "name": name}
