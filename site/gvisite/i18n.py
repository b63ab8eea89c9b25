"""The languages of the site, each described once, and how one is chosen for a request.

A `SiteLocale` is the only place a language is described: the language menu, the text
direction, the voice that reads pages aloud, the braille table, the linter's vague link
texts and readability measure, the easy-to-read pages and the staff's publish form are all
made from `LOCALES`.
Adding a language is one record here, plus its pages in `content/<code>/` and its catalog
in `translations/<code>/`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Flask, request
from flask_babel import get_locale, ngettext
from werkzeug.routing import BaseConverter


@dataclass(frozen=True)
class EasyToRead:
    """A locale's easy-to-read pages (lättläst, selkokieli): a folder of its own, and its name."""

    folder: str  # under content/<code>/; `<folder>/<path>` retells the ordinary page `<path>`
    name: str  # in the language menu, written in the language itself


@dataclass(frozen=True)
class SiteLocale:
    """A language the site is published in, and what the other formats need to speak it."""

    code: str  # ISO 639-1, as in the URL: /sv/, /fi/
    name: str  # the language named in itself, for the language menu
    voice: str  # the espeak-ng voice that reads the audio version
    id3_language: str  # ISO 639-2, for the MP3's TLAN tag
    # The liblouis table for the braille file: uncontracted, so anyone who reads braille in the
    # language can read it. Swedish sv-g0.utb is "fullskrift" under Punktskriftsnämnden's rules
    # (sv-g1.ctb, despite its name, is kortskrift nivå 1, contracted); English is UEB grade 1.
    # A comma-separated chain where the language's own table lacks letters its pages use: the
    # first table that defines a character wins.
    braille_table: str
    # Link texts that say nothing out of context (WCAG 2.4.4), lower case, for the linter.
    vague_link_texts: frozenset[str]
    stemmer: str  # the Snowball stemmer the site search reduces words with
    # Endings the stemmer leaves on a word ("våldet" next to "våld"): search also tries a
    # query word without them (search.py).
    search_endings: tuple[str, ...] = ()
    direction: str = "ltr"
    easy_to_read: EasyToRead | None = None  # None: the locale has no easy-to-read pages
    # The readability measure of `flask content check`, a key of pages/readability.py's
    # MEASURES; None where no maintained package has an established one (the reasons are there).
    readability: str | None = None
    # The CLDR locale its dates and numbers are written in, where the code alone would pick
    # another country's way: Babel's `en` is American ("December 6, 2026"). Empty: the code.
    cldr: str = ""
    # A name's genitive, for the pronunciation lexicon (formats/lexicon.py): how its ending is
    # written (a regular expression) and the espeak-ng phoneme it adds. Empty: none.
    genitive: tuple[str, str] = ("", "")


LOCALES: dict[str, SiteLocale] = {
    locale.code: locale
    for locale in (
        SiteLocale("sv", "Svenska", "sv", "swe", "sv-g0.utb",
                   frozenset({"här", "klicka här", "läs mer", "mer", "länk"}), "swedish",
                   search_endings=("et", "en", "n"),
                   easy_to_read=EasyToRead("lattlast", "Lättläst"), readability="lix",
                   genitive=("s", "s")),
        SiteLocale("fi", "Suomi", "fi", "fin", "fi.utb",
                   frozenset({"tästä", "täällä", "klikkaa tästä", "lue lisää", "lisää",
                              "linkki"}), "finnish",
                   easy_to_read=EasyToRead("selko", "Selkosuomi"), genitive=("n", "n")),
        SiteLocale("en", "English", "en-gb", "eng", "en-ueb-g1.ctb",
                   frozenset({"here", "click here", "read more", "more", "link"}), "english",
                   # Brå's: /z/ after the voiced end every name in the lexicon has.
                   readability="ari", cldr="en_GB", genitive=("'s|s", "z")),
        # Arabic pages name Swedish places and agencies (Järfälla, Kriminalvården): the
        # Norwegian letter table adds å, ä, ö and é with the dots Swedish braille gives them.
        SiteLocale("ar", "العربية", "ar", "ara", "ar-ar-g1.utb,no-no-chardefs6.uti",
                   frozenset({"هنا", "اضغط هنا", "انقر هنا", "اقرأ المزيد", "المزيد", "رابط"}),
                   "arabic", direction="rtl"),
    )
}  # fmt: skip
DEFAULT_LOCALE = "sv"  # Swedish first: the fallback for every text, and the staff area's


class LocaleConverter(BaseConverter):
    """Match only the site's locale codes in `/<locale:locale>/`, so `/xx/...` is a plain 404."""

    regex = "|".join(LOCALES)


def best_locale() -> str:
    """Pick the locale for this request.

    Precedence: the locale in the URL (`/<locale>/...`), then the browser's
    Accept-Language header, then the default, Swedish. The staff area is always Swedish.
    """
    if request.path.startswith("/staff"):
        return DEFAULT_LOCALE  # the staff area is in Swedish
    # view_args is empty on a 404, so read the first path segment as well.
    url_locale = (request.view_args or {}).get("locale") or request.path.split("/")[1]
    if url_locale in LOCALES:
        return url_locale
    return request.accept_languages.best_match(list(LOCALES), default=DEFAULT_LOCALE)


def current_locale() -> str:
    """Return the code of the locale this request is rendered in."""
    return str(get_locale() or DEFAULT_LOCALE).split("_")[0]


def _writing() -> str:
    """Return the CLDR locale the current locale writes dates and numbers in."""
    code = current_locale()
    return (LOCALES[code].cldr or code) if code in LOCALES else code


def long_date(value: dt.date) -> str:
    """Format a date the way the current locale writes it in running text (6 December 2026)."""
    return format_date(value, format="long", locale=_writing())


def number(value: int) -> str:
    """Write a whole number the current locale's way, never broken between its digit groups."""
    # Swedish and Finnish group with a no-break space already; the replace keeps any other
    # locale's plain space from wrapping "5 000" at 320 px.
    return format_decimal(value, locale=_writing()).replace(" ", "\u00a0")


def waiting_time(seconds: float) -> str:
    """Say how long to wait, in words, rounded up: "3 minutes", "2 hours" (Retry-After)."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes <= 60:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return ngettext("%(num)d hour", "%(num)d hours", math.ceil(minutes / 60))


def direction(code: str) -> str:
    """Return the text direction for a locale code."""
    return LOCALES[code].direction if code in LOCALES else "ltr"


def check_locales(app: Flask) -> None:
    """Fail start-up unless every locale is known to Babel and has a catalog."""
    translations = Path(app.root_path).parents[1] / "translations"
    for code in LOCALES:
        Locale.parse(LOCALES[code].cldr or code)  # raises for a code Babel does not know
        if not (translations / code / "LC_MESSAGES").is_dir():
            raise RuntimeError(f"locale {code!r} has no catalog in {translations}")
