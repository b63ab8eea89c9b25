"""The staff pages' template filters: times in Stockholm, and places a long text may wrap."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

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


def register_filters(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(staff_time)
    app.add_template_filter(soft_breaks)
