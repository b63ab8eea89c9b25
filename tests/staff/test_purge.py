"""Retention and export on SQLite and PostgreSQL: `flask cases purge|export` and the download."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from gvisite.extensions import db
from gvisite.models import AuditEntry, Case, CaseEvent, OutboxMessage, utcnow
from gvisite.staff.reports import EXPORT_FIELDS, export_rows, render_export
from tests.fixtures_staff import ACCOUNTS, StaffSite, add_message, audit_rows, load_case
from tests.helpers import force_terminal

RETENTION_DAYS = 60
# What a resident wrote: none of it may survive a purge, in any column or child row.
PERSONAL = {
    "name": "Åsa Öberg",
    "email": "asa.oberg@example.se",
    "phone": "070-123 45 67",
    "address": "Storgatan 1, 177 30 Järfälla",
}
PROBLEM = "Knappen till menyn går inte att nå med tangentbordet."
MESSAGE = "Jag behöver texten i punktskrift före jul."
NOTE = "Åsa ringde om knappen."
REPLY_BODY = "Hej Åsa, vi har rättat knappen."
SECRETS = [*PERSONAL.values(), PROBLEM, MESSAGE, NOTE, REPLY_BODY]


def days_ago(days: float) -> dt.datetime:
    """Return a moment some days back."""
    return utcnow() - dt.timedelta(days=days)


@dataclass
class Stored:
    """The references of the cases a purge test starts from."""

    old_report: str
    old_format: str
    recent_closed: str
    old_open: str
    old_spam: str
    recent_spam: str


def fill(site: StaffSite) -> Stored:
    """Store cases on both sides of every retention line, with history and mail."""
    handler = site.ids["handler"]

    def case(kind: str = "report", **fields: object) -> str:
        answers = (
            {"problem": PROBLEM, "assistive_tech": "NVDA", "browser": "Firefox"}
            if kind == "report"
            else {"format": "punktskrift", "delivery": "post", "language": "sv", "message": MESSAGE}
        )
        made = site.case(kind, answers=answers, assignee_id=handler, **PERSONAL, **fields)
        with site.app.app_context():
            db.session.add(CaseEvent(case_id=made.id, actor_id=handler, action="note", detail=NOTE))
            db.session.commit()
        add_message(site.app, made.id, purpose="reply", body=REPLY_BODY, status="sent")
        return made.reference

    closed_long_ago = {"status": "avslutad", "closed_at": days_ago(RETENTION_DAYS + 1)}
    return Stored(
        old_report=case(created_at=days_ago(200), first_reply_at=days_ago(198), **closed_long_ago),
        old_format=case("format", created_at=days_ago(100), **closed_long_ago),
        recent_closed=case(
            created_at=days_ago(200), status="avslutad", closed_at=days_ago(RETENTION_DAYS - 1)
        ),
        old_open=case(created_at=days_ago(400), status="vantar"),
        old_spam=case(created_at=days_ago(31), spam=True),
        recent_spam=case(created_at=days_ago(29), spam=True),
    )


@pytest.fixture
def purge_site(make_staff_app: Callable[..., StaffSite], database_url: str) -> StaffSite:
    """A staff site on SQLite or PostgreSQL with a shorter retention time than the default."""
    return make_staff_app(database_url, RETENTION_DAYS=RETENTION_DAYS)


def purge(site: StaffSite) -> str:
    """Run `flask cases purge` and return what it printed."""
    result = site.app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_off_a_terminal_purge_prints_its_counts_and_nothing_more(purge_site: StaffSite) -> None:
    fill(purge_site)
    result = purge_site.app.test_cli_runner().invoke(args=["cases", "purge"])
    # No bar and no label: the nightly job's log and mail stay as they were.
    assert result.output == "2 case(s) purged of personal data, 1 spam case(s) deleted\n"


def test_on_a_terminal_purge_shows_its_progress_and_still_purges(
    purge_site: StaffSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = fill(purge_site)
    force_terminal(monkeypatch)
    result = purge_site.app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "Erasing personal data\nDeleting the old spam\n"
    assert result.stdout == "2 case(s) purged of personal data, 1 spam case(s) deleted\n"
    assert load_case(purge_site.app, stored.old_report).email is None


def everything_stored(site: StaffSite, reference: str) -> str:
    """Return every value stored about a case, its history and its mail, as one text."""
    case = load_case(site.app, reference)
    values = [getattr(case, column.key) for column in Case.__table__.columns]
    for event in case.events:
        values += [event.action, event.detail]
    for message in case.messages:
        values += [message.subject, message.body, message.recipients, message.reply_to]
    return json.dumps(values, default=str, ensure_ascii=False)


def test_purge_removes_personal_data_and_old_spam(purge_site: StaffSite) -> None:
    stored = fill(purge_site)
    before = {
        reference: load_case(purge_site.app, reference)
        for reference in (stored.old_report, stored.old_format)
    }
    assert purge(purge_site) == "2 case(s) purged of personal data, 1 spam case(s) deleted"

    for reference in (stored.old_report, stored.old_format):
        case = load_case(purge_site.app, reference)
        assert (case.name, case.email, case.phone, case.address) == (None, None, None, None)
        assert case.purged_at is not None
        text = everything_stored(purge_site, reference)
        for secret in SECRETS:
            assert secret not in text, (reference, secret)
        # What the statistics need stays.
        old = before[reference]
        for field in ("kind", "locale", "page", "status", "created_at", "due_on", "closed_at"):
            assert getattr(case, field) == getattr(old, field), field
        assert case.first_reply_at == old.first_reply_at
        assert case.assignee_id == old.assignee_id
        assert [event.action for event in case.events] == ["note"]
        assert [(m.purpose, m.status) for m in case.messages] == [("reply", "sent")]
    assert load_case(purge_site.app, stored.old_report).answers == {}
    assert load_case(purge_site.app, stored.old_format).answers == {
        "format": "punktskrift",
        "delivery": "post",
    }

    for reference in (stored.recent_closed, stored.old_open, stored.recent_spam):
        text = everything_stored(purge_site, reference)
        assert load_case(purge_site.app, reference).purged_at is None
        for secret in SECRETS:
            if secret != MESSAGE:
                assert secret in text, (reference, secret)

    with purge_site.app.app_context():
        references = set(db.session.scalars(select(Case.reference)))
        assert stored.old_spam not in references
        assert len(references) == 5
        orphans = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id.is_(None))
        ).all()
        assert orphans == []
        purges = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "purge")).all()
        assert [(entry.target, entry.actor_id) for entry in purges] == [("2+1", None)]


def test_purge_is_safe_to_run_every_day(purge_site: StaffSite) -> None:
    fill(purge_site)
    purge(purge_site)
    assert purge(purge_site) == "0 case(s) purged of personal data, 0 spam case(s) deleted"
    assert [target for action, target, _ in audit_rows(purge_site.app) if action == "purge"] == [
        "2+1",
        "0+0",
    ]


def test_default_retention_is_90_days(make_staff_app: Callable[..., StaffSite]) -> None:
    site = make_staff_app()
    assert site.app.config["RETENTION_DAYS"] == 90
    kept = site.case(status="avslutad", closed_at=days_ago(89), **PERSONAL)
    gone = site.case(status="avslutad", closed_at=days_ago(91), **PERSONAL)
    assert purge(site) == "1 case(s) purged of personal data, 0 spam case(s) deleted"
    assert load_case(site.app, kept.reference).email == PERSONAL["email"]
    assert load_case(site.app, gone.reference).email is None


# --- Export ------------------------------------------------------------------------------------


def export(site: StaffSite, fmt: str) -> list[dict[str, object]]:
    """Run `flask cases export --format FMT` and return its rows."""
    result = site.app.test_cli_runner().invoke(args=["cases", "export", "--format", fmt])
    assert result.exit_code == 0, result.output
    return parse_export(result.output, fmt)


def parse_export(body: str, fmt: str) -> list[dict[str, object]]:
    """Read an export in either format; the CSV as Swedish Excel does (BOM, then semicolons)."""
    if fmt == "json":
        return json.loads(body)
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_has_one_row_per_case_and_no_purged_data(purge_site: StaffSite, fmt: str) -> None:
    stored = fill(purge_site)
    purge(purge_site)
    rows = export(purge_site, fmt)
    by_reference = {row["reference"]: row for row in rows}
    assert len(rows) == len(by_reference) == 5
    assert stored.old_spam not in by_reference
    for reference in (stored.old_report, stored.old_format):
        row = by_reference[reference]
        text = json.dumps(row, ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in text, (fmt, reference, secret)
        assert row["purged_at"]
        assert row["kind"] in {"report", "format"} and row["created_at"] and row["closed_at"]
    kept = by_reference[stored.old_open]
    assert kept["email"] == PERSONAL["email"]
    assert kept["assignee"] == ACCOUNTS["handler"][0]
    answers = kept["answers"] if fmt == "json" else json.loads(str(kept["answers"]))
    assert answers["problem"] == PROBLEM
    with purge_site.app.app_context():
        targets = db.session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "export")
        ).all()
    assert targets == [f"cli-{fmt}"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_off_a_terminal_export_writes_the_cases_and_nothing_more(
    purge_site: StaffSite, fmt: str
) -> None:
    fill(purge_site)
    with purge_site.app.app_context():
        expected = render_export(fmt, export_rows())
    result = purge_site.app.test_cli_runner().invoke(args=["cases", "export", "--format", fmt])
    # Byte for byte (CliRunner's text turns the CSV's CRLF into LF): no bar, no label.
    assert result.output_bytes == expected.encode()


def test_on_a_terminal_export_shows_its_progress_beside_the_data(
    purge_site: StaffSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(purge_site)
    with purge_site.app.app_context():
        expected = render_export("csv", export_rows())
    force_terminal(monkeypatch)
    result = purge_site.app.test_cli_runner().invoke(args=["cases", "export"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "Exporting the cases\n"  # where `> cases.csv` does not reach
    assert result.stdout_bytes == expected.encode()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_admin_download_matches_the_command_and_is_audited(purge_site: StaffSite, fmt: str) -> None:
    fill(purge_site)
    purge(purge_site)
    response = purge_site.client("admin").get(f"/staff/export.{fmt}")
    assert response.status_code == 200
    assert response.mimetype == ("text/csv" if fmt == "csv" else "application/json")
    assert response.headers["Content-Disposition"] == f'attachment; filename="arenden.{fmt}"'
    assert response.headers["Cache-Control"] == "no-store"
    downloaded = parse_export(response.get_data(as_text=True), fmt)
    assert downloaded == export(purge_site, fmt)
    exports = [
        (target, actor)
        for action, target, actor in audit_rows(purge_site.app)
        if action == "export"
    ]
    assert exports == [(fmt, purge_site.ids["admin"]), (f"cli-{fmt}", None)]
    assert purge_site.client("handler").get(f"/staff/export.{fmt}").status_code == 403


def test_csv_export_keeps_a_resident_formula_as_text(staff_site: StaffSite) -> None:
    """A spreadsheet must not run what a resident typed (CSV injection)."""
    formula = '=HYPERLINK("http://evil.example","klicka")'
    # After a semicolon, the formula would start a cell of its own if the value were not quoted.
    staff_site.case(name=formula, address=f"Storgatan 1;{formula}", answers={"problem": "+1"})
    with staff_site.app.app_context():
        body = render_export("csv", export_rows())
    [row] = parse_export(body, "csv")
    assert not str(row["name"]).startswith(("=", "+", "-", "@"))
    assert row["address"] == f"Storgatan 1;{formula}"
    assert None not in row  # no cell beyond the last heading


# A name as residents write it (Swedish letters, an Arabic name) and text with a semicolon in it.
NAME = "Måns Bäckström منصور"
SEMICOLON_PROBLEM = "Menyn går inte att öppna; knappen har inget namn."


def summer_and_winter(site: StaffSite) -> tuple[str, str]:
    """Store a case from a winter day and one from a summer day; return their references."""
    winter = site.case(
        name=NAME,
        created_at=dt.datetime(2026, 1, 15, 8, 30),  # UTC, as stored
        first_reply_at=dt.datetime(2026, 1, 16, 7, 0),
        due_on=dt.date(2026, 1, 29),
        answers={"problem": SEMICOLON_PROBLEM},
    )
    summer = site.case(
        name=NAME,
        created_at=dt.datetime(2026, 7, 1, 8, 30),
        status="avslutad",
        closed_at=dt.datetime(2026, 7, 2, 13, 0),
        due_on=dt.date(2026, 7, 15),
    )
    return winter.reference, summer.reference


def csv_export_bytes(site: StaffSite, via: str) -> bytes:
    """Return the CSV export as the command writes it or as an admin downloads it."""
    if via == "command":
        result = site.app.test_cli_runner().invoke(args=["cases", "export", "--format", "csv"])
        assert result.exit_code == 0, result.output
        return result.stdout_bytes
    response = site.client("admin").get("/staff/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    return response.data


@pytest.mark.parametrize("via", ["command", "download"])
def test_csv_export_opens_in_swedish_excel(staff_site: StaffSite, via: str) -> None:
    winter, summer = summer_and_winter(staff_site)
    data = csv_export_bytes(staff_site, via)
    # Without the UTF-8 byte order mark first, Excel shows å/ä/ö and Arabic as mojibake.
    assert data.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")
    rows = {row["reference"]: row for row in reader}
    # Excel splits on the semicolon: each heading and each value lands in its own column.
    assert reader.fieldnames == list(EXPORT_FIELDS)
    assert set(rows) == {winter, summer}
    for row in rows.values():
        assert None not in row, row  # nothing spilled past the last column
        assert row["name"] == NAME
        assert row["email"] == "asa.oberg@example.se"
    assert json.loads(rows[winter]["answers"]) == {"problem": SEMICOLON_PROBLEM}
    # Stockholm's clock with the offset the day had (CET in winter, CEST in summer); dates as is.
    times = ("created_at", "first_reply_at", "closed_at", "due_on")
    assert [rows[winter][field] for field in times] == [
        "2026-01-15T09:30:00+01:00",
        "2026-01-16T08:00:00+01:00",
        "",
        "2026-01-29",
    ]
    assert [rows[summer][field] for field in times] == [
        "2026-07-01T10:30:00+02:00",
        "",
        "2026-07-02T15:00:00+02:00",
        "2026-07-15",
    ]


def test_json_export_gives_the_same_local_times_as_the_csv(staff_site: StaffSite) -> None:
    summer_and_winter(staff_site)
    times = ("created_at", "first_reply_at", "closed_at", "purged_at", "due_on")
    rows = {fmt: export(staff_site, fmt) for fmt in ("csv", "json")}
    # The CSV writes a missing time as an empty cell, the JSON as null.
    as_csv = [[row[field] or "" for field in times] for row in rows["json"]]
    assert as_csv == [[row[field] for field in times] for row in rows["csv"]]
    assert rows["json"][0]["created_at"] == "2026-01-15T09:30:00+01:00"


def test_purge_also_removes_the_mail_files_the_file_backend_wrote(purge_site: StaffSite) -> None:
    # The default backend keeps every mail as a file: those are copies of the personal data too.
    stored = fill(purge_site)
    keep_body, gone_body = "Ett svar som ska finnas kvar.", f"Hej {PERSONAL['name']}, {PROBLEM}"
    for reference, body in ((stored.old_report, gone_body), (stored.recent_closed, keep_body)):
        add_message(purge_site.app, load_case(purge_site.app, reference).id, body=body)
    sent = purge_site.app.test_cli_runner().invoke(args=["outbox", "send"])
    assert sent.exit_code == 0 and sent.output.startswith("2 sent"), sent.output
    folder = Path(purge_site.app.instance_path) / "mail"

    def mail_texts() -> str:
        mails = [
            message_from_bytes(p.read_bytes(), policy=policy.default) for p in folder.glob("*.eml")
        ]
        return "\n".join(f"{mail['To']}\n{mail.get_content()}" for mail in mails)

    assert PERSONAL["email"] in mail_texts()
    purge(purge_site)
    left = mail_texts()
    assert len(list(folder.glob("*.eml"))) == 1
    assert "Ett svar som ska finnas kvar." in left
    for secret in (PERSONAL["name"], PROBLEM):
        assert secret not in left
