"""The two public forms: report an accessibility problem, request an alternative format."""

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
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ..cases import mailboxes_for, secret_matches, staff_recipients, store_case, take_receipt
from ..extensions import db, limiter
from ..forms import (
    FORMAT_LABELS,
    BaseForm,
    FormatForm,
    ReportForm,
    error_summary,
    issue_start_time,
    sent_too_fast,
    site_path,
)
from ..models import Case, OutboxMessage
from ..pages.views import page_at
from ..security import private
from ..statement import current_statement

bp = Blueprint("feedback", __name__)

FORMS: dict[str, type[BaseForm]] = {"report": ReportForm, "format": FormatForm}
TEMPLATES = {"report": "feedback/report.html", "format": "feedback/format.html"}
# Which answers are kept as the case's free text, per kind (contact details have columns).
ANSWERS = {
    "report": ("problem", "assistive_tech", "browser"),
    "format": ("format", "format_other", "language", "delivery", "message"),
}


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
    form = FORMS[kind]()
    if request.method == "GET":
        form.page.data = site_path(request.args.get("page")) or ""
        form.started.data = issue_start_time()
        return _render(kind, form)
    notice = None
    too_fast = sent_too_fast(form.started.data)
    if form.validate():
        if too_fast:
            notice = _("Please check your answers and send the form again.")
        elif (retry_after := submissions_exhausted()) is not None:
            # Only a submission we would store counts, so mistakes never use up the limit.
            response = make_response(_render(kind, form, limited=True), 429)
            response.headers["Retry-After"] = str(retry_after)
            return response
        else:
            case = _store(kind, locale, form)
            session["receipt"] = case.receipt_ticket  # a one-time ticket, not the case's secret
            return redirect(url_for("feedback.receipt", locale=locale), code=303)
    elif form.csrf_token.errors:
        notice = _("The form had expired. Check your answers and send it again.")
    if notice or too_fast:
        form.started.data = issue_start_time()
    return _render(kind, form, notice)


def _render(kind: str, form: BaseForm, notice: str | None = None, limited: bool = False) -> str:
    """Render a form with its error summary and any form-wide notice."""
    return render_template(
        TEMPLATES[kind],
        form=form,
        errors=error_summary(form),
        notice=notice,
        limited=limited,
        statement=current_statement(),
    )


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


def _store(kind: str, locale: str, form: BaseForm) -> Case:
    """Store the case and its mail in one transaction; spam is stored but never mailed."""
    data = form.data
    delivery = data.get("delivery")
    case = Case(
        kind=kind,
        locale=locale,
        page=data["page"],
        answers={key: data.get(key) or "" for key in ANSWERS[kind]},
        name=data.get("name") or None,
        # Keep only the contact detail the resident chose to be reached by (data minimisation).
        email=(data.get("email") or None) if kind == "report" or delivery == "email" else None,
        phone=(data.get("phone") or None) if delivery == "phone" else None,
        address=(data.get("address") or None) if delivery == "post" else None,
        spam=form.is_spam(),
    )
    return store_case(case, lambda stored: [] if stored.spam else compose_mail(stored))


def status_url(case: Case, secret: str | None = None) -> str | None:
    """Return the resident's private status link; only known while the secret is in hand."""
    secret = secret or case.secret
    if not secret:
        return None
    base = current_app.config["SITE_URL"]
    return f"{base}/{case.locale}/arende/{case.reference}?nyckel={secret}"


def compose_mail(case: Case) -> list[OutboxMessage]:
    """Write the staff mail (in Swedish) and, if there is an address, the resident's receipt."""
    page = page_at(case.page)
    owner = page.owner.email if page else None
    base_url = current_app.config["SITE_URL"]
    context = {
        "case": case,
        "page_title": page.title if page else None,
        # What the resident wrote may be a description rather than an address of ours.
        "page_url": f"{base_url}{case.page}" if case.page.startswith("/") else None,
        "case_url": f"{base_url}/staff/cases/{case.reference}",
        "format_labels": FORMAT_LABELS,
        "target_days": current_statement().response_target_days,
        "status_url": status_url(case),
    }
    with force_locale("sv"):
        messages = [
            OutboxMessage(
                purpose="staff",
                recipients=staff_recipients(case.kind, owner),
                reply_to=case.email,
                subject=render_template(f"emails/staff_{case.kind}_subject.txt", **context).strip(),
                body=render_template(f"emails/staff_{case.kind}.txt", **context),
            )
        ]
    if case.email:
        with force_locale(case.locale):
            messages.append(
                OutboxMessage(
                    purpose="receipt",
                    recipients=[case.email],
                    # A reply reaches the people who handle the case, reference in the subject.
                    reply_to=mailboxes_for(case.kind)[0],
                    subject=render_template("emails/receipt_subject.txt", **context).strip(),
                    body=render_template("emails/receipt.txt", **context),
                )
            )
    return messages


@bp.get("/<locale:locale>/tillganglighet/kvitto")
def receipt(locale: str) -> Response:
    """Show the reference and what happens next, once, to the person who just sent the form."""
    # Shown once: on a shared computer the next person must not find it again.
    taken = take_receipt(session.pop("receipt", None))
    if taken is None:
        page = render_template("feedback/receipt_gone.html", statement=current_statement())
        return private(make_response(page))
    case, secret = taken
    page = render_template(
        "feedback/receipt.html",
        case=case,
        contact=_has_contact(case),
        delivery=case.answers.get("delivery"),
        status_url=status_url(case, secret),
        statement=current_statement(),
    )
    return private(make_response(page))


@bp.get("/<locale:locale>/arende/<reference>")
def case_status(locale: str, reference: str) -> Response:
    """Show a resident the status of their case: never its text or contact details."""
    case = None
    if len(reference) <= 20:
        case = db.session.scalar(select(Case).where(Case.reference == reference))
    # A wrong secret looks exactly like an unknown reference.
    if not secret_matches(case, request.args.get("nyckel", "")) or case.spam:
        abort(404)
    page = render_template("feedback/status.html", case=case, statement=current_statement())
    return private(make_response(page))  # the secret is in the URL: keep it out of caches
