"""Each erasure finding of the security review, shown on its own (the whole scan is next door)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from gvisite import create_app
from gvisite.extensions import db
from gvisite.models import CaseEvent, OutboxMessage, utcnow
from gvisite.outbox import send_due
from tests.conftest import close_database, migrate
from tests.feedback.test_followup import withdraw
from tests.fixtures_forms import FORMAT_ANSWERS, REPORT_ANSWERS, forms_config
from tests.fixtures_servers import PostgresServer
from tests.fixtures_staff import StaffSite, load_case, post_action
from tests.helpers import parse, translate
from tests.security.test_erasure_scan import mark, scan, send_form

DESCRIPTION = "Ett brev från skolan om min son Kalle Svensson, daterat 3 mars"


def mode(path: Path) -> int:
    """Return a file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def site(make_staff_app: Callable[..., StaffSite]) -> StaffSite:
    """A migrated SQLite site with staff accounts, its database in the instance folder."""
    return make_staff_app()


# --- The page answer ---------------------------------------------------------------------------


def test_a_page_description_is_an_answer_and_goes_with_the_withdrawal(site: StaffSite) -> None:
    resident = site.app.test_client()
    case = send_form(resident, "format", {**FORMAT_ANSWERS, "page": DESCRIPTION})
    stored = load_case(site.app, case.reference)
    assert stored.page == ""
    assert stored.answers["page_description"] == DESCRIPTION
    staff_page = parse(site.client("handler").get(f"/staff/cases/{case.reference}").data)
    assert DESCRIPTION in staff_page.select_one("main dl").get_text()  # staff still read it

    assert withdraw(resident, "sv", case, confirmed=True).status_code == 303
    assert scan(site.app, {"description": "Kalle Svensson"}, rows=True) == {}


@pytest.mark.parametrize("kind", ["report", "format"])
def test_a_page_description_stays_out_of_every_mail_subject(site: StaffSite, kind: str) -> None:
    # A subject is what a mailbox lists and keeps; a description may name a child or a letter.
    answers = FORMAT_ANSWERS if kind == "format" else REPORT_ANSWERS
    case = send_form(site.app.test_client(), kind, {**answers, "page": DESCRIPTION})
    messages = load_case(site.app, case.reference).messages
    assert messages and all("Kalle" not in message.subject for message in messages)
    staff = [message for message in messages if "Kalle" in message.body]
    assert staff, "the staff mail's body still quotes what the resident wrote"


def test_a_site_path_stays_as_the_page(site: StaffSite) -> None:
    case = send_form(site.app.test_client(), "format", {**FORMAT_ANSWERS, "page": "/sv/om-gvi"})
    assert withdraw(site.app.test_client(), "sv", case, confirmed=True).status_code == 303
    stored = load_case(site.app, case.reference)
    assert (stored.page, stored.answers) == (
        "/sv/om-gvi",
        {"format": "storstil", "delivery": "email"},
    )


def test_the_migration_moves_descriptions_out_of_page_and_secrets_out_of_sent_mail(
    tmp_path: Path,
) -> None:
    app = create_app(forms_config(tmp_path / "instance"))
    migrate(app, upgrade, None, "b7d2e4f6a810")  # the schema before this change
    insert = text(
        "INSERT INTO cases (reference, kind, locale, page, answers, status, spam, created_at,"
        " purged_at) VALUES (:reference, 'report', 'sv', :page, '{}', 'ny', false, :now, :purged)"
    )
    rows = {
        "TG-2026-AAAAAA": ("/sv/om-gvi", None),
        "TG-2026-BBBBBB": (DESCRIPTION, None),
        "TG-2026-CCCCCC": (DESCRIPTION, utcnow()),  # erased before: the text goes
        "TG-2026-DDDDDD": ("/ett brev om Kalle Svensson", None),  # a slash is not a path
    }
    with app.app_context():
        for reference, (page, purged) in rows.items():
            db.session.execute(
                insert, {"reference": reference, "page": page, "now": utcnow(), "purged": purged}
            )
        db.session.execute(
            text(
                "INSERT INTO outbox (purpose, recipients, subject, body, status, attempts,"
                " next_attempt_at, created_at) VALUES ('receipt', '[]', 'Kvitto', :body, 'sent',"
                " 1, :now, :now)"
            ),
            {"body": "Din länk: /sv/arende/TG-2026-AAAAAA?nyckel=hemlig", "now": utcnow()},
        )
        db.session.commit()
    migrate(app)
    with app.app_context():
        assert db.session.scalars(text("SELECT body FROM outbox")).all() == [""]
    found = {ref: (case.page, case.answers) for ref in rows for case in [load_case(app, ref)]}
    assert found == {
        "TG-2026-AAAAAA": ("/sv/om-gvi", {}),
        "TG-2026-BBBBBB": ("", {"page_description": DESCRIPTION}),
        "TG-2026-CCCCCC": ("", {}),
        "TG-2026-DDDDDD": ("", {"page_description": "/ett brev om Kalle Svensson"}),
    }
    close_database(app)


# --- Text after the erasure --------------------------------------------------------------------


def test_an_erased_case_takes_no_more_text_and_cannot_be_reopened(site: StaffSite) -> None:
    case = site.case("format", status="pagaende")
    resident, handler = site.app.test_client(), site.client("handler")
    assert withdraw(resident, "sv", case, confirmed=True).status_code == 303
    before = [(e.action, e.detail) for e in load_case(site.app, case.reference).events]

    staff_page = f"/staff/cases/{case.reference}"
    note = post_action(handler, f"{staff_page}/note", {"note": "Ringde Åsa om sonen."})
    post_action(handler, f"{staff_page}/status", {"status": "pagaende", "reason": "Åsa ringde."})
    stored = load_case(site.app, case.reference)
    assert [(e.action, e.detail) for e in stored.events] == before
    assert stored.status == "avslutad"

    page = parse(handler.get(note.headers["Location"]).data)
    said = " ".join(page.select_one("main").get_text(" ").split())
    assert (
        translate(
            site.app, "sv", "Nothing was saved: the personal data of this case has been removed."
        )
        in said
    )
    assert (
        page.select("form[action$='/note'], form[action$='/status'], form[action$='/reply']") == []
    )


def test_purge_erases_text_that_reached_an_already_erased_case(site: StaffSite) -> None:
    case = site.case("format", status="pagaende")
    assert withdraw(site.app.test_client(), "sv", case, confirmed=True).status_code == 303
    late = "Sent om kvällen: Åsa Öberg vill ha boken till sonen Kalle."
    with site.app.app_context():  # as a note that raced the withdrawal would have been stored
        db.session.add(CaseEvent(case_id=case.id, action="note", detail=late))
        db.session.add(
            OutboxMessage(
                case_id=case.id,
                purpose="reply",
                recipients=["asa@example.se"],
                subject="Svar",
                body=late,
            )
        )
        db.session.commit()
    result = site.app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 erased case(s) had text added since and were erased again" in result.output
    assert scan(site.app, {"late": late, "address": "asa@example.se"}, rows=True) == {}
    # The notice that told staff of the withdrawal stays: it names only the reference.
    notices = [m for m in load_case(site.app, case.reference).messages if m.subject]
    assert [case.reference in m.subject for m in notices] == [True]


# --- The outbox --------------------------------------------------------------------------------


def test_a_delivered_message_keeps_its_metadata_but_not_the_secret(site: StaffSite) -> None:
    case = send_form(site.app.test_client(), "format", FORMAT_ANSWERS)
    with site.app.app_context():
        assert send_due() == (2, 0)
    for message in load_case(site.app, case.reference).messages:
        assert (message.status, message.sent_at is not None) == ("sent", True)
        assert message.recipients and case.reference in message.subject
        assert case.secret not in message.body
        assert FORMAT_ANSWERS["message"] not in message.body


# --- The SQLite files --------------------------------------------------------------------------


def test_a_withdrawal_leaves_no_erased_bytes_in_the_sqlite_files(site: StaffSite) -> None:
    name = mark("Kalle")
    case = site.case("format", status="pagaende", name=name)
    assert withdraw(site.app.test_client(), "sv", case, confirmed=True).status_code == 303
    database = Path(site.app.instance_path) / "test.sqlite3"
    for file in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert not file.exists() or name.encode() not in file.read_bytes(), file
    with site.app.app_context():
        assert db.session.execute(text("PRAGMA secure_delete")).scalar() == 1


def test_postgresql_vacuums_the_erased_rows_after_a_withdrawal(
    make_staff_app: Callable[..., StaffSite], postgres_server: PostgresServer
) -> None:
    site = make_staff_app(postgres_server.new_database())
    case = site.case("format", status="pagaende")
    assert withdraw(site.app.test_client(), "sv", case, confirmed=True).status_code == 303
    with site.app.app_context():
        vacuumed = db.session.execute(
            text("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL")
        ).scalars()
        assert {"cases", "case_events", "receipts", "outbox"} <= set(vacuumed)


# --- File modes --------------------------------------------------------------------------------


@pytest.fixture
def wide_umask() -> Iterator[None]:
    """Run with the common umask 022, under which new files are readable by everyone."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_database_mail_and_instance_folder_are_the_apps_users_only(
    tmp_path: Path, wide_umask: None
) -> None:
    app = create_app(forms_config(tmp_path / "instance"))
    migrate(app)
    send_form(app.test_client(), "format", FORMAT_ANSWERS)
    with app.app_context():
        assert send_due() == (2, 0)
    instance = Path(app.instance_path)
    mails = list((instance / "mail").glob("*.eml"))
    assert len(mails) == 2
    folders = {path: mode(path) for path in (instance, instance / "mail")}
    files = {path: mode(path) for path in instance.glob("test.sqlite3*")} | {
        path: mode(path) for path in mails
    }
    close_database(app)
    assert set(folders.values()) == {0o700}, folders
    assert len(files) >= 3 and set(files.values()) == {0o600}, files


def test_an_instance_folder_made_before_is_made_private(tmp_path: Path, wide_umask: None) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    (instance / "test.sqlite3").touch(mode=0o644)
    app = create_app(forms_config(instance))
    assert (mode(instance), mode(instance / "test.sqlite3")) == (0o700, 0o600)
    close_database(app)
