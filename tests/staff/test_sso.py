"""Single sign-on through OpenID Connect, against a real provider (oidc-provider under Node).

Each refusal shows its page in the staff layout, with its status, and leaves nothing behind: no
session row, no subject stored, no role changed, no "login" in the audit log.
"""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.models import StaffSession, StaffUser
from gvisite.staff import auth
from tests.fixtures_oidc import (
    CLIENT_ID,
    TEST_APP,
    SsoSite,
    callback_path,
    provider_answer,
)
from tests.fixtures_servers import free_port
from tests.fixtures_staff import (
    ACCOUNTS,
    PASSWORD,
    StaffSite,
    audit_rows,
    csrf_token,
    login,
    set_active,
    staff_menu,
)
from tests.helpers import nu_errors, parse

HANDLER_EMAIL = ACCOUNTS["handler"][0]
BUTTON = "Log in with Järfälla kommun's account"
# The heading of each refusal page.
HEADINGS = {
    "failed": "The login could not be completed",
    "no-mfa": "Log in with two steps",
    "unknown": "You do not have an account here",
    "inactive": "Your account is not active",
    "no-role": "Your account is not in a group that gives access",
    "unavailable": "The login service is not answering",
}


def as_handler(sso_site: SsoSite, **login: object) -> None:
    """Have the next login at the provider be the handler, by e-mail (verified), with MFA."""
    sso_site.provider.next_login("sub-hanna", HANDLER_EMAIL, **login)  # type: ignore[arg-type]


def heading(response: TestResponse) -> str:
    """Return a page's h1."""
    h1 = parse(response.data).select_one("main h1")
    assert h1 is not None
    return h1.get_text(strip=True)


def assert_nothing_created(sso_site: SsoSite, client: FlaskClient, refusal: str) -> None:
    """Check a refusal left no session, subject, role change or login: only its audit line."""
    assert sso_site.session_rows() == []
    for who in ACCOUNTS:
        account = sso_site.account(who)
        assert account.oidc_subject is None, who
        assert account.role == ACCOUNTS[who][2], who
    actions = [action for action, _target, _actor in audit_rows(sso_site.app)]
    assert actions == [f"sso-refused:{refusal}"]
    assert client.get("/staff/").status_code == 302  # not logged in


def assert_refused(
    sso_site: SsoSite, client: FlaskClient, response: TestResponse, refusal: str, status: int
) -> None:
    """Check a refusal's page, status and that nothing was created."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    staff_menu(response)  # the staff layout, without the menu of someone logged in
    assert heading(response) == sso_site.text(HEADINGS[refusal])
    assert_nothing_created(sso_site, client, refusal)


# --- The login page -----------------------------------------------------------------------------


def test_the_login_page_offers_single_sign_on_above_the_password_form(sso_site: SsoSite) -> None:
    page = parse(sso_site.site.client().get("/staff/login?next=/staff/statistik").data)
    forms = page.select("main form")
    assert [form.get("action") for form in forms] == [
        "/staff/sso/start?next=/staff/statistik",
        None,  # the password form posts to the page itself
    ]
    assert forms[0].select_one("button").get_text(strip=True) == sso_site.text(BUTTON)
    assert forms[1].select_one("input[type=password]") is not None


def test_without_an_issuer_there_is_no_button_and_no_single_sign_on(staff_site: StaffSite) -> None:
    client = staff_site.client()
    page = parse(client.get("/staff/login").data)
    assert page.select_one("#sso") is None
    assert len(page.select("main form")) == 1
    token = csrf_token(client)
    assert client.post("/staff/sso/start", data={"csrf_token": token}).status_code == 404
    assert client.get("/staff/sso/callback?code=x&state=y").status_code == 404


def test_with_password_login_off_only_the_button_shows_and_a_password_is_not_checked(
    sso_site: SsoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sso_site.app.config, "STAFF_PASSWORD_LOGIN", False)

    def no_check(*_args: object) -> bool:
        raise AssertionError("a password was checked")

    monkeypatch.setattr(auth, "verify_password", no_check)
    client = sso_site.site.client()
    page = parse(client.get("/staff/login").data)
    assert [form.get("action") for form in page.select("main form")] == ["/staff/sso/start"]
    assert page.select_one("input[type=password]") is None
    response = login(client, HANDLER_EMAIL, PASSWORD)
    assert response.status_code == 403
    summary = parse(response.data).select_one(".error-summary a[href='#sso']")
    assert summary is not None
    assert summary.get_text(strip=True) == sso_site.text(
        "Logging in with a password is turned off. Log in with Järfälla kommun's account."
    )
    assert audit_rows(sso_site.app) == []  # not even a failed login: nothing was tried
    assert sso_site.session_rows() == []
    assert client.get("/staff/").status_code == 302


# --- Logging in ---------------------------------------------------------------------------------


def test_a_first_login_matches_a_verified_address_and_stores_the_subject(
    sso_site: SsoSite,
) -> None:
    as_handler(sso_site)
    client = sso_site.site.client()
    response = sso_site.log_in(client, next_url="/staff/statistik")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/statistik"
    assert client.get("/staff/").status_code == 200
    handler = sso_site.site.ids["handler"]
    assert sso_site.account().oidc_subject == "sub-hanna"
    [row] = sso_site.session_rows()
    assert (row.user_id, row.second_factor, row.ended_at) == (handler, "sso", None)
    assert audit_rows(sso_site.app) == [
        ("sso-linked", str(handler), handler),
        ("login", "sso", handler),
    ]


def test_later_logins_match_the_subject_whatever_the_address_says(sso_site: SsoSite) -> None:
    as_handler(sso_site)
    assert sso_site.log_in(sso_site.site.client()).status_code == 303
    # The provider now sends another (unverified) address: the subject alone decides.
    sso_site.provider.next_login("sub-hanna", "hanna@example.org", email_verified=False)
    client = sso_site.site.client()
    assert sso_site.log_in(client).status_code == 303
    assert client.get("/staff/").status_code == 200
    assert [row.user_id for row in sso_site.session_rows()] == [sso_site.site.ids["handler"]] * 2


def test_an_address_already_linked_to_another_subject_is_not_matched_again(
    sso_site: SsoSite,
) -> None:
    as_handler(sso_site)
    assert sso_site.log_in(sso_site.site.client()).status_code == 303
    sso_site.provider.next_login("sub-someone-else", HANDLER_EMAIL)
    client = sso_site.site.client()
    response = sso_site.log_in(client)
    assert response.status_code == 403
    assert heading(response) == sso_site.text("You do not have an account here")
    assert sso_site.account().oidc_subject == "sub-hanna"
    assert len(sso_site.session_rows()) == 1


@pytest.mark.parametrize(
    "amr", [["pwd", "mfa"], ["mfa"], ["pwd", "otp"], ["hwk", "pin"], ["pwd", "fpt", "user"]]
)
def test_a_second_factor_in_amr_lets_the_login_through(sso_site: SsoSite, amr: list[str]) -> None:
    as_handler(sso_site, amr=amr)
    assert sso_site.log_in(sso_site.site.client()).status_code == 303


def test_without_oidc_require_mfa_a_password_alone_is_enough(
    sso_site: SsoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sso_site.app.config, "OIDC_REQUIRE_MFA", False)
    as_handler(sso_site, amr=["pwd"])
    assert sso_site.log_in(sso_site.site.client()).status_code == 303


def test_the_role_claim_grants_a_role_to_an_existing_account(
    sso_site: SsoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sso_site.app.config, "OIDC_ROLE_CLAIM", "groups")
    monkeypatch.setitem(sso_site.app.config, "OIDC_ROLES", "gvi-admins=admin,gvi-handlers=handler")
    as_handler(sso_site, groups=["staff", "gvi-handlers", "gvi-admins"])
    client = sso_site.site.client()
    assert sso_site.log_in(client).status_code == 303
    assert sso_site.account().role == "admin"
    assert client.get("/staff/logg").status_code == 200  # the audit log: admins only
    handler = sso_site.site.ids["handler"]
    assert ("sso-role:handler-to-admin", str(handler), handler) in audit_rows(sso_site.app)


def test_a_session_through_single_sign_on_ends_after_the_lifetime(
    sso_site: SsoSite,
) -> None:
    as_handler(sso_site)
    client = sso_site.site.client()
    assert sso_site.log_in(client).status_code == 303
    hours = sso_site.app.config["STAFF_SESSION_HOURS"]
    with sso_site.app.app_context():
        # As if logged in `hours` ago, and busy all the time since (never idle).
        [row] = db.session.scalars(select(StaffSession))
        db.session.execute(
            update(StaffSession).values(created_at=row.created_at - dt.timedelta(hours=hours))
        )
        db.session.commit()
    response = client.get("/staff/")
    assert response.headers["Location"] == "/staff/login?lifetime=1"
    [row] = sso_site.session_rows()
    assert row.ended_reason == "lifetime"


def test_logging_out_ends_the_session_and_then_the_providers(sso_site: SsoSite) -> None:
    as_handler(sso_site)
    client = sso_site.site.client()
    assert sso_site.log_in(client).status_code == 303
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        sso_site.provider.issuer + "/session/end"
    )
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["post_logout_redirect_uri"] == [TEST_APP + "/staff/login"]
    assert "id_token_hint" not in query  # no ID token kept in the cookie
    [row] = sso_site.session_rows()
    assert row.ended_reason == "logout"
    assert client.get("/staff/").status_code == 302


def test_logging_out_of_a_password_session_stays_here(sso_site: SsoSite) -> None:
    client = sso_site.site.client("handler")
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    assert response.headers["Location"] == "/staff/login"


# --- Refusals -----------------------------------------------------------------------------------


def test_a_tampered_state_is_refused(sso_site: SsoSite) -> None:
    as_handler(sso_site)
    client = sso_site.site.client()
    url = provider_answer(client)
    query = parse_qs(urlsplit(url).query)
    tampered = f"/staff/sso/callback?code={query['code'][0]}&state={query['state'][0]}x"
    assert_refused(sso_site, client, client.get(tampered), "failed", 400)


def test_a_callback_without_a_login_started_is_refused(sso_site: SsoSite) -> None:
    client = sso_site.site.client()
    response = client.get("/staff/sso/callback?code=abc&state=def")
    assert_refused(sso_site, client, response, "failed", 400)


def test_a_replayed_callback_is_refused(sso_site: SsoSite) -> None:
    """The same answer opened twice: the state was used, and the code is spent at the provider."""
    as_handler(sso_site)
    client = sso_site.site.client()
    url = provider_answer(client)
    cookie = client.get_cookie("session", path="/staff")
    assert cookie is not None
    assert client.get(callback_path(url)).status_code == 303
    # Replayed in the same browser: its state was used up.
    again = client.get(callback_path(url))
    assert again.status_code == 400
    assert heading(again) == sso_site.text("The login could not be completed")
    # Replayed with the cookie from before (its state still in it): the provider refuses the
    # code it already exchanged.
    thief = sso_site.site.client()
    thief.set_cookie("session", cookie.value, path="/staff", domain="localhost")
    stolen = thief.get(callback_path(url))
    assert stolen.status_code == 400
    assert heading(stolen) == sso_site.text("The login could not be completed")
    assert len(sso_site.session_rows()) == 1  # the first login only
    assert thief.get("/staff/").status_code == 302


NOW = int(time.time())  # the provider's clock (real time), which its tokens' times are on


@pytest.mark.parametrize(
    ("how", "fault"),
    [
        ({"claims": {"aud": "some-other-client"}}, "'aud'"),
        # For another client, naming us as the party it was issued to: only `aud` catches it.
        ({"claims": {"aud": ["some-other-client"], "azp": CLIENT_ID}}, "'aud'"),
        ({"claims": {"iss": "http://127.0.0.1:9/another-issuer"}}, "'iss'"),
        ({"claims": {"exp": NOW - 3600, "iat": NOW - 7200}}, "expired"),
        ({"remove": ["nonce"]}, "Missing claim: 'nonce'"),
        ({"claims": {"nonce": "a-nonce-the-app-never-sent"}}, "Invalid claim: 'nonce'"),
        ({"foreign_key": True}, "BadSignatureError"),
    ],
    ids=[
        "another audience",
        "another audience, our azp",
        "another issuer",
        "expired",
        "missing nonce",
        "wrong nonce",
        "a key not in the JWKS",
    ],
)
def test_a_forged_id_token_is_refused(
    sso_site: SsoSite, caplog: pytest.LogCaptureFixture, how: dict[str, object], fault: str
) -> None:
    """The provider's token response, its ID token re-signed with changed claims (or key)."""
    as_handler(sso_site)
    sso_site.provider.tamper(**how)  # type: ignore[arg-type]
    client = sso_site.site.client()
    assert_refused(sso_site, client, sso_site.log_in(client), "failed", 400)
    [line] = [r.getMessage() for r in caplog.records if "single sign-on refused" in r.getMessage()]
    assert fault in line  # refused for this fault, not for another one on the way
    assert not [r for r in caplog.records if "eyJ" in r.getMessage()]  # no token (JWT) logged


def test_a_replayed_nonce_is_refused(sso_site: SsoSite) -> None:
    """An ID token carrying the nonce of an earlier, completed login."""
    as_handler(sso_site)
    first = sso_site.site.client()
    url = provider_answer(first)
    # The nonce the app sent is in the authorization request the provider saw; the app keeps it
    # in its signed cookie. Read it from there (the cookie session), as only a test can.
    with first.session_transaction("/staff/login") as cookie:
        [state] = [value for key, value in cookie.items() if key.startswith("_state_oidc_")]
        old_nonce = state["data"]["nonce"]
    assert first.get(callback_path(url)).status_code == 303
    with sso_site.app.app_context():
        db.session.execute(update(StaffUser).values(oidc_subject=None))
        db.session.execute(db.delete(StaffSession))
        db.session.execute(db.text("DELETE FROM audit_log"))
        db.session.commit()
    sso_site.provider.tamper(claims={"nonce": old_nonce})
    client = sso_site.site.client()
    assert_refused(sso_site, client, sso_site.log_in(client), "failed", 400)


def test_a_login_without_a_second_factor_is_refused(sso_site: SsoSite) -> None:
    for amr in (["pwd"], ["pwd", "user"], []):
        as_handler(sso_site, amr=amr)
        client = sso_site.site.client()
        response = sso_site.log_in(client)
        assert response.status_code == 403, amr
        assert heading(response) == sso_site.text("Log in with two steps")
    assert_nothing_created_but(sso_site, ["sso-refused:no-mfa"] * 3)


def assert_nothing_created_but(sso_site: SsoSite, actions: list[str]) -> None:
    """Check no session or subject was stored, and the audit log holds only `actions`."""
    assert sso_site.session_rows() == []
    assert sso_site.account().oidc_subject is None
    assert [action for action, _target, _actor in audit_rows(sso_site.app)] == actions


def test_an_unknown_person_is_refused_and_no_account_is_created(sso_site: SsoSite) -> None:
    sso_site.provider.next_login("sub-stranger", "sven.svensson@jarfalla.se")
    client = sso_site.site.client()
    response = sso_site.log_in(client)
    assert_refused(sso_site, client, response, "unknown", 403)
    text = parse(response.data).select_one("main").get_text(" ", strip=True)
    assert "sven.svensson" not in text
    owner = "Järfälla kommun, kommunledningskontoret"  # content/site.yaml: who runs the site
    who_to_ask = "If you do not know who that is, ask %(owner)s, who runs this site."
    assert sso_site.text(who_to_ask, owner=owner) in text
    with sso_site.app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(StaffUser)) == len(ACCOUNTS)
    [(_action, target, actor)] = audit_rows(sso_site.app)
    assert target is not None and target.startswith("acct-") and actor is None  # no address


def test_an_unverified_address_is_not_matched(sso_site: SsoSite) -> None:
    as_handler(sso_site, email_verified=False)
    client = sso_site.site.client()
    assert_refused(sso_site, client, sso_site.log_in(client), "unknown", 403)


def test_entra_ids_verified_domain_claim_counts_as_a_verified_address(sso_site: SsoSite) -> None:
    as_handler(sso_site, email_verified=False)
    sso_site.provider.tamper(claims={"xms_edov": True}, remove=["email_verified"])
    assert sso_site.log_in(sso_site.site.client()).status_code == 303
    assert sso_site.account().oidc_subject == "sub-hanna"


def test_a_deactivated_account_is_refused(sso_site: SsoSite) -> None:
    set_active(sso_site.app, HANDLER_EMAIL, False)
    as_handler(sso_site)
    client = sso_site.site.client()
    assert_refused(sso_site, client, sso_site.log_in(client), "inactive", 403)


def test_a_role_claim_that_grants_nothing_is_refused(
    sso_site: SsoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sso_site.app.config, "OIDC_ROLE_CLAIM", "groups")
    monkeypatch.setitem(sso_site.app.config, "OIDC_ROLES", "gvi-admins=admin,gvi-handlers=handler")
    as_handler(sso_site, groups=["staff"])
    client = sso_site.site.client()
    assert_refused(sso_site, client, sso_site.log_in(client), "no-role", 403)


def test_the_provider_unreachable_at_discovery(
    sso_site: SsoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sso_site.app.config, "OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
    client = sso_site.site.client()
    response = client.post("/staff/sso/start", data={"csrf_token": csrf_token(client)})
    assert_refused(sso_site, client, response, "unavailable", 503)
    assert response.headers["Retry-After"]


def test_the_provider_unreachable_at_the_token_exchange(sso_site: SsoSite) -> None:
    as_handler(sso_site)
    sso_site.provider.tamper(hang_up=True)
    client = sso_site.site.client()
    assert_refused(sso_site, client, sso_site.log_in(client), "unavailable", 502)


def test_the_refusal_pages_are_valid_html(sso_site: SsoSite) -> None:
    pages = {"login": sso_site.site.client().get("/staff/login").data}
    client = sso_site.site.client()
    pages["failed"] = client.get("/staff/sso/callback?code=a&state=b").data
    for reason, amr, email in [
        ("no-mfa", ["pwd"], HANDLER_EMAIL),
        ("unknown", ["mfa"], "nobody@jarfalla.se"),
    ]:
        sso_site.provider.next_login(f"sub-{reason}", email, amr=amr)
        pages[reason] = sso_site.log_in(sso_site.site.client()).data
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sso_site.app.config, "STAFF_PASSWORD_LOGIN", False)
        pages["password refused"] = login(sso_site.site.client(), HANDLER_EMAIL).data
    assert nu_errors(pages) == []


def test_the_providers_own_refusal_is_refused_here_too(sso_site: SsoSite) -> None:
    """The person cancelled at the provider, or it refused them: it answers with an error."""
    client = sso_site.site.client()
    start = client.post("/staff/sso/start", data={"csrf_token": csrf_token(client)})
    [state] = parse_qs(urlsplit(start.headers["Location"]).query)["state"]
    response = client.get(f"/staff/sso/callback?error=access_denied&state={state}")
    assert_refused(sso_site, client, response, "failed", 400)
