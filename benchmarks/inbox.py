"""How fast the staff area answers with 10 000 cases in SQLite.

Fills a temporary database with 10 000 cases (a year and a half of reports and requests, some
spam, most closed), logs in through the form with the test client and times the inbox (first
page, filtered pages, a deep page), a case page and the statistics page. Prints the figures.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import insert, select

from gvisite import create_app
from gvisite.cases import REFERENCE_ALPHABET, REFERENCE_LENGTH, new_reference
from gvisite.extensions import db
from gvisite.models import Case, CaseEvent, StaffUser, utcnow
from gvisite.staff import mfa
from gvisite.staff.auth import hasher
from gvisite.workdays import add_working_days

CASES = 10_000
ROUNDS = 20
PASSWORD = "benchmark password 123"  # noqa: S105  (a throw-away account in a temporary database)
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105  (the same account's codes)
PAGES = {
    "inbox, first page": "/staff/",
    "inbox, reports overdue": "/staff/?kind=report&overdue=1",
    "inbox, mine": "/staff/?mine=1",
    "inbox, all incl. closed, page 100": "/staff/?status=alla&page=100",
    "inbox, spam": "/staff/?spam=1",
    "case page": "/staff/cases/{reference}",
    "statistics": "/staff/statistik",
}


def numbered_reference(kind: str, created: dt.datetime, number: int) -> str:
    """Return a reference unique to `number`, written in the alphabet real references use."""
    digits = ""
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        digits = REFERENCE_ALPHABET[digit] + digits
    return new_reference(kind, created)[:-REFERENCE_LENGTH] + digits


def fill(app: Flask) -> tuple[str, int]:
    """Create the schema, one handler and CASES cases; return a reference and the handler id."""
    rng = random.Random(5)
    with app.app_context():
        upgrade()
        user = StaffUser(
            email="bench@jarfalla.se",
            name="Bench",
            role="admin",
            password_hash=hasher.hash(PASSWORD),
            totp_secret=TOTP_SECRET,  # staff show a second factor after the password
        )
        db.session.add(user)
        db.session.commit()
        now = utcnow()
        rows = []
        for number in range(CASES):
            created = now - dt.timedelta(minutes=rng.randrange(0, 550 * 24 * 60))
            kind = "report" if rng.random() < 0.7 else "format"
            status = rng.choices(["ny", "pagaende", "vantar", "avslutad"], [3, 3, 1, 93])[0]
            closed = created + dt.timedelta(days=rng.randrange(1, 20))
            rows.append(
                {
                    "reference": numbered_reference(kind, created, number),
                    "kind": kind,
                    "locale": rng.choice(["sv", "sv", "sv", "fi", "en", "ar"]),
                    "page": "/sv/om-gvi",
                    "answers": {"problem": "Knappen går inte att nå med tangentbordet. " * 5},
                    "name": "Åsa Öberg",
                    "email": f"resident{number}@example.se",
                    "status": status,
                    "spam": rng.random() < 0.02,
                    "created_at": created,
                    "due_on": add_working_days(created.date(), 5),
                    "assignee_id": user.id if rng.random() < 0.5 else None,
                    "first_reply_at": created + dt.timedelta(days=rng.randrange(0, 8))
                    if status != "ny"
                    else None,
                    "closed_at": closed if status == "avslutad" and closed < now else None,
                }
            )
        db.session.execute(insert(Case), rows)
        db.session.commit()
        reference, case_id = db.session.execute(
            select(Case.reference, Case.id).where(Case.status != "avslutad").limit(1)
        ).one()
        db.session.execute(
            insert(CaseEvent),
            [
                {"case_id": case_id, "action": "note", "detail": f"Anteckning {i}"}
                for i in range(20)
            ],
        )
        db.session.commit()
        return reference, user.id


def log_in(client: FlaskClient) -> None:
    """Log in through the form."""
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login",
        data={"email": "bench@jarfalla.se", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303, response.status_code
    # Then the second step (a new session, so a new token), with the code an app shows now.
    step = response.headers["Location"]
    code = pyotp.TOTP(TOTP_SECRET).generate_otp(mfa.current_step())
    response = client.post(step, data={"code": code, "csrf_token": csrf_token(client, step)})
    assert response.status_code == 303, response.status_code


def csrf_token(client: FlaskClient, url: str) -> str:
    """Return the CSRF token of the form on a page."""
    page = client.get(url).get_data(as_text=True)
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page)
    token = field and re.search(r'value="([^"]+)"', field.group(0))
    assert token, f"no CSRF token on {url}"
    return token.group(1)


def time_page(client: FlaskClient, url: str) -> list[float]:
    """GET a page ROUNDS times (after one warm-up) and return the times in milliseconds."""
    assert client.get(url).status_code == 200, url
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    return times


def main() -> None:
    """Fill the database and print the timings."""
    with tempfile.TemporaryDirectory(prefix="gvisite-bench-inbox-") as folder:
        instance = Path(folder)
        # No background format builds: they would write into the folder as it is removed.
        app = create_app(
            {
                "INSTANCE_PATH": str(instance),
                "SECRET_KEY": "bench",
                "SITE_URL": "http://127.0.0.1",
                "FORMATS_REFRESH_SECONDS": 0,
            }
        )
        start = time.perf_counter()
        reference, _ = fill(app)
        print(f"{CASES} cases stored in {time.perf_counter() - start:.1f} s (SQLite)")
        client = app.test_client()
        log_in(client)
        print(f"{'page':<36} {'median':>9} {'p90':>9} {'max':>9}")
        for name, url in PAGES.items():
            times = sorted(time_page(client, url.format(reference=reference)))
            p90 = times[int(len(times) * 0.9) - 1]
            print(
                f"{name:<36} {statistics.median(times):>7.1f}ms {p90:>7.1f}ms {times[-1]:>7.1f}ms"
            )
        with app.app_context():
            db.engine.dispose()
        # The render warm-up writes into this instance folder; let it finish before it goes.
        if (warm_up := app.extensions["gvisite.warm_up"]) is not None:
            warm_up.wait()


if __name__ == "__main__":
    main()
