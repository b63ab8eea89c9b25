"""The resident's private status page: the case's status, add information, withdraw the case.

The page has no login and keeps no session. The status link's secret is the proof: it arrives in
the address of the link we mailed (`?nyckel=`), and the page's forms post it back in the body.
Its views share the forms' blueprint, so their endpoints are `feedback.case_status` and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

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
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from ..cases import is_reference, kind_of
from ..database import discard_session
from ..forms import TOO_FAST, error_summary, issue_start_time, sent_too_fast, submission_key
from ..models import Case, Status
from ..security import private_answers
from ..statement import current_statement
from .followup import (
    AddInformationForm,
    WithdrawForm,
    addition_stored,
    find_case,
    store_addition,
    was_withdrawn,
    withdraw,
)
from .views import FORM_TYPES, UNAVAILABLE_RETRY_SECONDS, bp, submissions_exhausted

# Each status as the resident's status page words it (staff have their own, shorter labels).
RESIDENT_STATUSES = {
    Status.NEW: _l("Received, not yet handled"),
    Status.IN_PROGRESS: _l("Being handled"),
    Status.WAITING: _l("Waiting for more information"),
    Status.CLOSED: _l("Closed"),
}


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
        abort(404)
    return CaseAccess(reference, request.form.get("nyckel", ""))  # never in an address in a log


def _resident_case(link: CaseAccess) -> Case:
    """Return the case the link opens; any wrong link is a 404 like an unknown reference."""
    case = find_case(link.reference, link.secret)
    if case is None:
        abort(404)
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
        withdrawn=bool(access.case and was_withdrawn(access.case)),
        form=form,
        errors=error_summary(form),
        statuses=RESIDENT_STATUSES,
        statement=current_statement(),
        **context,
    )
    return private_answers(make_response(page, status))


def _back_to_status(locale: str, access: CaseAccess, **flags: str) -> BaseResponse:
    """Send the resident back to the status page after a change (post/redirect/get)."""
    url = url_for("feedback.case_status", locale=locale, reference=access.reference)
    query = urlencode({"nyckel": access.secret, **flags})
    return redirect(f"{url}?{query}", code=303)


@bp.get("/<locale:locale>/arende/<reference>")
def case_status(locale: str, reference: str) -> Response:
    """Show a resident the status of their case: never its text or contact details."""
    link = _link(reference)
    access = replace(link, case=_resident_case(link))
    return _status_page(access, added=request.args.get("tillagt") == "1")


@bp.post("/<locale:locale>/arende/<reference>")
def add_information(locale: str, reference: str) -> BaseResponse:
    """Store what a resident adds to their open case, once, within the forms' limits."""
    link = _link(reference)
    form = AddInformationForm()
    too_fast = sent_too_fast(form.started.data)
    submission = submission_key(form.started.data)
    try:
        case = _resident_case(link)
        access = replace(link, case=case)
        if not case.is_open:  # closed meanwhile: the page now says so instead of the form
            return _back_to_status(locale, access)
        if not form.validate() or too_fast:
            notice = str(TOO_FAST) if too_fast else None
            form.started.data = issue_start_time(submission)
            return _status_page(access, form=form, notice=notice)
        if form.is_spam() or addition_stored(submission):
            return _back_to_status(locale, access, tillagt="1")
        if (retry_after := submissions_exhausted()) is not None:
            return _not_sent_status(access, form, "limited", 429, retry_after)
        store_addition(case, form.information.data, submission)
    except SQLAlchemyError:
        current_app.logger.error("an addition could not be stored: database unavailable")
        discard_session()
        # The link without its case: the page shows the text again, and nothing read from it.
        return _not_sent_status(link, form, "unavailable", 503, UNAVAILABLE_RETRY_SECONDS)
    return _back_to_status(locale, access, tillagt="1")


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
        **context,
    )
    return private_answers(make_response(page, status))


@bp.post("/<locale:locale>/arende/<reference>/aterkalla")
def withdraw_case(locale: str, reference: str) -> BaseResponse:
    """Ask "are you sure?", then close the case and remove its personal data."""
    link = _link(reference)
    form = WithdrawForm()
    try:
        case = _resident_case(link)
        access = replace(link, case=case)
        if case.status == Status.CLOSED:  # withdrawn or closed already: nothing left to do
            return _back_to_status(locale, access)
        if not form.is_confirmed():
            return _withdraw_page(access)
        withdraw(case)
    except SQLAlchemyError:
        current_app.logger.error("a withdrawal could not be stored: database unavailable")
        discard_session()
        response = _withdraw_page(link, 503, not_sent="unavailable")
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        return response
    return _back_to_status(locale, access)
