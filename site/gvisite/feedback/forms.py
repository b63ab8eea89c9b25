"""The two DOS-lagen forms: report an accessibility problem, ask for another format.

Each form declares what it stores by its fields: a field named like a column of `Case`
(page, name, email, phone, address) fills that column, and every other answer is kept in the
case's `answers`, so a new field can never be silently dropped.

A field is the one place a question is written. WTForms' own attributes carry what the page
shows: the label, the hint (`description`) and the input's HTML attributes (`render_kw`:
autocomplete, spellcheck, rows), and the macro `questions` renders the fields in their order.
What staff see of the answer and whether it outlives the erasure are declared beside it with
`for_staff` (a `ForStaff` value), read by the staff mail, the case page and the erasure.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_request_context, request
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, Field, RadioField, StringField, TelField, TextAreaField
from wtforms.validators import Length, Optional, StopValidation, ValidationError

from ..cases import PAGE_DESCRIPTION
from ..forms import CONTROL, NOT_ANSWERS, BaseForm, Required, choices, one_line
from ..i18n import number
from ..models import Case
from ..pages.views import route_exists
from ..security import split_url
from .answers import StaffAnswer, answers_for_staff, for_staff, kept_by

PROBLEM_MAX = 5000
SHORT_MAX = 200
PAGE_MAX = 500  # the cases.page column


def most(limit: int) -> LazyString:
    """Return a length limit as the reader's language writes it ("5 000"), when it is shown."""
    return LazyString(lambda: number(limit))


def too_long(limit: int) -> LazyString:
    """Return the error for an answer over a length limit, the limit written as `most` does."""
    return _l("Use %(most)s characters or fewer.", most=most(limit))


FORMAT_LABELS = dict(
    [
        ("lattlast", _l("Easy-to-read Swedish (lättläst)")),
        ("teckensprak", _l("Swedish sign language")),
        ("storstil", _l("Large print")),
        ("punktskrift", _l("Braille")),
        ("ljud", _l("Read aloud (audio)")),
        # Like the slow audio every page has (formats/speech.py), for what is not on the site.
        ("ljud-langsam", _l("Read aloud slowly, with longer pauses (audio)")),
        ("daisy", _l("DAISY talking book")),
        ("tillganglig-fil", _l("Accessible PDF, Word, HTML or text file")),
        ("textning", _l("Captions or audio description")),
        ("annat", _l("Something else")),
    ]
)
# Physical formats are the only ones that can be sent by post.
POSTAL_FORMATS = frozenset({"storstil", "punktskrift", "daisy"})
DELIVERY_LABELS = dict(
    [
        ("email", _l("By email")),
        ("phone", _l("By phone (we call you)")),
        ("post", _l("By post (large print, braille and DAISY only)")),
    ]
)
# How staff name the ways of delivery (the resident's labels speak to the resident).
DELIVERY_WORDS = {"email": _l("Email"), "phone": _l("Phone"), "post": _l("Post")}
_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,25}$")


def site_path(value: str | None) -> str | None:
    """Return the path of an address on this site (full or from the root), or None."""
    # Browsers read a backslash as a slash: `/\\evil.example` is another site's address.
    if not value or len(value) > PAGE_MAX or CONTROL.search(value) or "\\" in value:
        return None
    parts = split_url(value.strip())
    if parts is None:
        return None
    if parts.scheme or parts.netloc:
        # The address the site calls itself, or the one the resident reached it by.
        ours = {urlsplit(current_app.config["SITE_URL"]).netloc}
        if has_request_context():
            ours.add(request.host)
        if parts.scheme not in {"http", "https"} or parts.netloc.lower() not in ours:
            return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or not route_exists(path):
        return None
    return path


def page_or_description(form: FlaskForm, field: Field) -> None:
    """Keep an address of this site as its path; anything else is the resident's description."""
    # People paste full addresses, or have no address at all (a letter, a PDF they were sent).
    field.data = site_path(field.data) or field.data


def email_address(form: FlaskForm, field: Field) -> None:
    """Check the form of an e-mail address, and that our mail server can send to it."""
    if not field.data:
        return
    # A domain like järfälla.se is sent as punycode (outbox.py); letters like å before the @
    # need a mail server that takes SMTPUTF8, or the receipt would never arrive.
    smtputf8 = current_app.config["SMTP_UTF8"]
    try:
        found = validate_email(field.data, check_deliverability=False, allow_smtputf8=smtputf8)
    except EmailNotValidError as exc:
        if not smtputf8 and _valid_with_smtputf8(field.data):
            raise ValidationError(
                _l(
                    "We cannot send email to addresses with letters like å, ä or ö before"
                    " the @. Enter another email address."
                )
            ) from exc
        raise ValidationError(
            _l("Enter an email address in the correct format, like namn@exempel.se.")
        ) from exc
    field.data = found.normalized


def _valid_with_smtputf8(address: str) -> bool:
    """Tell whether an address would be valid if the mail server took SMTPUTF8."""
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return False
    return True


def phone_number(form: FlaskForm, field: Field) -> None:
    """Check that a phone number has only digits and the usual separators."""
    if field.data and not _PHONE.match(field.data):
        raise ValidationError(_l("Enter a phone number with digits only, like 070-123 45 67."))


class FeedbackForm(BaseForm):
    """A public form whose answers become a case."""

    kind: str  # the case's kind, as in cases.KINDS
    template: str

    def questions(self, start: str | None = None, stop: str | None = None) -> list[Field]:
        """Return the questions in the class's order, from `start` up to (not including) `stop`."""
        found = [field for field in self if field.name not in NOT_ANSWERS]
        names = [field.name for field in found]
        first = names.index(start) if start else 0
        return found[first : names.index(stop) if stop else len(found)]

    @staticmethod
    def hint(field: Field, **values: Any) -> Markup | None:
        """Return a field's hint as a template's `_()` would: the text as markup, values escaped."""
        if not field.description:
            return None
        # Our own catalog's text, trusted as Jinja's `_()` trusts it; the values are escaped.
        return Markup(str(field.description)) % values  # noqa: S704

    def columns(self) -> dict[str, Any]:
        """Return the answers that have a column of their own on the case."""
        names = Case.__table__.columns.keys()
        found = {field.name: field.data for field in self if field.name in names}
        # The page column holds only a path of the site: free text is an answer (erasable).
        found["page"] = site_path(self.page.data) or ""
        return found

    def answers(self) -> dict[str, Any]:
        """Return every other answer, kept as the case's free text."""
        names = Case.__table__.columns.keys()
        found = {
            field.name: field.data or ""
            for field in self
            if field.name not in names and field.name not in NOT_ANSWERS
        }
        if not site_path(self.page.data):  # a description: a letter, a document, a place
            found[PAGE_DESCRIPTION] = self.page.data or ""
        return found


class ReportForm(FeedbackForm):
    """Report an accessibility problem (Påtala bristande tillgänglighet)."""

    kind = "report"
    template = "feedback/report.html"

    page = StringField(
        _l("Which page is the problem on?"),
        description=_l(
            "The address of the page, like %(example)s, or the whole address copied from the"
            " browser. If you came from a page, it is already filled in. No address? Describe"
            " where you saw the problem."
        ),
        validators=[
            Required(_l("Enter the page the problem is on, or describe where you saw it.")),
            Length(max=PAGE_MAX, message=too_long(PAGE_MAX)),
            one_line,
            page_or_description,
        ],
        render_kw={"spellcheck": False},
    )
    problem = for_staff(
        TextAreaField(
            _l("What is the problem?"),
            description=_l(
                "Describe what you tried to do and what went wrong. Up to %(most)s characters.",
                most=most(PROBLEM_MAX),
            ),
            validators=[
                Required(_l("Describe the problem.")),
                Length(max=PROBLEM_MAX, message=too_long(PROBLEM_MAX)),
            ],
            render_kw={"rows": 8},
        ),
        _l("Problem"),
    )
    assistive_tech = for_staff(
        StringField(
            _l("Assistive technology you use (optional)"),
            description=_l("For example a screen reader, magnification or voice control."),
            validators=[Optional(), Length(max=SHORT_MAX), one_line],
        ),
        _l("Assistive technology"),
    )
    browser = for_staff(
        StringField(
            _l("Browser and device (optional)"),
            description=_l("For example Firefox on a computer, or Safari on an iPhone."),
            validators=[Optional(), Length(max=SHORT_MAX), one_line],
        ),
        _l("Browser and device"),
    )
    name = for_staff(
        StringField(
            _l("Your name (optional)"),
            validators=[Optional(), Length(max=SHORT_MAX), one_line],
            render_kw={"autocomplete": "name", "spellcheck": False},
        ),
        _l("Name"),
    )
    email = for_staff(
        EmailField(
            _l("Your email address (optional)"),
            validators=[Optional(), Length(max=320), one_line, email_address],
            render_kw={"autocomplete": "email", "spellcheck": False},
        ),
        _l("Email"),
    )


class FormatForm(FeedbackForm):
    """Request content in an alternative format."""

    kind = "format"
    template = "feedback/format.html"

    page = StringField(
        _l("Which page or document do you need in another format?"),
        description=_l(
            "The address of the page, like %(example)s, or the whole address copied from the"
            " browser. If you came from a page, it is already filled in. For a document, such"
            " as a letter you were sent, write what it is called and its date."
        ),
        validators=[
            Required(_l("Enter the page or document you need.")),
            Length(max=PAGE_MAX, message=too_long(PAGE_MAX)),
            one_line,
            page_or_description,
        ],
        render_kw={"spellcheck": False},
    )
    format = for_staff(
        RadioField(
            _l("Which format do you need?"),
            choices=choices(FORMAT_LABELS),
            validators=[Required(_l("Select the format you need."))],
            validate_choice=True,
        ),
        _l("Format"),
        kept=True,
        detail="format_other",
    )
    format_other = StringField(
        _l("Describe the format"),
        description=_l("Only if you chose “Something else”."),
        validators=[Length(max=SHORT_MAX), one_line],
    )
    language = for_staff(
        StringField(
            _l("Language (optional)"),
            description=_l("If you need the content in another language, which one?"),
            validators=[Optional(), Length(max=100), one_line],
        ),
        _l("Language wanted"),
    )
    delivery = for_staff(
        RadioField(
            _l("How do you want to receive it?"),
            description=_l("Fill in the matching contact detail below."),
            choices=choices(DELIVERY_LABELS),
            validators=[Required(_l("Select how you want to receive it."))],
        ),
        _l("Delivery"),
        kept=True,
        choice_words=DELIVERY_WORDS,
    )
    name = for_staff(
        StringField(
            _l("Your name"),
            validators=[Required(_l("Enter your name.")), Length(max=200), one_line],
            render_kw={"autocomplete": "name", "spellcheck": False},
        ),
        _l("Name"),
    )
    email = for_staff(
        EmailField(
            _l("Email address"),
            description=_l("If you chose email."),
            validators=[Length(max=320), one_line, email_address],
            render_kw={"autocomplete": "email", "spellcheck": False},
        ),
        _l("Email"),
    )
    phone = for_staff(
        TelField(
            _l("Phone number"),
            description=_l("If you chose phone."),
            validators=[Length(max=30), one_line, phone_number],
            render_kw={"autocomplete": "tel", "spellcheck": False},
        ),
        _l("Phone"),
    )
    address = for_staff(
        TextAreaField(
            _l("Postal address"),
            description=_l("If you chose post: street, postcode and town."),
            validators=[Length(max=500)],
            render_kw={"rows": 3, "autocomplete": "street-address"},
        ),
        _l("Postal address"),
    )
    message = for_staff(
        TextAreaField(
            _l("Anything else we should know (optional)"),
            validators=[
                Optional(),
                Length(max=PROBLEM_MAX, message=too_long(PROBLEM_MAX)),
            ],
            render_kw={"rows": 4},
        ),
        _l("Message"),
    )

    def validate_format_other(self, field: Field) -> None:
        """Require a description when the format is 'something else'."""
        if self.format.data == "annat" and not field.data:
            raise StopValidation(_l("Describe the format you need."))

    def validate_delivery(self, field: Field) -> None:
        """Allow post only for physical formats."""
        if field.data == "post" and self.format.data not in POSTAL_FORMATS:
            raise ValidationError(_l("Post is only possible for large print, braille and DAISY."))

    def validate_email(self, field: Field) -> None:
        """Require the address we are to deliver to."""
        if self.delivery.data == "email" and not field.data:
            raise StopValidation(_l("Enter your email address."))

    def validate_phone(self, field: Field) -> None:
        """Require the number we are to call."""
        if self.delivery.data == "phone" and not field.data:
            raise StopValidation(_l("Enter your phone number."))

    def validate_address(self, field: Field) -> None:
        """Require the postal address we are to send to."""
        if self.delivery.data == "post" and not field.data:
            raise StopValidation(_l("Enter your postal address."))


FORMS: dict[str, type[FeedbackForm]] = {form.kind: form for form in (ReportForm, FormatForm)}


def staff_answers(case: Case, *, columns: bool = False) -> list[StaffAnswer]:
    """Return a case's answers for staff in its form's order (see answers.answers_for_staff)."""
    return answers_for_staff(FORMS[case.kind], case, columns=columns)


def kept_answers(kind: str) -> frozenset[str]:
    """Return the answers of a kind of case that stay after its personal data is erased."""
    return kept_by(FORMS[kind])
