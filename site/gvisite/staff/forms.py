"""The staff area's forms: assign, status, note, reply, publish a confirmed problem."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from ..forms import Required, choices

STATUS_LABELS = {
    "ny": _l("New"),
    "pagaende": _l("In progress"),
    "vantar": _l("Waiting"),
    "avslutad": _l("Closed"),
}
_CRITERION = re.compile(r"^\d\.\d{1,2}\.\d{1,2}$")


class AssignForm(FlaskForm):
    """Give the case to someone."""

    assignee = SelectField(_l("Assign to"), coerce=str)


class StatusForm(FlaskForm):
    """Move the case on; closing needs a reason."""

    status = RadioField(_l("New status"), choices=choices(STATUS_LABELS), validate_choice=False)
    reason = TextAreaField(_l("Reason (required when closing)"), validators=[Length(max=2000)])

    def validate_status(self, field: Any) -> None:
        """Require a status."""
        if field.data not in STATUS_LABELS:
            raise ValidationError(_l("Select a status."))

    def validate_reason(self, field: Any) -> None:
        """Require a reason when closing."""
        if self.status.data == "avslutad" and not (field.data or "").strip():
            raise ValidationError(_l("Write why the case is closed."))


class NoteForm(FlaskForm):
    """An internal note."""

    note = TextAreaField(
        _l("Internal note"),
        validators=[Required(_l("Write the note.")), Length(max=5000)],
    )


class ReplyForm(FlaskForm):
    """A reply to the resident."""

    reply = TextAreaField(
        _l("Reply to the resident"),
        validators=[Required(_l("Write the reply.")), Length(max=10000)],
    )


class SimpleForm(FlaskForm):
    """An action with nothing but the CSRF token and perhaps a value."""

    value = HiddenField()


class PublishForm(FlaskForm):
    """A confirmed problem, for the accessibility statement."""

    what_sv = TextAreaField(
        _l("Description in Swedish"),
        validators=[Required(_l("Write the description in Swedish.")), Length(max=2000)],
    )
    what_fi = TextAreaField(_l("Description in Finnish (optional)"), validators=[Optional()])
    what_en = TextAreaField(_l("Description in English (optional)"), validators=[Optional()])
    what_ar = TextAreaField(_l("Description in Arabic (optional)"), validators=[Optional()])
    criteria = StringField(
        _l("WCAG success criteria"), validators=[Required(_l("Enter at least one criterion."))]
    )

    def validate_criteria(self, field: Any) -> None:
        """Accept criteria numbers like 1.4.3, separated by commas."""
        items = [c.strip() for c in (field.data or "").split(",") if c.strip()]
        if not items or not all(_CRITERION.match(c) for c in items):
            raise ValidationError(
                _l("Write criteria as numbers separated by commas, like 1.4.3, 2.4.7.")
            )
        field.data = ", ".join(items)
