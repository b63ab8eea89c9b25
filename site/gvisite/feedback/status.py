"""The resident's private status page: the case's status, add information, withdraw the case.

The page has no login and keeps no session. The status link's secret is the proof: it arrives in
the address of the link we mailed (`?nyckel=`), and the page's forms post it back in the body.
Its views share the forms' blueprint, so their endpoints are `feedback.case_status` and so on.
A link that does not open a case gets a page that says where else to find it, never a bare 404.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from flask import (
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from ..cases import is_reference, kind_of
from ..database import discard_session
from ..forms import TOO_FAST, error_summary, issue_start_time, sent_too_fast, submission_key
from ..i18n import current_locale
from ..links import PostedSwitch
from ..models import Case, Status
from ..security import private_answers
from ..statement import current_statement
from .followup import (
    AddInformationForm,
    WithdrawForm,
    addition_stored,
    find_case,
    keep_refused,
    store_addition,
    take_refused,
    take_thanks,
    thanks_ticket,
    withdraw,
)
from .story import story_of
from .views import FORM_TYPES, UNAVAILABLE_RETRY_SECONDS, bp, submissions_exhausted

# The address's marker of a refused addition kept for one view (a draft: "utkast").
REFUSED = "utkast"
# What a mail program or a hand adds to the end of a link: a full stop, a bracket, a space. A
# secret is URL-safe base64 and a reference has none of these, so they can go without a doubt.
_TRAILING = re.compile(r"[^A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class CaseAccess:
    """A status link as a request brings it: the reference, its secret, the case they open."""

    reference: str
    secret: str
    case: Case | None = None  # None until the link is checked, or while the database is down


def _link(reference: str) -> CaseAccess:
    """Read the status link: the secret from the mailed address, or from a post's body only."""
    if request.method != "POST":
        return CaseAccess(reference, request.args.get("nyckel", ""))
    # A body no browser form sends, or a reference no case has, goes no further.
    if request.mimetype not in FORM_TYPES:
        abort(415)
    if not is_reference(reference):
        _not_found()
    return CaseAccess(reference, request.form.get("nyckel", ""))  # never in an address in a log


def _tidied(link: CaseAccess) -> CaseAccess:
    """Return the link as we wrote it: nothing added to its end, the reference in capitals."""
    reference, secret = (_TRAILING.sub("", part.strip()) for part in (link.reference, link.secret))
    return CaseAccess(reference.upper(), secret)


def _not_found() -> NoReturn:
    """Answer a link that opens no case with where else to look; the same for every wrong link."""
    page = render_template("feedback/case_not_found.html", statement=current_statement())
    abort(private_answers(make_response(page, 404)))  # its address may hold a secret


def _resident_case(link: CaseAccess) -> Case:
    """Return the case the link opens; any wrong link looks like an unknown reference."""
    case = find_case(link.reference, link.secret)
    if case is None:
        _not_found()
    return case


def _status_page(
    access: CaseAccess,
    *,
    form: AddInformationForm | None = None,
    status: int = 200,
    **context: object,
) -> Response:
    """Render the status page (no case: the database is down) with the add form's state."""
    if form is None:
        form = AddInformationForm(formdata=None)
        form.started.data = issue_start_time()
    page = render_template(
        "feedback/status.html",
        reference=access.reference,
        secret=access.secret,
        case=access.case,
        story=story_of(access.case) if access.case else None,
        form=form,
        errors=error_summary(form),
        # Shown in answer to a post (only when the database is down: every other refusal is
        # kept and shown after a redirect), the page says its own address, which the browser
        # (with JavaScript) puts in place of the post's: a reload or bookmark opens it.
        page_address=_address(access) if request.method == "POST" else None,
        statement=current_statement(),
        language_post=_languages("feedback.show_case", access),
        **context,
    )
    return private_answers(make_response(page, status))


def _languages(endpoint: str, access: CaseAccess) -> PostedSwitch:
    """Return the language menu of a case's page: each language posts the key to `endpoint`."""
    # A link would carry the key in its address, to histories and logs; a post keeps it in
    # the body, as the page's own forms do.
    return PostedSwitch(endpoint, {"reference": access.reference}, {"nyckel": access.secret})


def _address(access: CaseAccess, page: str = "feedback.case_status", **flags: str) -> str:
    """Return the address of a case's page (its status), in this request's language, with flags."""
    # url_for writes the values its rule has no place for as the query, in this order.
    values: dict[str, Any] = {"nyckel": access.secret, **flags}
    return url_for(page, locale=current_locale(), reference=access.reference, **values)


def _back_to_status(
    access: CaseAccess,
    flags: Mapping[str, str] | None = None,
    *,
    code: int = 303,
    page: str = "feedback.case_status",
) -> Response:
    """Send the resident to a case's page (its status, after a change: post/redirect/get)."""
    # The address holds the key: the redirect, too, stays out of caches and Referers.
    address = _address(access, page, **(flags or {}))
    return private_answers(make_response(redirect(address, code=code)))


@bp.get("/<locale:locale>/arende/<reference>")
def case_status(locale: str, reference: str) -> Response:
    """Show a resident the status of their case: never its text or contact details."""
    link = _link(reference)
    tidy = _tidied(link)
    if tidy != link:
        # A link that lost its end to a full stop or a space, or was typed in lower case: if
        # the tidy one opens the case, go there, so that a bookmark gets the right address.
        _resident_case(tidy)
        return _back_to_status(tidy, code=302)
    case = _resident_case(link)
    access = replace(link, case=case)
    # A refused addition, and the thanks after a stored one, show once: their markers are gone
    # once the page was shown, so a reload or a bookmark shows the case as it is.
    kept = take_refused(case, request.args.get(REFUSED, ""))
    if kept is not None and case.is_open:
        return _shown_again(access, kept)
    thanked = take_thanks(case, request.args.get("tillagt", ""))
    return _status_page(access, added=thanked)


@bp.post("/<locale:locale>/arende/<reference>/visa")
def show_case(locale: str, reference: str) -> BaseResponse:
    """Open the status page, in this language, from a posted key: the language menu, "go back"."""
    # To the status link's own address: the page can be bookmarked in the language chosen.
    return _back_to_status(_link(reference))  # this route's language is the request's


@bp.post("/<locale:locale>/arende/<reference>")
def add_information(locale: str, reference: str) -> BaseResponse:
    """Store what a resident adds to their open case, once, within the forms' limits."""
    link = _link(reference)
    form = AddInformationForm()
    too_fast = sent_too_fast(form.started.data)
    submission = submission_key(form.started.data)
    # The same for a resend of the same form, and for a robot: the address tells it nothing.
    thanks = thanks_ticket(submission)
    try:
        case = _resident_case(link)
        access = replace(link, case=case)
        if not case.is_open:  # closed meanwhile: the page now says so instead of the form
            return _back_to_status(access)
        if not form.validate() or too_fast:
            return _refused(access, case, form, "too-fast" if too_fast else "invalid")
        if form.is_spam() or addition_stored(submission):
            # No new marker: a robot's page thanks no one; a resend finds the first one's.
            return _back_to_status(access, {"tillagt": thanks})
        if (retry_after := submissions_exhausted()) is not None:
            return _refused(access, case, form, "limited", retry_after)
        store_addition(case, form.information.data, submission, thanks)
    except SQLAlchemyError:
        current_app.logger.error("an addition could not be stored: database unavailable")
        discard_session()
        # The link without its case: the page shows the text again, and nothing read from it.
        return _not_sent_status(link, form, "unavailable", 503, UNAVAILABLE_RETRY_SECONDS)
    return _back_to_status(access, {"tillagt": thanks})


def _refused(
    access: CaseAccess,
    case: Case,
    form: AddInformationForm,
    why: str,
    retry_after: int | None = None,
) -> BaseResponse:
    """Keep a refused addition for one view, and send the resident back to the status page."""
    # Post/redirect/get: the address stays the status link, so a reload or a bookmark opens the
    # page and sends nothing again. The text waits in the database, never in an address or log.
    kept = {"information": form.information.data or "", "why": why, "started": form.started.data}
    if retry_after is not None:
        kept["retry_after"] = retry_after
    return _back_to_status(access, {REFUSED: keep_refused(case, kept)})


def _shown_again(access: CaseAccess, kept: dict[str, Any]) -> Response:
    """Show a refused addition: its text, the field's errors, and why it was not received."""
    form = AddInformationForm(formdata=MultiDict({"information": kept.get("information", "")}))
    form.validate()  # the same errors as when it was sent: the text is the same
    form.started.data = kept.get("started")
    if kept.get("why") == "limited":
        return _not_sent_status(access, form, "limited", 429, int(kept.get("retry_after", 60)))
    # A new start time with the same submission key: a resend is still recognised.
    form.started.data = issue_start_time(submission_key(form.started.data))
    notice = str(TOO_FAST) if kept.get("why") == "too-fast" else None
    return _status_page(access, form=form, notice=notice)


def _not_sent_status(
    access: CaseAccess, form: AddInformationForm, why: str, status: int, retry_after: int
) -> Response:
    """Show the text again with why it was not sent, and when to try again."""
    form.started.data = issue_start_time(submission_key(form.started.data))
    response = _status_page(access, form=form, status=status, not_sent=why, retry_after=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _withdraw_page(access: CaseAccess, status: int = 200, **context: object) -> Response:
    """Render the "are you sure?" page (no case: the database is down)."""
    page = render_template(
        "feedback/withdraw.html",
        reference=access.reference,
        kind=kind_of(access.reference),  # known from the reference also when the database is down
        secret=access.secret,
        case=access.case,
        statement=current_statement(),
        language_post=_languages("feedback.withdraw_case", access),
        **context,
    )
    return private_answers(make_response(page, status))


@bp.get("/<locale:locale>/arende/<reference>/aterkalla")
def withdraw_question(locale: str, reference: str) -> BaseResponse:
    """Ask "are you sure?" at the status link's address for it: a reload asks again, no more."""
    link = _link(reference)
    case = _resident_case(link)
    access = replace(link, case=case)
    if case.status == Status.CLOSED:  # Back, after the withdrawal: the page says so
        return _back_to_status(access)
    return _withdraw_page(access)


@bp.post("/<locale:locale>/arende/<reference>/aterkalla")
def withdraw_case(locale: str, reference: str) -> BaseResponse:
    """Ask "are you sure?" (on its own page), then close the case and remove its personal data."""
    link = _link(reference)
    form = WithdrawForm()
    try:
        case = _resident_case(link)
        access = replace(link, case=case)
        if case.status == Status.CLOSED:  # withdrawn or closed already: nothing left to do
            return _back_to_status(access)
        if not form.is_confirmed():  # the button on the status page, or the language menu
            return _back_to_status(access, page="feedback.withdraw_question")
        withdraw(case)
    except SQLAlchemyError:
        current_app.logger.error("a withdrawal could not be stored: database unavailable")
        discard_session()
        response = _withdraw_page(link, 503, not_sent="unavailable")
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        return response
    return _back_to_status(access)
