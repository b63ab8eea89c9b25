"""Locales of the site and how one is chosen for a request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from flask import Flask, request


@dataclass(frozen=True)
class SiteLocale:
    """A language the site is published in."""

    code: str
    name: str  # the language named in itself, for the language menu
    direction: str = "ltr"


LOCALES: dict[str, SiteLocale] = {
    "sv": SiteLocale("sv", "Svenska"),
    "fi": SiteLocale("fi", "Suomi"),
    "en": SiteLocale("en", "English"),
    "ar": SiteLocale("ar", "العربية", "rtl"),
}
DEFAULT_LOCALE = "sv"


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


def direction(code: str) -> str:
    """Return the text direction for a locale code."""
    return LOCALES[code].direction if code in LOCALES else "ltr"


def check_locales(app: Flask) -> None:
    """Fail start-up unless every locale is known to Babel and has a catalog."""
    translations = Path(app.root_path).parents[1] / "translations"
    for code in LOCALES:
        Locale.parse(code)  # raises for a code Babel does not know
        if not (translations / code / "LC_MESSAGES").is_dir():
            raise RuntimeError(f"locale {code!r} has no catalog in {translations}")
