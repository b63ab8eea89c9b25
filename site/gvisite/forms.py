"""What every form shares: trimmed one-line answers, the honeypot, the start time, the errors."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import Field, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, Length, ValidationError

# C0 and C1 controls: C1 too, as U+0085 (NEL) is a line break to str.splitlines().
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The fields every form carries that are no answers: the token, the honeypot, the start time.
NOT_ANSWERS = frozenset({"csrf_token", "website", "started"})
# Embeddings, overrides and isolates reorder the text around them when staff read it; the
# direction marks (U+200E, U+200F) that right-to-left writing needs are left alone.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
# What one character of an answer can cost in a request body: up to 4 bytes of UTF-8 (an
# emoji), each sent as `%XX` when urlencoded; a line break (CRLF, `%0D%0A`) costs less.
BODY_BYTES_PER_CHARACTER = 4 * 3
# A field's name, multipart boundary and headers, or its `name=` and `&`, with room to spare.
BODY_BYTES_PER_FIELD = 256
# A field without a stated length (a token, a choice, the honeypot) may take this much.
BODY_BYTES_UNLIMITED_FIELD = 1024
# The bound on any body, whatever the forms' limits add up to (start-up refuses more).
BODY_BYTES_CEILING = 1024 * 1024


def choices(labels: dict[str, Any]) -> list[SelectChoice]:
    """Turn a value -> label mapping into WTForms choices."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class Required(DataRequired):
    """DataRequired that never adds the `required` attribute: validation is server-side only."""

    field_flags: dict[str, Any] = {}  # noqa: RUF012  (WTForms reads it as a class attribute)


def line_breaks(value: Any) -> Any:
    """Write every line break as one LF: browsers send CRLF, and people count one character."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def strip(value: Any) -> Any:
    """Trim text answers, one LF per line break; drop NUL (PostgreSQL refuses it) and overrides."""
    if isinstance(value, str):
        return line_breaks(value).replace("\x00", "").translate(_BIDI_CONTROLS).strip()
    return value


def one_line(form: FlaskForm, field: Field) -> None:
    """Refuse line breaks and control characters in single-line answers (no header tricks)."""
    if field.data and CONTROL.search(field.data):
        raise ValidationError(_l("Write this on one line, without line breaks."))


class PostedForm(FlaskForm):
    """A form that reads only what a browser posts: never a JSON body, never uploaded files."""

    class Meta:
        def bind_field(self, form: FlaskForm, unbound_field: Any, options: dict) -> Field:
            """Add the line-break filter to every field, so Length counts as people do."""
            filters = [line_breaks, *unbound_field.kwargs.get("filters", [])]
            return unbound_field.bind(form=form, filters=filters, **options)

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


def field_max_length(field: UnboundField) -> int | None:
    """Return the most characters a declared field's validators allow, or None for no limit."""
    validators = field.kwargs.get("validators") or (field.args[1] if len(field.args) > 1 else [])
    limits = [v.max for v in validators if isinstance(v, Length) and v.max >= 0]
    return min(limits) if limits else None


def declared_fields(form: type[FlaskForm]) -> list[tuple[str, UnboundField]]:
    """Return a form class's declared fields in the order WTForms shows them, without a request."""
    found = [
        (name, field)
        for name in dir(form)
        if not name.startswith("_") and isinstance(field := getattr(form, name), UnboundField)
    ]
    # WTForms' own order (wtforms.form.FormMeta): by declaration, then by name.
    return sorted(found, key=lambda item: (item[1].creation_counter, item[0]))


def most_body_bytes(form: type[FlaskForm]) -> int:
    """Return the largest body a browser sends for a form filled in within its fields' limits."""
    # Flask-WTF adds the token when a form is made; it has no stated limit.
    fields: dict[str, int | None] = {"csrf_token": None}
    for name, field in declared_fields(form):
        fields[name] = field_max_length(field)
    total = 0
    for name, limit in fields.items():
        value = BODY_BYTES_UNLIMITED_FIELD if limit is None else limit * BODY_BYTES_PER_CHARACTER
        total += BODY_BYTES_PER_FIELD + 3 * len(name) + value
    return total


def every_form(root: type[FlaskForm] = PostedForm) -> list[type[FlaskForm]]:
    """Return every form class the app has declared (all read posts through PostedForm)."""
    found = [root]
    for child in root.__subclasses__():
        found.extend(every_form(child))
    return found


def body_limit() -> int:
    """Return the request-body limit that lets every form through filled in to its limits."""
    limit = max(most_body_bytes(form) for form in every_form())
    if limit > BODY_BYTES_CEILING:
        raise RuntimeError(
            f"the forms' length limits add up to a {limit}-byte body, over the bound of "
            f"{BODY_BYTES_CEILING}: lower a field's Length(max=...)"
        )
    return limit


def limit_bodies(app: Flask) -> None:
    """Set MAX_CONTENT_LENGTH from the forms' limits, unless the operator set one."""
    needed = body_limit()
    chosen = app.config["MAX_CONTENT_LENGTH"]
    if chosen is None:
        app.config["MAX_CONTENT_LENGTH"] = needed
    elif chosen < needed:
        app.logger.warning(
            "MAX_CONTENT_LENGTH=%s is below the %s bytes a form filled in to its limits can take:"
            " such a form gets 413 (unset MAX_CONTENT_LENGTH to derive it)",
            chosen,
            needed,
        )


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


# What a form sent too fast says: why it was not received, that nothing typed is lost, and what
# to do. A person meets it when the browser filled the form in and they sent it at once.
TOO_FAST = _l(
    "The form was sent faster than a person usually fills it in, so we did not receive it."
    " Your answers are still here. Check them and send the form again."
)


def sent_too_fast(token: str | None) -> bool:
    """Tell whether the form came back sooner than a person could fill it in."""
    read = _read_start(token)
    if read is None:
        return True
    return time.time() - read[0] < current_app.config["FORM_MIN_SECONDS"]
