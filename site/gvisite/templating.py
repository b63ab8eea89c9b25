"""What every template can use: the site, the locale, dates, and the links between pages.

How pages relate (the same page in another language, its easy-to-read version) is worked out
in pages/alternates.py; this module only hands it to the templates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from flask import Flask, render_template, request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from .i18n import DEFAULT_LOCALE, current_locale, direction, long_date, number, waiting_time
from .links import absolute_url
from .pages import sentences
from .pages.alternates import alternates, easy_to_read_at, easy_to_read_switch, language_links
from .pages.load import current_site
from .pages.model import Page, is_easy_to_read
from .workdays import local_date


def breadcrumbs(page: Page) -> list[Page]:
    """Return the pages above a page, from home down; empty at the top level."""
    if "/" not in page.path:
        return []
    site, trail, path = current_site(), [], page.parent_path
    while path is not None:
        if parent := site.get(page.locale, path):
            trail.append(parent)
        path = path.rpartition("/")[0] if path else None
    return list(reversed(trail))


def phone_link(shown: str, number: str) -> Markup:
    """Return a phone number as a link that dials it and never breaks across lines."""
    return Markup('<a class="nowrap" href="tel:{}"><bdi dir="ltr">{}</bdi></a>').format(
        number, shown
    )


# Plain text's <bdi dir="ltr">: LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE.
LRI, PDI = "\u2066", "\u2069"
_ISOLATE_STARTS = "\u2066\u2067\u2068"
# Bidi classes that start and end a left-to-right run: Latin letters and digits.
_LTR = frozenset({"L", "EN", "AN"})
# Those that may stand inside one, between its letters and digits: the spaces, hyphens, dots,
# slashes and @ of numbers, addresses and names (brackets, the Arabic comma and right-to-left
# letters end it).
_INSIDE = frozenset({"ES", "ET", "CS", "WS", "NSM", "BN", "ON"})


def _first_strong(line: str) -> str | None:
    """Return the bidi class of a line's first strong letter outside isolates (UAX #9, P2)."""
    depth = 0
    for char in line:
        if char in _ISOLATE_STARTS:
            depth += 1
        elif char == PDI:
            depth = max(depth - 1, 0)
        elif not depth and (kind := unicodedata.bidirectional(char)) in ("L", "R", "AL"):
            return kind
    return None


def _run_end(line: str, start: int) -> int:
    """Return where the left-to-right run that begins at `start` ends."""
    end = start + 1
    for index in range(start + 1, len(line)):
        char = line[index]
        kind = unicodedata.bidirectional(char)
        if kind in _LTR:
            end = index + 1
        elif kind not in _INSIDE or unicodedata.mirrored(char) or char == "\u060c":
            break
    return end


def _isolated_line(line: str) -> str:
    """Wrap each left-to-right run of a right-to-left line in LRI ... PDI."""
    out, depth, index = [], 0, 0
    while index < len(line):
        char = line[index]
        if char in _ISOLATE_STARTS:
            depth += 1  # isolated already (a translation may do it): left as it is
        elif char == PDI:
            depth = max(depth - 1, 0)
        elif not depth and unicodedata.bidirectional(char) in _LTR:
            end = _run_end(line, index)
            out.append(f"{LRI}{line[index:end]}{PDI}")
            index = end
            continue
        out.append(char)
        index += 1
    return "".join(out)


def isolate_ltr(text: str) -> str:
    """Wrap the numbers, addresses and Latin names of right-to-left lines in isolates, as the
    pages' <bdi dir="ltr"> does, so 08-580 285 00 is not shown as 00 285 580-08."""
    # Each line is a paragraph of its own in a plain-text mail; left-to-right ones stay as
    # they are (a staff member's Swedish, an address on a line of its own).
    return "\n".join(
        _isolated_line(line) if _first_strong(line) in ("R", "AL") else line
        for line in text.split("\n")
    )


def render_mail(template: str, **context: Any) -> str:
    """Render a mail's plain-text template in the current locale, isolating left-to-right
    runs where the locale is written right to left (what staff write included)."""
    text = render_template(template, **context)
    return isolate_ltr(text) if direction(current_locale()) == "rtl" else text


def servicecenter_phone() -> Markup:
    """Return Servicecenter's number as a link that dials it."""
    contact = current_site().facts["contact"]
    return phone_link(contact["servicecenter"], contact["servicecenter_tel"])


def in_language(write: Callable[[Any], str]) -> Callable[..., str]:
    """Make a filter that writes a value in the reader's language, never fixed at compile time."""

    # Jinja folds a filter on a literal (`5000|number`) when it compiles the template, in the
    # language of whichever request came first; a filter that takes the context is never folded.
    @pass_context
    def written(_context: Context, value: Any) -> str:
        return write(value)

    written.__name__ = write.__name__
    return written


def init_templating(app: Flask) -> None:
    """Register the template globals and filters."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # The locale record's way: "6 December 2026" in English, "5 000" in Swedish (unbroken).
    app.add_template_filter(in_language(long_date), "long_date")
    app.add_template_filter(in_language(number), "number")
    app.add_template_filter(local_date)  # a stored UTC time as the date in Stockholm
    # Every sentence of an article in a span of its own, for the read-along (pages/sentences.py).
    app.add_template_filter(sentences.mark, "sentences")
    app.add_template_global(absolute_url)  # feeds and sitemaps give full addresses

    @app.context_processor
    def site_context() -> dict[str, Any]:
        locale = current_locale()
        return {
            "site": current_site(),
            "locale": locale,
            "default_locale": DEFAULT_LOCALE,
            "text_direction": direction(locale),
            "language_links": language_links,
            "alternates": alternates,
            "is_easy_to_read": is_easy_to_read,
            "easy_to_read_switch": easy_to_read_switch,
            "easy_to_read_at": easy_to_read_at,
            "breadcrumbs": breadcrumbs,
            "servicecenter_phone": servicecenter_phone,
            "phone_link": phone_link,
            "waiting_time": waiting_time,
            "request_path": request.path,
        }
