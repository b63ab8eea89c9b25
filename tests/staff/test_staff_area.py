"""One staff area (#23 §3): one guard, private answers, its own error pages, account commands.

Everything under /staff passes the same checks (a login, a session neither idle nor too old)
and carries the same private headers, whatever answers it: a view, a refusal, an error page, or
no view at all. Errors there are staff pages, in Swedish, with the staff menu.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask, abort
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import TooManyRequests
from werkzeug.test import TestResponse

from gvisite.models import Role
from tests.conftest import Clock
from tests.feedback.test_faults import database_down
from tests.fixtures_staff import (
    ACCOUNTS,
    PASSWORD,
    StaffSite,
    audit_rows,
    csrf_token,
    login,
    login_redirect_next,
    staff_menu,
)
from tests.helpers import nu_errors, parse, translate
from tests.staff.test_auth import account, invoke
from tests.staff.test_staff_access import ADMIN, ANONYMOUS, HANDLER, assert_private

HANDLER_EMAIL = ACCOUNTS["handler"][0]
PUBLIC_RETRY = "Försök igen om en stund"  # the residents' generic error page says this


def heading(response: TestResponse) -> str:
    """Return the page's h1 text."""
    h1 = parse(response.data).h1
    assert h1 is not None, response.data[:500]
    return h1.get_text(" ", strip=True)


def in_swedish(app: Flask, message: str) -> str:
    """Return interface text as the (Swedish) staff area shows it."""
    return translate(app, "sv", message)


# --- Error pages under /staff are staff pages ---------------------------------------------------


def test_a_handler_refused_the_export_gets_the_staff_403_page(staff_site: StaffSite) -> None:
    response = staff_site.client(HANDLER).get("/staff/export.csv")
    assert response.status_code == 403
    menu = staff_menu(response)
    assert {"/staff/", "/staff/sessioner", "/staff/losenord"} <= set(menu)
    assert "/staff/logg" not in menu  # the menu is the handler's own
    assert heading(response) == in_swedish(staff_site.app, "You do not have access to this page")
    assert PUBLIC_RETRY not in response.get_data(as_text=True)
    assert_private(response)


@pytest.mark.parametrize("who", [HANDLER, ADMIN])
def test_an_unknown_case_gets_the_staff_404_page(staff_site: StaffSite, who: str) -> None:
    response = staff_site.client(who).get("/staff/cases/NOPE-123")
    assert response.status_code == 404
    assert "/staff/" in staff_menu(response)
    assert heading(response) == in_swedish(staff_site.app, "Page not found")
    text = " ".join(parse(response.data).main.get_text(" ").split())
    assert "112" not in text, "the residents' emergency numbers"
    assert_private(response)


def boom(error: Exception) -> Any:
    """Return a view that fails with an error."""

    def view(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return view


# (status, how: a view to put in place of the statistics page, the page's h1, a header it keeps)
ERRORS = {
    "429": (429, boom(TooManyRequests(retry_after=120)), "Too many attempts", "Retry-After"),
    "500": (500, boom(RuntimeError("a bug")), "Something went wrong", "Referrer-Policy"),
    "503": (
        503,
        boom(OperationalError("SELECT 1", {}, ConnectionRefusedError("server closed"))),
        "The service is not available right now",
        "Retry-After",
    ),
    "409": (409, lambda: abort(409), "Something went wrong", None),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_in_a_staff_page_are_staff_pages(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    status, view, title, header = ERRORS[name]
    client = staff_site.client(HANDLER)
    monkeypatch.setitem(staff_site.app.view_functions, "staff.statistics", view)
    response = client.get("/staff/statistik")
    assert response.status_code == status
    assert "/staff/statistik" in staff_menu(response)
    assert heading(response) == in_swedish(staff_site.app, title)
    if header is not None:
        assert response.headers.get(header), response.headers
    if status >= 500:
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert_private(response)


def test_a_method_not_allowed_keeps_its_allow_header(staff_site: StaffSite) -> None:
    response = staff_site.client(HANDLER).get("/staff/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "/staff/" in staff_menu(response)
    assert_private(response)


def test_an_expired_form_is_a_staff_page(staff_site: StaffSite) -> None:
    client = staff_site.client(HANDLER)
    case = staff_site.case()
    response = client.post(f"/staff/cases/{case.reference}/note", data={"note": "Ringde."})
    assert response.status_code == 400
    assert "/staff/" in staff_menu(response)
    assert heading(response) == in_swedish(staff_site.app, "The page had expired")
    assert_private(response)


def test_with_the_database_down_the_staff_area_says_so_in_its_own_layout(
    staff_site: StaffSite,
) -> None:
    """The account cannot be read, so no menu; but a staff page, never a bare 500."""
    client = staff_site.client(HANDLER)
    with database_down(staff_site.app):
        response = client.get("/staff/")
    assert response.status_code == 503
    assert staff_menu(response) == []
    assert heading(response) == in_swedish(staff_site.app, "The service is not available right now")
    assert int(response.headers["Retry-After"]) > 0
    assert_private(response)


def test_the_staff_error_pages_are_valid_html(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = staff_site.client(HANDLER)
    case = staff_site.case()
    documents = {
        "403": handler.get("/staff/export.csv").data,
        "404": handler.get("/staff/cases/NOPE-123").data,
        "405": handler.get("/staff/logout").data,
        "expired": handler.post(f"/staff/cases/{case.reference}/note").data,
    }
    with database_down(staff_site.app):
        documents["503 (database down)"] = handler.get("/staff/").data
    monkeypatch.setitem(staff_site.app.view_functions, "staff.statistics", ERRORS["429"][1])
    documents["429"] = handler.get("/staff/statistik").data
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)


# --- Private headers on every answer under /staff ----------------------------------------------


def staff_requests(app: Flask) -> list[tuple[str, str]]:
    """Return (method, URL) for every staff route, with sample values, and some no view answers."""
    found = [("GET", "/staff/finns-inte"), ("POST", "/staff/finns-inte"), ("GET", "/staff/logout")]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff"):
            continue
        url = rule.rule.replace("<reference>", "TG-2026-NOSUCH").replace("<fmt>", "csv")
        url = url.replace("<int:message_id>", "1").replace("<int:problem_id>", "1")
        found += [(method, url) for method in sorted(rule.methods or ()) if method != "OPTIONS"]
    return found


@pytest.mark.parametrize("who", [ANONYMOUS, HANDLER, ADMIN], ids=["anonymous", "handler", "admin"])
def test_every_answer_under_staff_is_private(staff_site: StaffSite, who: str | None) -> None:
    """Walk the route list: pages, redirects, refusals and errors all carry no-store."""
    client = staff_site.client(who)
    token = csrf_token(client)
    requests = staff_requests(staff_site.app)
    assert len(requests) > 20, requests  # the route list was read
    for method, url in requests:
        if url == "/staff/logout":
            continue  # logging out would end the walk
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        try:
            assert_private(response)
        except AssertionError as error:
            raise AssertionError(f"{method} {url} ({response.status_code}): {error}") from error


# --- One guard for every staff page ------------------------------------------------------------

GUARDED = [
    "/staff/",
    "/staff/statistik",
    "/staff/logg",
    "/staff/export.csv",
    "/staff/sessioner",
    "/staff/losenord",
    "/staff/finns-inte",
]


@pytest.mark.parametrize("url", GUARDED)
def test_an_idle_session_ends_on_every_staff_page(
    staff_site: StaffSite, clock: Clock, url: str
) -> None:
    client = staff_site.client(ADMIN)
    clock.advance(minutes=31)
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/login?timeout=1"
    assert login_redirect_next(client.get("/staff/")) == "/staff/"  # and it stays ended


@pytest.mark.parametrize("url", GUARDED)
def test_a_session_past_its_lifetime_ends_on_every_staff_page(
    staff_site: StaffSite, clock: Clock, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    client = staff_site.client(ADMIN)
    monkeypatch.setitem(staff_site.app.config, "STAFF_SESSION_HOURS", 0.25)  # 15 minutes
    clock.advance(minutes=10)
    assert client.get("/staff/").status_code == 200  # busy, never idle
    clock.advance(minutes=10)
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/login?lifetime=1"


# --- flask staff activate / role ---------------------------------------------------------------


def test_activate_lets_a_deactivated_account_log_in_again_and_is_audited(
    staff_site: StaffSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert invoke(staff_site, "staff", "deactivate", HANDLER_EMAIL).exit_code == 0
    assert login(staff_site.app.test_client(), HANDLER_EMAIL).status_code == 200  # refused
    result = invoke(staff_site, "staff", "activate", HANDLER_EMAIL.upper())
    assert result.exit_code == 0, result.output
    assert f"activated {HANDLER_EMAIL}" in result.output
    assert login(staff_site.app.test_client(), HANDLER_EMAIL, PASSWORD).status_code == 303
    handler_id = str(staff_site.ids["handler"])
    assert [row for row in audit_rows(staff_site.app) if row[0] == "activate"] == [
        ("activate", handler_id, None)
    ]
    lines = [r.getMessage() for r in caplog.records if r.name == "gvisite.staff.audit"]
    assert any(line.startswith(f"audit: activate target={handler_id} ") for line in lines)
    assert not any(HANDLER_EMAIL in line for line in lines)


def test_activate_says_when_there_is_nothing_to_do(staff_site: StaffSite) -> None:
    result = invoke(staff_site, "staff", "activate", HANDLER_EMAIL)
    assert result.exit_code == 0
    assert "already active" in result.output
    unknown = invoke(staff_site, "staff", "activate", "ingen@jarfalla.se")
    assert unknown.exit_code != 0
    assert "no account for 'ingen@jarfalla.se'" in unknown.output
    assert not [row for row in audit_rows(staff_site.app) if row[0] == "activate"]


def test_role_changes_what_an_open_session_may_do_and_is_audited(staff_site: StaffSite) -> None:
    client = staff_site.client(HANDLER)
    assert client.get("/staff/logg").status_code == 403
    result = invoke(staff_site, "staff", "role", HANDLER_EMAIL, "admin")
    assert result.exit_code == 0, result.output
    assert f"{HANDLER_EMAIL} is now admin" in result.output
    assert account(staff_site, HANDLER_EMAIL).role == Role.ADMIN
    assert client.get("/staff/logg").status_code == 200  # at once, in the same session
    assert invoke(staff_site, "staff", "role", HANDLER_EMAIL, "handler").exit_code == 0
    assert client.get("/staff/logg").status_code == 403
    handler_id = str(staff_site.ids["handler"])
    roles = [row for row in audit_rows(staff_site.app) if row[0].startswith("role:")]
    assert roles == [
        ("role:handler-to-admin", handler_id, None),
        ("role:admin-to-handler", handler_id, None),
    ]


def test_role_refuses_an_unknown_account_or_role_and_says_when_nothing_changes(
    staff_site: StaffSite,
) -> None:
    same = invoke(staff_site, "staff", "role", HANDLER_EMAIL, "handler")
    assert same.exit_code == 0 and "already handler" in same.output
    unknown = invoke(staff_site, "staff", "role", "ingen@jarfalla.se", "admin")
    assert unknown.exit_code != 0 and "no account" in unknown.output
    wrong = invoke(staff_site, "staff", "role", HANDLER_EMAIL, "superuser")
    assert wrong.exit_code == 2 and "superuser" in wrong.output
    assert not [row for row in audit_rows(staff_site.app) if row[0].startswith("role:")]
    assert account(staff_site, HANDLER_EMAIL).role == Role.HANDLER
