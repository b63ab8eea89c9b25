"""Every copy of what we promise to delete is gone: a scan of every byte the site keeps.

Two cases are filled in through the real forms, each answer marked with a string of its own,
followed up by the resident and handled by staff (notes, a reply, a closing reason), their mail
delivered by the file backend. One is withdrawn, the other purged after the retention time;
then staff and the resident try to add text to the erased cases. On SQLite every file under
INSTANCE_PATH and FORMATS_DIR (the database, its WAL and -shm, the mail, the caches) is read
byte by byte; on PostgreSQL every row the app can read, and the files as well.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gvisite.extensions import db
from gvisite.models import utcnow
from gvisite.outbox import send_due
from gvisite.staff.retention import purge
from tests.feedback.test_followup import add, withdraw
from tests.fixtures_forms import form_url, submit
from tests.fixtures_staff import MadeCase, StaffSite, post_action
from tests.helpers import parse


def mark(label: str) -> str:
    """Return a string found nowhere else: a label and a random part, ASCII only."""
    return f"{label}{uuid.uuid4().hex[:12]}"


def send_form(client: FlaskClient, kind: str, answers: dict[str, str]) -> MadeCase:
    """Send a form as a browser does, open the receipt and return the case with its secret."""
    response = submit(client, form_url("sv", kind), answers)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    receipt = parse(client.get(response.headers["Location"]).data)
    link = receipt.select_one("main a[href*='nyckel=']")
    assert link is not None, "no status link on the receipt"
    reference = receipt.select_one(".reference").get_text(strip=True)
    return MadeCase(0, reference, link["href"].rsplit("nyckel=", 1)[1])


def deliver(app: Flask) -> None:
    """Deliver the outbox through the configured (file) backend."""
    with app.app_context():
        send_due()


def eml_texts(path: Path) -> str:
    """Return a mail file's headers and decoded text parts (base64 and quoted-printable)."""
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    texts = [f"{name}: {value}" for name, value in mail.items()]
    texts += [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
    return "\n".join(texts)


def table_rows(app: Flask) -> str:
    """Return every row of every table the app has, as text."""
    lines = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            lines += [str(tuple(row)) for row in db.session.execute(select(table))]
        db.session.rollback()
    return "\n".join(lines)


def scan(app: Flask, marks: dict[str, str], *, rows: bool) -> dict[str, list[str]]:
    """Return where each mark was found: files (raw bytes, mail decoded) and, if asked, rows."""
    folders = {Path(app.instance_path), Path(app.config["FORMATS_DIR"])}
    files = [path for folder in folders for path in folder.rglob("*") if path.is_file()]
    found: dict[str, list[str]] = {}
    for path in files:
        data = path.read_bytes()
        decoded = eml_texts(path) if path.suffix == ".eml" else ""
        for label, value in marks.items():
            if value.encode() in data or value in decoded:
                found.setdefault(label, []).append(str(path))
    if rows:
        stored = table_rows(app)
        for label, value in marks.items():
            if value in stored:
                found.setdefault(label, []).append("a database row")
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def scanned_site(
    request: pytest.FixtureRequest, make_staff_app: Callable[..., StaffSite]
) -> StaffSite:
    """A site whose SQLite file (the default) or PostgreSQL database is scanned."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_server").new_database()
    return make_staff_app(url)


def test_no_erased_answer_is_left_in_any_byte_the_site_keeps(scanned_site: StaffSite) -> None:
    app = scanned_site.app
    on_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    marks: dict[str, str] = {}

    def fill_in(prefix: str, kind: str) -> MadeCase:
        answers = {
            "page": f"Brevet från skolan om min son {mark(prefix + 'page')}",
            "name": f"Kalle {mark(prefix + 'name')}",
            "email": f"{mark(prefix + 'email')}@example.se",
        }
        if kind == "report":
            answers |= {
                "problem": f"Knappen går inte att nå {mark(prefix + 'problem')} med tangentbordet.",
                "assistive_tech": mark(prefix + "tech"),
                "browser": mark(prefix + "browser"),
            }
        else:
            answers |= {
                "format": "annat",
                "format_other": mark(prefix + "other"),
                "language": mark(prefix + "language"),
                "delivery": "email",
                "phone": "",
                "address": "",
                "message": f"Jag behöver det före jul, {mark(prefix + 'message')}.",
            }
        kept_as_data = {"format", "delivery", "phone", "address"}  # choices, or left empty
        marks.update({prefix + k: v for k, v in answers.items() if k not in kept_as_data})
        case = send_form(app.test_client(), kind, answers)
        marks[f"{prefix}secret"] = case.secret
        return case

    withdrawn, purged = fill_in("w", "format"), fill_in("p", "report")
    deliver(app)
    resident, handler = app.test_client(), scanned_site.client("handler")
    for prefix, case in (("w", withdrawn), ("p", purged)):
        marks[f"{prefix}addition"] = mark(prefix + "addition")
        text = f"Jag vill lägga till {marks[prefix + 'addition']}."
        assert add(resident, "sv", case, text).status_code == 303
        staff_page = f"/staff/cases/{case.reference}"
        for action, field in (("note", "note"), ("reply", "reply")):
            marks[f"{prefix}{action}"] = mark(prefix + action)
            response = post_action(
                handler, f"{staff_page}/{action}", {field: marks[prefix + action]}
            )
            assert response.status_code == 303, (action, response.status_code)
    deliver(app)
    marks["preason"] = mark("preason")
    closing = {"status": "avslutad", "reason": marks["preason"]}
    assert (
        post_action(handler, f"/staff/cases/{purged.reference}/status", closing).status_code == 303
    )

    # The scan can see every mark while the cases are live: it reads where the site writes.
    assert sorted(scan(app, marks, rows=not on_sqlite)) == sorted(marks)

    assert withdraw(resident, "sv", withdrawn, confirmed=True).status_code == 303
    # Text offered to the withdrawn case afterwards: a stale staff page, the resident's link.
    late = {label: mark(label) for label in ("wlatenote", "wlatereason", "wlatereply")}
    marks.update(late)
    staff_page = f"/staff/cases/{withdrawn.reference}"
    post_action(handler, f"{staff_page}/note", {"note": late["wlatenote"]})
    post_action(
        handler, f"{staff_page}/status", {"status": "pagaende", "reason": late["wlatereason"]}
    )
    post_action(handler, f"{staff_page}/reply", {"reply": late["wlatereply"]})
    marks["wlateaddition"] = mark("wlateaddition")
    resident.post(
        f"/sv/arende/{withdrawn.reference}",
        data={"nyckel": withdrawn.secret, "information": marks["wlateaddition"]},
    )
    deliver(app)

    with app.app_context():
        later = utcnow() + dt.timedelta(days=app.config["RETENTION_DAYS"] + 1)
        assert purge(later, app.config["RETENTION_DAYS"])[0] == 1
    deliver(app)

    left = scan(app, marks, rows=True)
    assert left == {}, left
