"""The two DOS-lagen forms: report an accessibility problem, ask for another format.

Each form declares what it stores by its fields: a field named like a column of `Case`
(page, name, email, phone, address) fills that column, and every other answer is kept in the
case's `answers`, so a new field can never be silently dropped.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional, StopValidation, ValidationError

from ..cases import PAGE_DESCRIPTION
from ..forms import CONTROL, NOT_ANSWERS, BaseForm, Required, choices, one_line
from ..models import Case
from ..pages.views import route_exists
from ..security import split_url

PROBLEM_MAX = 5000
SHORT_MAX = 200
PAGE_MAX = 500  # the cases.page column
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
        validators=[
            Required(_l("Enter the page the problem is on, or describe where you saw it.")),
            Length(max=PAGE_MAX, message=_l("Use 500 characters or fewer.")),
            one_line,
            page_or_description,
        ],
    )
    problem = TextAreaField(
        _l("What is the problem?"),
        validators=[
            Required(_l("Describe the problem.")),
            Length(max=PROBLEM_MAX, message=_l("Use 5,000 characters or fewer.")),
        ],
    )
    assistive_tech = StringField(
        _l("Assistive technology you use (optional)"),
        validators=[Optional(), Length(max=SHORT_MAX), one_line],
    )
    browser = StringField(
        _l("Browser and device (optional)"),
        validators=[Optional(), Length(max=SHORT_MAX), one_line],
    )
    name = StringField(
        _l("Your name (optional)"), validators=[Optional(), Length(max=SHORT_MAX), one_line]
    )
    email = StringField(
        _l("Your email address (optional)"),
        validators=[Optional(), Length(max=320), one_line, email_address],
    )


class FormatForm(FeedbackForm):
    """Request content in an alternative format."""

    kind = "format"
    template = "feedback/format.html"

    page = StringField(
        _l("Which page or document do you need in another format?"),
        validators=[
            Required(_l("Enter the page or document you need.")),
            Length(max=PAGE_MAX, message=_l("Use 500 characters or fewer.")),
            one_line,
            page_or_description,
        ],
    )
    format = RadioField(
        _l("Which format do you need?"),
        choices=choices(FORMAT_LABELS),
        validators=[Required(_l("Select the format you need."))],
        validate_choice=True,
    )
    format_other = StringField(
        _l("Describe the format"), validators=[Length(max=SHORT_MAX), one_line]
    )
    language = StringField(
        _l("Language (optional)"), validators=[Optional(), Length(max=100), one_line]
    )
    delivery = RadioField(
        _l("How do you want to receive it?"),
        choices=choices(DELIVERY_LABELS),
        validators=[Required(_l("Select how you want to receive it."))],
    )
    name = StringField(
        _l("Your name"), validators=[Required(_l("Enter your name.")), Length(max=200), one_line]
    )
    email = StringField(_l("Email address"), validators=[Length(max=320), one_line, email_address])
    phone = StringField(_l("Phone number"), validators=[Length(max=30), one_line, phone_number])
    address = TextAreaField(_l("Postal address"), validators=[Length(max=500)])
    message = TextAreaField(
        _l("Anything else we should know (optional)"),
        validators=[
            Optional(),
            Length(max=PROBLEM_MAX, message=_l("Use 5,000 characters or fewer.")),
        ],
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
