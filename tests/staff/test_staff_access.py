"""Who may open which staff URL, CSRF on every action, and the headers of every staff response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.models import (
    AuditEntry,
    Case,
    CaseEvent,
    OutboxMessage,
    PublishedProblem,
    Role,
    StaffUser,
)
from gvisite.staff import area, permissions
from tests.fixtures_oidc import SsoSite
from tests.fixtures_staff import (
    ACCOUNTS,
    PASSWORD,
    StaffSite,
    add_message,
    csrf_token,
    login,
    login_redirect_next,
    staff_menu,
)
from tests.helpers import parse

ANONYMOUS, HANDLER, ADMIN = None, "handler", "admin"
NEW_PASSWORD = "blå cykel under gammal ek"
LOGIN = "login"  # expected: a redirect to the login page that comes back here


@dataclass
class Sample:
    """Things in the database that staff URLs point at."""

    reference: str
    message_id: int
    problem_id: int

    def args(self, rule_arguments: set[str]) -> dict[str, Any]:
        """Return sample values for a rule's arguments."""
        values = {
            "reference": self.reference,
            "message_id": self.message_id,
            "problem_id": self.problem_id,
            "passkey_id": 1,  # none exists: a refusal before the lookup is what is tested
        }
        return {name: values[name] for name in rule_arguments if name in values}


@pytest.fixture
def sample(staff_site: StaffSite) -> Sample:
    """A report with a failed mail and a published problem."""
    case = staff_site.case()
    message_id = add_message(staff_site.app, case.id, status="failed", attempts=7)
    with staff_site.app.app_context():
        problem = PublishedProblem(case_id=case.id, what={"sv": "Ett fel."}, criteria=["1.4.3"])
        db.session.add(problem)
        db.session.commit()
        problem_id = problem.id
    return Sample(case.reference, message_id, problem_id)


# Every GET page under /staff, with what each kind of visitor gets. A new staff URL fails
# `test_every_staff_url_is_in_the_table` until it is added here: access is a decision.
GET_PAGES: dict[str, tuple[str, dict[str, Any], dict[str | None, int | str]]] = {
    # endpoint: (label, extra URL values, {visitor: status or LOGIN})
    "auth.login": ("login", {}, {ANONYMOUS: 200, HANDLER: 200, ADMIN: 200}),
    "staff.inbox": ("inbox", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
    "staff.case_page": ("case", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
    "staff.statistics": ("statistics", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
    "staff.export": ("export", {"fmt": "csv"}, {ANONYMOUS: LOGIN, HANDLER: 403, ADMIN: 200}),
    "staff.audit_log": ("audit log", {}, {ANONYMOUS: LOGIN, HANDLER: 403, ADMIN: 200}),
    "account.sessions": ("sessions", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
    "password.change": ("password", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
    # Open, like the login page; without OIDC_ISSUER (as here) single sign-on is not there.
    "sso.callback": ("sso callback", {}, {ANONYMOUS: 404, HANDLER: 404, ADMIN: 404}),
    # The second step, done already: on to the inbox. Own-account pages need a login only.
    "mfa.second_step": ("second step", {}, {ANONYMOUS: LOGIN, HANDLER: 303, ADMIN: 303}),
    "mfa.enrol": ("enrol", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
    "mfa.security": ("security", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
    "mfa.recovery_codes": ("recovery codes", {}, {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200}),
}
EXTRA_GETS = [
    # Variants of a table row that must behave the same way.
    ("staff.export", {"fmt": "json"}, {ANONYMOUS: LOGIN, HANDLER: 403, ADMIN: 200}),
    (
        "staff.inbox",
        {"kind": "report", "overdue": "1"},
        {ANONYMOUS: LOGIN, HANDLER: 200, ADMIN: 200},
    ),
]
# Every POST under /staff, with the form a browser would send.
ACTIONS: dict[str, dict[str, str]] = {
    "auth.login": {},
    "auth.logout": {},
    "sso.start": {},
    "staff.assign": {"assignee": "HANDLER_ID"},
    "staff.status": {"status": "avslutad", "reason": "Åtgärdat."},
    "staff.note": {"note": "Ringde upp."},
    "staff.reply": {"reply": "Tack, vi har rättat felet."},
    "staff.retry": {},
    "staff.spam": {"value": "1"},
    "staff.answered": {"how": "phone", "summary": "Ringde upp."},
    "staff.publish": {"what_sv": "Knappen saknar namn.", "criteria": "4.1.2"},
    "staff.resolve": {},
    "account.end_sessions_view": {"value": "others"},
    "password.change": {"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD},
    "mfa.second_step": {"code": "000000"},
    "mfa.recovery_step": {"recovery": "aaaaa-aaaaa"},
    "mfa.confirm_totp": {"code": "000000"},
    "mfa.new_recovery_codes": {},
    "mfa.remove_passkey": {},
    "mfa.remove_totp": {},
    "passkeys.register_options": {},
    "passkeys.register_verify": {},
    "passkeys.login_options": {},
    "passkeys.login_verify": {},
}
OPEN = ("auth.", "sso.")  # the pages reached without a login (area.OPEN_ENDPOINTS)
STAFF_ACTIONS = [endpoint for endpoint in ACTIONS if not endpoint.startswith(OPEN)]


def staff_rules(app: Flask) -> list[Any]:
    """Return the app's rules under /staff."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff")]


def url_for_rule(app: Flask, endpoint: str, sample: Sample, **values: Any) -> str:
    """Build the URL of an endpoint with sample arguments."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        return url_for(endpoint, **sample.args(set(rule.arguments)), **values)


def test_every_staff_url_is_in_the_table(staff_base_app: Flask) -> None:
    found = {
        (rule.endpoint, method)
        for rule in staff_rules(staff_base_app)
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    expected = {(endpoint, "GET") for endpoint in GET_PAGES} | {
        (endpoint, "POST") for endpoint in ACTIONS
    }
    assert found == expected


GET_CASES = [
    pytest.param(
        endpoint, values, who, outcome, id=f"{GET_PAGES[endpoint][0]}-{who or 'anonymous'}"
    )
    for endpoint, (_label, values, outcomes) in GET_PAGES.items()
    for who, outcome in outcomes.items()
] + [
    pytest.param(endpoint, values, who, outcome, id=f"{endpoint}-{values}-{who or 'anonymous'}")
    for endpoint, values, outcomes in EXTRA_GETS
    for who, outcome in outcomes.items()
]


@pytest.mark.parametrize(("endpoint", "values", "who", "outcome"), GET_CASES)
def test_get_access(
    staff_site: StaffSite,
    sample: Sample,
    endpoint: str,
    values: dict[str, Any],
    who: str | None,
    outcome: int | str,
) -> None:
    url = url_for_rule(staff_site.app, endpoint, sample, **values)
    response = staff_site.client(who).get(url)
    if outcome == LOGIN:
        assert login_redirect_next(response) == url, (response.status_code, response.headers)
    else:
        assert response.status_code == outcome
    if isinstance(outcome, int) and outcome >= 400:
        # A refusal is a staff page, with the staff menu for staff: never the residents' page.
        menu = staff_menu(response)
        assert (url_for_rule(staff_site.app, "staff.inbox", sample) in menu) is (who is not None)
    assert_private(response)


def sso_client(sso_site: SsoSite, who: str) -> FlaskClient:
    """Return a client logged in as one of ACCOUNTS through single sign-on (with its MFA)."""
    client = sso_site.site.client()
    sso_site.provider.next_login(f"sub-{who}", ACCOUNTS[who][0])
    response = sso_site.log_in(client)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return client


# Through single sign-on, a staff member reaches what they reach with their second factor shown;
# the single sign-on addresses, off in the table, are open pages (the callback, opened bare, is
# a refused login: 400).
SSO_CASES = [
    pytest.param(*case.values, id=f"{case.id}-sso")
    for case in GET_CASES
    if case.values[2] is not ANONYMOUS and not case.values[0].startswith("sso.")
] + [
    pytest.param("sso.callback", {}, who, 400, id=f"sso callback-{who}-sso")
    for who in (HANDLER, ADMIN)
]


@pytest.mark.parametrize(("endpoint", "values", "who", "outcome"), SSO_CASES)
def test_get_access_through_single_sign_on(
    sso_site: SsoSite,
    sample: Sample,
    endpoint: str,
    values: dict[str, Any],
    who: str,
    outcome: int | str,
) -> None:
    client = sso_client(sso_site, who)
    url = url_for_rule(sso_site.app, endpoint, sample, **values)
    response = client.get(url)
    assert response.status_code == outcome, (url, response.headers)
    if isinstance(outcome, int) and outcome >= 400:
        assert url_for_rule(sso_site.app, "staff.inbox", sample) in staff_menu(response)
    assert_private(response)


@pytest.mark.parametrize("role", Role.ALL)
def test_own_account_pages_need_a_login_only(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """An account whose role holds no permission still manages its logins and its password."""
    client = staff_site.client(ADMIN if role == Role.ADMIN else HANDLER)
    monkeypatch.setitem(permissions.PERMISSIONS, role, frozenset())
    assert client.get("/staff/").status_code == 403, "the role should hold no permission now"
    for url in ("/staff/sessioner", "/staff/losenord"):  # Dina inloggningar, Byt lösenord
        assert client.get(url).status_code == 200, url
    # Both actions, with the form a browser sends, go through (303: done, back to the page).
    token = csrf_token(client, "/staff/sessioner")
    data = form_data(staff_site, "account.end_sessions_view", token)
    assert client.post("/staff/sessioner", data=data).status_code == 303
    data = form_data(staff_site, "password.change", token)
    assert client.post("/staff/losenord", data=data).status_code == 303


@pytest.mark.parametrize("who", [ANONYMOUS, HANDLER, ADMIN], ids=["anonymous", "handler", "admin"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_address_no_staff_page_answers_is_guarded_too(
    staff_site: StaffSite, who: str | None, method: str
) -> None:
    """Anonymous visitors go to the login page; staff get the staff area's own 404 page."""
    client = staff_site.client(who)
    data = {} if method == "GET" else {"csrf_token": csrf_token(client)}
    response = client.open("/staff/finns-inte", method=method, data=data)
    if who is ANONYMOUS:
        assert login_redirect_next(response) == "/staff/finns-inte"
    else:
        assert response.status_code == 404
        assert "/staff/" in staff_menu(response)
    assert_private(response)


@pytest.mark.parametrize("endpoint", [*STAFF_ACTIONS, "auth.logout"])
def test_anonymous_actions_go_to_login_and_change_nothing(
    staff_site: StaffSite, sample: Sample, endpoint: str
) -> None:
    client = staff_site.client()
    token = csrf_token(client)  # a real token: only the missing login can stop the action
    before = snapshot(staff_site.app)
    url = url_for_rule(staff_site.app, endpoint, sample)
    response = client.post(url, data=form_data(staff_site, endpoint, token))
    if endpoint == "auth.logout":
        assert response.status_code == 303
        assert response.headers["Location"] == "/staff/login"
    else:
        assert login_redirect_next(response) == url
    assert snapshot(staff_site.app) == before
    assert_private(response)


# --- CSRF --------------------------------------------------------------------------------------


def form_data(site: StaffSite, endpoint: str, token: str | None) -> dict[str, str]:
    """Return the form an action sends, with a CSRF token or without one."""
    data = {
        key: str(site.ids["handler"]) if value == "HANDLER_ID" else value
        for key, value in ACTIONS[endpoint].items()
    }
    if endpoint == "auth.login":
        data = {"email": ACCOUNTS["handler"][0], "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    return data


def snapshot(app: Flask) -> dict[str, Any]:
    """Return what an action could change: row counts and the case's handling fields."""
    with app.app_context():
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Case, CaseEvent, OutboxMessage, PublishedProblem, StaffUser)
        }
        # Page views are audited too; only the other entries show a change.
        counts["audit"] = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action != "view")
        )
        cases = [
            (c.reference, c.status, c.assignee_id, c.spam, c.closed_at, c.first_reply_at)
            for c in db.session.scalars(select(Case).order_by(Case.id))
        ]
        messages = [
            (m.status, m.attempts)
            for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
        problems = [
            p.resolved_at
            for p in db.session.scalars(select(PublishedProblem).order_by(PublishedProblem.id))
        ]
        passwords = list(db.session.scalars(select(StaffUser.password_hash).order_by(StaffUser.id)))
    return {
        "counts": counts,
        "cases": cases,
        "messages": messages,
        "problems": problems,
        "passwords": passwords,
    }


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["missing", "forged"])
@pytest.mark.parametrize("endpoint", list(ACTIONS))
def test_actions_without_a_valid_csrf_token_are_refused(
    staff_site: StaffSite, sample: Sample, endpoint: str, token: str | None
) -> None:
    client = staff_site.client(None if endpoint == "auth.login" else "handler")
    client.get(f"/staff/cases/{sample.reference}")
    before = snapshot(staff_site.app)
    url = url_for_rule(staff_site.app, endpoint, sample)
    response = client.post(url, data=form_data(staff_site, endpoint, token))
    assert response.status_code == 400
    assert snapshot(staff_site.app) == before
    assert_private(response)
    if endpoint != "auth.login":
        assert client.get("/staff/").status_code == 200, "the session must survive"


def test_a_token_from_another_session_is_refused(staff_site: StaffSite, sample: Sample) -> None:
    other = csrf_token(staff_site.client("colleague"), "/staff/")
    client = staff_site.client("handler")
    before = snapshot(staff_site.app)
    response = client.post(
        f"/staff/cases/{sample.reference}/status",
        data={"status": "avslutad", "reason": "Klart.", "csrf_token": other},
    )
    assert response.status_code == 400
    assert snapshot(staff_site.app) == before


# --- Headers -----------------------------------------------------------------------------------


def public_policy(client: FlaskClient) -> str:
    """Return the Content-Security-Policy of the public site."""
    return client.get("/sv/").headers["Content-Security-Policy"]


def assert_private(response: TestResponse) -> None:
    """Check the headers every staff response must carry."""
    assert response.headers.get("Cache-Control") == "no-store", response.headers
    assert "noindex" in response.headers.get("X-Robots-Tag", ""), response.headers
    csp = response.headers.get("Content-Security-Policy")
    assert csp, "no Content-Security-Policy"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize(
    "url",
    [
        "/staff/login",
        "/staff/",
        "/staff/cases/REFERENCE",
        "/staff/cases/TG-2026-NOSUCH",
        "/staff/statistik",
        "/staff/logg",
        "/staff/sessioner",
        "/staff/export.csv",
        "/staff/export.json",
        "/staff/export.xml",
    ],
)
@pytest.mark.parametrize("who", [ANONYMOUS, HANDLER, ADMIN], ids=["anonymous", "handler", "admin"])
def test_staff_responses_are_private_and_have_the_public_policy(
    staff_site: StaffSite, sample: Sample, url: str, who: str | None
) -> None:
    client = staff_site.client(who)
    response = client.get(url.replace("REFERENCE", sample.reference))
    assert_private(response)
    assert response.headers["Content-Security-Policy"] == public_policy(client)
    if response.status_code == 200 and response.mimetype == "text/html":
        robots = parse(response.data).find("meta", attrs={"name": "robots"})
        assert robots is not None and "noindex" in robots["content"]


def test_unknown_case_and_format_are_404_for_staff(staff_site: StaffSite) -> None:
    client = staff_site.client("admin")
    assert client.get("/staff/cases/TG-2026-NOSUCH").status_code == 404
    assert client.get("/staff/export.xml").status_code == 404
    assert client.get(f"/staff/cases/{'X' * 500}").status_code == 404


# --- Before the second factor ------------------------------------------------------------------

# What a session that has given only its password may reach: the second step (an account with
# a factor) or enrolment (one without, STAFF_REQUIRE_MFA on), and logging out.
SECOND_STEP_ENDPOINTS = {
    "mfa.second_step",
    "mfa.recovery_step",
    "passkeys.login_options",
    "passkeys.login_verify",
}


def password_only_client(site: StaffSite, who: str) -> FlaskClient:
    """Return a client that gave the right password for one of ACCOUNTS, and nothing more."""
    client = site.app.test_client()
    response = login(client, ACCOUNTS[who][0], second_step=False)
    assert urlsplit(response.headers["Location"]).path == "/staff/login/steg-2"
    return client


@pytest.mark.parametrize("who", [HANDLER, ADMIN])
def test_before_the_second_factor_every_page_leads_to_it(
    staff_site: StaffSite, sample: Sample, who: str
) -> None:
    client = password_only_client(staff_site, who)
    for endpoint, (_label, values, outcomes) in GET_PAGES.items():
        url = url_for_rule(staff_site.app, endpoint, sample, **values)
        response = client.get(url)
        if endpoint in SECOND_STEP_ENDPOINTS:
            assert response.status_code == 200, endpoint
            continue
        if endpoint in area.OPEN_ENDPOINTS:  # answers as it does to anyone logged in
            assert response.status_code == outcomes[who], endpoint
            continue
        location = urlsplit(response.headers.get("Location", ""))
        assert (response.status_code, location.path) == (302, "/staff/login/steg-2"), endpoint
        assert parse_qs(location.query)["next"] == [url], endpoint
        assert_private(response)


@pytest.mark.parametrize("endpoint", [e for e in STAFF_ACTIONS if e not in SECOND_STEP_ENDPOINTS])
def test_before_the_second_factor_no_action_goes_through(
    staff_site: StaffSite, sample: Sample, endpoint: str
) -> None:
    client = password_only_client(staff_site, ADMIN)
    token = csrf_token(client, "/staff/login/steg-2")
    before = snapshot(staff_site.app)
    url = url_for_rule(staff_site.app, endpoint, sample)
    response = client.post(url, data=form_data(staff_site, endpoint, token))
    assert (response.status_code, urlsplit(response.headers["Location"]).path) == (
        302,
        "/staff/login/steg-2",
    )
    assert snapshot(staff_site.app) == before
