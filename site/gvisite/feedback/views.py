"""The two public forms (report a problem, request another format) and their receipts.

The blueprint is the area's: the resident's status page (`status.py`) adds its views to it.
"""

from __future__ import annotations

import math
import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from ..cases import (
    AlreadyStored,
    check_not_stored,
    reissue_receipt,
    store_case,
    take_receipt,
)
from ..database import discard_session
from ..extensions import limiter
from ..forms import TOO_FAST, error_summary, issue_start_time, sent_too_fast, submission_key
from ..links import PostedSwitch
from ..models import Case
from ..security import private_answers
from ..statement import current_statement
from .forms import FORMS, FeedbackForm, site_path
from .mail import compose_mail, status_url

bp = Blueprint("feedback", __name__)

# How long to ask a resident to wait when the database is down (the Retry-After header).
UNAVAILABLE_RETRY_SECONDS = 60
# What a browser sends a form as; anything else (JSON, say) is refused before it is read.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", ""})
# The field in which the receipt's language menu posts its one-time ticket, and its most length.
RECEIPT_FIELD = "ticket"
RECEIPT_FIELD_MAX = 100


@bp.route("/<locale:locale>/tillganglighet/rapportera", methods=["GET", "POST"])
def report(locale: str) -> str | BaseResponse:
    """Show and receive the report form."""
    return _handle("report", locale)


@bp.route("/<locale:locale>/tillganglighet/alternativt-format", methods=["GET", "POST"])
def alternative_format(locale: str) -> str | BaseResponse:
    """Show and receive the alternative-format request form."""
    return _handle("format", locale)


def _handle(kind: str, locale: str) -> str | BaseResponse:
    """Validate, store, and acknowledge only what was stored (post/redirect/get)."""
    if request.method == "POST" and request.mimetype not in FORM_TYPES:
        abort(415)
    form = FORMS[kind]()
    if request.method == "GET":
        form.page.data = site_path(request.args.get("page")) or ""
        form.started.data = issue_start_time()
        return _render(form)
    notice = None
    too_fast = sent_too_fast(form.started.data)
    submission = submission_key(form.started.data)
    if form.validate():
        if too_fast:
            notice = str(TOO_FAST)
        else:
            try:
                return _accept(locale, form, submission)
            except SQLAlchemyError:
                # Not stored, so not acknowledged: the answers come back with what happened.
                current_app.logger.error("a %s could not be stored: database unavailable", kind)
                discard_session()
                return _not_sent(form, "unavailable", 503, UNAVAILABLE_RETRY_SECONDS)
    elif form.csrf_token.errors:
        notice = _("The form had expired. Check your answers and send it again.")
    if notice or too_fast:
        form.started.data = issue_start_time(submission)
    return private_answers(make_response(_render(form, notice)))


def _accept(locale: str, form: FeedbackForm, submission: str | None) -> BaseResponse:
    """Store a valid submission once, within the limit, and send the resident to the receipt."""
    try:
        check_not_stored(submission)
        if (retry_after := submissions_exhausted()) is not None:
            # Only a submission we would store counts, so mistakes never use up the limit.
            return _not_sent(form, "limited", 429, retry_after)
        ticket = _store(locale, form, submission)
        session.pop("resent", None)
    except AlreadyStored as stored:
        # The answers reached us before (the resident never saw our answer, or clicked twice):
        # the receipt of that first arrival, not a second case.
        ticket = stored.ticket
        session["resent"] = True
    # Stored and committed: from here on nothing may read the database, so nothing can turn
    # the acknowledgement into an error page (the resident would send again).
    session["receipt"] = ticket  # a one-time ticket, not the case's secret
    return redirect(url_for("feedback.receipt", locale=locale), code=303)


def _render(
    form: FeedbackForm,
    notice: str | None = None,
    not_sent: str | None = None,
    retry_after: int | None = None,
) -> str:
    """Render a form with its error summary, any form-wide notice, or why it was not sent."""
    return render_template(
        form.template,
        form=form,
        errors=error_summary(form),
        notice=notice,
        not_sent=not_sent,
        retry_after=retry_after,
        statement=current_statement(),
    )


def _not_sent(form: FeedbackForm, why: str, status: int, retry_after: int) -> BaseResponse:
    """Show the answers again with why they were not sent, and when to try again."""
    # The next try must not count as too fast, and is still the same submission.
    form.started.data = issue_start_time(submission_key(form.started.data))
    page = _render(form, not_sent=why, retry_after=retry_after)
    response = private_answers(make_response(page, status))
    response.headers["Retry-After"] = str(retry_after)
    return response


def submissions_exhausted() -> int | None:
    """Count one accepted submission from this address; None if allowed, else seconds to wait."""
    item = parse_limit(current_app.config["SUBMISSION_RATE_LIMIT"])
    key = ("forms", get_remote_address())
    try:
        if limiter.limiter.hit(item, *key):
            return None
        reset = limiter.limiter.get_window_stats(item, *key).reset_time
    except Exception:  # a broken counter store must not cost a resident their case
        current_app.logger.exception("rate-limit store failed; the submission is let through")
        return None
    return max(1, math.ceil(reset - time.time()))


def _has_contact(case: Case) -> bool:
    """Tell whether we have any way to answer the resident."""
    return bool(case.email or case.phone or case.address)


def _store(locale: str, form: FeedbackForm, submission: str | None) -> str:
    """Store the case and its mail in one transaction; spam is stored but never mailed."""
    kind, data, answers = form.kind, form.columns(), form.answers()
    delivery = answers.get("delivery")
    case = Case(
        kind=kind,
        locale=locale,
        page=data["page"],
        answers=answers,
        name=data.get("name") or None,
        # Keep only the contact detail the resident chose to be reached by (data minimisation).
        email=(data.get("email") or None) if kind == "report" or delivery == "email" else None,
        phone=(data.get("phone") or None) if delivery == "phone" else None,
        address=(data.get("address") or None) if delivery == "post" else None,
        spam=form.is_spam(),
    )
    stored = store_case(
        case, lambda stored: [] if stored.spam else compose_mail(stored), submission
    )
    ticket = stored.receipt_ticket  # not a column: reading it cannot reload the case
    assert ticket is not None  # store_case gave the case one
    return ticket


@bp.get("/<locale:locale>/tillganglighet/kvitto")
def receipt(locale: str) -> Response:
    """Show the reference and what happens next, once, to the person who just sent the form."""
    # Shown once: on a shared computer the next person must not find it again.
    taken = take_receipt(session.pop("receipt", None))
    resent = session.pop("resent", False)
    if taken is None:
        page = render_template(
            "feedback/receipt_gone.html", resent=resent, statement=current_statement()
        )
        return private_answers(make_response(page))
    case, secret = taken
    page = render_template(
        "feedback/receipt.html",
        case=case,
        contact=_has_contact(case),
        delivery=case.answers.get("delivery"),
        status_url=status_url(case, secret, locale),
        statement=current_statement(),
        language_post=_receipt_languages(case.id, secret),
    )
    return private_answers(make_response(page))


def _receipt_languages(case_id: int, secret: str) -> PostedSwitch | None:
    """Return the receipt's language menu: each language posts a new one-time ticket."""
    # The resident who cannot read the receipt is the one who presses another language: it
    # must show them the same receipt in theirs, not a page saying it is gone.
    try:
        ticket = reissue_receipt(case_id, secret)
    except SQLAlchemyError:
        # The receipt is shown all the same; its language menu then leads to the home pages.
        current_app.logger.error("a receipt's language menu could not be stored")
        discard_session()
        return None
    return PostedSwitch("feedback.receipt_in_language", {}, {RECEIPT_FIELD: ticket})


@bp.post("/<locale:locale>/tillganglighet/kvitto")
def receipt_in_language(locale: str) -> BaseResponse:
    """Show a receipt again in the language chosen in its menu, which posts a one-time ticket."""
    # No CSRF token: sessions are kept per language (sessions.py), so the chosen language's
    # has none yet. The ticket is the proof, as the status key is on the status page: random,
    # in that one page only, and good for one showing.
    if request.mimetype not in FORM_TYPES:
        abort(415)
    session["receipt"] = request.form.get(RECEIPT_FIELD, "")[:RECEIPT_FIELD_MAX]
    session.pop("resent", None)
    return redirect(url_for("feedback.receipt", locale=locale), code=303)
