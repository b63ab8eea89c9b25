"""Passkeys in Chromium, through its virtual authenticator (the DevTools WebAuthn domain).

A live staff server at http://localhost (a passkey's relying party must be a domain name, and
localhost is a secure context): a new account enrols a passkey as its first factor, gets its
recovery codes, logs in with the password and then the passkey, is refused with a key that is
not its passkey, and removes the passkey once it has another factor.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from gvisite import create_app
from gvisite.extensions import db
from gvisite.models import StaffPasskey, StaffSession, StaffUser
from tests.conftest import migrate
from tests.fixtures_forms import forms_config
from tests.fixtures_servers import SmtpServer, serving
from tests.fixtures_staff import (
    ENROL,
    PASSWORD,
    SECOND_STEP,
    StaffLiveServer,
    add_account,
    add_accounts,
    audit_rows,
    totp_code,
)
from tests.helpers import SCREENSHOTS, assert_no_axe_violations, desktop_tab, nu_errors, translate

EMAIL = "nina.nyckel@jarfalla.se"
SHOTS = SCREENSHOTS / "mfa"
REFUSED = "This passkey is not one of your account's, or it could not be checked. Try again."
ONLY_FACTOR = (
    "You cannot remove your only second factor. Add another passkey or one-time codes first, "
    "then remove this one."
)
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


@pytest.fixture(scope="module")
def passkey_server(
    tmp_path_factory: pytest.TempPathFactory, smtp_session: SmtpServer
) -> Iterator[StaffLiveServer]:
    """A live staff server whose SITE_URL (so the relying party) is http://localhost:PORT."""
    instance = tmp_path_factory.mktemp("passkey-live") / "instance"

    def make(url: str) -> Any:
        app = create_app(
            forms_config(
                instance, SITE_URL=url.replace("127.0.0.1", "localhost"), **smtp_session.config()
            )
        )
        migrate(app)
        add_accounts(app)
        return app

    with serving(make, "passkey-live") as live:
        yield StaffLiveServer(live.app, live.url.replace("127.0.0.1", "localhost"), smtp_session)


def shoot(tab: Any, name: str) -> None:
    """Save the page at 1280 and at 320 px wide (then back to 1280)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 320):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    tab.set_viewport_size({"width": 1280, "height": 900})


def sessions(app: Any) -> list[str | None]:
    """Return the second factor of each of the account's sessions, oldest first."""
    with app.app_context():
        user_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == EMAIL))
        query = select(StaffSession).where(StaffSession.user_id == user_id).order_by("id")
        return [row.second_factor for row in db.session.scalars(query)]


def passkeys(app: Any) -> list[tuple[str, int, bool]]:
    """Return the account's passkeys as (name, sign count, used) rows."""
    with app.app_context():
        query = select(StaffPasskey).join(StaffUser).where(StaffUser.email == EMAIL)
        return [
            (p.name, p.sign_count, p.last_used_at is not None) for p in db.session.scalars(query)
        ]


def password(tab: Any, url: str, expect: str) -> None:
    """Log out if need be, then give the password; the browser lands on `expect`."""
    tab.context.clear_cookies()
    tab.goto(f"{url}/staff/login")
    tab.fill("#email", EMAIL)
    tab.fill("#password", PASSWORD)
    with tab.expect_navigation(url=f"{url}{expect}**"):
        tab.click("main form button[type=submit]")


def forged_credential(credential_id: str) -> dict[str, Any]:
    """A credential that claims the enrolled passkey's id but holds another private key."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    raw_id = base64.urlsafe_b64decode(credential_id + "=" * (-len(credential_id) % 4))
    return {
        "credentialId": base64.b64encode(raw_id).decode(),
        "isResidentCredential": False,
        "rpId": "localhost",
        "privateKey": base64.b64encode(der).decode(),
        "signCount": 0,
    }


def test_a_passkey_from_enrolment_to_removal(browser: Any, passkey_server: StaffLiveServer) -> None:
    app, url = passkey_server.app, passkey_server.url
    add_account(app, EMAIL, "Nina Nyckel", totp=False)
    pages: dict[str, str] = {}
    with desktop_tab(browser, url) as tab:
        cdp = tab.context.new_cdp_session(tab)
        cdp.send("WebAuthn.enable")
        own = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        own_id = own["authenticatorId"]

        # The first login: the password, then enrolment is all there is.
        password(tab, url, ENROL)
        assert tab.locator("[data-passkey-nojs]").is_hidden()  # JavaScript runs: the button
        assert tab.locator(".qr-code svg").count() == 1
        assert_no_axe_violations(tab)
        pages["enrol"] = tab.content()
        shoot(tab, "enrol")
        tab.click("form[data-passkey-register] button")  # no name: said so, nothing made
        assert tab.locator("[data-passkey-error]").is_visible()
        assert_no_axe_violations(tab)
        tab.fill("#passkey-name", "Jobbdatorn")
        with tab.expect_navigation(url="**/staff/konto/sakerhet/reservkoder**"):
            tab.click("form[data-passkey-register] button")
        assert sessions(app) == ["passkey"]  # enrolling the first factor completed the login
        assert [(name, used) for name, _count, used in passkeys(app)] == [("Jobbdatorn", False)]
        with tab.expect_navigation():
            tab.click("main form button[type=submit]")
        codes = tab.locator(".recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        assert_no_axe_violations(tab)
        pages["recovery codes"] = tab.content()
        shoot(tab, "recovery-codes")
        with tab.expect_navigation(url=f"{url}/staff/"):
            tab.click("main a.button")

        # The next login: the password, then the passkey.
        password(tab, url, SECOND_STEP)
        assert tab.locator("[data-passkey-button]").is_visible()
        assert tab.locator("#code").count() == 0  # no one-time codes on this account
        assert_no_axe_violations(tab)
        pages["second step, passkey only"] = tab.content()
        with tab.expect_navigation(url=f"{url}/staff/"):
            tab.click("[data-passkey-button]")
        assert sessions(app) == ["passkey", "passkey"]
        [(_name, count, used)] = passkeys(app)
        assert count > 0 and used  # the authenticator's counter moved on and was stored

        # Another authenticator, with a key that claims the passkey's id: refused.
        saved = cdp.send("WebAuthn.getCredentials", {"authenticatorId": own_id})["credentials"]
        cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": own_id})
        other = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        with app.app_context():
            credential_id = db.session.scalar(select(StaffPasskey.credential_id))
        cdp.send(
            "WebAuthn.addCredential",
            {
                "authenticatorId": other["authenticatorId"],
                "credential": forged_credential(credential_id),
            },
        )
        password(tab, url, SECOND_STEP)
        tab.click("[data-passkey-button]")
        error = tab.locator("[data-passkey-error]")
        error.wait_for(state="visible")
        assert error.inner_text().endswith(translate(app, "sv", REFUSED))
        assert tab.url.startswith(f"{url}{SECOND_STEP}")
        assert sessions(app)[-1] is None
        assert tab.goto(f"{url}/staff/").url.startswith(f"{url}{SECOND_STEP}")
        assert audit_rows(app)[-1][0] == "mfa-failed:passkey"
        assert_no_axe_violations(tab)

        # The right authenticator back: logged in; the security page lists the passkey.
        cdp.send(
            "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": other["authenticatorId"]}
        )
        own_id = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})[
            "authenticatorId"
        ]
        for credential in saved:
            cdp.send(
                "WebAuthn.addCredential", {"authenticatorId": own_id, "credential": credential}
            )
        with tab.expect_navigation(url=f"{url}/staff/"):
            tab.click("[data-passkey-button]")
        with tab.expect_navigation():
            tab.click("nav.primary a[href='/staff/konto/sakerhet']")
        assert tab.locator("main tbody tr").count() == 1

        # The only factor cannot be removed...
        with tab.expect_navigation():
            tab.click("main tbody form button")
        assert (
            tab.locator("main .error-summary")
            .inner_text()
            .endswith(translate(app, "sv", ONLY_FACTOR))
        )
        assert len(passkeys(app)) == 1
        # ...but once one-time codes are on, it can.
        tab.goto(f"{url}{ENROL}")
        secret = "".join(tab.inner_text("#totp-secret").split())
        tab.fill("#code", totp_code(secret))
        with tab.expect_navigation(url=f"{url}/staff/konto/sakerhet"):
            tab.click("form[action^='/staff/konto/sakerhet/engangskod'] button")
        assert_no_axe_violations(tab)
        pages["security"] = tab.content()
        shoot(tab, "security")
        # With both factors, the second step offers the passkey first, then a code.
        password(tab, url, SECOND_STEP)
        assert tab.locator("[data-passkey-button], #code, #recovery").count() == 3
        pages["second step"] = tab.content()
        shoot(tab, "second-step")
        with tab.expect_navigation(url=f"{url}/staff/"):
            tab.click("[data-passkey-button]")
        tab.goto(f"{url}/staff/konto/sakerhet")
        with tab.expect_navigation():
            tab.click("main tbody form button")
        assert passkeys(app) == []
        assert tab.locator("main tbody tr").count() == 0
        assert audit_rows(app)[-1][0] == "mfa-remove:passkey"
    assert nu_errors(pages) == []


def test_the_pages_fit_a_narrow_window_and_arabic_names(
    browser: Any, passkey_server: StaffLiveServer
) -> None:
    """At 320 px nothing scrolls sideways; a passkey named in Arabic reads right to left."""
    app, url = passkey_server.app, passkey_server.url
    email = "arabiska.namn@jarfalla.se"
    add_account(app, email, "Samira Haddad")
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        user.passkeys.append(
            StaffPasskey(credential_id="AAAA", public_key=b"k", name="هاتفي الشخصي")
        )
        db.session.commit()
    with desktop_tab(browser, url) as tab:
        tab.set_viewport_size({"width": 320, "height": 900})
        tab.goto(f"{url}/staff/login")
        tab.fill("#email", email)
        tab.fill("#password", PASSWORD)
        with tab.expect_navigation(url=f"{url}{SECOND_STEP}**"):
            tab.click("main form button[type=submit]")
        tab.fill("#code", "000000" if totp_code() != "000000" else "111111")
        with tab.expect_navigation():
            tab.click("form[action^='/staff/login/steg-2'] button")
        assert tab.locator("main .error-summary a[href='#code']").count() == 1
        assert tab.evaluate("document.activeElement.classList.contains('error-summary')")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 320
        assert_no_axe_violations(tab)
        shoot(tab, "second-step-error")
        with app.app_context():
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
            user.totp_last_step = None
            db.session.commit()
        tab.fill("#code", totp_code())
        with tab.expect_navigation(url=f"{url}/staff/"):
            tab.click("form[action^='/staff/login/steg-2'] button")
        tab.set_viewport_size({"width": 320, "height": 900})
        for path in ("/staff/konto/sakerhet", "/staff/konto/sakerhet/ny"):
            tab.goto(f"{url}{path}")
            assert tab.evaluate("document.documentElement.scrollWidth") <= 320, path
            assert_no_axe_violations(tab)
        tab.goto(f"{url}/staff/konto/sakerhet")
        name = tab.locator("main tbody td[dir=auto]")
        assert name.evaluate("cell => getComputedStyle(cell).direction") == "rtl"
        tab.screenshot(path=str(SHOTS / "security-arabic-name-320.png"), full_page=True)
        tab.set_viewport_size({"width": 1280, "height": 900})
        tab.screenshot(path=str(SHOTS / "security-arabic-name-1280.png"), full_page=True)
