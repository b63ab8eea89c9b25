"""The other formats, one record each: how a file is named and served, and how it is made.

Adding a format is one `Format` below plus its converter (convert.py); the build, the block,
the downloads and `flask formats check` all read this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from .convert import Prepared, make_brf, make_html, make_pdf, make_txt
from .epub import make_epub
from .speech import SPEECH_TOOLS, make_mp3, make_slow_mp3


@dataclass(frozen=True)
class Format:
    """One other format: its file, how the page's block names it, and how it is built."""

    key: str
    suffix: str  # after the page's name in the URL: om-gvi.storstil.pdf
    mimetype: str  # without parameters: "text/plain"
    charset: str | None  # what the text is written in; None for binary files
    label: Any  # a lazy string: what it is ("Large print")
    type_name: Any  # the file type the link names ("PDF")
    download_suffix: str  # for the file name a download gets: om-gvi-storstil.pdf
    # Makes the file's bytes from the prepared page; with companions, every file's by key.
    convert: Callable[[Prepared], bytes | dict[str, bytes]]
    attachment: bool = False  # save rather than show (files browsers cannot show)
    tools: tuple[str, ...] = ()  # the programs it needs (convert.TOOLS); built only where all are
    # Programs it uses where they are (their versions are in its build key): the EPUB's voice.
    optional_tools: tuple[str, ...] = ()
    in_thread: bool = False  # waits on other programs: run in the pool, beside the PDFs
    listen: Any = None  # a recording's player label ("At normal speed"); None: no player
    reads: str | None = None  # the pace of the recording it is made from (Prepared.reading)
    # Files made in the same run, of the formats in COMPANIONS: the recordings' timings.
    companions: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        """Return the Content-Type header: the type and, for text, its one charset."""
        return f"{self.mimetype}; charset={self.charset}" if self.charset else self.mimetype


# In the order the block lists them. Large print first: it is what most people ask for.
FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("html", ".storstil.html", "text/html", "utf-8", _l("Large print"),
               _l("web page"), "-storstil.html", make_html),
        Format("pdf", ".storstil.pdf", "application/pdf", None, _l("Large print"), "PDF",
               "-storstil.pdf", make_pdf, tools=("weasyprint",)),
        Format("mp3", ".mp3", "audio/mpeg", None, _l("Audio"), "MP3", ".mp3", make_mp3,
               tools=SPEECH_TOOLS, in_thread=True, listen=_l("At normal speed"),
               reads="normal", companions=("vtt",)),
        # The same, read at 70 % of the pace with longer pauses (speech.py), right beside it.
        Format("mp3-slow", ".langsam.mp3", "audio/mpeg", None, _l("Audio, read slowly"), "MP3",
               "-langsam.mp3", make_slow_mp3, tools=SPEECH_TOOLS, in_thread=True,
               listen=_l("Slowly, with longer pauses"), reads="slow", companions=("vtt-slow",)),
        Format("txt", ".txt", "text/plain", "utf-8", _l("Plain text"), _l("text file"),
               ".txt", make_txt),
        Format("brf", ".brf", "text/plain", "us-ascii", _l("Braille"), "BRF", ".brf", make_brf,
               attachment=True, tools=("lou_translate",), in_thread=True),
        # A talking book: the text with the normal recording, sentence by sentence (epub.py);
        # a book of text alone where the recordings' tools are missing.
        Format("epub", ".epub", "application/epub+zip", None, _l("E-book"), "EPUB", ".epub",
               make_epub, attachment=True, tools=("pandoc",), in_thread=True, reads="normal",
               optional_tools=SPEECH_TOOLS),
    )
}  # fmt: skip


def _made_with_its_recording(page: Prepared) -> bytes:
    """Never called: a timings file is written by its recording's converter (`companions`)."""
    raise RuntimeError("a recording's timings are made with the recording")


# The recordings' timings (WebVTT, one cue a sentence with its element's id on the page, for
# the read-along): made with their recording, served beside it, listed in no block.
COMPANIONS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("vtt", ".vtt", "text/vtt", "utf-8", _l("Audio"), "WebVTT", ".vtt",
               _made_with_its_recording, tools=SPEECH_TOOLS),
        Format("vtt-slow", ".langsam.vtt", "text/vtt", "utf-8", _l("Audio, read slowly"),
               "WebVTT", "-langsam.vtt", _made_with_its_recording, tools=SPEECH_TOOLS),
    )
}  # fmt: skip
# Every file a page has: what the build writes, the folder keeps and the server serves.
ALL_FILES: dict[str, Format] = {**FORMATS, **COMPANIONS}


def formats_needing(tool: str) -> list[Format]:
    """Return the formats that need a tool."""
    return [fmt for fmt in FORMATS.values() if tool in fmt.tools]
