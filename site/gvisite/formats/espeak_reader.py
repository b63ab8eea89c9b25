"""Read sentences aloud with espeak-ng's library, all in one process, each sentence on its own.

speech.py runs this file in the sandbox with the system's Python (`python3 -I -S`), never
importing it: it needs nothing but the standard library and libespeak-ng, which the espeak-ng
package installs. One process reads the whole page (starting espeak-ng once per sentence spent
most of the slow recording's time starting programs), and the sound of each sentence comes back
on its own, so where each one starts in the recording is known to the sample.

stdin: JSON `{"voice": "sv", "rate": 160, "sentences": ["<speak ...>...</speak>", ...]}`, each
sentence an SSML document, read with the flags the espeak-ng command uses (`-m`): SSML,
`[[...]]` phoneme input, and the pause at the end of a sentence.
argv[1]: where to write the sound, 16-bit mono PCM, every sentence's one after the other.
argv[2]: where to write JSON `{"rate": <samples a second>, "samples": [<each sentence's>, ...]}`
(not stdout: espeak-ng prints there itself, about some words, when its buffers are flushed).
"""

from __future__ import annotations

import ctypes
import json
import sys
from typing import Any

AUDIO_OUTPUT_SYNCHRONOUS = 2  # speak_lib.h: the sound comes to the callback, then Synth returns
POS_CHARACTER = 1
RATE = 1  # espeakRATE: words a minute
# espeakCHARS_AUTO | espeakSSML | espeakPHONEMES | espeakENDPAUSE: what `espeak-ng -m` uses.
FLAGS = 0x0 | 0x10 | 0x100 | 0x1000
CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class Voice(ctypes.Structure):
    """speak_lib.h's espeak_VOICE: a voice asked for by its properties."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


def _set_voice(library: Any, voice: str) -> bool:
    """Choose the voice as `espeak-ng -v` does: by its name, else by its language ("en-gb")."""
    if library.espeak_SetVoiceByName(voice.encode("utf-8")) == 0:
        return True
    wanted = Voice(languages=voice.encode("utf-8"))
    return bool(library.espeak_SetVoiceByProperties(ctypes.byref(wanted)) == 0)


def read(voice: str, rate: int, sentences: list[str], sound: str) -> dict[str, object]:
    """Write each sentence's sound to `sound`; return the sample rate and each one's length."""
    library = ctypes.CDLL("libespeak-ng.so.1")
    sample_rate = library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
    if sample_rate <= 0:
        raise SystemExit("espeak-ng could not start")
    if not _set_voice(library, voice):
        raise SystemExit(f"espeak-ng has no voice {voice!r}")
    library.espeak_SetParameter(RATE, int(rate), 0)
    chunks: list[bytes] = []

    def collect(wav: Any, count: int, events: Any) -> int:
        """Keep the sound espeak-ng hands over (count 0 ends a sentence)."""
        if count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    callback = CALLBACK(collect)  # kept in a name: freed, espeak-ng would call into nothing
    library.espeak_SetSynthCallback(callback)
    lengths = []
    with open(sound, "wb") as out:
        for text in sentences:
            data = text.encode("utf-8")
            chunks.clear()
            if library.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, FLAGS, None, None):
                raise SystemExit("espeak-ng could not read a sentence")
            library.espeak_Synchronize()
            said = b"".join(chunks)
            out.write(said)
            lengths.append(len(said) // 2)
    library.espeak_Terminate()
    return {"rate": sample_rate, "samples": lengths}


def main() -> None:
    """Read the request on stdin, write the sound and the lengths."""
    request = json.load(sys.stdin)
    said = read(request["voice"], request["rate"], request["sentences"], sys.argv[1])
    with open(sys.argv[2], "w", encoding="utf-8") as lengths:
        json.dump(said, lengths)


if __name__ == "__main__":
    main()
