"""The staff pages: inbox, case page and its actions, statistics, export and audit log."""

from __future__ import annotations

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
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from ..cases import is_reference
from ..extensions import db
from ..feedback.forms import site_path, staff_answers
from ..forms import choices, error_summary
from ..i18n import DEFAULT_LOCALE
from ..models import Case, OutboxMessage, PublishedProblem, StaffUser
from ..wcag import CRITERIA
from . import periods
from .actions import action_words
from .audit import audit, newest_first
from .filters import register_filters
from .forms import (
    ANSWERED_BY_WORDS,
    STATUS_LABELS,
    AnswerForm,
    AssignForm,
    NoteForm,
    PeriodForm,
    PublishForm,
    ReplyForm,
    SimpleForm,
    StatusForm,
)
from .handling import (
    CaseErased,
    add_note,
    handlers,
    mark_spam,
    publish_problem,
    record_answer,
    resolve_problem,
    set_status,
)
from .handling import assign as assign_case
from .handling import reply as queue_reply
from .handling import retry as retry_message
from .month_charts import month_charts
from .permissions import Permission, can, require
from .publishing import criteria_shown, digest, personal_data, previews
from .reports import (
    EVERY_STATUS,
    PAGE_SIZE,
    counts,
    export_rows,
    first_case_day,
    inbox_query,
    render_export,
    search_term,
    today,
)
from .reports import statistics as figures
from .statement import review_overdue

bp = Blueprint("staff", __name__, url_prefix="/staff")  # area.py guards every page here


@bp.get("/")
@require(Permission.HANDLE)
def inbox() -> str:
    """List cases with filters, due date first."""
    filters = {
        key: request.args.get(key, "") for key in ("kind", "status", "mine", "overdue", "spam")
    }
    filters["q"] = search_term(request.args.get("q"))  # never logged: it may name a resident
    query = inbox_query(filters, current_user, today())
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "staff/inbox.html",
        cases=page.items,
        pagination=page,
        filters=filters,
        counts=counts(today()),
        today=today(),
        review_overdue=review_overdue(today()),
        status_labels=STATUS_LABELS,
        every_status=EVERY_STATUS,
    )


def _case_or_404(reference: str) -> Case:
    """Return the case with this reference."""
    case = None
    if is_reference(reference):  # anything else (a NUL) must not reach PostgreSQL
        case = db.session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        abort(404)
    return case


@bp.get("/cases/<reference>")
@require(Permission.HANDLE)
def case_page(reference: str) -> str:
    """Show everything about one case, with the actions staff can take."""
    case = _case_or_404(reference)
    audit("view", case.reference, current_user)
    db.session.commit()
    return _render_case(case)


def _render_case(case: Case, preview: bool = False, **forms: FlaskForm) -> str:
    """Render the case page with fresh forms, or the ones given (with their errors).

    With `preview`, the publish form (valid) is shown as each language's statement will show it.
    """
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
    publish_form = forms.get("publish") or PublishForm()
    shown: dict[str, object] = {}
    if preview and isinstance(publish_form, PublishForm):
        shown = {
            "previews": previews(publish_form),
            "findings": personal_data(publish_form),
            "criteria": criteria_shown(publish_form),
        }
    return render_template(
        "staff/case.html",
        case=case,
        # Only a page of this site is a link: a stored `//evil.example` stays text.
        page_link=site_path(case.page),
        today=today(),
        status_labels=STATUS_LABELS,
        answers=staff_answers(case),
        assign_form=assign_form,
        status_form=status_form,
        note_form=forms.get("note") or NoteForm(),
        reply_form=forms.get("reply") or ReplyForm(),
        publish_form=publish_form,
        answer_form=forms.get("answer") or AnswerForm(),
        simple_form=SimpleForm(),
        problems=problems,
        errors=errors,
        preview=shown,
        answered_by=ANSWERED_BY_WORDS,
        wcag_criteria=CRITERIA.values(),
    )


def _assignees(nobody: str) -> list[SelectChoice]:
    """Return the choices for assigning: nobody, then every active handler."""
    people = {"": nobody} | {str(u.id): u.name for u in handlers()}
    return choices(people)


def _done(case: Case, message: str) -> BaseResponse:
    """Commit, confirm, and go back to the case (post/redirect/get)."""
    db.session.commit()
    flash(message)
    return redirect(url_for("staff.case_page", reference=case.reference), code=303)


@bp.errorhandler(CaseErased)
def _case_erased(error: CaseErased) -> BaseResponse:
    """Say plainly that an erased case takes no more text (a page opened before the erasure)."""
    db.session.rollback()
    flash(_("Nothing was saved: the personal data of this case has been removed."))
    return redirect(url_for("staff.case_page", reference=error.reference), code=303)


@bp.post("/cases/<reference>/assign")
@require(Permission.HANDLE)
def assign(reference: str) -> BaseResponse | tuple[str, int]:
    """Assign the case."""
    case = _case_or_404(reference)
    form = AssignForm()
    form.assignee.choices = _assignees("")
    if not form.validate_on_submit():
        return _render_case(case, assign=form), 400
    user = db.session.get(StaffUser, int(form.assignee.data)) if form.assignee.data else None
    assign_case(case, user, current_user)
    return _done(case, _("The case was assigned."))


@bp.post("/cases/<reference>/status")
@require(Permission.HANDLE)
def status(reference: str) -> BaseResponse | tuple[str, int]:
    """Change the case's status."""
    case = _case_or_404(reference)
    form = StatusForm()
    if not form.validate_on_submit():
        return _render_case(case, status=form), 400
    set_status(case, form.status.data, form.reason.data, current_user)
    return _done(case, _("The status was changed."))


@bp.post("/cases/<reference>/note")
@require(Permission.HANDLE)
def note(reference: str) -> BaseResponse | tuple[str, int]:
    """Add an internal note."""
    case = _case_or_404(reference)
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_case(case, note=form), 400
    add_note(case, form.note.data.strip(), current_user)
    return _done(case, _("The note was saved."))


@bp.post("/cases/<reference>/reply")
@require(Permission.HANDLE)
def reply(reference: str) -> BaseResponse | tuple[str, int]:
    """Send a reply to the resident through the outbox."""
    case = _case_or_404(reference)
    form = ReplyForm()
    if not case.email:
        abort(409)
    if not form.validate_on_submit():
        return _render_case(case, reply=form), 400
    queue_reply(case, form.reply.data.strip(), current_user)
    return _done(case, _("The reply is on its way to the resident."))


@bp.post("/cases/<reference>/messages/<int:message_id>/retry")
@require(Permission.HANDLE)
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
    retry_message(message, current_user)
    return _done(case, _("The message will be sent again."))


@bp.post("/cases/<reference>/spam")
@require(Permission.HANDLE)
def spam(reference: str) -> BaseResponse:
    """Mark the case as spam, or not."""
    case = _case_or_404(reference)
    form = SimpleForm()
    if not form.validate_on_submit():
        abort(400)
    mark_spam(case, form.value.data == "1", current_user)
    return _done(
        case,
        _("The case was marked as spam.")
        if case.spam
        else _("The case is no longer marked as spam."),
    )


@bp.post("/cases/<reference>/answered")
@require(Permission.HANDLE)
def answered(reference: str) -> BaseResponse | tuple[str, int]:
    """Record an answer given by phone or by letter (it counts as the case's answer)."""
    case = _case_or_404(reference)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _render_case(case, answer=form), 400
    record_answer(case, form.how.data, (form.summary.data or "").strip(), current_user)
    return _done(case, _("The answer was recorded."))


@bp.post("/cases/<reference>/publish")
@require(Permission.HANDLE)
def publish(reference: str) -> BaseResponse | tuple[str, int]:
    """Preview a confirmed problem in every language; publish it once the preview was seen."""
    case = _case_or_404(reference)
    if case.kind != "report":
        abort(400)
    form = PublishForm()
    if not form.validate_on_submit():
        return _render_case(case, publish=form), 400
    seen = digest(form)
    # Publishing takes the preview of exactly these texts: anything changed is shown first.
    if request.form.get("action") != "publish" or form.previewed.data != seen:
        form.previewed.data, form.personal_ok.data = seen, False
        return _render_case(case, preview=True, publish=form), 200
    if personal_data(form) and not form.personal_ok.data:
        form.personal_ok.errors = [
            _("Remove the personal data, or confirm that it may be published.")
        ]
        return _render_case(case, preview=True, publish=form), 400
    publish_problem(
        case,
        form.texts(),
        form.criteria_list(),
        current_user,
        instead=form.alternatives(),
        fix_by=form.fix_date(),
    )
    return _done(case, _("The problem is now shown in the accessibility statement."))


@bp.post("/cases/<reference>/problems/<int:problem_id>/resolve")
@require(Permission.HANDLE)
def resolve(reference: str, problem_id: int) -> BaseResponse:
    """Take a fixed problem off the statement."""
    case = _case_or_404(reference)
    form = SimpleForm()
    problem = db.session.get(PublishedProblem, problem_id)
    if not form.validate_on_submit() or problem is None or problem.case_id != case.id:
        abort(400)
    resolve_problem(problem, case, current_user)
    return _done(case, _("The problem was removed from the accessibility statement."))


@bp.get("/statistik")
@require(Permission.HANDLE)
def statistics() -> str:
    """Show how fast cases were answered in a period, month by month, and DIGG's figures."""
    day, first = today(), first_case_day()
    form = PeriodForm(formdata=request.args)
    period = periods.chosen(request.args.get("period"), first, day)
    if form.validate() and (days := form.days()):
        period = periods.between(*days)
    return render_template(
        "staff/statistics.html",
        form=form,
        period=period,
        choices=periods.choices(first, day),
        figures=(shown := figures(period.start, period.end, day)),
        charts=month_charts(shown["months"]),
        errors=error_summary(form),
    )


@bp.get("/export.<fmt>")
@require(Permission.EXPORT)
def export(fmt: str) -> Response:
    """Download every case as CSV or JSON (admins only)."""
    if fmt not in {"csv", "json"}:
        abort(404)
    audit("export", fmt, current_user)
    db.session.commit()
    body = render_export(fmt, export_rows())
    # The charset said outright: the CSV's byte order mark promises UTF-8, and so must HTTP.
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="arenden.{fmt}"'
    return response


@bp.get("/logg")
@require(Permission.AUDIT_LOG)
def audit_log() -> str:
    """Show the audit log, newest first (admins only)."""
    page = db.paginate(newest_first(), per_page=100, error_out=False)
    return render_template("staff/audit.html", entries=page.items, pagination=page)


def init_app(app: Flask) -> None:
    """Register the staff pages, their filters, and what their templates may ask."""
    app.register_blueprint(bp)
    register_filters(app)
    app.add_template_global(can)
    app.add_template_global(action_words)
    app.add_template_global(Permission, "Permission")
    # A value, not a function: set where add_template_global would put it.
    app.jinja_env.globals["staff_locale"] = DEFAULT_LOCALE  # the staff area is in Swedish
