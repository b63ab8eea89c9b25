"""Single sign-on in Chromium: a login through oidc-provider to the inbox and out again, and each
refusal page, each checked with axe-core and the Nu Html Checker, and photographed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from gvisite.extensions import db
from gvisite.models import AuditEntry, StaffUser
from tests.fixtures_oidc import OidcProvider
from tests.fixtures_servers import free_port
from tests.fixtures_staff import ACCOUNTS, StaffLiveServer, set_active
from tests.helpers import (
    SCREENSHOTS,
    assert_no_axe_violations,
    nu_errors,
    translate,
    watched_context,
)

SHOTS = SCREENSHOTS / "sso"
HANDLER_EMAIL = ACCOUNTS["handler"][0]


@pytest.fixture
def sso_live(
    staff_live_server: StaffLiveServer, oidc_provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StaffLiveServer]:
    """The staff live server with single sign-on on, no account linked to a subject yet.

    The server is shared with the other browser tests: its accounts and audit log are left as
    they were found (their pages are photographed and measured too).
    """
    app = staff_live_server.app
    for key, value in oidc_provider.config().items():
        monkeypatch.setitem(app.config, key, value)
    oidc_provider.add_client(staff_live_server.url)
    with app.app_context():
        db.session.execute(update(StaffUser).values(oidc_subject=None))
        db.session.commit()
        last = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    yield staff_live_server
    with app.app_context():
        db.session.execute(update(StaffUser).values(oidc_subject=None))
        db.session.execute(delete(AuditEntry).where(AuditEntry.id > last))
        db.session.commit()


@pytest.fixture
def tab(browser: Any, sso_live: StaffLiveServer, oidc_provider: OidcProvider) -> Iterator[Any]:
    """A desktop-sized tab that may reach the site and the provider, and nothing else."""
    with watched_context(browser, sso_live.url, viewport={"width": 1280, "height": 900}) as (
        context,
        log,
    ):
        context.route(f"{oidc_provider.issuer}/**", lambda route: route.continue_())
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        assert not log.foreign, f"requests left the site: {log.foreign}"


def photograph(tab: Any, name: str) -> None:
    """Save the page at 1280 and 320 px wide."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 320):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    tab.set_viewport_size({"width": 1280, "height": 900})


def test_chromium_logs_in_through_the_provider_reaches_the_inbox_and_logs_out_of_both(
    tab: Any, sso_live: StaffLiveServer, oidc_provider: OidcProvider
) -> None:
    oidc_provider.next_login("sub-hanna", HANDLER_EMAIL)
    response = tab.goto(sso_live.url + "/staff/login", wait_until="load")
    assert response is not None and response.status == 200
    button = tab.locator("main form button#sso")
    app = sso_live.app
    assert button.inner_text() == translate(app, "sv", "Log in with Järfälla kommun's account")
    assert_no_axe_violations(tab)
    photograph(tab, "login")
    pages = {"login": response.text()}
    with tab.expect_navigation(url=f"{sso_live.url}/staff/"):
        button.click()
    assert tab.locator("h1").inner_text() == translate(app, "sv", "Inbox")
    assert tab.locator("header form span").inner_text() == ACCOUNTS["handler"][1]
    # Logging out here goes on to the provider's own logout (its page asks to confirm).
    with tab.expect_navigation(url=f"{oidc_provider.issuer}/session/end**"):
        tab.click("header form button[type=submit]")
    with tab.expect_navigation(url=f"{sso_live.url}/staff/login?state=*"):
        tab.click("button[name=logout][value=yes]")
    assert tab.goto(sso_live.url + "/staff/").url.startswith(sso_live.url + "/staff/login")
    assert nu_errors(pages) == []


# Each refusal page: how a test brings it about, then what it says and answers.
Setup = Callable[[StaffLiveServer, OidcProvider, pytest.MonkeyPatch], None]


def no_mfa(_live: StaffLiveServer, provider: OidcProvider, _mp: pytest.MonkeyPatch) -> None:
    """A login with a password alone."""
    provider.next_login("sub-hanna", HANDLER_EMAIL, amr=["pwd"])


def unknown(_live: StaffLiveServer, provider: OidcProvider, _mp: pytest.MonkeyPatch) -> None:
    """Someone with no staff account here."""
    provider.next_login("sub-sven", "sven.svensson@jarfalla.se")


def inactive(live: StaffLiveServer, provider: OidcProvider, _mp: pytest.MonkeyPatch) -> None:
    """A deactivated account (the test activates it again)."""
    set_active(live.app, HANDLER_EMAIL, False)
    provider.next_login("sub-hanna", HANDLER_EMAIL)


def no_role(live: StaffLiveServer, provider: OidcProvider, mp: pytest.MonkeyPatch) -> None:
    """A role claim that grants nothing."""
    mp.setitem(live.app.config, "OIDC_ROLE_CLAIM", "groups")
    mp.setitem(live.app.config, "OIDC_ROLES", "gvi-admins=admin,gvi-handlers=handler")
    provider.next_login("sub-hanna", HANDLER_EMAIL, groups=["staff"])


def unavailable(live: StaffLiveServer, _provider: OidcProvider, mp: pytest.MonkeyPatch) -> None:
    """The provider not answering at all."""
    mp.setitem(live.app.config, "OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")


@pytest.mark.parametrize(
    ("name", "setup", "status", "heading"),
    [
        ("no-mfa", no_mfa, 403, "Log in with two steps"),
        ("unknown", unknown, 403, "You do not have an account here"),
        ("inactive", inactive, 403, "Your account is not active"),
        ("no-role", no_role, 403, "Your account is not in a group that gives access"),
        ("unavailable", unavailable, 503, "The login service is not answering"),
        ("failed", None, 400, "The login could not be completed"),
    ],
)
def test_each_refusal_page_is_clear_valid_and_accessible(
    tab: Any,
    sso_live: StaffLiveServer,
    oidc_provider: OidcProvider,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    setup: Setup | None,
    status: int,
    heading: str,
) -> None:
    try:
        if setup is None:  # an answer that belongs to no login started here
            response = tab.goto(sso_live.url + "/staff/sso/callback?code=x&state=y")
        else:
            setup(sso_live, oidc_provider, monkeypatch)
            tab.goto(sso_live.url + "/staff/login")
            with tab.expect_navigation() as navigation:
                tab.click("button#sso")
            response = navigation.value  # the last answer, after the redirects
    finally:
        if name == "inactive":
            set_active(sso_live.app, HANDLER_EMAIL, True)
    assert response is not None and response.status == status, response.url
    assert tab.locator("main h1").inner_text() == translate(sso_live.app, "sv", heading)
    assert tab.locator("main a[href='/staff/login']").count() == 1
    assert_no_axe_violations(tab)
    photograph(tab, f"refused-{name}")
    assert nu_errors({name: response.text()}) == []


def test_with_password_login_off_the_page_offers_single_sign_on_only(
    tab: Any, sso_live: StaffLiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sso_live.app.config, "STAFF_PASSWORD_LOGIN", False)
    response = tab.goto(sso_live.url + "/staff/login", wait_until="load")
    assert response is not None and response.status == 200
    assert tab.locator("main form").count() == 1
    assert tab.locator("main input").count() == 1  # the CSRF token, hidden: no password field
    assert_no_axe_violations(tab)
    photograph(tab, "login-sso-only")
