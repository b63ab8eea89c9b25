"""Logging in to the staff area: accounts, messages, throttling, session renewal, idle timeout."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.models import StaffUser
from tests.fixtures_staff import (
    ACCOUNTS,
    ENROL,
    PASSWORD,
    StaffSite,
    add_account,
    audit_rows,
    csrf_token,
    enrol_code,
    login,
    login_redirect_next,
    pass_second_step,
    post_action,
    set_active,
)
from tests.helpers import parse, translate

HANDLER_EMAIL = ACCOUNTS["handler"][0]
WRONG_LOGIN = "The email address or password is wrong, or the account is not active."
IDLE_MESSAGE = "You were logged out because you were inactive. Log in again."


def is_logged_in(client: FlaskClient) -> bool:
    """Tell whether the client's session opens the inbox."""
    return client.get("/staff/").status_code == 200


def main_text(response_body: bytes) -> str:
    """Return the visible text of `main`, whitespace collapsed."""
    main = parse(response_body).select_one("main")
    assert main is not None
    return " ".join(main.get_text(" ").split())


def notice(soup: BeautifulSoup) -> str:
    """Return the text of the message at the top of the login form."""
    box = soup.select_one("main .error-summary, main .notice")
    assert box is not None, "no message on the login page"
    return " ".join(box.get_text(" ").split())


# --- Logging in and out ------------------------------------------------------------------------


def test_login_page_has_labelled_fields(staff_site: StaffSite) -> None:
    response = staff_site.client().get("/staff/login")
    assert response.status_code == 200
    soup = parse(response.data)
    form = soup.select_one("main form[method=post]")
    assert form is not None and form.has_attr("novalidate")
    for name, kind, autocomplete in [
        ("email", "email", "username"),
        ("password", "password", "current-password"),
    ]:
        field = form.select_one(f"input[name={name}]")
        assert field["type"] == kind and field["autocomplete"] == autocomplete
        assert soup.select_one(f"label[for={field['id']}]") is not None
    assert soup.html["lang"] == "sv"


def test_login_goes_to_the_inbox_and_is_audited(staff_site: StaffSite) -> None:
    client = staff_site.client()
    response = login(client, HANDLER_EMAIL)
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"
    assert is_logged_in(client)
    assert ("login", None, staff_site.ids["handler"]) in audit_rows(staff_site.app)


def test_login_ignores_case_and_spaces_in_the_address(staff_site: StaffSite) -> None:
    client = staff_site.client()
    assert login(client, f"  {HANDLER_EMAIL.upper()} ").status_code == 303
    assert is_logged_in(client)


REFUSED = {
    "wrong password": (HANDLER_EMAIL, "fel lösenord igen"),
    "unknown account": ("ingen.alls@jarfalla.se", PASSWORD),
    "inactive account": ("inaktiv@jarfalla.se", PASSWORD),
    "empty password": (HANDLER_EMAIL, ""),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_login_says_nothing_about_the_account(staff_site: StaffSite, case: str) -> None:
    add_account(staff_site.app, "inaktiv@jarfalla.se", "Inaktiv", active=False)
    client = staff_site.client()
    email, password = REFUSED[case]
    response = login(client, email, password)
    assert response.status_code == 200
    assert not is_logged_in(client)
    soup = parse(response.data)
    if password:
        # An error, shown GOV.UK style: a summary linking to the field, and "Fel:" in the title.
        link = soup.select_one("main .error-summary a")
        assert link is not None and link["href"] == "#email"
        assert link.get_text(strip=True) == translate(staff_site.app, "sv", WRONG_LOGIN)
        assert soup.title.get_text().startswith(translate(staff_site.app, "sv", "Error:"))
    # The address typed in is kept; the password is never sent back to the browser.
    assert soup.select_one("input[name=email]")["value"] == email
    assert soup.select_one("input[name=password]").get("value", "") == ""
    if password:
        assert password not in response.get_data(as_text=True)


def test_wrong_password_unknown_and_inactive_accounts_look_the_same(staff_site: StaffSite) -> None:
    add_account(staff_site.app, "inaktiv@jarfalla.se", "Inaktiv", active=False)
    pages = set()
    for email, password in [
        (HANDLER_EMAIL, "fel lösenord igen"),
        ("ingen.alls@jarfalla.se", "fel lösenord igen"),
        ("inaktiv@jarfalla.se", PASSWORD),
    ]:
        response = login(staff_site.client(), email, password)
        # The answers differ only in the e-mail address typed in (kept in the field).
        pages.add(main_text(response.data).replace(email, "EMAIL"))
        assert response.status_code == 200
    assert len(pages) == 1, pages


def test_a_deactivated_account_loses_its_session(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    assert is_logged_in(client)
    set_active(staff_site.app, HANDLER_EMAIL, False)
    response = client.get("/staff/")
    assert login_redirect_next(response) == "/staff/"


def test_logout_ends_the_session(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    response = post_action(client, "/staff/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/login"
    assert not is_logged_in(client)
    assert ("logout", None, staff_site.ids["handler"]) in audit_rows(staff_site.app)


def test_logout_needs_the_csrf_token(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    assert post_action(client, "/staff/logout", token=False).status_code == 400
    assert is_logged_in(client)


# --- The session -------------------------------------------------------------------------------


def session_cookie(client: FlaskClient) -> str | None:
    """Return the value of the staff session cookie (kept under /staff only) the client holds."""
    cookie = client.get_cookie("session", path="/staff")
    return cookie.value if cookie else None


def test_the_session_is_renewed_at_login(staff_site: StaffSite) -> None:
    client = staff_site.client()
    old_token = csrf_token(client)
    with client.session_transaction("/staff/") as session:
        session["planted"] = "by someone else"
        session["_user_id"] = str(staff_site.ids["admin"])  # a fixation attempt
    before = session_cookie(client)
    response = client.post(
        "/staff/login",
        data={"email": HANDLER_EMAIL, "password": PASSWORD, "csrf_token": old_token},
    )
    assert response.status_code == 303
    assert session_cookie(client) != before
    pass_second_step(client, HANDLER_EMAIL, response.headers["Location"])
    with client.session_transaction("/staff/") as session:
        assert "planted" not in session
        assert session["_user_id"] == str(staff_site.ids["handler"])
    # The CSRF token of the old session died with it.
    response = client.post("/staff/logout", data={"csrf_token": old_token})
    assert response.status_code == 400
    assert is_logged_in(client)


def set_session_cookie(response: TestResponse, name: str = "session") -> str:
    """Return the Set-Cookie header that sets the session cookie."""
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def test_session_cookie_flags_in_development(staff_site: StaffSite) -> None:
    cookie = set_session_cookie(staff_site.client().get("/staff/login"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://localhost: a browser would drop a Secure cookie


def test_session_cookie_is_secure_over_https(make_staff_app: Callable[..., StaffSite]) -> None:
    site = make_staff_app(SITE_URL="https://gvi.jarfalla.se")
    response = site.app.test_client().get("/staff/login", base_url="https://gvi.jarfalla.se")
    cookie = set_session_cookie(response, "__Secure-session")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- Idle timeout ------------------------------------------------------------------------------


def idle_for(client: FlaskClient, seconds: float) -> float:
    """Pretend the client's last request was `seconds` earlier; return the time set."""
    # Move the app's own time stamp back, whatever clock it counts in.
    with client.session_transaction("/staff/") as session:
        session["last_seen"] -= seconds
        return session["last_seen"]


@pytest.mark.parametrize("minutes", [30, 5])
def test_idle_session_is_logged_out_with_a_message(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch, minutes: int
) -> None:
    monkeypatch.setitem(staff_site.app.config, "STAFF_IDLE_MINUTES", minutes)
    client = staff_site.client("handler")
    idle_for(client, minutes * 60 + 5)
    response = client.get("/staff/statistik")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    page = client.get(response.headers["Location"])
    assert notice(parse(page.data)) == translate(staff_site.app, "sv", IDLE_MESSAGE)
    assert not is_logged_in(client)


def test_activity_keeps_the_session_alive(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    earlier = idle_for(client, 29 * 60)
    assert client.get("/staff/").status_code == 200
    with client.session_transaction("/staff/") as session:
        assert session["last_seen"] - earlier >= 29 * 60
    idle_for(client, 29 * 60)
    assert is_logged_in(client)


def test_a_session_without_a_last_seen_time_is_logged_out(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    with client.session_transaction("/staff/") as session:
        del session["last_seen"]
    assert not is_logged_in(client)


# --- Where a login leads -----------------------------------------------------------------------

NEXT_TARGETS = [
    ("/staff/statistik", "/staff/statistik"),
    ("/staff/?kind=report&mine=1", "/staff/?kind=report&mine=1"),
    ("//evil.example", "/staff/"),
    ("//evil.example/staff/", "/staff/"),
    ("https://evil.example/", "/staff/"),
    ("https://evil.example/staff/", "/staff/"),
    ("http://localhost/staff/", "/staff/"),
    ("/\\evil.example", "/staff/"),
    ("/staff/\\\\evil.example", "/staff/"),
    ("\\\\evil.example", "/staff/"),
    ("javascript:alert(1)", "/staff/"),
    ("JavaScript:alert(1)//staff", "/staff/"),
    ("data:text/html,<script>alert(1)</script>", "/staff/"),
    ("/sv/", "/staff/"),
    ("/sv/tillganglighet", "/staff/"),
    ("staff/", "/staff/"),
    ("", "/staff/"),
]


@pytest.mark.parametrize(("target", "expected"), NEXT_TARGETS, ids=[t for t, _ in NEXT_TARGETS])
def test_next_only_leads_within_the_staff_area(
    staff_site: StaffSite, target: str, expected: str
) -> None:
    response = login(staff_site.client(), HANDLER_EMAIL, next_url=target)
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_anonymous_visitor_comes_back_after_login(staff_site: StaffSite) -> None:
    case = staff_site.case()
    client = staff_site.client()
    wanted = f"/staff/cases/{case.reference}?tab=1"
    target = login_redirect_next(client.get(wanted))
    assert target == wanted
    response = login(client, HANDLER_EMAIL, next_url=target)
    assert response.headers["Location"] == wanted
    assert client.get(wanted).status_code == 200


# --- Throttling --------------------------------------------------------------------------------


def test_sixth_failed_attempt_for_an_account_is_refused(staff_site: StaffSite) -> None:
    for attempt in range(5):
        client = staff_site.client()  # a new client each time: the limit follows the account
        response = login(client, HANDLER_EMAIL, "fel lösenord igen")
        assert response.status_code == 200, attempt
    blocked = login(staff_site.client(), HANDLER_EMAIL, PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Cache-Control"] == "no-store"
    # Other accounts are not affected.
    assert login(staff_site.client(), ACCOUNTS["colleague"][0]).status_code == 303


def test_a_refused_login_says_how_long_to_wait_in_its_header_and_its_text(
    staff_site: StaffSite,
) -> None:
    """Retry-After is the limiter's real window (15 minutes from the first failure), not a guess."""
    for _ in range(5):
        login(staff_site.client(), HANDLER_EMAIL, "fel lösenord")
    blocked = login(staff_site.client(), HANDLER_EMAIL, PASSWORD)
    assert blocked.status_code == 429
    wait = int(blocked.headers["Retry-After"])
    assert 15 * 60 - 120 <= wait <= 15 * 60  # a window of 15 minutes, a little of it gone
    minutes = -(-wait // 60)
    text = " ".join(parse(blocked.data).select_one(".error-summary").get_text().split())
    assert f"{minutes} minut" in text


def test_the_account_limit_ignores_how_the_address_is_written(staff_site: StaffSite) -> None:
    for spelling in ["hanna.handlaggare@jarfalla.se", "HANNA.HANDLAGGARE@jarfalla.se"] * 3:
        response = login(staff_site.client(), spelling, "fel lösenord igen")
    assert response.status_code == 429


def test_unknown_accounts_are_throttled_the_same_way(staff_site: StaffSite) -> None:
    statuses = [
        login(staff_site.client(), "ingen.alls@jarfalla.se", "fel lösenord").status_code
        for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_successful_logins_are_not_counted(staff_site: StaffSite) -> None:
    for _ in range(8):
        assert login(staff_site.client(), HANDLER_EMAIL).status_code == 303
    statuses = [
        login(staff_site.client(), HANDLER_EMAIL, password).status_code
        for password in ["fel", "fel", "fel", "fel", PASSWORD, "fel", "fel"]
    ]
    assert statuses == [200, 200, 200, 200, 303, 200, 429]


def test_failed_attempts_are_throttled_per_client_address(staff_site: StaffSite) -> None:
    addresses = {"REMOTE_ADDR": "192.0.2.10"}
    for number in range(20):
        # A different account each time, so only the address limit can bite.
        response = login(
            staff_site.client(),
            f"nummer{number}@jarfalla.se",
            "fel",
            environ_base=addresses,
        )
        assert response.status_code == 200, number
    blocked = login(staff_site.client(), HANDLER_EMAIL, PASSWORD, environ_base=addresses)
    assert blocked.status_code == 429
    elsewhere = login(
        staff_site.client(), HANDLER_EMAIL, PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.11"}
    )
    assert elsewhere.status_code == 303


# --- The staff command -------------------------------------------------------------------------


def invoke(site: StaffSite, *args: str, stdin: str | None = None):
    """Run a `flask` command against the site's app."""
    return site.app.test_cli_runner().invoke(args=list(args), input=stdin)


def account(site: StaffSite, email: str) -> StaffUser | None:
    """Return an account by address, detached."""
    with site.app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        db.session.expunge_all()
        return user


def test_staff_create_with_password_on_stdin(staff_site: StaffSite) -> None:
    password = "ett långt och hemligt lösenord"
    result = invoke(
        staff_site,
        *("staff", "create", "Ny.Admin@Jarfalla.se", "--name", "Ny Admin", "--role", "admin"),
        "--password-stdin",
        stdin=password + "\n",
    )
    assert result.exit_code == 0, result.output
    assert password not in result.output
    user = account(staff_site, "ny.admin@jarfalla.se")
    assert user is not None
    assert (user.name, user.role, user.active) == ("Ny Admin", "admin", True)
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, password)
    client = staff_site.client()
    # A new account has no second factor yet: it sets one up before it can open anything.
    response = login(client, "ny.admin@jarfalla.se", password)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(ENROL)
    assert client.get("/staff/logg").status_code == 302
    assert len(enrol_code(client)) == 10
    assert client.get("/staff/logg").status_code == 200


def test_staff_create_asks_for_the_password_twice(staff_site: StaffSite) -> None:
    password = "ett långt och hemligt lösenord"
    result = invoke(
        staff_site,
        *("staff", "create", "ny@jarfalla.se", "--name", "Ny"),
        stdin=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    assert password not in result.output
    assert account(staff_site, "ny@jarfalla.se").role == "handler"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        pytest.param([HANDLER_EMAIL, "--name", "Dubblett"], PASSWORD, id="duplicate"),
        pytest.param(["ny@jarfalla.se", "--name", "Ny"], "kort", id="short password"),
        pytest.param(["ny@jarfalla.se", "--name", "Ny", "--role", "root"], PASSWORD, id="role"),
        pytest.param(["inte-en-adress", "--name", "Ny"], PASSWORD, id="not an email"),
        pytest.param(["ny@jarfalla.se"], PASSWORD, id="no name"),
    ],
)
def test_staff_create_refuses(staff_site: StaffSite, args: list[str], stdin: str) -> None:
    before = invoke(staff_site, "staff", "list").output
    result = invoke(staff_site, "staff", "create", *args, "--password-stdin", stdin=stdin + "\n")
    assert result.exit_code != 0
    assert invoke(staff_site, "staff", "list").output == before
    assert account(staff_site, HANDLER_EMAIL).name == ACCOUNTS["handler"][1]


def test_staff_deactivate(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    result = invoke(staff_site, "staff", "deactivate", HANDLER_EMAIL.upper())
    assert result.exit_code == 0, result.output
    assert account(staff_site, HANDLER_EMAIL).active is False
    assert not is_logged_in(client)
    assert login(staff_site.client(), HANDLER_EMAIL).status_code == 200
    assert invoke(staff_site, "staff", "deactivate", "ingen@jarfalla.se").exit_code != 0


def test_staff_list(staff_site: StaffSite) -> None:
    set_active(staff_site.app, ACCOUNTS["colleague"][0], False)
    result = invoke(staff_site, "staff", "list")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.output.splitlines()]
    expected = sorted(
        [email, name, role, "inactive" if key == "colleague" else "active"]
        for key, (email, name, role) in ACCOUNTS.items()
    )
    assert rows == expected
    assert "argon2" not in result.output


def test_expired_login_form_explains_itself_and_asks_again(staff_site: StaffSite) -> None:
    client = staff_site.client()
    response = client.post(
        "/staff/login", data={"email": HANDLER_EMAIL, "password": PASSWORD, "csrf_token": "old"}
    )
    assert response.status_code == 400
    assert not is_logged_in(client)
    soup = parse(response.data)
    assert notice(soup) == translate(
        staff_site.app, "sv", "The login page had expired. Log in again."
    )
    assert soup.select_one("input[name=csrf_token]")["value"] != "old"
    assert PASSWORD not in response.get_data(as_text=True)


def test_expired_staff_action_says_nothing_was_changed(handler_client: FlaskClient) -> None:
    response = handler_client.post("/staff/cases/TG-2026-AAAAAA/note", data={"note": "x"})
    assert response.status_code == 400
    heading = parse(response.data).select_one("main h1").get_text(strip=True)
    assert heading == translate(handler_client.application, "sv", "The page had expired")


def test_failures_from_one_address_do_not_lock_the_owner_out(staff_site: StaffSite) -> None:
    """An attacker's five wrong passwords stop the attacker, not the owner elsewhere."""
    attacker = {"REMOTE_ADDR": "192.0.2.20"}
    for attempt in range(5):
        response = login(staff_site.client(), HANDLER_EMAIL, "gissning", environ_base=attacker)
        assert response.status_code == 200, attempt
    assert (
        login(staff_site.client(), HANDLER_EMAIL, PASSWORD, environ_base=attacker).status_code
        == 429
    )
    owner = {"REMOTE_ADDR": "198.51.100.7"}
    assert (
        login(staff_site.client(), HANDLER_EMAIL, PASSWORD, environ_base=owner).status_code == 303
    )


def test_many_addresses_trying_one_account_are_slowed_per_account(staff_site: StaffSite) -> None:
    """Spread over addresses, attempts on one account still meet a limit (30 an hour)."""
    for number in range(30):
        address = {"REMOTE_ADDR": f"203.0.113.{number}"}
        response = login(staff_site.client(), HANDLER_EMAIL, "gissning", environ_base=address)
        assert response.status_code == 200, number
    late = login(
        staff_site.client(), HANDLER_EMAIL, "gissning", environ_base={"REMOTE_ADDR": "203.0.113.99"}
    )
    assert late.status_code == 429
    # Another account is not affected.
    other = login(
        staff_site.client(), ACCOUNTS["colleague"][0], environ_base={"REMOTE_ADDR": "203.0.113.99"}
    )
    assert other.status_code == 303


# A second worker: its own process (Flask-Limiter's in-memory counts are per process), its own
# app on the same database, trying logins and printing the statuses it got.
SECOND_WORKER = """
import json, sys
from gvisite import create_app
from tests.fixtures_staff import login
config, email, passwords = json.load(sys.stdin)
client = create_app(config).test_client()
print(json.dumps([login(client, email, password).status_code for password in passwords]))
"""


def logins_in_another_process(config: dict, email: str, passwords: list[str]) -> list[int]:
    """Log in through a second app in a child process; return the HTTP statuses."""
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", SECOND_WORKER],
        input=json.dumps([config, email, passwords]),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("storage", "database_url"),
    [("database://", "sqlite"), ("database://", "postgresql"), ("memory://", "sqlite")],
    indirect=["database_url"],
)
def test_the_throttle_is_shared_by_every_worker_on_the_database(
    make_staff_app, database_url: str, tmp_path, storage: str
) -> None:
    """Two processes on one database (two gunicorn workers) count the same attempts."""
    from tests.fixtures_forms import forms_config

    first = make_staff_app(database_url, RATELIMIT_STORAGE_URI=storage)
    config = forms_config(
        tmp_path / "second", DATABASE_URL=database_url, RATELIMIT_STORAGE_URI=storage
    )
    for _ in range(3):
        assert login(first.app.test_client(), HANDLER_EMAIL, "gissning").status_code == 200
    statuses = logins_in_another_process(config, HANDLER_EMAIL, ["gissning", "gissning", PASSWORD])
    # Five failures in all: shared counts refuse the sixth attempt. In memory each process
    # counts alone: the second has seen two failures and lets the sixth in.
    assert statuses == [200, 200, 429 if storage == "database://" else 303]
