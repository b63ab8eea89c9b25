"""Read-along in Debian's Chromium: the sentence heard is highlighted, "Read from here" starts
the recording at a block, and the page stays accessible while it reads.

The built site's recordings and their timing tracks (WebVTT) come from the shared build
(fixtures_servers.py's `built_live_server`), so these tests run in its xdist group. Most move
the player's clock by hand (`currentTime`); one plays the recording for real, fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from typing import Any

import pytest

from tests.fixtures_servers import BuiltLiveServer
from tests.helpers import (
    SCREENSHOTS,
    RequestLog,
    assert_no_axe_violations,
    nu_errors,
    translate,
    watched_context,
)

PAGES = {"sv": "/sv/om-gvi", "en": "/en/om-gvi", "fi": "/fi/om-gvi", "ar": "/ar/om-gvi"}
EASY = "/sv/lattlast/om-gvi"
SELKO = "/fi/selko/om-gvi"  # selkosuomi, the Finnish easy-to-read pages
PACES = {"normal": 0, "slow": 1}  # index of the player near the top: normal pace, then slow
SHOTS = SCREENSHOTS / "readalong"

# The tracks of every player have their cues, and the script has added its buttons.
READY = """() => [...document.querySelectorAll("audio > track[kind=metadata]")]
    .every((track) => track.readyState === 2) && document.querySelector(".read-from") !== null"""
# The browser knows the recording's length: only then does setting currentTime move the clock.
LOAD_METADATA = """async (index) => {
  const audio = document.querySelectorAll("audio")[index];
  if (audio.readyState >= 1) return;
  await new Promise((loaded) => {
    audio.addEventListener("loadedmetadata", loaded, { once: true });
    audio.preload = "metadata";
    audio.load();
  });
}"""
CUES = """(index) => [...document.querySelectorAll("audio")[index].textTracks[0].cues]
    .map((cue) => ({ start: cue.startTime, end: cue.endTime, id: cue.text.trim() }))"""
SEEK = """([index, time]) => { document.querySelectorAll("audio")[index].currentTime = time; }"""
HIGHLIGHTED = """() => [...document.querySelectorAll(".reading")].map((element) => element.id)"""
PLAYERS = """() => [...document.querySelectorAll("audio")]
    .map((audio) => ({ paused: audio.paused, time: audio.currentTime }))"""


@pytest.fixture
def opened(browser: Any, built_live_server: BuiltLiveServer) -> Iterator[Any]:
    """Return a function that opens a page in a fresh tab (options: viewport, forced colours)."""
    logs: list[RequestLog] = []
    with ExitStack() as stack:

        def open_page(path: str, **options: Any) -> Any:
            options.setdefault("viewport", {"width": 1280, "height": 800})
            context, log = stack.enter_context(
                watched_context(browser, built_live_server.url, **options)
            )
            logs.append(log)
            tab = context.new_page()
            tab.set_default_timeout(15_000)
            response = tab.goto(f"{built_live_server.url}{path}")
            assert response is not None and response.status == 200
            tab.wait_for_function(READY)
            return tab

        yield open_page
        for log in logs:  # a refused script or style (the CSP) shows up as a console error
            assert (log.foreign, log.console_errors) == ([], [])


def cues(tab: Any, player: int) -> list[dict[str, Any]]:
    """Return the player's cues: start, end and the id of the element each names."""
    return tab.evaluate(CUES, player)


def highlight_at(tab: Any, player: int, cue: dict[str, Any]) -> list[str]:
    """Move the player's clock into the middle of a cue; return what is highlighted then."""
    tab.evaluate(LOAD_METADATA, player)
    tab.evaluate(SEEK, [player, (cue["start"] + cue["end"]) / 2])
    return wait_for_highlight(tab, [cue["id"]])


def wait_for_highlight(tab: Any, wanted: list[str]) -> list[str]:
    """Wait (a few seconds at most) until exactly `wanted` is highlighted; return what is."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # A timeout is no failure here: the caller's assertion says what was highlighted instead.
    with suppress(PlaywrightTimeout):
        tab.wait_for_function(
            "(wanted) => JSON.stringify([...document.querySelectorAll('.reading')]"
            ".map((element) => element.id)) === JSON.stringify(wanted)",
            arg=wanted,
            timeout=5_000,
        )
    return tab.evaluate(HIGHLIGHTED)


def middle_cue(tab: Any, player: int) -> dict[str, Any]:
    """Return a cue from the middle of the recording that names a sentence of the text."""
    spoken = [cue for cue in cues(tab, player) if cue["id"] not in ("s--title", "s--updated")]
    return spoken[len(spoken) // 2]


IN_VIEW = """(id) => {
  const box = document.getElementById(id).getBoundingClientRect();
  const bar = document.querySelector("[data-quick-exit-root]").getBoundingClientRect();
  return box.top >= bar.bottom - 1 && box.bottom <= window.innerHeight + 1;
}"""


def in_view(tab: Any, element_id: str) -> bool:
    """Return whether the element is in the window, below the quick-exit bar, after any scroll."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with suppress(PlaywrightTimeout):
        tab.wait_for_function(IN_VIEW, arg=element_id, timeout=3_000)
    return tab.evaluate(IN_VIEW, element_id)


def shoot(tab: Any, name: str) -> None:
    """Save the window as the reader sees it, to be looked at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"readalong-{name}.png"))


# --- The highlight ------------------------------------------------------------------------------


@pytest.mark.parametrize("pace", PACES)
@pytest.mark.parametrize("locale", PAGES)
def test_the_sentence_being_heard_is_highlighted_and_only_it(
    opened: Any, locale: str, pace: str
) -> None:
    tab = opened(PAGES[locale])
    player = PACES[pace]
    assert tab.evaluate(HIGHLIGHTED) == [], "nothing is highlighted before the listener starts"
    timed = cues(tab, player)
    assert timed, "the player's timing track has no cues"
    cue = middle_cue(tab, player)
    assert highlight_at(tab, player, cue) == [cue["id"]]
    assert tab.locator(f"#{cue['id']}").inner_text().strip(), "the cue names an empty element"
    assert in_view(tab, cue["id"])
    # The next sentence takes the highlight from it; the last cue, far down, is scrolled to.
    following = timed[timed.index(cue) + 1]
    if following["id"] != cue["id"]:
        assert highlight_at(tab, player, following) == [following["id"]]
    last = timed[-1]
    assert highlight_at(tab, player, last) == [last["id"]]
    assert in_view(tab, last["id"])


# Seek, and look where the window is the moment the highlight moves (the observer runs right
# after the script's own handler): a smooth scroll would still be near the top.
JUMPED = """([index, time, id]) => new Promise((done) => {
  const element = document.getElementById(id);
  const watch = new MutationObserver(() => {
    if (!element.classList.contains("reading")) return;
    watch.disconnect();
    const box = element.getBoundingClientRect();
    done({ scrolled: window.scrollY, top: box.top, bottom: box.bottom, height: innerHeight });
  });
  watch.observe(element, { attributes: true, attributeFilter: ["class"] });
  document.querySelectorAll("audio")[index].currentTime = time;
})"""


def test_with_reduced_motion_the_window_jumps_to_the_sentence_at_once(opened: Any) -> None:
    tab = opened(PAGES["sv"], reduced_motion="reduce")
    last = cues(tab, 0)[-1]
    tab.evaluate(LOAD_METADATA, 0)
    at = tab.evaluate(JUMPED, [0, (last["start"] + last["end"]) / 2, last["id"]])
    # In view already as the highlight lands: no animation carries the page there.
    assert at["scrolled"] > 0 and at["top"] >= 0 and at["bottom"] <= at["height"], at


@pytest.mark.parametrize("locale", PAGES)
def test_read_from_here_starts_the_player_at_the_blocks_first_sentence(
    opened: Any, built_live_server: BuiltLiveServer, locale: str
) -> None:
    tab = opened(PAGES[locale])
    label = translate(built_live_server.app, locale, "Read from here")
    buttons = tab.locator("article .read-from")
    assert buttons.count() >= 3
    for index in range(buttons.count()):
        button = buttons.nth(index)
        assert button.inner_text().strip() == label
        assert button.evaluate("(b) => b.type") == "button"
    # A paragraph's button, not the first: its start is no accident of the clock being at 0.
    paragraph = tab.locator("article p:not(:first-of-type) > .read-from").nth(1)
    first = paragraph.get_attribute("aria-describedby")
    assert first and first.startswith("s--")
    start = next(cue["start"] for cue in cues(tab, 0) if cue["id"] == first)
    paragraph.click()
    tab.evaluate("() => document.querySelectorAll('audio')[0].pause()")
    state = tab.evaluate(PLAYERS)
    assert abs(state[0]["time"] - start) < 0.5, f"the player is at {state[0]['time']}, not {start}"
    assert tab.evaluate(HIGHLIGHTED) == [first]
    # The slow player used last: the next "Read from here" starts it, at its own timing.
    tab.evaluate(LOAD_METADATA, 1)
    tab.evaluate("() => document.querySelectorAll('audio')[1].play()")
    tab.wait_for_function("() => !document.querySelectorAll('audio')[1].paused")
    heading = tab.locator("article h2 + p > .read-from, article h2 + ul > li > .read-from").first
    first = heading.get_attribute("aria-describedby")
    heading.click()
    slow_start = next(cue["start"] for cue in cues(tab, 1) if cue["id"] == first)
    tab.evaluate("() => document.querySelectorAll('audio')[1].pause()")
    state = tab.evaluate(PLAYERS)
    assert abs(state[1]["time"] - slow_start) < 0.5
    assert state[0]["paused"]
    # Under a heading the section's button reads the heading first.
    assert tab.evaluate(f"() => document.getElementById('{first}').closest('h2') !== null")


def test_buttons_are_only_in_the_article_and_each_names_its_sentence(opened: Any) -> None:
    tab = opened(PAGES["sv"])
    assert tab.locator("header .read-from, footer .read-from, nav .read-from").count() == 0
    described = tab.evaluate(
        """() => [...document.querySelectorAll(".read-from")].map((button) => {
          const box = button.getBoundingClientRect();
          const sentence = document.getElementById(button.getAttribute("aria-describedby"));
          return { width: box.width, height: box.height, text: sentence && sentence.textContent };
        })"""
    )
    assert all(button["text"] for button in described)
    assert len({button["text"] for button in described}) == len(described), "told apart"
    assert all(button["width"] >= 24 and button["height"] >= 24 for button in described)
    # No live region: a screen reader is not made to speak over the recording.
    assert tab.locator("article [aria-live], article [role=status]").count() == 0


# --- Playing for real -------------------------------------------------------------------------


def test_playing_moves_the_highlight_and_one_player_plays_at_a_time(opened: Any) -> None:
    tab = opened(PAGES["sv"])
    tab.locator("article p > .read-from").first.click()
    tab.evaluate("() => { document.querySelectorAll('audio')[0].playbackRate = 4; }")
    started = tab.evaluate(HIGHLIGHTED)
    tab.wait_for_function(
        "(was) => { const now = document.querySelector('.reading');"
        " return now && now.id !== was; }",
        arg=started[0],
        timeout=20_000,
    )
    # The highlight is the active cue's element, and only it.
    active = tab.evaluate(
        """() => { const cues = document.querySelectorAll("audio")[0].textTracks[0].activeCues;
                   return [...cues].map((cue) => cue.text.trim()); }"""
    )
    highlighted = tab.evaluate(HIGHLIGHTED)
    assert len(highlighted) == 1 and (not active or highlighted[0] == active[-1])
    # The copy of the same recording at the end of the page: starting it pauses the first.
    tab.evaluate("() => document.querySelectorAll('audio')[2].play()")
    tab.wait_for_function("() => document.querySelectorAll('audio')[0].paused")
    playing = [index for index, state in enumerate(tab.evaluate(PLAYERS)) if not state["paused"]]
    assert playing == [2]
    # Paused, the highlight stays where the listener stopped; at the end it goes.
    tab.evaluate("() => document.querySelectorAll('audio')[2].pause()")
    assert len(tab.evaluate(HIGHLIGHTED)) == 1
    tab.evaluate(
        """() => { const audio = document.querySelectorAll("audio")[2];
                   audio.currentTime = audio.duration - 0.3; audio.play(); }"""
    )
    tab.wait_for_function("() => document.querySelectorAll('audio')[2].ended", timeout=10_000)
    assert wait_for_highlight(tab, []) == []


# --- Accessibility while reading --------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES.values(), EASY, SELKO])
def test_the_page_passes_axe_and_nu_while_reading(opened: Any, path: str) -> None:
    tab = opened(path)
    cue = middle_cue(tab, 0)
    assert highlight_at(tab, 0, cue) == [cue["id"]]
    # Back at the top, the highlight still on: scrolled to a sentence, a menu link half under
    # the sticky quick-exit bar fails axe's target-size rule, as on any page scrolled by hand.
    tab.evaluate("() => window.scrollTo(0, 0)")
    tab.locator(".read-from").nth(1).focus()  # its focus style is checked too
    assert_no_axe_violations(tab)
    assert nu_errors({f"{path} (reading)": tab.content()}) == []


def contrast(first: str, second: str) -> float:
    """Return the WCAG contrast ratio of two computed `rgb(...)` colours."""

    def luminance(colour: str) -> float:
        red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", colour)[:3])
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


COLOURS = """(id) => {
  const style = (element) => {
    const computed = getComputedStyle(element);
    return { color: computed.color, background: computed.backgroundColor,
             shadow: computed.boxShadow, page: getComputedStyle(document.body).backgroundColor };
  };
  const reading = document.getElementById(id);
  const other = [...document.querySelectorAll("article span.s")].find((s) => s !== reading);
  return { reading: style(reading), other: style(other) };
}"""


def test_the_highlight_has_contrast_and_a_mark_besides_colour(opened: Any) -> None:
    tab = opened(PAGES["sv"])
    cue = middle_cue(tab, 0)
    highlight_at(tab, 0, cue)
    seen = tab.evaluate(COLOURS, cue["id"])["reading"]
    assert contrast(seen["color"], seen["background"]) >= 4.5
    # The fill is pale; the bar under each line is what shows it against the page.
    bar = re.match(r"(rgba?\([^)]*\))", seen["shadow"])
    assert bar, f"no bar under the highlight: {seen['shadow']}"
    assert contrast(bar.group(1), seen["page"]) >= 3
    shoot(tab, "1280")


def test_forced_colours_show_the_highlight_in_the_users_own_colours(opened: Any) -> None:
    tab = opened(PAGES["sv"], forced_colors="active")
    cue = middle_cue(tab, 0)
    assert highlight_at(tab, 0, cue) == [cue["id"]]
    seen = tab.evaluate(COLOURS, cue["id"])
    assert seen["reading"]["color"] != seen["other"]["color"]
    assert seen["reading"]["background"] != seen["other"]["background"]
    assert contrast(seen["reading"]["color"], seen["reading"]["background"]) >= 4.5
    border = tab.locator(".read-from").first.evaluate("(b) => getComputedStyle(b).borderTopStyle")
    assert border != "none", "the button keeps its outline in forced colours"
    shoot(tab, "forced-colours")


def test_at_320_px_the_buttons_fit_and_an_easy_to_read_page_reads_along(opened: Any) -> None:
    tab = opened(EASY, viewport={"width": 320, "height": 640})
    cue = middle_cue(tab, 0)
    assert highlight_at(tab, 0, cue) == [cue["id"]]
    tab.wait_for_timeout(1_000)
    assert in_view(tab, cue["id"])
    wide = tab.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not wide, "sideways scrolling at 320 px"
    shoot(tab, "320")


def test_arabic_reads_along_right_to_left(opened: Any) -> None:
    tab = opened(PAGES["ar"])
    cue = middle_cue(tab, 1)
    assert highlight_at(tab, 1, cue) == [cue["id"]]
    tab.wait_for_timeout(1_000)
    # The button starts its paragraph on the right, where Arabic text begins.
    box = tab.locator("article p > .read-from").first.bounding_box()
    text = tab.locator("article p:has(> .read-from)").first.bounding_box()
    assert box and text and box["x"] + box["width"] > text["x"] + text["width"] - 40
    shoot(tab, "arabic")


def test_without_javascript_the_players_are_the_browsers_own(
    browser: Any, built_live_server: BuiltLiveServer
) -> None:
    with watched_context(browser, built_live_server.url, java_script_enabled=False) as (
        context,
        _log,
    ):
        tab = context.new_page()
        tab.goto(f"{built_live_server.url}{PAGES['sv']}")
        assert tab.locator(".read-from, .reading").count() == 0
        assert tab.locator("audio[controls] > track[kind=metadata]").count() == 4
