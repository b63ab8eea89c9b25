"""The staff area's forms: assign, status, note, reply, publish a confirmed problem."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from babel import Locale
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from wtforms import Field, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from ..forms import PostedForm, Required, choices
from ..i18n import DEFAULT_LOCALE, LOCALES
from ..models import Status

STATUS_LABELS = {
    Status.NEW: _l("New"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.WAITING: _l("Waiting"),
    Status.CLOSED: _l("Closed"),
}
_CRITERION = re.compile(r"^\d\.\d{1,2}\.\d{1,2}$")


class AssignForm(PostedForm):
    """Give the case to someone."""

    assignee = SelectField(_l("Assign to"), coerce=str)


class StatusForm(PostedForm):
    """Move the case on; closing needs a reason."""

    status = RadioField(_l("New status"), choices=choices(STATUS_LABELS), validate_choice=False)
    reason = TextAreaField(
        _l("Reason (required when closing; the resident sees it)"), validators=[Length(max=2000)]
    )

    def validate_status(self, field: Any) -> None:
        """Require a status."""
        if field.data not in STATUS_LABELS:
            raise ValidationError(_l("Select a status."))

    def validate_reason(self, field: Any) -> None:
        """Require a reason when closing."""
        if self.status.data == Status.CLOSED and not (field.data or "").strip():
            raise ValidationError(_l("Write why the case is closed."))


class NoteForm(PostedForm):
    """An internal note."""

    note = TextAreaField(
        _l("Internal note"),
        validators=[Required(_l("Write the note.")), Length(max=5000)],
    )


class ReplyForm(PostedForm):
    """A reply to the resident."""

    reply = TextAreaField(
        _l("Reply to the resident"),
        validators=[Required(_l("Write the reply.")), Length(max=10000)],
    )


class SimpleForm(PostedForm):
    """An action with nothing but the CSRF token and perhaps a value."""

    value = HiddenField()


def language_name(code: str) -> LazyString:
    """Return a language's name in the language the page is shown in (for staff: Swedish)."""
    return LazyString(lambda: Locale.parse(code).get_display_name(str(get_locale())))


DESCRIPTION_MAX = 2000  # a problem's description in any language (the statement shows it whole)


def _description_field(code: str) -> Any:
    """Return the field for the description in one language: required in the default one."""
    language = language_name(code)
    if code == DEFAULT_LOCALE:
        required = Required(_l("Write the description in %(language)s.", language=language))
        label = _l("Description in %(language)s", language=language)
        return TextAreaField(label, validators=[required, Length(max=DESCRIPTION_MAX)])
    label = _l("Description in %(language)s (optional)", language=language)
    return TextAreaField(label, validators=[Optional(), Length(max=DESCRIPTION_MAX)])


# One `what_<code>` field per locale, the default first, declared before the criteria field
# so the fields (and the error summary) keep that order.
DESCRIBED_LOCALES = sorted(LOCALES, key=lambda code: code != DEFAULT_LOCALE)
if TYPE_CHECKING:  # mypy takes no class made by type() as a base: to it, a PostedForm
    _Descriptions = PostedForm
else:
    _Descriptions = type(
        "_Descriptions",
        (PostedForm,),
        {f"what_{code}": _description_field(code) for code in DESCRIBED_LOCALES},
    )


class PublishForm(_Descriptions):
    """A confirmed problem, for the accessibility statement."""

    criteria = StringField(
        _l("WCAG success criteria"),
        # A problem names a few criteria; 200 characters hold about 25 (and bound the body limit).
        validators=[Required(_l("Enter at least one criterion.")), Length(max=200)],
    )

    def validate_criteria(self, field: Any) -> None:
        """Accept criteria numbers like 1.4.3, separated by commas."""
        items = [c.strip() for c in (field.data or "").split(",") if c.strip()]
        if not items or not all(_CRITERION.match(c) for c in items):
            raise ValidationError(
                _l("Write criteria as numbers separated by commas, like 1.4.3, 2.4.7.")
            )
        field.data = ", ".join(items)

    def descriptions(self) -> list[Field]:
        """Return the description fields, one per locale, the default locale's first."""
        return [self[f"what_{code}"] for code in DESCRIBED_LOCALES]

    def texts(self) -> dict[str, str]:
        """Return the descriptions typed in, by locale code."""
        return {code: (self[f"what_{code}"].data or "").strip() for code in DESCRIBED_LOCALES}
