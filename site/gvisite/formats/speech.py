"""The audio formats: the page read aloud by espeak-ng, at its normal pace and slowly.

Both are read sentence by sentence, by espeak-ng's library in one sandboxed process a page
(espeak_reader.py), and joined with silences of exact lengths: so where each sentence is heard
is known to the sample (the read-along's timings, the talking book), and espeak-ng's SSML
`<break time="..."/>`, no reliable pause at a slow rate, is not needed. Measured with espeak-ng
1.51 at 112 words a minute, three 700 ms breaks between four sentences lengthened the reading by
0.01 s (sv, fi, en, ar alike): a break is scaled by the rate and merged with the pause the voice
makes after a sentence anyway, so how long it lasts depends on the voice and the speed. Silence
written into the sound itself is as long as asked, in every language.
"""

from __future__ import annotations

import array
import io
import json
import wave
from dataclasses import dataclass
from pathlib import Path

from ..i18n import LOCALES
from . import sandbox
from .convert import Prepared
from .sandbox import In, Out
from .text import speak_ssml, to_sentences

SPEECH_TOOLS = ("espeak-ng", "lame")  # what reading a page aloud needs (convert.TOOLS)
SPEECH_RATE = "160"  # words per minute; espeak-ng's default 175 is fast for listening to a page
# The slow version's pace: 70 % of SPEECH_RATE (160 x 0.7 = 112). espeak-ng's -s is in words a
# minute, so the ratio of the rates is the ratio of the speeds; 70 % is the pace asked for by
# people with aphasia, dyslexia or a new language (issue #13). espeak-ng goes no lower than 80.
SLOW_SPEECH_RATE = "112"
# Mono at a constant rate: clear speech at about 240 kB a minute, and a file's size tells its
# length (the players' labels say how many minutes a recording lasts before it is loaded).
BITRATE_KBPS = 32
# The slow version's silences, in milliseconds, by what comes before the sentence (text.py):
# about twice the pauses of the normal version, so each sentence can be taken in on its own.
SLOW_PAUSES_MS = {"none": 0, "title": 1200, "sentence": 900, "block": 1400,
                  "before_heading": 1800, "after_heading": 900}  # fmt: skip


@dataclass(frozen=True)
class Cue:
    """When one sentence is heard in a recording, and the id of its element on the page."""

    element: str  # "s--title", "s--updated", or a sentence's span: "s--1a2b3c4d"
    start: float  # seconds from the recording's start
    end: float


@dataclass(frozen=True)
class Reading:
    """A recording with its sentence timings: the MP3, how long it plays, one cue a sentence."""

    mp3: bytes
    seconds: float
    cues: tuple[Cue, ...]


READER = Path(__file__).with_name("espeak_reader.py")  # run in the sandbox, never imported
# The normal recording's silences, in milliseconds, by what comes before the sentence. Each
# sentence already ends with the voice's own pause (0.39 s at SPEECH_RATE, measured in all four
# voices), which the pauses its SSML script once asked for were merged with: these add the rest.
NORMAL_PAUSES_MS = {"none": 0, "title": 200, "sentence": 0, "block": 0,
                    "before_heading": 500, "after_heading": 0}  # fmt: skip
PACES = {"normal": (SPEECH_RATE, NORMAL_PAUSES_MS), "slow": (SLOW_SPEECH_RATE, SLOW_PAUSES_MS)}


def _read_aloud(
    sentences: list[str], locale: str, rate: str, sandboxed: bool
) -> tuple[int, bytes, list[int]]:
    """Return espeak-ng's reading of SSML sentences: sample rate, 16-bit PCM, samples of each."""
    request = {"voice": LOCALES[locale].voice, "rate": int(rate), "sentences": sentences}
    command: list[str | In | Out] = [
        "/usr/bin/python3",
        "-I",
        "-S",
        In("reader.py"),
        Out("said.pcm"),
        Out("said.json"),
    ]
    said = sandbox.run(
        command,
        stdin=json.dumps(request).encode("utf-8"),
        files={"reader.py": READER.read_bytes()},
        sandboxed=sandboxed,
    )
    lengths = json.loads(said.files["said.json"])
    return int(lengths["rate"]), said.files["said.pcm"], [int(n) for n in lengths["samples"]]


def _wav(pcm: bytes, rate: int) -> bytes:
    """Wrap 16-bit mono PCM in a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setparams((1, 2, rate, 0, "NONE", "not compressed"))
        file.writeframes(pcm)
    return out.getvalue()


def _encode(wav: bytes, page: Prepared) -> bytes:
    """Encode speech as MP3 with title and language tags."""
    locale = page.source.locale
    tags = ["--tt", page.source.title, "--ta", page.source.owner.name, "--tl", page.site_name,
            "--ty", page.year, "--tv", f"TLAN={LOCALES[locale].id3_language}"]  # fmt: skip
    # Mono at a constant BITRATE_KBPS. UTF-16 tags hold any script.
    encode: list[str | In | Out] = [
        "lame", "--quiet", "-m", "m", "-q", "7", "-b", str(BITRATE_KBPS),
        "--id3v2-only", "--id3v2-utf16", *tags, "-", Out("page.mp3")
    ]  # fmt: skip
    return sandbox.run(encode, stdin=wav, sandboxed=page.sandboxed).files["page.mp3"]


def minutes(size: int) -> int:
    """Return how many minutes, rounded and at least one, an MP3 of `size` bytes plays."""
    return max(1, round(size * 8 / (BITRATE_KBPS * 1000) / 60))


def read_page(page: Prepared, pace: str) -> Reading:
    """The page read aloud at a pace, sentence by sentence, with each sentence's timing.

    The silences between sentences are written into the sound, as long as asked in every
    language (espeak-ng's SSML breaks are not: see the top of this module), and they put every
    sentence where its cue says to the sample.
    """
    locale = page.source.locale
    rate_wpm, pauses = PACES[pace]
    spoken = to_sentences(page.source.title, page.doc, page.labels)
    if not spoken:
        raise RuntimeError("the page has nothing to read aloud")
    scripts = [speak_ssml(page.pronounce(s.text), locale) for s in spoken]
    rate, pcm, lengths = _read_aloud(scripts, locale, rate_wpm, page.sandboxed)
    parts, starts, at, offset = [], [], 0, 0
    for sentence, samples in zip(spoken, lengths, strict=True):
        silence = rate * pauses[sentence.pause] // 1000
        said = pcm[offset * 2 : (offset + samples) * 2]
        parts += [b"\0\0" * silence, said]
        at += silence
        starts.append(at + _onset(said, rate))
        at, offset = at + samples, offset + samples
    cues = tuple(
        Cue(
            sentence.element,
            starts[i] / rate,
            (starts[i + 1] if i + 1 < len(starts) else at) / rate,
        )
        for i, sentence in enumerate(spoken)
        if sentence.element is not None
    )
    return Reading(_encode(_wav(b"".join(parts), rate), page), at / rate, cues)


def reading(page: Prepared, pace: str = "normal") -> Reading:
    """Return the page read aloud at a pace, made once for all who asked (the MP3, the EPUB).

    The build says beforehand how many will ask (Prepared.will_read); the last one to get it
    lets it go. Asked without that, it is made for the one who asks.
    """
    kept = page.kept_reading(pace)
    with kept.lock:
        made: Reading = kept.reading or read_page(page, pace)
        kept.reading = made
    with page._readings_lock:
        kept.users -= 1
        if kept.users <= 0:
            page._readings.pop(pace, None)
    return made


# A sentence is heard from its first sample this loud (of 32,767); its cue starts a little
# before. A voice may open with a stop's silent closure: Finnish "Tässä" read slowly is first
# heard 0.3 s into its sound.
ONSET_LEVEL = 300
ONSET_LEAD_SECONDS = 0.05


def _onset(said: bytes, rate: int) -> int:
    """Return where, in samples, a sentence's cue starts: just before it is first heard."""
    samples = array.array("h", said)
    step = rate // 100  # 10 ms at a time: max() over a slice runs in C
    for start in range(0, len(samples), step):
        window = samples[start : start + step]
        if max(window) >= ONSET_LEVEL or min(window) <= -ONSET_LEVEL:
            return max(0, start - int(rate * ONSET_LEAD_SECONDS))
    return 0


def _timestamp(seconds: float) -> str:
    """Write a time as WebVTT does: 00:01:02.345."""
    minutes, millis = divmod(round(seconds * 1000), 60_000)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def to_webvtt(reading: Reading) -> bytes:
    """Write a recording's timings as WebVTT metadata: one cue a sentence, its element's id."""
    cues = [
        f"{number}\n{_timestamp(cue.start)} --> {_timestamp(cue.end)}\n{cue.element}\n"
        for number, cue in enumerate(reading.cues, 1)
    ]
    return "\n".join(["WEBVTT\n", *cues]).encode("utf-8")


def make_mp3(page: Prepared) -> dict[str, bytes]:
    """The page read aloud by espeak-ng, as MP3 with tags, and its sentences' timings."""
    said = reading(page, "normal")
    return {"mp3": said.mp3, "vtt": to_webvtt(said)}


def make_slow_mp3(page: Prepared) -> dict[str, bytes]:
    """The page read aloud slowly, with longer silences between sentences, and its timings."""
    said = reading(page, "slow")
    return {"mp3-slow": said.mp3, "vtt-slow": to_webvtt(said)}
