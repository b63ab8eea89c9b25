"""The staff area's forms: assign, status, note, reply, publish a confirmed problem."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from babel import Locale
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError

from ..forms import PostedForm, Required, choices
from ..i18n import DEFAULT_LOCALE, LOCALES
from ..models import Answer, Status, utcnow
from ..wcag import CRITERIA
from ..workdays import local_date

STATUS_LABELS = {
    Status.NEW: _l("New"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.WAITING: _l("Waiting"),
    Status.CLOSED: _l("Closed"),
}


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


ANSWERED_BY_WORDS = {
    Answer.EMAIL: _l("by email"),
    Answer.PHONE: _l("by phone"),
    Answer.LETTER: _l("by letter"),
}
ANSWER_LABELS = {
    Answer.PHONE: _l("By phone: I called the person"),
    Answer.LETTER: _l("By letter: a letter has been sent"),
}


class AnswerForm(PostedForm):
    """An answer given outside the site (a call, a letter), recorded as the case's answer."""

    how = RadioField(
        _l("How was the person answered?"),
        choices=choices(ANSWER_LABELS),
        validators=[Required(_l("Select how the person was answered."))],
    )
    summary = TextAreaField(_l("What was said (optional)"), validators=[Length(max=5000)])


class SimpleForm(PostedForm):
    """An action with nothing but the CSRF token and perhaps a value."""

    value = HiddenField()


def language_name(code: str) -> LazyString:
    """Return a language's name in the language the page is shown in (for staff: Swedish)."""
    return LazyString(lambda: Locale.parse(code).get_display_name(str(get_locale())))


DESCRIPTION_MAX = 2000  # a problem's description in any language (the statement shows it whole)


def _text_field(code: str, what: str) -> Any:
    """Return a field for the description (`what`) or the alternative (`instead`) in one language.

    The description is required in the default language; an alternative is optional in all
    (PublishForm asks for the Swedish one once another is written).
    """
    language = language_name(code)
    if what == "what" and code == DEFAULT_LOCALE:
        required = Required(_l("Write the description in %(language)s.", language=language))
        label = _l("Description in %(language)s", language=language)
        return TextAreaField(label, validators=[required, Length(max=DESCRIPTION_MAX)])
    if what == "what":
        label = _l("Description in %(language)s (optional)", language=language)
        return TextAreaField(label, validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    label = _l("What you can do instead, in %(language)s (optional)", language=language)
    # No Optional(): it would stop the check that asks for the Swedish text (validate_instead_sv).
    return TextAreaField(label, validators=[Length(max=DESCRIPTION_MAX)])


# One `what_<code>` and one `instead_<code>` field per locale, the default first, declared
# before the other fields so the fields (and the error summary) keep that order.
DESCRIBED_LOCALES = sorted(LOCALES, key=lambda code: code != DEFAULT_LOCALE)
if TYPE_CHECKING:  # mypy takes no class made by type() as a base: to it, a PostedForm
    _Descriptions = PostedForm
else:
    _Descriptions = type(
        "_Descriptions",
        (PostedForm,),
        {
            f"{what}_{code}": _text_field(code, what)
            for what in ("what", "instead")
            for code in DESCRIBED_LOCALES
        },
    )


class PublishForm(_Descriptions):
    """A confirmed problem, for the accessibility statement: previewed, then published."""

    fix_by = StringField(_l("Planned fix by (optional)"), validators=[Optional(), Length(max=10)])
    criteria = StringField(
        _l("WCAG success criteria"),
        # A problem names a few criteria; 200 characters hold about 25 (and bound the body limit).
        validators=[Required(_l("Enter at least one criterion.")), Length(max=200)],
    )
    # Ticked only after the preview warned of what looks like personal data.
    personal_ok = BooleanField(
        _l(
            "I have checked: what looks like personal data may be published (for example our "
            "own phone number)."
        )
    )
    previewed = HiddenField()  # the digest of what the preview showed (publishing.py)

    def validate_criteria(self, field: Any) -> None:
        """Accept WCAG 2.2 success criteria by number, like 1.4.3, separated by commas."""
        items = list(dict.fromkeys(c.strip() for c in (field.data or "").split(",") if c.strip()))
        if not items:
            raise ValidationError(_l("Enter at least one criterion."))
        unknown = [c for c in items if c not in CRITERIA]
        if unknown:
            raise ValidationError(
                _l(
                    "%(criteria)s is not a WCAG 2.2 success criterion. Write criteria as numbers "
                    "separated by commas, like 1.4.3, 2.4.7.",
                    criteria=", ".join(unknown),
                )
            )
        field.data = ", ".join(items)

    def validate_fix_by(self, field: Any) -> None:
        """Accept a date written YYYY-MM-DD, today or later."""
        try:
            day = dt.date.fromisoformat(field.data)
        except (TypeError, ValueError):
            raise ValidationError(_l("Write the date as YYYY-MM-DD, like 2027-03-31.")) from None
        if day < local_date(utcnow()):
            raise ValidationError(_l("The planned date has passed. Write a later date."))

    def validate_instead_sv(self, field: Any) -> None:
        """Ask for the Swedish alternative once another has one (Swedish is the fallback)."""
        if not (field.data or "").strip() and any(self.alternatives().values()):
            raise ValidationError(
                _l(
                    "Write what you can do instead in %(language)s too.",
                    language=language_name(DEFAULT_LOCALE),
                )
            )

    def descriptions(self) -> list[Field]:
        """Return the description fields, one per locale, the default locale's first."""
        return [self[f"what_{code}"] for code in DESCRIBED_LOCALES]

    def alternative_fields(self) -> list[Field]:
        """Return the alternative's fields, one per locale, the default locale's first."""
        return [self[f"instead_{code}"] for code in DESCRIBED_LOCALES]

    def texts(self) -> dict[str, str]:
        """Return the descriptions typed in, by locale code."""
        return {code: (self[f"what_{code}"].data or "").strip() for code in DESCRIBED_LOCALES}

    def alternatives(self) -> dict[str, str]:
        """Return what readers can do instead, as typed in, by locale code."""
        return {code: (self[f"instead_{code}"].data or "").strip() for code in DESCRIBED_LOCALES}

    def fix_date(self) -> dt.date | None:
        """Return the planned fix date (once validated), or None."""
        return dt.date.fromisoformat(self.fix_by.data) if self.fix_by.data else None

    def criteria_list(self) -> list[str]:
        """Return the criteria (once validated)."""
        return self.criteria.data.split(", ")


LONGEST_YEARS = 10  # the longest from-to period the statistics page shows, in calendar years


class PeriodForm(FlaskForm):
    """The statistics page's period: one from the list, or any days from one to another.

    Sent with GET (it changes nothing, and the address can be bookmarked or shared), so it
    has no CSRF token.
    """

    class Meta:
        csrf = False

    period = SelectField(_l("Period"), validate_choice=False)
    # No Optional(): it would stop the check that a from-to pair has both of its days.
    start = StringField(_l("From"), validators=[Length(max=10)])
    end = StringField(_l("To"), validators=[Length(max=10)])

    def validate_start(self, field: Any) -> None:
        """Accept a date, and ask for it when only the end is given."""
        _day(field, self.end.data, _l("Write the first day too, or choose a period instead."))

    def validate_end(self, field: Any) -> None:
        """Accept a date on or after the start, and ask for it when only the start is given."""
        day = _day(field, self.start.data, _l("Write the last day too, or choose a period."))
        start = self.day(self.start)
        if day is not None and start is not None and day < start:
            raise ValidationError(_l("The last day must be the same as the first, or later."))
        # A page of a thousand years' months (a chart of 12,000 bars, 5 MB) helps no one.
        if day is not None and start is not None and day.year - start.year >= LONGEST_YEARS:
            raise ValidationError(
                _l("Choose at most %(years)s years at a time.", years=LONGEST_YEARS)
            )

    @staticmethod
    def day(field: Field) -> dt.date | None:
        """Return a field's date, or None when it holds none (or no valid one)."""
        try:
            return dt.date.fromisoformat(field.data) if field.data else None
        except ValueError:
            return None

    def days(self) -> tuple[dt.date, dt.date] | None:
        """Return the days chosen (once validated), or None when a period was chosen instead."""
        start, end = self.day(self.start), self.day(self.end)
        return (start, end) if start is not None and end is not None else None


def _day(field: Field, other: str | None, missing: LazyString) -> dt.date | None:
    """Read a date field of a from-to pair; a pair needs both days."""
    if not field.data:
        if other:
            raise ValidationError(missing)
        return None
    day = PeriodForm.day(field)
    if day is None or not dt.date(2000, 1, 1) <= day <= dt.date(2999, 12, 31):
        raise ValidationError(_l("Write the date as YYYY-MM-DD, like 2026-03-31."))
    return day
