"""The staff area: inbox, case page and its actions, statistics, export and audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from ..extensions import db
from ..feedback.forms import FORMAT_LABELS
from ..forms import choices, error_summary
from ..models import AuditEntry, Case, OutboxMessage, PublishedProblem, StaffUser, utcnow
from ..security import private
from ..workdays import local_date, local_time
from . import handling
from .auth import audit, enforce_idle_timeout
from .forms import (
    STATUS_LABELS,
    AssignForm,
    NoteForm,
    PublishForm,
    ReplyForm,
    SimpleForm,
    StatusForm,
)

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.after_request(private)


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer 403 to anyone but an admin."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.before_request
@login_required
def _require_login() -> BaseResponse | None:
    """Every staff page needs a live, logged-in session."""
    return enforce_idle_timeout()


def _today() -> dt.date:
    """Return today's date in Stockholm, the day due dates and "overdue" are counted in."""
    return local_date(utcnow())


TIME_FORMATS = {"date": "%Y-%m-%d", "minutes": "%Y-%m-%d %H:%M", "seconds": "%Y-%m-%d %H:%M:%S"}


@pass_eval_context
def staff_time(
    context: EvalContext, value: dt.datetime | dt.date | None, precision: str = "minutes"
) -> str:
    """Show staff a stored time (naive UTC) in Stockholm time, or a date; a `<time>` in HTML."""
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        value = local_time(value)
        if precision == "date":
            value = value.date()
    if not isinstance(value, dt.datetime):
        precision = "date"  # a date (a due day) has no time of day to show
    shown = value.strftime(TIME_FORMATS[precision])
    if not context.autoescape:  # a plain-text mail
        return shown
    machine = value.isoformat() if precision == "date" else value.isoformat(timespec=precision)
    return Markup('<time class="nowrap" datetime="{}">{}</time>').format(machine, shown)


def soft_breaks(text: str | None) -> Markup:
    """Let a path or an address wrap after / . @ instead of inside a word on a narrow screen."""
    return Markup("<wbr>").join(re.split(r"(?<=[/.@])", text or ""))


@bp.get("/")
def inbox() -> str:
    """List cases with filters, due date first."""
    filters = {
        key: request.args.get(key, "") for key in ("kind", "status", "mine", "overdue", "spam")
    }
    query = handling.inbox_query(filters, current_user, _today())
    page = db.paginate(query, per_page=handling.PAGE_SIZE, error_out=False)
    return render_template(
        "staff/inbox.html",
        cases=page.items,
        pagination=page,
        filters=filters,
        counts=handling.counts(_today()),
        today=_today(),
        status_labels=STATUS_LABELS,
    )


def _case_or_404(reference: str) -> Case:
    """Return the case with this reference."""
    case = db.session.scalar(select(Case).where(Case.reference == reference[:20]))
    if case is None:
        abort(404)
    return case


@bp.get("/cases/<reference>")
def case_page(reference: str) -> str:
    """Show everything about one case, with the actions staff can take."""
    case = _case_or_404(reference)
    audit("view", case.reference)
    db.session.commit()
    return _render_case(case)


def _render_case(case: Case, **forms: FlaskForm) -> str:
    """Render the case page with fresh forms, or the ones given (with their errors)."""
    assign_form = forms.get("assign") or AssignForm()
    assign_form.assignee.choices = _assignees(_("Nobody"))
    if "assign" not in forms:
        assign_form.assignee.data = str(case.assignee_id or "")
    status_form = forms.get("status") or StatusForm(status=case.status)
    problems = list(
        db.session.scalars(select(PublishedProblem).where(PublishedProblem.case_id == case.id))
    )
    all_forms = [f for f in forms.values() if f is not None]
    errors = [item for form in all_forms for item in error_summary(form)]
    return render_template(
        "staff/case.html",
        case=case,
        today=_today(),
        status_labels=STATUS_LABELS,
        format_labels=FORMAT_LABELS,
        assign_form=assign_form,
        status_form=status_form,
        note_form=forms.get("note") or NoteForm(),
        reply_form=forms.get("reply") or ReplyForm(),
        publish_form=forms.get("publish") or PublishForm(),
        simple_form=SimpleForm(),
        problems=problems,
        errors=errors,
    )


def _assignees(nobody: str) -> list[SelectChoice]:
    """Return the choices for assigning: nobody, then every active handler."""
    people = {"": nobody} | {str(u.id): u.name for u in handling.handlers()}
    return choices(people)


def _done(case: Case, message: str) -> BaseResponse:
    """Commit, confirm, and go back to the case (post/redirect/get)."""
    db.session.commit()
    flash(message)
    return redirect(url_for("staff.case_page", reference=case.reference), code=303)


@bp.post("/cases/<reference>/assign")
def assign(reference: str) -> BaseResponse | str:
    """Assign the case."""
    case = _case_or_404(reference)
    form = AssignForm()
    form.assignee.choices = _assignees("")
    if not form.validate_on_submit():
        return _render_case(case, assign=form), 400
    user = db.session.get(StaffUser, int(form.assignee.data)) if form.assignee.data else None
    handling.assign(case, user, current_user)
    return _done(case, _("The case was assigned."))


@bp.post("/cases/<reference>/status")
def status(reference: str) -> BaseResponse | str:
    """Change the case's status."""
    case = _case_or_404(reference)
    form = StatusForm()
    if not form.validate_on_submit():
        return _render_case(case, status=form), 400
    handling.set_status(case, form.status.data, form.reason.data, current_user)
    return _done(case, _("The status was changed."))


@bp.post("/cases/<reference>/note")
def note(reference: str) -> BaseResponse | str:
    """Add an internal note."""
    case = _case_or_404(reference)
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_case(case, note=form), 400
    handling.add_note(case, form.note.data.strip(), current_user)
    return _done(case, _("The note was saved."))


@bp.post("/cases/<reference>/reply")
def reply(reference: str) -> BaseResponse | str:
    """Send a reply to the resident through the outbox."""
    case = _case_or_404(reference)
    form = ReplyForm()
    if not case.email:
        abort(409)
    if not form.validate_on_submit():
        return _render_case(case, reply=form), 400
    handling.reply(case, form.reply.data.strip(), current_user)
    return _done(case, _("The reply is on its way to the resident."))


@bp.post("/cases/<reference>/messages/<int:message_id>/retry")
def retry(reference: str, message_id: int) -> BaseResponse:
    """Queue a failed delivery again."""
    case = _case_or_404(reference)
    form = SimpleForm()
    message = db.session.get(OutboxMessage, message_id)
    # Only a failed message can be sent again: a delivered one must never go out twice.
    if (
        not form.validate_on_submit()
        or message is None
        or message.case_id != case.id
        or message.status != "failed"
    ):
        abort(400)
    handling.retry(message, current_user)
    return _done(case, _("The message will be sent again."))


@bp.post("/cases/<reference>/spam")
def spam(reference: str) -> BaseResponse:
    """Mark the case as spam, or not."""
    case = _case_or_404(reference)
    form = SimpleForm()
    if not form.validate_on_submit():
        abort(400)
    handling.mark_spam(case, form.value.data == "1", current_user)
    return _done(
        case,
        _("The case was marked as spam.")
        if case.spam
        else _("The case is no longer marked as spam."),
    )


@bp.post("/cases/<reference>/publish")
def publish(reference: str) -> BaseResponse | str:
    """Publish a confirmed problem to the accessibility statement."""
    case = _case_or_404(reference)
    if case.kind != "report":
        abort(400)
    form = PublishForm()
    if not form.validate_on_submit():
        return _render_case(case, publish=form), 400
    texts = {
        code: (getattr(form, f"what_{code}").data or "").strip()
        for code in ("sv", "fi", "en", "ar")
    }
    handling.publish_problem(case, texts, form.criteria.data.split(", "), current_user)
    return _done(case, _("The problem is now shown in the accessibility statement."))


@bp.post("/cases/<reference>/problems/<int:problem_id>/resolve")
def resolve(reference: str, problem_id: int) -> BaseResponse:
    """Take a fixed problem off the statement."""
    case = _case_or_404(reference)
    form = SimpleForm()
    problem = db.session.get(PublishedProblem, problem_id)
    if not form.validate_on_submit() or problem is None or problem.case_id != case.id:
        abort(400)
    handling.resolve_problem(problem, case, current_user)
    return _done(case, _("The problem was removed from the accessibility statement."))


@bp.get("/statistik")
def statistics() -> str:
    """Show the figures a municipality reports to DIGG."""
    return render_template("staff/statistics.html", figures=handling.statistics(_today()))


@bp.get("/export.<fmt>")
@admin_required
def export(fmt: str) -> Response:
    """Download every case as CSV or JSON (admins only)."""
    if fmt not in {"csv", "json"}:
        abort(404)
    audit("export", fmt)
    db.session.commit()
    body = render_export(fmt, handling.export_rows())
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="arenden.{fmt}"'
    return response


@bp.get("/logg")
@admin_required
def audit_log() -> str:
    """Show the audit log, newest first (admins only)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    page = db.paginate(query, per_page=100, error_out=False)
    return render_template("staff/audit.html", entries=page.items, pagination=page)


def render_export(fmt: str, rows: list[dict[str, Any]]) -> str:
    """Write the export rows as CSV or JSON text."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=handling.EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        row = {**row, "answers": json.dumps(row["answers"], ensure_ascii=False)}
        writer.writerow({key: _spreadsheet_safe(value) for key, value in row.items()})
    return out.getvalue()


def _spreadsheet_safe(value: Any) -> Any:
    """Keep a resident's text from running as a spreadsheet formula (=, +, -, @)."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def init_app(app: Flask) -> None:
    """Register the staff area and its commands."""
    app.register_blueprint(bp)
    app.add_template_filter(staff_time)
    app.add_template_filter(soft_breaks)
