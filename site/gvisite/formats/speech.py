"""The audio formats: the page read aloud by espeak-ng, at its normal pace and slowly.

The normal version is one espeak-ng run over the page's SSML script. The slow one is read
sentence by sentence and joined with silences of exact lengths: espeak-ng's SSML
`<break time="..."/>` is no reliable pause at a slow rate. Measured with espeak-ng 1.51 at
112 words a minute, three 700 ms breaks between four sentences lengthened the reading by
0.01 s (sv, fi, en, ar alike): a break is scaled by the rate and merged with the pause the voice
makes after a sentence anyway, so how long it lasts depends on the voice and the speed. Silence
written into the sound itself is as long as asked, in every language.
"""

from __future__ import annotations

import io
import struct
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..i18n import LOCALES
from . import sandbox
from .convert import Prepared
from .sandbox import In, Out
from .text import speak_ssml, to_sentences, to_ssml

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
# The slow version runs espeak-ng once per sentence, and each run mostly waits while the program
# starts (about 0.1 s, nearly none of it on the processor): several runs at once, in order.
SLOW_READERS = 4


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


def with_real_length(wav: bytes) -> bytes:
    """Write a WAV's true sizes into its header.

    espeak-ng writing to a pipe cannot go back to fill them in and leaves 0x7FFFFFFF, which lame
    took for 13.5 hours of sound and wrote into the MP3's length tag (TLEN).
    """
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise RuntimeError("espeak-ng did not write a WAV file")
    fixed = bytearray(wav)
    struct.pack_into("<I", fixed, 4, len(wav) - 8)
    offset = 12
    while offset + 8 <= len(wav):
        chunk, size = wav[offset : offset + 4], struct.unpack_from("<I", wav, offset + 4)[0]
        if chunk == b"data":
            struct.pack_into("<I", fixed, offset + 4, len(wav) - offset - 8)
            return bytes(fixed)
        offset += 8 + size + size % 2  # chunks are padded to an even length
    raise RuntimeError("espeak-ng wrote a WAV file without sound")


def _speak(ssml: str, locale: str, rate: str, sandboxed: bool) -> bytes:
    """Return espeak-ng's reading of an SSML script as a WAV file with its true length."""
    command: list[str | In | Out] = [
        "espeak-ng", "-v", LOCALES[locale].voice, "-s", rate, "-m", "--stdout"
    ]  # fmt: skip
    said = sandbox.run(command, stdin=ssml.encode("utf-8"), sandboxed=sandboxed)
    return with_real_length(said.stdout)


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


def make_mp3(page: Prepared) -> bytes:
    """The page read aloud by espeak-ng, as MP3 with title and language tags."""
    locale = page.source.locale
    ssml = to_ssml(page.source.title, page.doc, page.labels, locale)
    return _encode(_speak(ssml, locale, SPEECH_RATE, page.sandboxed), page)


def _read_slowly(text: str, locale: str, sandboxed: bool) -> bytes:
    """Return one sentence read at the slow rate, as a WAV file."""
    return _speak(speak_ssml([text], locale), locale, SLOW_SPEECH_RATE, sandboxed)


def make_slow_mp3(page: Prepared) -> bytes:
    """The page read aloud slowly, sentence by sentence, with longer silences between them."""
    locale = page.source.locale
    out, joined = io.BytesIO(), None
    sentences = to_sentences(page.source.title, page.doc, page.labels)
    with ThreadPoolExecutor(max_workers=SLOW_READERS, thread_name_prefix="espeak") as readers:
        said = readers.map(lambda s: _read_slowly(s.text, locale, page.sandboxed), sentences)
        for spoken, wav in zip(sentences, said, strict=True):
            with wave.open(io.BytesIO(wav)) as sentence:
                if joined is None:
                    joined = wave.open(out, "wb")  # noqa: SIM115  (closed below, after the last)
                    joined.setparams(sentence.getparams())
                frames = sentence.getframerate() * SLOW_PAUSES_MS[spoken.pause] // 1000
                silence = b"\0" * frames * sentence.getsampwidth() * sentence.getnchannels()
                joined.writeframes(silence)
                joined.writeframes(sentence.readframes(sentence.getnframes()))
    if joined is None:
        raise RuntimeError("the page has nothing to read aloud")
    joined.close()
    return _encode(out.getvalue(), page)
