"""Passwords: the policy, `flask staff create` and `flask staff password`, the change page."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.models import StaffUser
from gvisite.staff.auth import verify_password
from gvisite.staff.passwords import common_passwords, password_problem
from tests.fixtures_staff import (
    ACCOUNTS,
    PASSWORD,
    StaffLiveServer,
    StaffSite,
    add_account,
    audit_rows,
    browser_login,
    csrf_token,
    enrol_code,
    login,
)
from tests.helpers import (
    SCREENSHOTS,
    assert_no_axe_violations,
    desktop_tab,
    nu_errors,
    parse,
    translate,
)
from tests.staff.test_auth import account, invoke

HANDLER_EMAIL, HANDLER_NAME, _ = ACCOUNTS["handler"]
NEW_PASSWORD = "blå cykel under gammal ek"
SHOTS = SCREENSHOTS / "passwords"
SPACES = "Enter a password that is not only spaces."
SHORT = "Use a password of at least %(count)s characters."
COMMON = "This is one of the most common passwords. Choose another."
OWN = "Do not use your email address or your name as your password."
TOO_EASY = (
    "This password is too easy to guess. Avoid repetitions, sequences and your own name; "
    "several words with spaces between them make a good password."
)
WRONG = "The current password is wrong."


def message(app: Flask, text: str, **variables: Any) -> str:
    """Return a policy message as the staff area shows it (in Swedish)."""
    return translate(app, "sv", text, **variables)


# --- The policy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        pytest.param("", SPACES, id="empty"),
        pytest.param(" " * 12, SPACES, id="12 spaces"),
        pytest.param("\t \u00a0\u2003" * 5, SPACES, id="tabs"),
        pytest.param("kort ord", SHORT, id="short"),
        pytest.param(
            "    elva tecken    ",
            SHORT,
            id="padded with spaces",
        ),
        pytest.param("LeaveMeAlone", COMMON, id="common"),
        pytest.param(
            "leave me alone",
            COMMON,
            id="common with spaces",
        ),
        pytest.param("123456789012", TOO_EASY, id="digits in a row"),
        pytest.param("passwordpassword", TOO_EASY, id="a common word twice"),
        pytest.param("qwertyuiopåä", TOO_EASY, id="keyboard row"),
        pytest.param("Password1234", TOO_EASY, id="word and digits"),
        pytest.param(
            HANDLER_EMAIL.upper(),
            OWN,
            id="own email",
        ),
        pytest.param(
            "hanna handlaggare",
            OWN,
            id="own address before the @",
        ),
        pytest.param(f"{HANDLER_NAME} 2026", TOO_EASY, id="own name and a year"),
        pytest.param("x" * 257, "Use a password of %(count)s characters or fewer.", id="too long"),
    ],
)
def test_the_policy_refuses(staff_site: StaffSite, password: str, reason: str) -> None:
    with staff_site.app.test_request_context("/staff/"):
        problem = password_problem(password, HANDLER_EMAIL, HANDLER_NAME)
        assert problem is not None
        count = 256 if "fewer" in reason else 12
        assert str(problem) == message(staff_site.app, reason, count=count)


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,  # "rätt häst batteri häftklammer": a passphrase with spaces
        "  blå cykel under gammal ek  ",  # outer spaces are kept and allowed
        "Zq7#pL2m!vR9wX",
        "Det var en gång en katt i Järfälla som läste långa böcker om havet och bergen",
    ],
)
def test_the_policy_accepts(password: str) -> None:
    assert password_problem(password, HANDLER_EMAIL, HANDLER_NAME) is None


def test_the_common_list_is_the_top_ten_thousand() -> None:
    common = common_passwords()
    assert 9_000 < len(common) <= 10_000  # a few differ only in case
    assert {"123456", "password", "qwerty", "dragon"} <= common


# --- The commands ------------------------------------------------------------------------------


def create(site: StaffSite, email: str, password: str = NEW_PASSWORD, name: str = "Ny Person"):
    """Run `flask staff create` with the password on stdin."""
    args = ("staff", "create", email, "--name", name, "--password-stdin")
    return invoke(site, *args, stdin=password + "\n")


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("bad@@example", "not a valid email address"),
        ("<script>@x.se", "not a valid email address"),
        ("ny person@jarfalla.se", "not a valid email address"),
        ("ny@jarfalla", "not a valid email address"),
        ("ny@jarfalla.se\x00", "not a valid email address"),
        ("", "not a valid email address"),
    ],
)
def test_create_refuses_an_invalid_email(staff_site: StaffSite, email: str, says: str) -> None:
    before = invoke(staff_site, "staff", "list").output
    result = create(staff_site, email)
    assert result.exit_code == 2, result.output  # click's usage error, naming EMAIL
    assert says in result.output and "EMAIL" in result.output
    assert invoke(staff_site, "staff", "list").output == before


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("123456789012", TOO_EASY),
        ("passwordpassword", TOO_EASY),
        (" " * 12, SPACES),
        ("ny.person@jarfalla.se", OWN),
    ],
)
def test_create_applies_the_policy(staff_site: StaffSite, password: str, reason: str) -> None:
    result = create(staff_site, "Ny.Person@Jarfalla.se", password)
    assert result.exit_code == 1
    assert message(staff_site.app, reason) in result.output
    assert account(staff_site, "ny.person@jarfalla.se") is None


def test_create_refuses_an_empty_name(staff_site: StaffSite) -> None:
    result = create(staff_site, "ny@jarfalla.se", name="   ")
    assert result.exit_code == 2 and "--name" in result.output
    assert account(staff_site, "ny@jarfalla.se") is None


def test_create_with_a_passphrase_and_a_normalized_address(staff_site: StaffSite) -> None:
    result = create(staff_site, "  Ny.Person@JARFALLA.se ", PASSWORD)
    assert result.exit_code == 0, result.output
    assert login(staff_site.client(), "ny.person@jarfalla.se", PASSWORD).status_code == 303


def test_password_command_sets_a_new_password(staff_site: StaffSite) -> None:
    result = invoke(
        staff_site, "staff", "password", HANDLER_EMAIL.upper(), stdin=f"{NEW_PASSWORD}\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert login(staff_site.client(), HANDLER_EMAIL, PASSWORD).status_code == 200
    assert login(staff_site.client(), HANDLER_EMAIL, NEW_PASSWORD).status_code == 303
    # The system did it; the log names the account by id only, never by address.
    assert ("password", str(staff_site.ids["handler"]), None) in audit_rows(staff_site.app)


def test_password_command_reads_stdin(staff_site: StaffSite) -> None:
    args = ("staff", "password", HANDLER_EMAIL, "--password-stdin")
    assert invoke(staff_site, *args, stdin=NEW_PASSWORD + "\n").exit_code == 0
    assert login(staff_site.client(), HANDLER_EMAIL, NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("email", "stdin", "says"),
    [
        pytest.param(HANDLER_EMAIL, f"{NEW_PASSWORD}\nannat lösenord\n", None, id="typo"),
        pytest.param(HANDLER_EMAIL, "123456789012\n" * 2, TOO_EASY, id="weak"),
        pytest.param(HANDLER_EMAIL, f"{' ' * 12}\n" * 2, SPACES, id="spaces"),
        pytest.param(HANDLER_EMAIL, f"{HANDLER_NAME}\n" * 2, OWN, id="own name"),
        pytest.param("ingen@jarfalla.se", f"{NEW_PASSWORD}\n" * 2, None, id="no account"),
    ],
)
def test_password_command_refuses(
    staff_site: StaffSite, email: str, stdin: str, says: str | None
) -> None:
    result = invoke(staff_site, "staff", "password", email, stdin=stdin)
    assert result.exit_code != 0
    if says is None:  # click's own message, or the command's
        assert "do not match" in result.output or "no account for" in result.output
    else:
        assert message(staff_site.app, says) in result.output, result.output
    assert login(staff_site.client(), HANDLER_EMAIL, PASSWORD).status_code == 303
    assert not any(action == "password" for action, _, _ in audit_rows(staff_site.app))


# --- The change-password page ------------------------------------------------------------------


def change(client: FlaskClient, current: str, new: str, again: str | None = None) -> TestResponse:
    """Send the change-password form as a browser would."""
    token = csrf_token(client, "/staff/losenord")
    data = {"current": current, "new": new, "again": new if again is None else again}
    return client.post("/staff/losenord", data={**data, "csrf_token": token})


def summary(response: TestResponse) -> list[tuple[str, str]]:
    """Return the error summary's links as (target, text) pairs."""
    page = parse(response.data)
    return [(a["href"], a.get_text(strip=True)) for a in page.select(".error-summary a")]


def test_changing_the_password_end_to_end(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    page = parse(client.get("/staff/").data)
    link = page.select_one("nav.primary a[href='/staff/losenord']")
    assert link is not None and link.get_text(strip=True) == "Byt lösenord"
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/losenord"
    shown = client.get("/staff/losenord")
    assert message(staff_site.app, "Your password has been changed.") in shown.get_data(
        as_text=True
    )
    assert NEW_PASSWORD not in shown.get_data(as_text=True)
    assert client.get("/staff/").status_code == 200  # still logged in
    assert login(staff_site.client(), HANDLER_EMAIL, PASSWORD).status_code == 200
    assert login(staff_site.client(), HANDLER_EMAIL, NEW_PASSWORD).status_code == 303
    handler = staff_site.ids["handler"]
    assert ("password", str(handler), handler) in audit_rows(staff_site.app)


@pytest.mark.parametrize(
    ("current", "new", "again", "errors"),
    [
        pytest.param("fel lösenord", NEW_PASSWORD, None, [("#current", WRONG)], id="wrong current"),
        pytest.param(
            "", NEW_PASSWORD, None, [("#current", "Enter your current password.")], id="no current"
        ),
        pytest.param(
            PASSWORD,
            "",
            "",
            [("#new", "Enter a new password."), ("#again", "Enter the new password again.")],
            id="nothing new",
        ),
        pytest.param(PASSWORD, " " * 12, None, [("#new", SPACES)], id="spaces"),
        pytest.param(PASSWORD, "passwordpassword", None, [("#new", TOO_EASY)], id="weak"),
        pytest.param(PASSWORD, "LeaveMeAlone", None, [("#new", COMMON)], id="common"),
        pytest.param(PASSWORD, HANDLER_EMAIL, None, [("#new", OWN)], id="own email"),
        pytest.param(PASSWORD, "kort", None, [("#new", SHORT)], id="short"),
        pytest.param(
            PASSWORD,
            PASSWORD,
            None,
            [("#new", "Choose a password other than your current one.")],
            id="same",
        ),
        pytest.param(
            PASSWORD,
            NEW_PASSWORD,
            "blå cykel under ung ek",
            [("#again", "The two new passwords are not the same.")],
            id="typo",
        ),
        pytest.param(
            "fel lösenord", "kort", None, [("#current", WRONG), ("#new", SHORT)], id="both wrong"
        ),
    ],
)
def test_the_change_page_refuses(
    staff_site: StaffSite,
    current: str,
    new: str,
    again: str | None,
    errors: list[tuple[str, str]],
) -> None:
    client = staff_site.client("handler")
    response = change(client, current, new, again)
    assert response.status_code == 200
    shown = summary(response)
    expected = [(href, message(staff_site.app, text, count=12)) for href, text in errors]
    assert [href for href, _ in shown] == [href for href, _ in expected]
    for (_, text), (_, wanted) in zip(shown, expected, strict=True):
        assert text.startswith(wanted), (text, wanted)
    fields = parse(response.data).select("main input[type=password]")
    assert [field["value"] for field in fields] == ["", "", ""]  # no password is sent back
    assert client.get("/staff/").status_code == 200  # a wrong password does not log out
    assert login(staff_site.client(), HANDLER_EMAIL, PASSWORD).status_code == 303
    assert not any(action == "password" for action, _, _ in audit_rows(staff_site.app))


def test_the_change_page_needs_a_login_and_a_token(staff_site: StaffSite) -> None:
    anonymous = staff_site.client().get("/staff/losenord")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/staff/login?next=/staff/losenord")
    client = staff_site.client("handler")
    data = {"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD}
    assert client.post("/staff/losenord", data=data).status_code == 400
    assert login(staff_site.client(), HANDLER_EMAIL, PASSWORD).status_code == 303


def test_guessing_the_current_password_is_throttled(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    for number in range(10):
        assert change(client, f"gissning {number}", NEW_PASSWORD).status_code == 200
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 429
    # Only this page is throttled: the account still logs in, and another session of it
    # is throttled too (the count is per account), while a colleague is not.
    assert login(staff_site.client(), HANDLER_EMAIL, PASSWORD).status_code == 303
    assert change(staff_site.client("handler"), PASSWORD, NEW_PASSWORD).status_code == 429
    assert change(staff_site.client("colleague"), PASSWORD, NEW_PASSWORD).status_code == 303


def test_policy_refusals_are_not_throttled(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    for _number in range(12):
        assert change(client, PASSWORD, "kort").status_code == 200
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 303


def test_the_change_page_is_valid_html(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    documents = {
        "empty": client.get("/staff/losenord").get_data(as_text=True),
        "errors": change(client, "fel", "kort", "annat").get_data(as_text=True),
    }
    change(client, PASSWORD, NEW_PASSWORD)
    documents["changed"] = client.get("/staff/losenord").get_data(as_text=True)
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)


def test_the_change_page_in_chromium(browser: Any, staff_live_server: StaffLiveServer) -> None:
    email = f"byt.{secrets.token_hex(4)}@jarfalla.se"  # its own account: others keep PASSWORD
    add_account(staff_live_server.app, email, "Bo Byter")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with desktop_tab(browser, staff_live_server.url) as tab:
        browser_login(tab, staff_live_server.url, staff_live_server.app, email)
        with tab.expect_navigation():
            tab.click("nav.primary a[href='/staff/losenord']")
        assert tab.locator("h1").inner_text() == "Byt lösenord"
        assert_no_axe_violations(tab)
        tab.fill("#current", "fel lösenord")
        tab.fill("#new", " " * 12)
        with tab.expect_navigation():
            tab.click("main form button[type=submit]")
        assert tab.locator("main .error-summary a").count() == 3
        assert tab.evaluate("document.activeElement.classList.contains('error-summary')")
        assert_no_axe_violations(tab)
        for width in (1280, 320):
            tab.set_viewport_size({"width": width, "height": 900})
            tab.screenshot(path=str(SHOTS / f"password-errors-{width}.png"), full_page=True)
        tab.set_viewport_size({"width": 1280, "height": 900})
        tab.fill("#current", PASSWORD)
        tab.fill("#new", NEW_PASSWORD)
        tab.fill("#again", NEW_PASSWORD)
        with tab.expect_navigation():
            tab.click("main form button[type=submit]")
        assert tab.locator("main .notice[role=status]").inner_text() == "Ditt lösenord är bytt."
        assert tab.locator("#current").input_value() == ""
        assert_no_axe_violations(tab)
        for width in (1280, 320):
            tab.set_viewport_size({"width": width, "height": 900})
            tab.screenshot(path=str(SHOTS / f"password-changed-{width}.png"), full_page=True)
    with staff_live_server.app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        assert verify_password(user, NEW_PASSWORD) and not verify_password(user, PASSWORD)


# --- On each database --------------------------------------------------------------------------


@pytest.fixture
def site_on(make_staff_app: Callable[..., StaffSite], database_url: str) -> StaffSite:
    """The staff site on each database the site supports."""
    return make_staff_app(database_url)


def test_commands_and_the_page_on_each_database(site_on: StaffSite) -> None:
    nul = invoke(site_on, "staff", "password", f"{HANDLER_EMAIL}\x00", stdin=NEW_PASSWORD)
    assert nul.exit_code == 1 and "no account for" in nul.output  # not a crash on PostgreSQL
    assert create(site_on, "<script>@x.se").exit_code == 2
    assert create(site_on, "ny.person@jarfalla.se", "passwordpassword").exit_code == 1
    assert create(site_on, "ny.person@jarfalla.se").exit_code == 0
    args = ("staff", "password", "ny.person@jarfalla.se", "--password-stdin")
    assert invoke(site_on, *args, stdin=PASSWORD + "\n").exit_code == 0
    client = site_on.client()
    assert login(client, "ny.person@jarfalla.se", PASSWORD).status_code == 303
    assert len(enrol_code(client)) == 10  # a new account sets up its second factor first
    assert change(client, "fel lösenord", NEW_PASSWORD).status_code == 200
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 303
    assert login(site_on.client(), "ny.person@jarfalla.se", PASSWORD).status_code == 200
    assert login(site_on.client(), "ny.person@jarfalla.se", NEW_PASSWORD).status_code == 303
    assert [action for action, _, _ in audit_rows(site_on.app)].count("password") == 2


def test_a_changed_password_ends_the_accounts_other_sessions(staff_site: StaffSite) -> None:
    """Whoever else is logged in as this account (a stolen cookie, say) is logged out."""
    mine, elsewhere = staff_site.client("handler"), staff_site.client("handler")
    assert elsewhere.get("/staff/").status_code == 200
    assert change(mine, PASSWORD, NEW_PASSWORD).status_code == 303
    assert mine.get("/staff/").status_code == 200  # the session that changed it stays
    assert elsewhere.get("/staff/").status_code == 302  # to the login page


def test_a_password_reset_ends_every_session_of_the_account(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    assert client.get("/staff/").status_code == 200
    result = invoke(staff_site, "staff", "password", HANDLER_EMAIL, stdin=f"{NEW_PASSWORD}\n" * 2)
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302
