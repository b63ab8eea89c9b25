"""Every public page in Debian's Chromium: axe-core, the Nu checker, privacy, keyboard, reflow."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.crawler import PageChecks, failure_report
from tests.helpers import (
    RequestLog,
    app_sitemap_paths,
    assert_no_axe_violations,
    nu_errors,
    require_nu_checker,
    sitemap_paths,
    watched_context,
)

# Every address in the sitemap, all locales; read at collection time so each is its own test.
PATHS = app_sitemap_paths()
HOMES = ["/sv/", "/fi/", "/en/", "/ar/"]
ARABIC = [path for path in PATHS if path.startswith("/ar/")]
# One page of each kind of template: home, prose, news list, news item, nested, easy-to-read, 404.
SAMPLES = [
    "/sv/",
    "/sv/om-gvi",
    "/sv/nyheter",
    "/sv/nyheter/jarfalla-infor-gvi",
    "/sv/om-webbplatsen/kakor",
    "/sv/lattlast",
    "/ar/",
    "/sv/finns-inte",
    *[path for path in PATHS if "tillganglighet" in path and path.startswith("/sv/")],
]


def fetch(url: str) -> tuple[int, str]:
    """GET an address from the live server; return the status and the text."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode("utf-8")


@pytest.fixture(scope="module")
def desktop(browser: Any, live_server: Any) -> Iterator[tuple[Any, RequestLog]]:
    """One desktop-sized tab for the module, with every outside request blocked and logged."""
    with watched_context(browser, live_server.url, viewport={"width": 1280, "height": 800}) as (
        context,
        log,
    ):
        yield context.new_page(), log


@pytest.fixture(scope="module")
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """One 320 CSS px wide tab: the width WCAG 1.4.10 (Reflow) asks content to fit."""
    with watched_context(browser, live_server.url, viewport={"width": 320, "height": 640}) as (
        context,
        _log,
    ):
        yield context.new_page()


# The forms themselves, not their lättläst introductions (/sv/lattlast/tillganglighet/...).
FORM_PATH = re.compile(r"^/[a-z]{2}/tillganglighet/(rapportera|alternativt-format)$")


def open_page(tab: Any, log: RequestLog | None, url: str, status: int = 200) -> None:
    """Open an address in a tab, starting from a clean log and no cookies."""
    if log is not None:
        log.clear()
    tab.context.clear_cookies()
    response = tab.goto(url, wait_until="load")
    assert response is not None and response.status == status, url


def test_sitemap_lists_the_same_pages_as_the_live_site(live_server: Any) -> None:
    status, body = fetch(f"{live_server.url}/sitemap.xml")
    assert status == 200
    assert sitemap_paths(body) == PATHS
    assert {path.split("/")[1] for path in PATHS} == {"sv", "fi", "en", "ar"}


# Each page is loaded once for every per-page check below and in test_crawl.py: the crawler's
# pass over the built site (tests/crawler.py `page_checks`), as a first visit with no cookie.


@pytest.mark.parametrize("path", PATHS)
def test_page_passes_axe(page_checks: PageChecks, path: str) -> None:
    seen = page_checks.page(path)
    assert seen.axe_failures == 0 and seen.axe == [], failure_report(seen.axe)


@pytest.mark.parametrize("path", PATHS)
def test_page_loads_nothing_from_elsewhere_and_sets_no_cookie(
    page_checks: PageChecks, path: str
) -> None:
    seen = page_checks.page(path)
    assert seen.foreign == []
    assert seen.hosts == {page_checks.origin.removeprefix("http://")}
    # Reading sets no cookie. A form page sets the one strictly necessary session cookie
    # for its CSRF token, as the "Om kakor" page says; it must be HttpOnly and SameSite.
    if FORM_PATH.search(path):
        assert [c["name"] for c in seen.cookies] == ["session"]
        assert seen.cookies[0]["httpOnly"] and seen.cookies[0]["sameSite"] == "Lax"
    else:
        assert seen.cookies == []
    assert seen.console_errors == [], "console errors (a CSP refusal shows up here)"


def test_not_found_page_passes_axe(desktop: tuple[Any, RequestLog], live_server: Any) -> None:
    tab, log = desktop
    open_page(tab, log, f"{live_server.url}/sv/finns-inte", status=404)
    assert_no_axe_violations(tab)
    assert log.foreign == []


def test_every_page_is_valid_html(live_server: Any) -> None:
    require_nu_checker()
    documents = {}
    for path in [*PATHS, "/sv/finns-inte", "/ar/finns-inte"]:
        _status, documents[path] = fetch(f"{live_server.url}{path}")
    errors = nu_errors(documents)
    assert errors == [], f"{len(errors)} HTML error(s):\n" + "\n".join(errors)


HEAD = '<!DOCTYPE html><html lang="sv"><head><title>T</title></head>'


def test_nu_checker_reports_invalid_html() -> None:
    """The validator itself works: an invalid document is caught and named."""
    errors = nu_errors(
        {
            "valid": f"{HEAD}<body><p>Hej</p></body></html>",
            "broken": f"{HEAD}<body><p>Hej</div></body></html>",
        }
    )
    assert len(errors) == 1 and errors[0].startswith("broken:1: Stray end tag")


# --- Keyboard ---------------------------------------------------------------------------------

ACTIVE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  return {tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute("href"),
          inMain: !!el.closest("main"), inHeader: !!el.closest("header"),
          visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight};
}"""


@pytest.mark.parametrize("path", [*HOMES, "/sv/nyheter/jarfalla-infor-gvi"])
def test_first_tab_focuses_skip_link_and_enter_moves_into_main(
    desktop: tuple[Any, RequestLog], live_server: Any, path: str
) -> None:
    tab, log = desktop
    open_page(tab, log, f"{live_server.url}{path}")
    tab.keyboard.press("Tab")
    first = tab.evaluate(ACTIVE)
    assert first is not None and first["href"] == "#main", first
    assert first["visible"], "the skip link must be visible when it has focus"
    tab.keyboard.press("Enter")
    focused = tab.evaluate(ACTIVE)
    assert focused is not None and (focused["tag"], focused["id"]) == ("main", "main"), focused
    tab.keyboard.press("Tab")
    after = tab.evaluate(ACTIVE)
    assert after is not None and not after["inHeader"], f"Tab went back to the header: {after}"


# Styles that can show focus; sampled before any focus, then on each element as Tab reaches it.
FOCUS_STYLE = """(el) => {
  const s = getComputedStyle(el);
  const outline = `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`;
  return {outline: s.outlineStyle === "none" ? "none" : outline,
          outlineWidth: parseFloat(s.outlineWidth) || 0, outlineStyle: s.outlineStyle,
          shadow: s.boxShadow, background: s.backgroundColor, border: s.borderColor};
}"""
FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]"
SAMPLE_UNFOCUSED = f"""() => {{
  const style = {FOCUS_STYLE};
  window.__unfocused = new Map();
  for (const el of document.querySelectorAll('{FOCUSABLE}')) window.__unfocused.set(el, style(el));
  window.__style = style;
}}"""
FOCUSED_NOW = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  if (el.dataset.tabSeen) return {repeat: true};
  el.dataset.tabSeen = "1";
  const name = el.getAttribute("href") || el.name || el.id || "";
  const text = (el.textContent || "").trim().slice(0, 40);
  return {label: `${el.tagName.toLowerCase()} ${name} "${text}"`,
          before: window.__unfocused.get(el) || null, after: window.__style(el)};
}"""


def tab_through(tab: Any, limit: int = 300) -> list[dict[str, Any]]:
    """Press Tab until focus has visited every element once; return each one's styles."""
    tab.evaluate(SAMPLE_UNFOCUSED)
    seen = []
    for _ in range(limit):
        tab.keyboard.press("Tab")
        state = tab.evaluate(FOCUSED_NOW)
        if state is None or state.get("repeat"):
            break
        seen.append(state)
    return seen


FOCUS_SIGNS = ("outline", "shadow", "background", "border")


def focus_problems(stops: list[dict[str, Any]]) -> list[str]:
    """Describe each focus stop whose look does not change when it gets focus."""
    problems = []
    for stop in stops:
        before, after = stop["before"], stop["after"]
        if before is None:
            problems.append(f"{stop['label']}: focusable but not a link or control")
            continue
        changed = [key for key in FOCUS_SIGNS if before[key] != after[key]]
        strong_outline = after["outlineStyle"] != "none" and after["outlineWidth"] >= 2
        if not changed or not (strong_outline or "shadow" in changed):
            problems.append(f"{stop['label']}: no visible focus indicator ({after})")
    return problems


@pytest.mark.parametrize("path", SAMPLES)
def test_every_link_and_control_shows_focus(
    desktop: tuple[Any, RequestLog], live_server: Any, path: str
) -> None:
    tab, log = desktop
    open_page(tab, log, f"{live_server.url}{path}", status=404 if "finns-inte" in path else 200)
    stops = tab_through(tab)
    assert len(stops) >= 10, f"only {len(stops)} focus stops"
    assert focus_problems(stops) == []


@pytest.mark.parametrize("path", ["/sv/", "/ar/", "/sv/om-gvi"])
def test_focus_stays_visible_in_forced_colours(
    desktop: tuple[Any, RequestLog], live_server: Any, path: str
) -> None:
    """Windows High Contrast replaces colours and shadows, so the outline must carry focus."""
    tab, log = desktop
    tab.emulate_media(forced_colors="active")
    try:
        open_page(tab, log, f"{live_server.url}{path}")
        stops = tab_through(tab)
    finally:
        tab.emulate_media(forced_colors="none")
    assert stops
    missing = [
        f"{stop['label']}: {stop['after']}"
        for stop in stops
        if stop["after"]["outlineStyle"] == "none" or stop["after"]["outlineWidth"] < 2
    ]
    assert missing == []


# --- Reflow, zoom and direction ---------------------------------------------------------------

OVERFLOW = """() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 1
                 || el.getBoundingClientRect().left < -1)
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.slice(0, 30)}"`);
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide};
}"""


@pytest.mark.parametrize("path", PATHS)
def test_no_horizontal_scrolling_at_320_px_even_with_200_percent_text(
    phone: Any, live_server: Any, path: str
) -> None:
    open_page(phone, None, f"{live_server.url}{path}")
    assert phone.evaluate(OVERFLOW) is None
    # Text-only zoom (WCAG 1.4.4): the site sizes text in rem, so the root font size scales it.
    phone.evaluate("() => { document.documentElement.style.fontSize = '200%' }")
    assert phone.evaluate(OVERFLOW) is None


DIRECTION = """() => {
  const name = document.querySelector("header a:not([data-quick-exit])");
  const r = name.getBoundingClientRect();
  return {html: getComputedStyle(document.documentElement).direction,
          main: getComputedStyle(document.querySelector("main")).direction,
          gapLeft: r.left, gapRight: document.documentElement.clientWidth - r.right,
          h1Align: getComputedStyle(document.querySelector("h1")).textAlign};
}"""


@pytest.mark.parametrize("path", ARABIC)
def test_arabic_pages_read_right_to_left(
    desktop: tuple[Any, RequestLog], live_server: Any, path: str
) -> None:
    tab, log = desktop
    open_page(tab, log, f"{live_server.url}{path}")
    layout = tab.evaluate(DIRECTION)
    assert layout["html"] == layout["main"] == "rtl"
    assert layout["gapRight"] < layout["gapLeft"], f"the site name is not on the right: {layout}"


def test_swedish_pages_read_left_to_right(
    desktop: tuple[Any, RequestLog], live_server: Any
) -> None:
    tab, log = desktop
    open_page(tab, log, f"{live_server.url}/sv/")
    layout = tab.evaluate(DIRECTION)
    assert layout["html"] == "ltr"
    assert layout["gapLeft"] < layout["gapRight"]


# --- Quick exit -------------------------------------------------------------------------------


def stub_quick_exit(tab: Any, address: str) -> None:
    """Answer the neutral site locally (outside hosts are blocked) with a plain page."""
    tab.route(
        f"{address.rstrip('/')}/**",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body="<!DOCTYPE html><title>Väder</title>",
        ),
    )


def test_quick_exit_leaves_no_way_back(browser: Any, live_server: Any) -> None:
    address = live_server.app.extensions["gvisite.site"].facts["quick_exit_url"]
    with watched_context(browser, live_server.url) as (context, _log):
        tab = context.new_page()
        stub_quick_exit(tab, address)
        tab.goto(f"{live_server.url}/sv/")
        tab.goto(f"{live_server.url}/sv/lamna-kriminalitet")
        length = tab.evaluate("history.length")
        with tab.expect_navigation(url=f"{address.rstrip('/')}/**"):
            tab.click("a[data-quick-exit]")
        assert tab.title() == "Väder"
        assert tab.evaluate("history.length") == length, "quick exit added a history entry"
        tab.go_back()
        assert tab.url == f"{live_server.url}/sv/", "Back returned to the page the reader left"


def test_quick_exit_works_without_javascript(browser: Any, live_server: Any) -> None:
    address = live_server.app.extensions["gvisite.site"].facts["quick_exit_url"]
    with watched_context(browser, live_server.url, java_script_enabled=False) as (context, _):
        tab = context.new_page()
        stub_quick_exit(tab, address)
        tab.goto(f"{live_server.url}/sv/om-gvi")
        with tab.expect_navigation(url=f"{address.rstrip('/')}/**"):
            tab.click("a[data-quick-exit]")
        assert tab.title() == "Väder"
