"""The recordings' timings (WebVTT): one cue a sentence, naming an element on the page, and
each cue where its sentence is heard, within 0.25 s, at both paces in every language.

These read the session's real build (test_formats.py's `built`) and the pages as served.
"""

from __future__ import annotations

import array
import re
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from gvisite.formats.catalogue import COMPANIONS
from gvisite.formats.convert import prepare
from gvisite.formats.source import STATEMENT, render_source
from gvisite.formats.store import Store
from gvisite.formats.text import to_sentences
from gvisite.i18n import LOCALES
from tests.formats import test_formats as shared
from tests.formats.test_formats import Built, built_file, fetch, need, page_url
from tests.helpers import parse

built, client = shared.built, shared.client
PACES = {"mp3": "vtt", "mp3-slow": "vtt-slow"}
SILENCE = 300  # a 16-bit sample quieter than this is silence (espeak-ng's pauses are 0)
TOLERANCE = 0.25  # seconds a cue may be off where its sentence is heard (issue #27)
_CUE = re.compile(r"^(\d+)\n(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(.+)$")


def cues(text: str) -> list[tuple[str, float, float, str]]:
    """Read a WebVTT file's cues: identifier, start, end, text (one line each)."""
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    found = []
    for block in blocks[1:]:
        match = _CUE.match(block)
        assert match is not None, block
        parts = [int(n) for n in match.groups()[1:9]]
        start = parts[0] * 3600 + parts[1] * 60 + parts[2] + parts[3] / 1000
        end = parts[4] * 3600 + parts[5] * 60 + parts[6] + parts[7] / 1000
        found.append((match[1], start, end, match[10]))
    return found


def sound(mp3: Path, folder: Path) -> tuple[int, array.array[int]]:
    """Decode a recording with lame: its sample rate and samples."""
    decoded = folder / f"{mp3.name}.wav"
    subprocess.run(["lame", "--quiet", "--decode", str(mp3), str(decoded)], check=True)
    with wave.open(str(decoded)) as wav:
        return wav.getframerate(), array.array("h", wav.readframes(wav.getnframes()))


def heard(samples: array.array[int], rate: int, start: float, end: float) -> bool:
    """Tell whether any 10 ms window between two times has sound."""
    step = rate // 100
    first, last = max(0, int(start * rate)), min(len(samples), int(end * rate))
    return any(
        max(samples[at : at + step]) >= SILENCE or min(samples[at : at + step]) <= -SILENCE
        for at in range(first, max(first, last - step) + 1, step)
    )


def pause_near(samples: array.array[int], rate: int, start: float) -> bool:
    """Tell whether 30 ms of silence lie in the 0.25 s before a time (and 20 ms after it)."""
    window = int(rate * 0.03)
    first, last = int((start - TOLERANCE) * rate), int((start + 0.02) * rate)
    return any(
        max(samples[at : at + window]) < SILENCE and min(samples[at : at + window]) > -SILENCE
        for at in range(max(0, first), last - window + 1, rate // 200)
    )


@pytest.mark.parametrize("locale", list(LOCALES))
@pytest.mark.parametrize("key", list(PACES))
def test_each_cue_starts_where_its_sentence_is_heard(
    built: Built, locale: str, key: str, tmp_path: Path
) -> None:
    need(built, key)
    timings = COMPANIONS[PACES[key]]
    for name in ("om-gvi", STATEMENT):
        where = (locale, name, key)
        vtt = Store(built.folder).file(locale, name, timings).read_text(encoding="utf-8")
        found = cues(vtt)
        source = render_source(built.app, locale, name)
        assert source is not None
        prepared = prepare(built.app, source)
        spoken = to_sentences(source.title, prepared.doc, prepared.labels)
        # One cue a sentence, in reading order, each naming the element that shows it.
        assert [text for _, _, _, text in found] == [s.element for s in spoken if s.element]
        assert [number for number, *_ in found] == [str(n) for n in range(1, len(found) + 1)]
        rate, samples = sound(built_file(built, locale, name, key), tmp_path)
        length = len(samples) / rate
        for (_, start, end, text), (_, following, _, _) in zip(
            found, [*found[1:], found[-1]], strict=True
        ):
            assert 0 <= start < end <= length + TOLERANCE, (where, text, start, end, length)
            # The voice is heard within 0.25 s after the cue starts, and the pause between this
            # sentence and the one before lies within 0.25 s before it: the cue is neither
            # early nor late by more than that.
            assert heard(samples, rate, start, start + TOLERANCE), (where, text, start)
            if start > 0:
                assert pause_near(samples, rate, start), (where, text, start)
            assert end == following or end == found[-1][2]
        assert found[-1][2] == pytest.approx(length, abs=TOLERANCE), where


@pytest.mark.parametrize("locale", list(LOCALES))
def test_every_cue_names_an_element_of_the_page_and_the_players_load_them(
    built: Built, client: Any, locale: str
) -> None:
    need(built, "mp3")
    for name in ("index", "om-gvi", STATEMENT):
        page = parse(fetch(client, page_url(locale, name)).data)
        ids = {element["id"] for element in page.select("[id]")}
        for audio in page.select("div.listen audio"):
            [track] = audio.select("track")
            assert track["kind"] == "metadata" and track["srclang"] == locale
            response = fetch(client, track["src"])
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "text/vtt; charset=utf-8"
            assert response.headers["Content-Disposition"].startswith("inline")
            named = {text for _, _, _, text in cues(response.get_data(as_text=True))}
            assert named and named <= ids, (locale, name, sorted(named - ids))
