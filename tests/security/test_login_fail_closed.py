"""Logging in fails closed: attempts that cannot be counted are refused, clearly, and logged.

Flask-Limiter with RATELIMIT_SWALLOW_ERRORS let every guess through uncounted, in silence,
whenever its store was down (#22 §4). These tests take the store away for real.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from gvisite.extensions import db, limiter
from tests.fixtures_servers import free_port
from tests.fixtures_staff import ACCOUNTS, PASSWORD, StaffSite, audit_rows, login
from tests.helpers import parse, translate
from tests.staff.test_passwords import NEW_PASSWORD, change

HANDLER_EMAIL = ACCOUNTS["handler"][0]
CANNOT_COUNT = (
    "Logging in is not possible right now because of a technical fault. Try again in a few minutes."
)
CANNOT_CHANGE = (
    "Your password cannot be changed right now because of a technical fault. Try again in a "
    "few minutes."
)


@pytest.fixture
def limiter_restored() -> Iterator[None]:
    """Give the process's limiter back its store: an app with a dead store replaced it."""
    # Flask-Limiter keeps one store per process, set by the app created last.
    saved = (limiter._storage, limiter._limiter)
    yield
    limiter._storage, limiter._limiter = saved


def redis_nowhere(make_staff_app: Callable[..., StaffSite]) -> StaffSite:
    """A site whose counters are in Redis on a port where nothing listens."""
    return make_staff_app(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0", RATELIMIT_SWALLOW_ERRORS=True
    )


def database_without_counters(make_staff_app: Callable[..., StaffSite]) -> StaffSite:
    """A site whose counter table in the database is gone (the database store fails)."""
    site = make_staff_app(RATELIMIT_STORAGE_URI="database://", RATELIMIT_SWALLOW_ERRORS=True)
    with site.app.app_context():
        db.session.execute(text("DROP TABLE rate_limits"))
        db.session.commit()
    return site


@pytest.mark.usefixtures("limiter_restored")
@pytest.mark.parametrize("broken", [redis_nowhere, database_without_counters])
def test_login_is_refused_and_logged_when_attempts_cannot_be_counted(
    make_staff_app: Callable[..., StaffSite],
    caplog: pytest.LogCaptureFixture,
    broken: Callable[[Callable[..., StaffSite]], StaffSite],
) -> None:
    site = broken(make_staff_app)
    caplog.set_level(logging.INFO)
    client = site.client()
    statuses = [login(client, HANDLER_EMAIL, f"gissning {n}").status_code for n in range(8)]
    # Not one of the eight guesses was checked: each was refused with 503, not let through.
    assert statuses == [503] * 8
    # The right password is refused too, until the attempts can be counted again.
    refused = login(client, HANDLER_EMAIL, PASSWORD)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"].isdigit()
    assert client.get("/staff/").status_code == 302  # not logged in
    # A clear page: the login form with an error summary that says why, in the staff language.
    page = parse(refused.data)
    link = page.select_one("main .error-summary[role=alert] a[href='#email']")
    assert link is not None
    assert link.get_text(strip=True) == translate(site.app, "sv", CANNOT_COUNT)
    assert page.title.get_text().startswith(translate(site.app, "sv", "Error:"))
    assert page.html["lang"] == "sv"
    assert page.select_one("input[name=password]").get("value", "") == ""
    # Every refusal is in the log as an error, naming the account only by its hash.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    uncounted = [r for r in errors if "login-uncounted" in r.getMessage()]
    assert len(uncounted) == 9
    assert all(HANDLER_EMAIL not in r.getMessage() for r in caplog.records)
    assert any("rate-limit store failed" in r.getMessage() for r in errors)


@pytest.mark.usefixtures("limiter_restored")
def test_logging_in_works_again_once_the_store_is_back(
    make_staff_app: Callable[..., StaffSite],
) -> None:
    site = make_staff_app(RATELIMIT_STORAGE_URI="database://")
    with site.app.app_context():
        db.session.execute(text("ALTER TABLE rate_limits RENAME TO rate_limits_away"))
        db.session.commit()
    assert login(site.client(), HANDLER_EMAIL).status_code == 503
    with site.app.app_context():
        db.session.execute(text("ALTER TABLE rate_limits_away RENAME TO rate_limits"))
        db.session.commit()
    assert login(site.client(), HANDLER_EMAIL).status_code == 303
    assert [row[0] for row in audit_rows(site.app)] == ["login-uncounted", "login", "mfa:totp"]


@pytest.mark.usefixtures("limiter_restored")
def test_guessing_the_current_password_fails_closed_too(
    make_staff_app: Callable[..., StaffSite], caplog: pytest.LogCaptureFixture
) -> None:
    # A stolen session guessing the current password on "Byt lösenord" while the store is down.
    site = make_staff_app(RATELIMIT_STORAGE_URI="database://", RATELIMIT_SWALLOW_ERRORS=True)
    client = site.client("handler")
    with site.app.app_context():
        db.session.execute(text("DROP TABLE rate_limits"))
        db.session.commit()
    caplog.set_level(logging.INFO)
    refusal = translate(site.app, "sv", CANNOT_CHANGE)
    for guess in ("gissning-1", "gissning-2", PASSWORD):
        response = change(client, guess, NEW_PASSWORD)
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert refusal in parse(response.data).select_one(".error-summary").get_text(" ")
    assert login(site.client(), HANDLER_EMAIL, NEW_PASSWORD).status_code != 303
    assert "password-uncounted" in [row[0] for row in audit_rows(site.app)]
    assert any(record.levelno >= logging.ERROR for record in caplog.records)
