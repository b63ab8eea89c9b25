"""The staff pages' template filters: times in Stockholm, places a long text may wrap,
a case's language by name, and a phone number to dial."""

from __future__ import annotations

import datetime as dt
import re

from babel import Locale
from flask import Flask
from flask_babel import get_locale
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from ..i18n import LOCALES
from ..workdays import local_time

TIME_FORMATS = {"date": "%Y-%m-%d", "minutes": "%Y-%m-%d %H:%M", "seconds": "%Y-%m-%d %H:%M:%S"}


@pass_eval_context
def staff_time(
    context: EvalContext, value: dt.datetime | dt.date | None, precision: str = "minutes"
) -> str:
    """Show staff a stored time (naive UTC) in Stockholm time, or a date; a `<time>` in HTML."""
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        value = local_time(value)
        if precision == "date":
            value = value.date()
    if not isinstance(value, dt.datetime):
        precision = "date"  # a date (a due day) has no time of day to show
    shown = value.strftime(TIME_FORMATS[precision])
    if not context.autoescape:  # a plain-text mail
        return shown
    # A time shown to the date was made a date above: only a datetime has a time of day.
    machine = (
        value.isoformat(timespec=precision) if isinstance(value, dt.datetime) else value.isoformat()
    )
    return Markup('<time class="nowrap" datetime="{}">{}</time>').format(machine, shown)


def soft_breaks(text: str | None) -> Markup:
    """Let a path or an address wrap after / . @ instead of inside a word on a narrow screen."""
    return Markup("<wbr>").join(re.split(r"(?<=[/.@])", text or ""))


@pass_eval_context
def language_label(context: EvalContext, code: str) -> str:
    """Name a case's language for staff: "arabiska (العربية)", from its locale record."""
    record = LOCALES.get(code)
    if record is None:
        return code  # not one of the site's languages: show what was stored
    named = Locale.parse(code).get_display_name(str(get_locale())) or code
    if named.casefold() == record.name.casefold():
        return named  # Swedish staff read "svenska" once
    if not context.autoescape:  # a plain-text mail
        return f"{named} ({record.name})"
    return Markup('{} (<span lang="{}" dir="{}">{}</span>)').format(
        named, code, record.direction, record.name
    )


def dial_number(phone: str) -> str:
    """Return the number to dial for one a resident typed (070-123 45 67 -> +46701234567)."""
    # "+46 (0)70 …": the bracketed 0 is dialled only from within Sweden.
    digits = re.sub(r"[^\d+]", "", phone.replace("(0)", ""))
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+46" + digits[1:]  # a Swedish number, written the Swedish way
    return digits


def register_filters(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(staff_time)
    app.add_template_filter(soft_breaks)
    app.add_template_filter(language_label)
    app.add_template_filter(dial_number)
