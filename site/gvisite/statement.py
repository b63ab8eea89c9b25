"""The accessibility statement: facts from `content/tillganglighet.yaml`, shown per locale."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from flask import Blueprint, Flask, Response, current_app, has_app_context, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from . import handling_snapshot
from .cases import mailboxes_for
from .extensions import db
from .handling_snapshot import (
    handling_data,
    handling_periods,
    published_handling,
    recompute_handling,
)
from .i18n import DEFAULT_LOCALE
from .links import absolute_url
from .models import Case, CaseEvent, PublishedProblem
from .pages.load import ContentError, current_site
from .prebuilt.stamp import dont_keep
from .signals import public_pages_changed
from .workdays import local_date

STATEMENT_FILE = "tillganglighet.yaml"
T = TypeVar("T")
COMPLIANCE_LEVELS = ("helt förenlig", "delvis förenlig", "inte förenlig")
DIGG_REPORT_URL = "https://www.digg.se/tdosanmalan"
# What the statement advises for a known problem that names no alternative of its own.
STANDARD_ALTERNATIVE = (
    "Ask us for the content in another format, or call Servicecenter on %(phone)s."
)

bp = Blueprint("statement", __name__)


@dataclass(frozen=True)
class Localized:
    """A text in the language it is actually written in (which may be the Swedish fallback)."""

    text: str
    lang: str

    def __str__(self) -> str:
        """Return the text."""
        return self.text


@dataclass(frozen=True)
class Statement:
    """The validated facts of the statement."""

    data: dict[str, Any]

    def text(self, value: dict[str, str] | str, locale: str) -> Localized:
        """Return a text in the locale, or the Swedish one marked as Swedish."""
        if isinstance(value, str):
            return Localized(value, DEFAULT_LOCALE)
        if value.get(locale):
            return Localized(value[locale].strip(), locale)
        return Localized(value[DEFAULT_LOCALE].strip(), DEFAULT_LOCALE)

    def __getattr__(self, name: str) -> Any:
        """Give templates `statement.compliance` and the like."""
        try:
            return self.data[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    @property
    def response_target_days(self) -> int:
        """Return the promised response time in working days."""
        return int(self.data["response_target_days"])


def _require_date(source: Path, data: dict[str, Any], *keys: str) -> None:
    """Raise unless every key holds a date."""
    for key in keys:
        node: Any = data
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dt.date) or isinstance(node, dt.datetime):
            raise ContentError(source, f"'{key}' must be a date written as YYYY-MM-DD")


def _require_swedish(source: Path, value: Any, where: str) -> None:
    """Raise unless a localized text has at least its Swedish version."""
    if not (isinstance(value, dict) and isinstance(value.get(DEFAULT_LOCALE), str)):
        raise ContentError(source, f"'{where}' needs a Swedish text (sv)")


def load_statement(content_dir: Path) -> Statement:
    """Read and validate the statement's facts."""
    source = content_dir / STATEMENT_FILE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ContentError(source, f"cannot read the statement: {exc}") from exc
    if not isinstance(data, dict):
        raise ContentError(source, "the statement must be a mapping")
    if data.get("compliance") not in COMPLIANCE_LEVELS:
        raise ContentError(source, f"'compliance' must be one of: {', '.join(COMPLIANCE_LEVELS)}")
    if not isinstance(data.get("response_target_days"), int) or data["response_target_days"] < 1:
        raise ContentError(source, "'response_target_days' must be a whole number of days")
    _require_date(
        source, data, "updated_on", "published_on", "forms_updated_on", "assessment.assessed_on"
    )
    for key in ("responsible", "website"):
        _require_swedish(source, data.get(key), key)
    _require_swedish(source, (data.get("assessment") or {}).get("method"), "assessment.method")
    for index, problem in enumerate(data.get("known_problems") or []):
        for key in ("what", "instead"):
            _require_swedish(source, problem.get(key), f"known_problems[{index}].{key}")
        if not problem.get("criteria"):
            raise ContentError(source, f"known_problems[{index}] needs WCAG 'criteria'")
        _require_date(source, problem, "fix_by")
    for group in ("disproportionate_burden", "outside_scope"):
        for index, item in enumerate(data.get(group) or []):
            for key in ("what", "reason"):
                _require_swedish(source, item.get(key), f"{group}[{index}].{key}")
    return Statement(data)


def current_statement() -> Statement:
    """Return the statement loaded at start-up."""
    return current_app.extensions["gvisite.statement"]


def read_published(read: Callable[[], T], fallback: T) -> T:
    """Read what staff published; if the database fails, fall back to the data file alone."""
    # The statement is a legal duty: it must be shown even when the database is down.
    try:
        return read()
    except SQLAlchemyError:
        current_app.logger.exception("cannot read published problems")
        db.session.rollback()
        dont_keep()  # a statement without them must not be served on after the database is back
        return fallback


# --- What staff published: read here, so the public site never needs the staff area ------

WATCHED_MODELS = (PublishedProblem,)  # what the statement reads from the database
# What the handling figures are computed from (handling_snapshot.py).
FIGURE_MODELS = (Case, CaseEvent, PublishedProblem)
FIGURE_TABLES = frozenset(model.__tablename__ for model in FIGURE_MODELS)
_CHANGED = "gvisite.statement.changed"  # in a session's info: its transaction changed them
_FIGURES = "gvisite.statement.figures"  # ... changed what the handling figures count


def _flushed(session: Session, _context: UOWTransaction) -> None:
    """Remember that a transaction changed what the statement shows, or its figures count."""
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, WATCHED_MODELS) for obj in touched):
        session.info[_CHANGED] = True
    if any(isinstance(obj, FIGURE_MODELS) for obj in touched):
        session.info[_FIGURES] = True


def _executed(state: ORMExecuteState) -> None:
    """Remember a bulk UPDATE, DELETE or INSERT of a watched table (they skip the flush)."""
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in WATCHED_MODELS for mapper in state.all_mappers
    ):
        state.session.info[_CHANGED] = True
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)  # a Core statement has no mapper
        if getattr(table, "name", None) in FIGURE_TABLES:
            state.session.info[_FIGURES] = True


def _committed(session: Session) -> None:
    """Once the change is saved (not before: a rebuild would read the old rows), say so."""
    changed = session.info.pop(_CHANGED, False)
    figures = session.info.pop(_FIGURES, False)
    if not has_app_context() or not (changed or figures):
        return
    # The app itself, not the proxy: listeners subscribed for their own app.
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as the app
    # A resident's submission changes the figures' inputs, rarely what they show: the pages
    # are dropped only when the statement or a shown figure changed, and then once.
    if figures and recompute_handling(app, announce=False):
        changed = True
    if changed:
        public_pages_changed.send(app)


def _rolled_back(session: Session) -> None:
    """Forget a change that was not saved."""
    session.info.pop(_CHANGED, None)
    session.info.pop(_FIGURES, None)


def watch_published() -> None:
    """Listen once per process to every session's flushes and commits, whoever changes."""
    for name, listener in (
        ("after_flush", _flushed),
        ("do_orm_execute", _executed),
        ("after_commit", _committed),
        ("after_rollback", _rolled_back),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def open_problems() -> list[PublishedProblem]:
    """Return the confirmed problems the statement shows now."""
    query = select(PublishedProblem).where(PublishedProblem.resolved_at.is_(None))
    return list(db.session.scalars(query.order_by(PublishedProblem.published_at)))


def problems_version() -> tuple[dt.datetime | None, dt.datetime | None]:
    """Return when a confirmed problem was last published and last resolved."""
    latest = db.session.execute(
        select(func.max(PublishedProblem.published_at), func.max(PublishedProblem.resolved_at))
    ).one()
    return latest[0], latest[1]


def last_problem_change() -> dt.date | None:
    """Return the day a confirmed problem was last published or resolved."""
    days = [local_date(value) for value in problems_version() if value is not None]
    return max(days) if days else None


def known_problems() -> list[dict[str, Any]]:
    """Return the problems in the data file followed by those staff confirmed and published."""

    rows: list[PublishedProblem] = read_published(open_problems, [])
    published = [
        {"what": p.what, "criteria": p.criteria, "instead": p.instead, "fix_by": p.fix_by}
        for p in rows
    ]
    return [*(current_statement().data.get("known_problems") or []), *published]


def last_updated() -> dt.date:
    """Return when the statement last changed: in the data file, or by staff publishing."""

    dates = [current_statement().data["updated_on"], read_published(last_problem_change, None)]
    return max(d for d in dates if d is not None)


@bp.get("/<locale:locale>/tillganglighet")
def statement(locale: str) -> str:
    """Show the accessibility statement."""
    problems = known_problems()
    return render_template(
        "statement.html",
        statement=current_statement(),
        known_problems=problems,
        updated_on=last_updated(),
        digg_url=DIGG_REPORT_URL,
        handling=(snapshot := published_handling()),
        handling_periods=handling_periods(snapshot),
    )


JSON_SCHEMA_VERSION = 1
COMPLIANCE_CODES = dict(
    zip(COMPLIANCE_LEVELS, ("fully_compliant", "partially_compliant", "not_compliant"), strict=True)
)


def _localized(value: dict[str, str] | str | None, locale: str) -> dict[str, str] | None:
    """Return a text as data: the text and the language it is written in (a fallback says sv)."""
    if not value:
        return None
    shown = current_statement().text(value, locale)
    return {"text": " ".join(shown.text.split()), "lang": shown.lang}


def standard_alternative(locale: str) -> dict[str, str]:
    """Return, as data, the advice the page gives a problem that names no alternative."""
    # The Arabic catalog isolates the number itself, as the page shows it.
    phone = current_site().facts["contact"]["servicecenter"]
    with force_locale(locale):
        text = gettext(STANDARD_ALTERNATIVE, phone=phone)
    return {"text": text, "lang": locale}


def statement_data(locale: str) -> dict[str, Any]:
    """Return the statement's facts as the JSON docs/accessibility-law.md documents (schema 1)."""
    data = current_statement().data
    contact = current_site().facts["contact"]
    problems = [
        {
            "description": _localized(problem["what"], locale),
            "wcag_criteria": list(problem.get("criteria") or []),
            "alternative": _localized(problem.get("instead"), locale)
            or standard_alternative(locale),
            "fix_by": problem["fix_by"].isoformat() if problem.get("fix_by") else None,
        }
        for problem in known_problems()
    ]

    def exemptions(group: str) -> list[dict[str, Any]]:
        return [
            {"content": _localized(i["what"], locale), "reason": _localized(i["reason"], locale)}
            for i in data.get(group) or []
        ]

    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "language": locale,
        "statement_url": absolute_url("statement.statement", locale=locale),
        "website": {"name": _localized(data["website"], locale), "url": absolute_url("pages.root")},
        "responsible": _localized(data["responsible"], locale),
        "law": "Lag (2018:1937) om tillgänglighet till digital offentlig service",
        "compliance": {
            "status": COMPLIANCE_CODES[data["compliance"]],
            DEFAULT_LOCALE: data["compliance"],
        },
        "known_problems": problems,
        "disproportionate_burden": exemptions("disproportionate_burden"),
        "outside_scope": exemptions("outside_scope"),
        "assessment": {
            "method": _localized(data["assessment"]["method"], locale),
            "assessed_on": data["assessment"]["assessed_on"].isoformat(),
        },
        "published_on": data["published_on"].isoformat(),
        "updated_on": last_updated().isoformat(),
        "reviewed_on": data["updated_on"].isoformat(),
        "response_target_working_days": int(data["response_target_days"]),
        # The mailbox that handles accessibility reports, the one the forms name when they
        # cannot send (STAFF_MAILBOX); not the municipality's general one on the contact page.
        "contact": {"phone": contact["servicecenter"], "email": mailboxes_for("report")[0]},
        "feedback": {
            "report_url": absolute_url("feedback.report", locale=locale),
            "alternative_format_url": absolute_url("feedback.alternative_format", locale=locale),
        },
        "supervision": {"authority": "Myndigheten för digital förvaltning (DIGG)",
                        "report_url": DIGG_REPORT_URL},
        # How fast we answer (null until first computed); small counts are null: README.
        "handling": handling_data(),
    }  # fmt: skip


@bp.get("/<locale:locale>/tillganglighet.json")
def statement_json(locale: str) -> Response:
    """Serve the statement's facts as data, for registers and monitoring tools."""
    body = json.dumps(statement_data(locale), ensure_ascii=False, indent=2) + "\n"
    return Response(body, mimetype="application/json")


def init_app(app: Flask) -> None:
    """Load the statement once (a broken file stops start-up), serve it, announce its changes."""
    app.extensions["gvisite.statement"] = load_statement(Path(app.config["CONTENT_DIR"]))
    # The figures count from the day the statement was published (or an earlier first case).
    handling_snapshot.init_app(app, app.extensions["gvisite.statement"].data["published_on"])
    watch_published()
    app.register_blueprint(bp)
