"""The mail about a case: to staff (in Swedish), and to the resident in their language.

Every mail to the resident carries the status link, and its Reply-To is the team's mailbox with
the reference in the subject: a resident who answers by mail still reaches the case's staff.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template
from flask_babel import force_locale

from ..cases import case_secret, mailboxes_for, staff_recipients
from ..i18n import DEFAULT_LOCALE
from ..links import absolute_url
from ..models import Case, OutboxMessage
from ..pages.views import page_at
from ..statement import current_statement
from ..templating import render_mail
from .forms import staff_answers


def status_url(case: Case, secret: str | None = None, locale: str | None = None) -> str | None:
    """Return the resident's private status link, or None for a case whose secret is lost."""
    secret = secret or case.secret or case_secret(case)
    if not secret:
        return None
    return absolute_url(
        "feedback.case_status",
        locale=locale or case.locale,  # the receipt's language, once the resident chose one
        reference=case.reference,
        nyckel=secret,
    )


def case_staff_recipients(case: Case) -> list[str]:
    """Return the staff who receive mail about this case: its team and the page's owner."""
    page = page_at(case.page) if case.page else None
    return staff_recipients(case.kind, page.owner.email if page else None)


def _staff_case_url(case: Case) -> str:
    """Return the address of the case in the staff area."""
    return absolute_url("staff.case_page", reference=case.reference)


def compose_mail(case: Case) -> list[OutboxMessage]:
    """Write the staff mail (in Swedish) and, if there is an address, the resident's receipt."""
    page = page_at(case.page) if case.page else None
    base_url = current_app.config["SITE_URL"]
    context: dict[str, object] = {
        "case": case,
        "page_title": page.title if page else None,
        # What the resident wrote may be a description rather than an address of ours.
        "page_url": f"{base_url}{case.page}" if case.page else None,
        "case_url": _staff_case_url(case),
        "contact": bool(case.email or case.phone or case.address),
        "target_days": current_statement().response_target_days,
    }
    with force_locale(DEFAULT_LOCALE):  # the staff's language
        context["answers"] = staff_answers(case, columns=True)
        messages = [
            OutboxMessage(
                purpose="staff",
                recipients=case_staff_recipients(case),
                reply_to=case.email,
                subject=render_template(f"emails/staff_{case.kind}_subject.txt", **context).strip(),
                body=render_template(f"emails/staff_{case.kind}.txt", **context),
            )
        ]
    if case.email:
        messages.append(_resident_message(case, "receipt", "receipt"))
    return messages


def _resident_message(case: Case, purpose: str, template: str, **context: object) -> OutboxMessage:
    """Write one mail to the resident, in their language, with the status link."""
    assert case.email is not None  # only a resident who left an address gets mail
    context.update(case=case, status_url=status_url(case))
    with force_locale(case.locale):
        return OutboxMessage(
            purpose=purpose,
            recipients=[case.email],
            # A reply reaches the people who handle the case, the reference in the subject.
            reply_to=mailboxes_for(case.kind)[0],
            subject=render_mail(f"emails/{template}_subject.txt", **context).strip(),
            body=render_mail(f"emails/{template}.txt", **context),
        )


def compose_reply(case: Case, text: str) -> OutboxMessage:
    """Write staff's reply to the resident."""
    message = _resident_message(case, "reply", "reply", text=text)
    message.case = case  # a case stored long ago (the receipt joins its new case's list)
    return message


def compose_closing(case: Case, reason: str) -> OutboxMessage:
    """Tell the resident that their case was closed, and why."""
    message = _resident_message(case, "closed", "closed", reason=reason)
    message.case = case
    return message


def _staff_message(case: Case, template: str, **context: object) -> OutboxMessage:
    """Write one mail (in Swedish) to the case's staff recipients from a pair of templates."""
    context.update(case=case, case_url=_staff_case_url(case))
    with force_locale(DEFAULT_LOCALE):
        return OutboxMessage(
            case=case,
            purpose="staff",
            recipients=case_staff_recipients(case),
            reply_to=case.email,  # a reply goes to the resident, as with the first mail
            subject=render_template(f"emails/{template}_subject.txt", **context).strip(),
            body=render_template(f"emails/{template}.txt", **context),
        )


def compose_addition(case: Case, text: str, added_at: dt.datetime, reopened: bool) -> OutboxMessage:
    """Tell the case's staff what the resident added on the status page."""
    return _staff_message(case, "staff_addition", text=text, added_at=added_at, reopened=reopened)


def compose_withdrawal(case: Case) -> OutboxMessage:
    """Tell the case's staff that the resident withdrew it (no personal data is left to tell)."""
    return _staff_message(case, "staff_withdrawn")
