"""What staff see of a form's answers, and which outlive the erasure: declared on the fields.

`for_staff` marks a field with a `ForStaff` value beside WTForms' own attributes (label,
`description` for the hint, `render_kw` for the input's HTML): the staff mail, the case page
and the erasure rule all read it, so a new question is its field and its catalog entries. A
field without the mark is shown to staff with its question, and erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.fields.core import UnboundField

from ..forms import NOT_ANSWERS, declared_fields
from ..models import Case


@dataclass(frozen=True)
class ForStaff:
    """What staff see of one answer, and whether it outlives the erasure of personal data."""

    label: Any  # lazy: the staff mail and the case page show it in the staff language
    # Kept after the erasure (withdrawal, purge): only a choice from our own list, never the
    # resident's words; a choice can be personal too (health), so it is a decision, not a type.
    kept: bool = False
    # Another answer shown in brackets after this one (the "something else" text of a choice).
    detail: str | None = None
    # Staff's own short words for the choices (Telefon, not "By phone (we call you)", which
    # speaks to the resident); None: the choices' labels, as the resident read them.
    choice_words: dict[str, Any] | None = None


def for_staff(
    field: UnboundField,
    label: Any,
    *,
    kept: bool = False,
    detail: str | None = None,
    choice_words: dict[str, Any] | None = None,
) -> UnboundField:
    """Declare how staff see a field's answer (see ForStaff); return the field."""
    field.for_staff = ForStaff(label, kept, detail, choice_words)  # our own mark
    return field


def staff_facts(field: UnboundField) -> ForStaff:
    """Return what a declared field shows staff: as declared, or its question, erased."""
    declared: ForStaff | None = getattr(field, "for_staff", None)
    return declared or ForStaff(field.args[0] if field.args else field.kwargs.get("label"))


@dataclass(frozen=True)
class StaffAnswer:
    """One answer as staff read it: label and value in the staff language, long or short."""

    name: str
    label: Any
    value: Any
    long: bool  # a multi-line text, shown under its label


def answers_for_staff(
    form: type[FlaskForm], case: Case, *, columns: bool = False
) -> list[StaffAnswer]:
    """Return a case's answers for staff in the form's order; with the contact columns too."""
    column_names = Case.__table__.columns.keys()
    fields = [
        (name, field, staff_facts(field))
        for name, field in declared_fields(form)
        # The page has a line of its own everywhere (a link, the page's title).
        if name not in NOT_ANSWERS and name != "page"
    ]
    shown_inside = {facts.detail for _name, _field, facts in fields}
    rows = []
    for name, field, facts in fields:
        in_column = name in column_names
        if name in shown_inside or (in_column and not columns):
            continue
        value = getattr(case, name) if in_column else case.answers.get(name)
        if value and "choices" in field.kwargs:  # words, never our code
            labels = facts.choice_words or {c.value: c.label for c in field.kwargs["choices"]}
            value = labels.get(value, value)
        if facts.detail and (detail := case.answers.get(facts.detail)):
            value = f"{value} ({detail})"  # text: the page escapes it, the mail is plain
        long = issubclass(field.field_class, TextAreaField)
        rows.append(StaffAnswer(name, facts.label, value or "", long))
    return rows


def kept_by(form: type[FlaskForm]) -> frozenset[str]:
    """Return the answers of a form that stay after the personal data is erased."""
    fields = declared_fields(form)
    return frozenset(name for name, field in fields if staff_facts(field).kept)
