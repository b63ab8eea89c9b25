"""Hear it slowly: "Listen" beside every page's title, at normal speed and slowly.

The slow recording is its own format (`mp3-slow`, `.langsam.mp3`); these tests read the files
the session's real build made (test_formats.py's `built`) and the pages as they are served.
"""

from __future__ import annotations

import array
import math
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from flask_babel import force_locale, ngettext

from gvisite import create_app
from gvisite.formats import build as formats_build
from gvisite.formats.catalogue import FORMATS
from gvisite.formats.convert import prepare, tool_versions
from gvisite.formats.source import STATEMENT, render_source
from gvisite.formats.text import to_sentences
from gvisite.i18n import LOCALES
from tests.conftest import app_config, close_database
from tests.fixtures_forms import ALT_FORMAT_MAILBOX, all_cases, all_messages, form_url, send_case
from tests.formats import test_formats as shared
from tests.formats.test_formats import Built, built_file, fetch, need, page_url, sources
from tests.helpers import assert_no_axe_violations, parse, require_tool, translate

# The built site, its test client, its live server and a browser tab: test_formats.py's.
built, client, served, tab = shared.built, shared.client, shared.served, shared.tab
RECORDINGS = ("mp3", "mp3-slow")
SILENCE = 300  # a 16-bit sample quieter than this is silence (espeak-ng's pauses are 0)


def players(page: BeautifulSoup) -> Tag | None:
    """Return the players beside the title, if the page has them."""
    return page.select_one("article > h1 + div.listen")


def labels(app: Any, locale: str) -> list[str]:
    """Return the players' labels, normal first, as the locale's catalog has them."""
    texts = ("At normal speed", "Slowly, with longer pauses")
    return [translate(app, locale, text) for text in texts]


def minutes_text(app: Any, locale: str, number: int) -> str:
    """Return "3 minutes" as the catalog of `locale` has it."""
    with app.test_request_context(f"/{locale}/"), force_locale(locale):
        return ngettext("%(num)d minute", "%(num)d minutes", number)


def pauses(mp3: Path, folder: Path) -> list[float]:
    """Return the lengths in seconds of the silences in a recording, decoded by lame."""
    decoded = folder / f"{mp3.stem}.wav"
    subprocess.run(["lame", "--quiet", "--decode", str(mp3), str(decoded)], check=True)
    with wave.open(str(decoded)) as wav:
        step = wav.getframerate() // 100  # 10 ms windows
        samples = array.array("h", wav.readframes(wav.getnframes()))
    found, run = [], 0
    for start in range(0, len(samples) - step, step):
        window = samples[start : start + step]
        if max(window) < SILENCE and min(window) > -SILENCE:
            run += 1
            continue
        if run:
            found.append(run / 100)
        run = 0
    return found


def test_sentences_end_at_a_full_stop_before_a_capital_or_arabic_not_inside_abbreviations() -> None:
    from gvisite.formats.text import sentences

    assert sentences("Ring oss, t.ex. på måndag. Vi svarar! Vad gäller det? Hej [2]") == [
        "Ring oss, t.ex. på måndag.", "Vi svarar!", "Vad gäller det?", "Hej."]  # fmt: skip
    assert sentences("يمكنك الحصول على المساعدة. اتصل بنا؟ نحن هنا") == [
        "يمكنك الحصول على المساعدة.", "اتصل بنا؟", "نحن هنا."]  # fmt: skip


def test_every_page_has_both_players_beside_its_title_in_its_language(
    built: Built, client: Any
) -> None:
    for key in RECORDINGS:
        need(built, key)
    from mutagen.mp3 import MP3

    for locale, name in sources(built):
        where = f"{locale}/{name}"
        page = parse(client.get(page_url(locale, name)).data)
        top = players(page)
        assert top is not None, where
        assert top.get_text(" ", strip=True).startswith(
            translate(built.app, locale, "Listen to the page")
        ), where
        shown = [span.get_text(strip=True) for span in top.select(".listen-label")]
        for text, label, key in zip(shown, labels(built.app, locale), RECORDINGS, strict=True):
            # "At normal speed (3 minutes)": the label, and how long the recording plays.
            length = MP3(built_file(built, locale, name, key)).info.length
            # Told from the file's size before it is loaded: the minute below or above.
            plays = {minutes_text(built.app, locale, max(1, n)) for n in (int(length // 60),
                     math.ceil(length / 60))}  # fmt: skip
            assert text.startswith(label), (where, text)
            assert any(text.endswith(f"({p})") for p in plays), (where, text, plays)
        audios = top.select("audio")
        assert [a["src"].rsplit("/", 1)[1] for a in audios] == [
            f"{name}{FORMATS[key].suffix}" for key in RECORDINGS
        ], where
        for audio in audios:
            assert audio.has_attr("controls") and audio["preload"] == "none", where
            # Each player is a group named by its visible label.
            group = audio.find_parent(attrs={"role": "group"})
            assert page.find(id=group["aria-labelledby"]).get_text(strip=True) in shown
            # A browser that cannot play it gets a download link to the same file.
            fallback = audio.find("a")
            assert fallback["href"] == audio["src"] and fallback.has_attr("download"), where
        block = page.select_one("section.other-formats")
        assert [a["src"] for a in block.select("audio")] == [a["src"] for a in audios], where
        listed = [a["href"] for a in block.select("ul a[type='audio/mpeg']")]
        assert listed == [a["src"] for a in audios], where  # both offered side by side
        assert top.find("script") is None  # plain HTML: it works without JavaScript


@pytest.mark.parametrize("locale", list(LOCALES))
def test_the_slow_file_is_served_as_audio_and_saved_with_its_own_name(
    built: Built, client: Any, locale: str
) -> None:
    need(built, "mp3-slow")
    response = fetch(client, f"/formats/{locale}/om-gvi.langsam.mp3")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    stem = "om-gvi" if locale == "sv" else f"om-gvi-{locale}"
    assert response.headers["Content-Disposition"] == f"inline; filename={stem}-langsam.mp3"
    assert response.data != fetch(client, f"/formats/{locale}/om-gvi.mp3").data


@pytest.mark.parametrize("locale", list(LOCALES))
def test_the_slow_version_is_slower_with_a_long_pause_after_each_sentence(
    built: Built, locale: str, tmp_path: Path
) -> None:
    need(built, "mp3-slow")
    from mutagen.mp3 import MP3

    for name in ("om-gvi", STATEMENT):
        normal = built_file(built, locale, name, "mp3")
        slow = built_file(built, locale, name, "mp3-slow")
        ratio = MP3(slow).info.length / MP3(normal).info.length
        assert ratio >= 1.3, (locale, name, ratio)
        assert MP3(slow).tags["TLAN"].text == [LOCALES[locale].id3_language]
        source = render_source(built.app, locale, name)
        assert source is not None
        page = prepare(built.app, source)
        gaps = len(to_sentences(source.title, page.doc, page.labels)) - 1
        long_in_slow = [p for p in pauses(slow, tmp_path) if p >= 1.0]
        long_in_normal = [p for p in pauses(normal, tmp_path) if p >= 1.0]
        # Nearly every gap between sentences is a pause of a second or more; in the normal
        # version hardly any is (its pauses are mostly under 0.6 s).
        assert len(long_in_slow) >= 0.9 * gaps, (locale, name, len(long_in_slow), gaps)
        assert len(long_in_normal) <= 0.1 * gaps, (locale, name, long_in_normal)


def test_no_player_until_the_recordings_are_built_then_at_once_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = tool_versions()
    for tool in ("espeak-ng", "lame"):
        require_tool(found.get(tool) is not None, tool)
    folder = tmp_path / "formats"
    config = app_config(tmp_path / "instance", FORMATS_DIR=str(folder))
    serving, builder = create_app(config), create_app(config)  # the refresher's child is another
    # The recordings and the formats without tools, for one page (PDF, braille, EPUB left out).
    speech = {tool: found[tool] for tool in ("espeak-ng", "lame")}
    monkeypatch.setattr(formats_build, "tool_versions", lambda: speech)
    monkeypatch.setattr(formats_build, "source_names", lambda _app: [("ar", "om-gvi")])
    try:
        client = serving.test_client()
        before = parse(client.get("/ar/om-gvi").data)
        assert players(before) is None and before.find("audio") is None  # no broken player
        assert client.get("/formats/ar/om-gvi.langsam.mp3").status_code == 404
        report = formats_build.build(builder)
        assert report.failed == [] and report.built["mp3-slow"] == 1
        # The same process, its pre-built page dropped by the change stamp: the players are there.
        after = parse(client.get("/ar/om-gvi").data)
        top = players(after)
        assert top is not None
        assert len(top.select("audio[controls][preload=none]")) == 2
        assert client.get("/formats/ar/om-gvi.langsam.mp3").status_code == 200
    finally:
        close_database(serving)
        close_database(builder)


# --- In the browser -------------------------------------------------------------------------


@pytest.mark.parametrize("locale", list(LOCALES))
def test_the_players_pass_axe_reflow_at_320_px_and_take_keyboard_focus(
    built: Built, served: str, tab: Any, locale: str
) -> None:
    need(built, "mp3-slow")
    for width in (1280, 320):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.goto(f"{served}/{locale}/om-gvi")
        assert tab.locator("div.listen audio[controls]").count() == 2
        assert_no_axe_violations(tab)
        fits = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        assert tab.evaluate(fits), (locale, width)
        box = tab.locator("div.listen audio").first.bounding_box()
        assert box["width"] >= 200 and box["x"] >= 0 and box["x"] + box["width"] <= width
        # Tab from the title reaches the normal player first, then the slow one.
        tab.evaluate("(h1 => { h1.tabIndex = -1; h1.focus(); })(document.querySelector('h1'))")
        tab.keyboard.press("Tab")
        focused = "document.activeElement.closest('.listen-player audio')?.src || ''"
        assert tab.evaluate(focused).endswith("/om-gvi.mp3"), (locale, width)
        outline = tab.evaluate(
            "getComputedStyle(document.querySelector('.listen-player audio')).outlineStyle"
        )
        assert outline == "solid"  # the focus indicator around the player
    direction = tab.evaluate("getComputedStyle(document.querySelector('div.listen')).direction")
    assert direction == ("rtl" if locale == "ar" else "ltr")
    tab.set_viewport_size({"width": 1280, "height": 900})


def test_the_players_stay_visible_and_pass_axe_in_forced_colours(
    built: Built, served: str, tab: Any
) -> None:
    need(built, "mp3-slow")
    tab.emulate_media(forced_colors="active")
    try:
        tab.goto(f"{served}/sv/om-gvi")
        assert_no_axe_violations(tab)
        border = tab.evaluate(
            "getComputedStyle(document.querySelector('div.listen')).borderTopStyle"
        )
        assert border == "solid"
        assert tab.locator("div.listen audio").first.is_visible()
    finally:
        tab.emulate_media(forced_colors="none")


def test_the_slow_player_plays_a_longer_recording(built: Built, served: str, tab: Any) -> None:
    need(built, "mp3-slow")
    tab.goto(f"{served}/sv/om-gvi")
    durations = tab.evaluate(
        """() => Promise.all([...document.querySelectorAll('div.listen audio')].map(audio =>
            new Promise((resolve, reject) => {
                audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
                audio.addEventListener('error', () => reject(audio.error && audio.error.code));
                audio.load();
            })))"""
    )
    normal, slow = durations
    assert normal > 10 and slow >= 1.3 * normal, durations


# --- Asking for it by hand ------------------------------------------------------------------


def test_the_request_form_offers_slow_reading_and_staff_are_told_what_was_asked(
    forms_app: Any, forms_client: Any
) -> None:
    wanted = "Read aloud slowly, with longer pauses (audio)"
    for locale in LOCALES:
        page = parse(forms_client.get(form_url(locale, "format")).data)
        radio = page.find("input", attrs={"type": "radio", "value": "ljud-langsam"})
        assert radio is not None, locale
        label = page.find("label", attrs={"for": radio["id"]}).get_text(strip=True)
        assert label == translate(forms_app, locale, wanted), locale
    reference = send_case(forms_client, "fi", "format", format="ljud-langsam")
    [case] = [c for c in all_cases(forms_app) if c.reference == reference]
    assert case.answers["format"] == "ljud-langsam"
    mails = [m for m in all_messages(forms_app) if ALT_FORMAT_MAILBOX in m.recipients]
    # Staff read the request in Swedish, the format named, not its code.
    staff_mail = next(m for m in mails if reference in m.subject)
    assert f"Format: {translate(forms_app, 'sv', wanted)}" in staff_mail.body
