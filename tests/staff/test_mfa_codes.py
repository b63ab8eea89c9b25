"""The second factor of a password login: the guard, one-time codes, recovery codes, throttling.

Passkeys, in Chromium with a virtual authenticator, are in test_mfa_passkeys.py.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.models import StaffPasskey, StaffRecoveryCode, StaffSession, StaffUser
from tests.fixtures_staff import (
    ACCOUNTS,
    ENROL,
    PASSWORD,
    SECOND_STEP,
    TOTP_SECRET,
    StaffSite,
    add_account,
    audit_rows,
    csrf_token,
    enrol_code,
    forget_last_code,
    login,
    totp_code,
)
from tests.helpers import nu_errors, parse, translate
from tests.security.test_login_fail_closed import limiter_restored  # noqa: F401 (a fixture)

HANDLER_EMAIL = ACCOUNTS["handler"][0]
WRONG_CODE = "The code is wrong or has already been used. Try the next code."
USED_RECOVERY = "The recovery code is wrong or has already been used. Each code works once."
ONLY_FACTOR = (
    "You cannot remove your only second factor. Add another passkey or one-time codes first, "
    "then remove this one."
)
NEW_EMAIL = "ny.person@jarfalla.se"
NOT_ADDED = "The passkey could not be added. Try again, or use one-time codes."


def password_only(site: StaffSite, email: str = HANDLER_EMAIL, **options: str) -> FlaskClient:
    """Return a client that has given the right password and nothing more."""
    client = site.app.test_client()
    response = login(client, email, second_step=False, **options)
    assert response.status_code == 303, response.status_code
    return client


def rows(app: Flask, email: str = HANDLER_EMAIL) -> list[StaffSession]:
    """Return the account's session rows, oldest first, detached."""
    with app.app_context():
        user_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))
        found = list(
            db.session.scalars(
                select(StaffSession).where(StaffSession.user_id == user_id).order_by("id")
            )
        )
        db.session.expunge_all()
        return found


def send_code(client: FlaskClient, code: str, url: str = SECOND_STEP) -> TestResponse:
    """Post a one-time code on the second-step page."""
    return client.post(url, data={"code": code, "csrf_token": csrf_token(client, url)})


def send_recovery(client: FlaskClient, code: str) -> TestResponse:
    """Post a recovery code from the second-step page."""
    token = csrf_token(client, SECOND_STEP)
    return client.post("/staff/login/reservkod", data={"recovery": code, "csrf_token": token})


def error_texts(response: TestResponse) -> list[str]:
    """Return the error summary's items."""
    return [a.get_text(strip=True) for a in parse(response.data).select(".error-summary li a")]


def actions(app: Flask) -> list[str]:
    """Return the audit log's actions, oldest first."""
    return [action for action, _target, _actor in audit_rows(app)]


# --- The guard ---------------------------------------------------------------------------------


def test_the_password_leads_to_the_second_step_keeping_the_target(staff_site: StaffSite) -> None:
    client = staff_site.app.test_client()
    response = login(client, HANDLER_EMAIL, next_url="/staff/statistik", second_step=False)
    location = urlsplit(response.headers["Location"])
    assert (response.status_code, location.path) == (303, SECOND_STEP)
    assert parse_qs(location.query)["next"] == ["/staff/statistik"]
    # A password alone earns no trusted device: the cookie comes with the second factor.
    assert "staff_device=" not in " ".join(response.headers.getlist("Set-Cookie"))
    assert [row.second_factor for row in rows(staff_site.app)] == [None]
    page = parse(client.get(response.headers["Location"]).data)
    assert page.select_one("h1").get_text(strip=True) == translate(
        staff_site.app, "sv", "Confirm that it is you"
    )
    assert page.select_one("nav.primary") is None  # no staff menu before the second step
    forget_last_code(staff_site.app, HANDLER_EMAIL)
    done = send_code(client, totp_code(), response.headers["Location"])
    assert (done.status_code, done.headers["Location"]) == (303, "/staff/statistik")
    assert "staff_device=" in " ".join(done.headers.getlist("Set-Cookie"))
    assert [row.second_factor for row in rows(staff_site.app)] == ["totp"]
    assert client.get("/staff/statistik").status_code == 200
    assert actions(staff_site.app)[-2:] == ["login", "mfa:totp"]


@pytest.mark.parametrize(
    "url",
    ["/staff/", "/staff/export.csv", "/staff/logg", "/staff/konto/sakerhet", ENROL, "/staff/x"],
)
def test_a_password_only_session_reaches_nothing_but_the_second_step(
    staff_site: StaffSite, url: str
) -> None:
    client = password_only(staff_site, ACCOUNTS["admin"][0])
    response = client.get(url)
    location = urlsplit(response.headers.get("Location", ""))
    assert (response.status_code, location.path) == (302, SECOND_STEP)
    assert parse_qs(location.query)["next"][0].startswith("/staff/")


def test_a_password_only_session_cannot_add_or_remove_a_factor(staff_site: StaffSite) -> None:
    with staff_site.app.app_context():
        user = db.session.get(StaffUser, staff_site.ids["handler"])
        user.passkeys.append(StaffPasskey(credential_id="abc", public_key=b"k", name="Jobbet"))
        db.session.commit()
        passkey_id = user.passkeys[0].id
    client = password_only(staff_site)
    token = csrf_token(client, SECOND_STEP)
    attempts = [
        ("/staff/konto/sakerhet/engangskod", {"code": totp_code()}),
        ("/staff/konto/sakerhet/engangskod/ta-bort", {}),
        (f"/staff/konto/sakerhet/nycklar/{passkey_id}/ta-bort", {}),
        ("/staff/konto/sakerhet/reservkoder", {}),
        ("/staff/nycklar/registrering/start", {}),
        ("/staff/nycklar/registrering", {}),
    ]
    for url, data in attempts:
        response = client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 302, url
        assert urlsplit(response.headers["Location"]).path == SECOND_STEP, url
    with staff_site.app.app_context():
        user = db.session.get(StaffUser, staff_site.ids["handler"])
        assert (user.totp_secret, len(user.passkeys), len(user.recovery_codes)) == (
            TOTP_SECRET,
            1,
            0,
        )
    assert [row.second_factor for row in rows(staff_site.app)] == [None]
    assert "mfa-enrol:totp" not in actions(staff_site.app)


# --- One-time codes ----------------------------------------------------------------------------


def test_a_wrong_code_is_refused_and_nothing_completed(staff_site: StaffSite) -> None:
    client = password_only(staff_site)
    wrong = "000000" if totp_code() != "000000" else "111111"
    response = send_code(client, wrong)
    assert response.status_code == 200
    assert error_texts(response) == [translate(staff_site.app, "sv", WRONG_CODE)]
    assert parse(response.data).select_one("#code")["aria-invalid"] == "true"
    assert [row.second_factor for row in rows(staff_site.app)] == [None]
    assert client.get("/staff/").status_code == 302
    assert actions(staff_site.app) == ["login", "mfa-failed:totp"]


def test_a_code_is_taken_once(staff_site: StaffSite) -> None:
    first, second = password_only(staff_site), password_only(staff_site)
    code = totp_code()
    assert send_code(first, code).status_code == 303
    reused = send_code(second, code)
    assert error_texts(reused) == [translate(staff_site.app, "sv", WRONG_CODE)]
    # An older code than the one taken is refused too; the next one works.
    assert send_code(second, totp_code(steps=-1)).status_code == 200
    assert [row.second_factor for row in rows(staff_site.app)] == ["totp", None]
    assert send_code(second, totp_code(steps=1)).status_code == 303


def test_codes_a_step_away_are_taken_two_steps_are_not(staff_site: StaffSite) -> None:
    client = password_only(staff_site)
    assert send_code(client, totp_code(steps=2)).status_code == 200
    assert send_code(client, totp_code(steps=-2)).status_code == 200
    assert send_code(client, totp_code(steps=-1)).status_code == 303


# --- Enrolment ---------------------------------------------------------------------------------


def test_an_account_without_a_factor_can_only_enrol(staff_site: StaffSite) -> None:
    add_account(staff_site.app, NEW_EMAIL, "Ny Person", totp=False)
    client = staff_site.app.test_client()
    response = login(client, NEW_EMAIL, next_url="/staff/statistik")
    assert urlsplit(response.headers["Location"]).path == ENROL
    for url in ("/staff/", "/staff/statistik", "/staff/konto/sakerhet", SECOND_STEP):
        assert urlsplit(client.get(url).headers["Location"]).path == ENROL, url
    page = parse(client.get(ENROL).data)
    assert page.select_one(".qr-code svg[role=img]") is not None  # drawn on the server
    secret = "".join(page.select_one("#totp-secret").get_text().split())
    # A wrong first code saves nothing.
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    token = page.select_one("input[name=csrf_token]")["value"]
    refused = client.post(form(page), data={"code": wrong, "csrf_token": token})
    assert refused.status_code == 200 and error_texts(refused)
    with staff_site.app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == NEW_EMAIL))
        assert user.totp_secret is None
    codes = enrol_code(client)
    assert len(codes) == len(set(codes)) == 10
    assert client.get("/staff/statistik").status_code == 200  # the session is complete now
    with staff_site.app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == NEW_EMAIL))
        stored = [row.code_hash for row in user.recovery_codes]
        assert user.totp_secret and len(stored) == 10
        assert not any(code.replace("-", "") in " ".join(stored) for code in codes)  # hashed
    assert rows(staff_site.app, NEW_EMAIL)[0].second_factor == "totp"
    assert actions(staff_site.app)[-4:] == ["login", "mfa-enrol:totp", "mfa:totp", "recovery-codes"]


def form(page: object) -> str:
    """Return the action of the enrolment page's code form."""
    return page.select_one("form[action^='/staff/konto/sakerhet/engangskod']")["action"]


def test_without_staff_require_mfa_a_password_is_enough_for_an_account_without_a_factor(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(staff_site.app.config, "STAFF_REQUIRE_MFA", False)
    add_account(staff_site.app, NEW_EMAIL, "Ny Person", totp=False)
    client = staff_site.app.test_client()
    response = login(client, NEW_EMAIL)
    assert (response.status_code, response.headers["Location"]) == (303, "/staff/")
    assert client.get("/staff/").status_code == 200
    assert rows(staff_site.app, NEW_EMAIL)[0].second_factor is None
    # An account that has a factor still shows it.
    assert urlsplit(password_only(staff_site).get("/staff/").headers["Location"]).path == (
        SECOND_STEP
    )


# --- Recovery codes ----------------------------------------------------------------------------


def test_a_recovery_code_works_once(staff_site: StaffSite) -> None:
    add_account(staff_site.app, NEW_EMAIL, "Ny Person", totp=False)
    client = staff_site.app.test_client()
    login(client, NEW_EMAIL)
    codes = enrol_code(client)
    first = password_only(staff_site, NEW_EMAIL)
    used = send_recovery(first, codes[3].upper().replace("-", " "))  # as someone types it
    assert (used.status_code, used.headers["Location"]) == (303, "/staff/")
    assert first.get("/staff/").status_code == 200
    second = password_only(staff_site, NEW_EMAIL)
    again = send_recovery(second, codes[3])
    assert again.status_code == 200
    assert error_texts(again) == [translate(staff_site.app, "sv", USED_RECOVERY)]
    assert second.get("/staff/").status_code == 302
    assert [row.second_factor for row in rows(staff_site.app, NEW_EMAIL)] == [
        "totp",
        "recovery",
        None,
    ]
    assert "recovery-used" in actions(staff_site.app)
    assert actions(staff_site.app)[-1] == "mfa-failed:recovery"


def test_new_recovery_codes_replace_the_old(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    token = csrf_token(client, "/staff/konto/sakerhet")
    first = client.post("/staff/konto/sakerhet/reservkoder", data={"csrf_token": token})
    old = [code.get_text() for code in parse(first.data).select(".recovery-codes code")]
    second = client.post("/staff/konto/sakerhet/reservkoder", data={"csrf_token": token})
    new = [code.get_text() for code in parse(second.data).select(".recovery-codes code")]
    assert len(old) == len(new) == 10 and not set(old) & set(new)
    assert send_recovery(password_only(staff_site), old[0]).status_code == 200
    assert send_recovery(password_only(staff_site), new[0]).status_code == 303
    page = parse(client.get("/staff/konto/sakerhet").data).select_one("main").get_text()
    assert "9" in page


# --- Removing a factor -------------------------------------------------------------------------


def test_the_only_factor_cannot_be_removed_while_mfa_is_required(staff_site: StaffSite) -> None:
    client = staff_site.client("handler")
    token = csrf_token(client, "/staff/konto/sakerhet")
    response = client.post("/staff/konto/sakerhet/engangskod/ta-bort", data={"csrf_token": token})
    assert response.status_code == 409
    assert error_texts(response) == [translate(staff_site.app, "sv", ONLY_FACTOR)]
    with staff_site.app.app_context():
        assert db.session.get(StaffUser, staff_site.ids["handler"]).totp_secret == TOTP_SECRET
    assert "mfa-remove:totp" not in actions(staff_site.app)


def test_removing_a_factor_ends_the_accounts_other_sessions(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A factor someone may have copied or stolen opens nothing after its owner removes it."""
    monkeypatch.setitem(staff_site.app.config, "STAFF_REQUIRE_MFA", False)
    elsewhere = staff_site.client("handler")  # another browser, logged in with the same codes
    forget_last_code(staff_site.app, HANDLER_EMAIL)
    here = staff_site.client("handler")
    token = csrf_token(here, "/staff/konto/sakerhet")
    response = here.post("/staff/konto/sakerhet/engangskod/ta-bort", data={"csrf_token": token})
    assert response.status_code == 303
    assert here.get("/staff/").status_code == 200  # the browser that removed it goes on
    gone = elsewhere.get("/staff/")
    assert gone.status_code == 302, "the other browser's session should have ended"
    assert urlsplit(gone.headers["Location"]).path == "/staff/login"
    assert [row.ended_reason for row in rows(staff_site.app)] == ["factor-removed", None]


# --- Throttling --------------------------------------------------------------------------------


def test_wrong_codes_are_throttled(staff_site: StaffSite) -> None:
    attacker = {"REMOTE_ADDR": "192.0.2.30"}
    client = password_only(staff_site, **{"environ_base": attacker})
    wrong = "000000" if totp_code() != "000000" else "111111"
    statuses = []
    for _attempt in range(4):  # the password was right: 5 attempts per address and account
        token = csrf_token_at(client, attacker)
        data = {"code": wrong, "csrf_token": token}
        statuses.append(client.post(SECOND_STEP, data=data, environ_base=attacker).status_code)
    token = csrf_token_at(client, attacker)
    data = {"code": wrong, "csrf_token": token}
    statuses.append(client.post(SECOND_STEP, data=data, environ_base=attacker).status_code)
    right = {"code": totp_code(), "csrf_token": csrf_token_at(client, attacker)}
    blocked = client.post(SECOND_STEP, data=right, environ_base=attacker)
    assert statuses == [200] * 5
    assert blocked.status_code == 429 and blocked.headers["Retry-After"].isdigit()
    assert "minut" in error_texts(blocked)[0]
    assert [row.second_factor for row in rows(staff_site.app)] == [None]
    assert actions(staff_site.app)[-1] == "mfa-throttled"


def csrf_token_at(client: FlaskClient, environ_base: dict[str, str]) -> str:
    """Return the second-step page's token, from the client's own address."""
    page = client.get(SECOND_STEP, environ_base=environ_base)
    return parse(page.data).select_one("input[name=csrf_token]")["value"]


@pytest.mark.usefixtures("limiter_restored")
def test_the_second_step_fails_closed(make_staff_app: Callable[..., StaffSite]) -> None:
    site = make_staff_app(RATELIMIT_STORAGE_URI="database://", RATELIMIT_SWALLOW_ERRORS=True)
    client = password_only(site)
    with site.app.app_context():
        db.session.execute(text("DROP TABLE rate_limits"))  # the counters' store fails now
        db.session.commit()
    forget_last_code(site.app, HANDLER_EMAIL)
    refused = send_code(client, totp_code())
    assert refused.status_code == 503 and refused.headers["Retry-After"].isdigit()
    cannot = (
        "Logging in is not possible right now because of a technical fault. Try again in a few "
        "minutes."
    )
    assert error_texts(refused) == [translate(site.app, "sv", cannot)]
    assert [row.second_factor for row in rows(site.app)] == [None]
    assert client.get("/staff/").status_code == 302
    assert actions(site.app)[-1] == "mfa-uncounted"


# --- reset-mfa ---------------------------------------------------------------------------------


def test_reset_mfa_removes_every_factor_ends_the_sessions_and_is_audited(
    staff_site: StaffSite,
) -> None:
    client = staff_site.client("handler")
    token = csrf_token(client, "/staff/konto/sakerhet")
    client.post("/staff/konto/sakerhet/reservkoder", data={"csrf_token": token})
    result = staff_site.app.test_cli_runner().invoke(args=["staff", "reset-mfa", HANDLER_EMAIL])
    assert result.exit_code == 0, result.output
    with staff_site.app.app_context():
        user = db.session.get(StaffUser, staff_site.ids["handler"])
        assert (user.totp_secret, user.passkeys) == (None, [])
        left = db.session.scalars(
            select(StaffRecoveryCode).where(StaffRecoveryCode.user_id == user.id)
        )
        assert list(left) == []
    assert [row.ended_reason for row in rows(staff_site.app)] == ["mfa-reset"]
    assert client.get("/staff/").status_code == 302
    assert ("reset-mfa", str(staff_site.ids["handler"]), None) in audit_rows(staff_site.app)
    # At the next login, the person sets up a factor again.
    response = login(staff_site.app.test_client(), HANDLER_EMAIL, PASSWORD)
    assert urlsplit(response.headers["Location"]).path == ENROL
    unknown = staff_site.app.test_cli_runner().invoke(args=["staff", "reset-mfa", "x@y.se"])
    assert unknown.exit_code != 0


# --- The pages ---------------------------------------------------------------------------------


def test_without_javascript_the_pages_say_to_use_a_code(staff_site: StaffSite) -> None:
    with staff_site.app.app_context():
        user = db.session.get(StaffUser, staff_site.ids["handler"])
        user.passkeys.append(StaffPasskey(credential_id="abc", public_key=b"k", name="Jobbet"))
        db.session.commit()
    client = password_only(staff_site)
    page = parse(client.get(SECOND_STEP).data)
    # The passkey button is hidden until passkeys.js shows it; the note says what to do.
    assert page.select_one("[data-passkey-login]").has_attr("hidden")
    note = page.select_one("[data-passkey-nojs]")
    assert not note.has_attr("hidden")
    assert "JavaScript" in note.get_text() and page.select_one("#code") is not None
    script = page.select_one("script[src*='passkeys']")
    assert script is not None and not page.select("script:not([src])")  # no inline script


def test_the_pages_and_their_errors_are_valid_html(staff_site: StaffSite) -> None:
    add_account(staff_site.app, NEW_EMAIL, "Ny Person", totp=False)
    enrolling = staff_site.app.test_client()
    login(enrolling, NEW_EMAIL)
    enrol_page = parse(enrolling.get(ENROL).data)
    token = enrol_page.select_one("input[name=csrf_token]")["value"]
    pending = password_only(staff_site)
    full = staff_site.client("admin")
    token_full = csrf_token(full, "/staff/konto/sakerhet")
    documents = {
        "second step": pending.get(SECOND_STEP).get_data(as_text=True),
        "second step, wrong code": send_code(pending, "12").get_data(as_text=True),
        "second step, no recovery code": send_recovery(pending, "").get_data(as_text=True),
        "enrol": enrolling.get(ENROL).get_data(as_text=True),
        "enrol, wrong code": enrolling.post(
            form(enrol_page), data={"code": "x", "csrf_token": token}
        ).get_data(as_text=True),
        "security": full.get("/staff/konto/sakerhet").get_data(as_text=True),
        "security, only factor": full.post(
            "/staff/konto/sakerhet/engangskod/ta-bort", data={"csrf_token": token_full}
        ).get_data(as_text=True),
        "recovery codes, offered": full.get("/staff/konto/sakerhet/reservkoder").get_data(
            as_text=True
        ),
        "recovery codes, shown": full.post(
            "/staff/konto/sakerhet/reservkoder", data={"csrf_token": token_full}
        ).get_data(as_text=True),
    }
    assert nu_errors(documents) == []


def test_wrong_passkey_answers_count_like_wrong_codes(staff_site: StaffSite) -> None:
    """The JSON endpoint of the passkey step is throttled too (the ceremony itself: Chromium)."""
    with staff_site.app.app_context():
        user = db.session.get(StaffUser, staff_site.ids["handler"])
        user.passkeys.append(StaffPasskey(credential_id="abc", public_key=b"k", name="Jobbet"))
        db.session.commit()
    client = password_only(staff_site)
    headers = {"X-CSRFToken": csrf_token(client, SECOND_STEP)}
    statuses = []
    for _attempt in range(6):
        options = client.post("/staff/login/nyckel/start", json={}, headers=headers)
        assert options.status_code == 200 and options.json["allowCredentials"][0]["id"] == "abc"
        answer = {"id": "abc", "rawId": "abc", "type": "public-key", "response": {}}
        refused = client.post("/staff/login/nyckel", json=answer, headers=headers)
        statuses.append(refused.status_code)
    assert statuses == [400] * 5 + [429]
    assert refused.headers["Retry-After"].isdigit() and "minut" in refused.json["error"]
    assert [row.second_factor for row in rows(staff_site.app)] == [None]
    assert actions(staff_site.app).count("mfa-failed:passkey") == 5
    # Without the CSRF header, nothing is even counted.
    assert client.post("/staff/login/nyckel", json={}).status_code == 400


def test_a_new_passkey_posted_without_its_credential_is_refused(staff_site: StaffSite) -> None:
    """A malformed enrolment answer gets the page's message, like a wrong one (it was a 500)."""
    client = staff_site.app.test_client()
    assert login(client, HANDLER_EMAIL).status_code == 303
    headers = {"X-CSRFToken": csrf_token(client, "/staff/konto/sakerhet")}
    options = client.post("/staff/nycklar/registrering/start", json={}, headers=headers)
    assert options.status_code == 200
    refused = client.post("/staff/nycklar/registrering", json={"name": "Jobbet"}, headers=headers)
    assert refused.status_code == 400
    assert refused.json["error"] == translate(staff_site.app, "sv", NOT_ADDED)
