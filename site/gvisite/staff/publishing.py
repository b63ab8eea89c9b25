"""Before a confirmed problem reaches the four statements: a preview, and a personal-data check.

The statement is public in every language at once, so staff see each language as the statement
will show it, and what looks like an e-mail address, a phone number or a Swedish personal
identity number (personnummer) stops publishing until they confirm it may be published.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..i18n import direction
from ..pages.load import current_site
from ..statement import current_statement
from ..wcag import CRITERIA, Criterion
from .forms import DESCRIBED_LOCALES, PublishForm, language_name

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# YYMMDD or YYYYMMDD, a dash or plus (or nothing), four digits; a day over 60 is a
# coordination number (samordningsnummer).
_PERSONAL_NUMBER = re.compile(
    r"(?<!\d)(?:19|20)?\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01]|[6-8]\d|9[01])[-+]?\d{4}(?!\d)"
)
# A number dialled in Sweden or from abroad: 0 or + first, then at least six more digits.
_PHONE = re.compile(r"(?<![\w-])(?:\+|0)[\d ()-]{6,}\d")
KINDS: dict[str, LazyString] = {
    "email": _l("an e-mail address"),
    "personal_number": _l("a personal identity number"),
    "phone": _l("a phone number"),
}


@dataclass(frozen=True)
class Finding:
    """Something in a text that looks like personal data: where, what kind, and the text itself."""

    field_id: str
    language: Any  # the language's name, lazy
    kind: Any  # what it looks like, lazy
    text: str


def _digits(text: str) -> str:
    """Return a number's digits alone, so `08-580 285 00` and `0858028500` are the same."""
    return re.sub(r"\D", "", text)


def _ours() -> set[str]:
    """Return the municipality's own published contact details: publishing them is fine."""
    contact = current_site().facts["contact"]
    values = {str(v) for v in contact.values()}
    return {v.lower() for v in values} | {_digits(v) for v in values if _digits(v)}


def personal_data(form: PublishForm) -> list[Finding]:
    """Return what looks like personal data in the texts, in the form's order."""
    ours, found = _ours(), []
    fields = [*form.descriptions(), *form.alternative_fields()]
    for field in fields:
        text, language = field.data or "", language_name(field.name.split("_")[1])
        seen: list[tuple[int, int]] = []
        for kind, pattern in (
            ("email", _EMAIL),
            ("personal_number", _PERSONAL_NUMBER),
            ("phone", _PHONE),
        ):
            for match in pattern.finditer(text):
                value = match.group().strip()
                span = match.span()
                overlaps = any(span[0] < end and start < span[1] for start, end in seen)
                if overlaps or value.lower() in ours or _digits(value) in ours:
                    continue
                seen.append(span)
                found.append(Finding(field.id, language, KINDS[kind], value))
    return found


def digest(form: PublishForm) -> str:
    """Return a digest of what would be published: publishing needs a preview of exactly it."""
    content = {
        "what": form.texts(),
        "instead": form.alternatives(),
        "criteria": form.criteria.data,
        "fix_by": form.fix_by.data or "",
    }
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class Preview:
    """One language's preview: its code, direction, name, and the statement's list item."""

    code: str
    direction: str
    language: Any
    html: Markup


def previews(form: PublishForm) -> list[Preview]:
    """Render the problem in each language as that language's statement will show it."""
    problem = {
        "what": {k: v for k, v in form.texts().items() if v},
        "instead": {k: v for k, v in form.alternatives().items() if v} or None,
        "criteria": form.criteria_list(),
        "fix_by": form.fix_date(),
    }
    shown = []
    for code in DESCRIBED_LOCALES:
        with force_locale(code):
            html = render_template(
                "staff/_problem_preview.html", problem=problem, statement=current_statement()
            )
        # A rendered template: Jinja escaped every text in it already.
        shown.append(Preview(code, direction(code), language_name(code), Markup(html)))  # noqa: S704
    return shown


def criteria_shown(form: PublishForm) -> list[Criterion]:
    """Return the criteria named (once validated), for the list with their EN 301 549 clauses."""
    return [CRITERIA[number] for number in form.criteria_list()]
