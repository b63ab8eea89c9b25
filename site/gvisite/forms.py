"""What every form shares: trimmed one-line answers, the honeypot, the start time, the errors."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import Field, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

# C0 and C1 controls: C1 too, as U+0085 (NEL) is a line break to str.splitlines().
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The fields every form carries that are no answers: the token, the honeypot, the start time.
NOT_ANSWERS = frozenset({"csrf_token", "website", "started"})
# Embeddings, overrides and isolates reorder the text around them when staff read it; the
# direction marks (U+200E, U+200F) that right-to-left writing needs are left alone.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def choices(labels: dict[str, Any]) -> list[SelectChoice]:
    """Turn a value -> label mapping into WTForms choices."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class Required(DataRequired):
    """DataRequired that never adds the `required` attribute: validation is server-side only."""

    field_flags: dict[str, Any] = {}  # noqa: RUF012  (WTForms reads it as a class attribute)


def strip(value: Any) -> Any:
    """Trim text answers; drop NUL (PostgreSQL refuses it) and direction overrides."""
    if isinstance(value, str):
        return value.replace("\x00", "").translate(_BIDI_CONTROLS).strip()
    return value


def one_line(form: FlaskForm, field: Field) -> None:
    """Refuse line breaks and control characters in single-line answers (no header tricks)."""
    if field.data and CONTROL.search(field.data):
        raise ValidationError(_l("Write this on one line, without line breaks."))


class PostedForm(FlaskForm):
    """A form that reads only what a browser posts: never a JSON body, never uploaded files."""

    class Meta:
        def wrap_formdata(self, form: FlaskForm, formdata: Any) -> Any:
            """Read the posted form fields only (Flask-WTF would also take JSON and files)."""
            # Values from JSON can be numbers, lists or objects, which the validators and the
            # database are not made for; nothing of ours posts JSON or files.
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata  # given by the caller
            return request.form if request.method in SUBMIT_METHODS else None


class BaseForm(PostedForm):
    """Strip white space from every answer; carry the honeypot and the signed start time."""

    class Meta(PostedForm.Meta):
        def bind_field(self, form: FlaskForm, unbound_field: Any, options: dict) -> Field:
            """Add the strip filter to every field."""
            filters = [strip, *unbound_field.kwargs.get("filters", [])]
            return unbound_field.bind(form=form, filters=filters, **options)

    # Hidden from everyone; a robot that fills in every field fills this one.
    website = StringField(_l("Leave this field empty"))
    started = HiddenField()

    def is_spam(self) -> bool:
        """Tell whether the honeypot was filled in."""
        return bool(self.website.data)


def error_summary(form: FlaskForm) -> list[dict[str, str]]:
    """List each field's first error with the id to link to, in the order of the form."""
    items = []
    for field in form:
        if not field.errors or field.name in NOT_ANSWERS:
            continue
        target = f"{field.id}-0" if isinstance(field, RadioField) else field.id
        items.append({"href": f"#{target}", "text": str(field.errors[0])})
    return items


def _serializer() -> URLSafeTimedSerializer:
    """Sign the form's start time with the app's key."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="form-started")


def issue_start_time(submission: str | None = None) -> str:
    """Return a signed start time for a form shown now, with the key of this submission."""
    # The key stays the same while the same answers come back (an error, a 503, a double
    # click), so a second arrival of one submission is recognised and not stored twice.
    return _serializer().dumps([time.time(), submission or secrets.token_urlsafe(18)])


def _read_start(token: str | None) -> tuple[float, str | None] | None:
    """Return the signed start time and submission key, or None if the token is not ours."""
    try:
        value = _serializer().loads(token or "", max_age=7 * 24 * 3600)
    except (BadSignature, ValueError, TypeError):
        return None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        value, key = value
    else:  # a form shown before submission keys existed
        key = None
    try:
        return float(value), key
    except (ValueError, TypeError):
        return None


def submission_key(token: str | None) -> str | None:
    """Return the key that identifies one submission of a form, if its token is ours."""
    read = _read_start(token)
    return read[1] if read else None


def sent_too_fast(token: str | None) -> bool:
    """Tell whether the form came back sooner than a person could fill it in."""
    read = _read_start(token)
    if read is None:
        return True
    return time.time() - read[0] < current_app.config["FORM_MIN_SECONDS"]
