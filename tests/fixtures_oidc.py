"""A real OpenID provider for the single sign-on tests: the npm `oidc-provider` on 127.0.0.1.

It runs tests/oidc/provider.mjs under Node for the whole session, like Redis and PostgreSQL in
fixtures_servers.py. A test says who logs in next (and with which `amr`), registers the client
for its app's address, and can have the next token response changed, to forge what a real
provider would not send.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.models import StaffSession, StaffUser
from tests.fixtures_servers import free_port, stop_process, wait_until
from tests.fixtures_staff import StaffSite, csrf_token
from tests.helpers import PROJECT_ROOT, require_tool, translate

SCRIPT = PROJECT_ROOT / "tests" / "oidc" / "provider.mjs"
PACKAGE = PROJECT_ROOT / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID = "gvisite-staff"
CLIENT_SECRET = "test-client-secret-not-used-anywhere-else"
TEST_APP = "http://localhost"  # the Flask test client's address


@dataclass
class OidcProvider:
    """oidc-provider running on 127.0.0.1 and a free port."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        """Return the issuer, as OIDC_ISSUER takes it."""
        return f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        """Tell whether discovery answers."""
        try:
            url = self.issuer + "/.well-known/openid-configuration"
            return requests.get(url, timeout=2).json()["issuer"] == self.issuer
        except (requests.RequestException, ValueError, KeyError):
            return False

    def _control(self, what: str, data: dict[str, Any]) -> None:
        """Send one of the test script's own requests."""
        response = requests.post(f"{self.issuer}/__test/{what}", json=data, timeout=10)
        assert response.status_code == 204, response.text

    def add_client(self, app_url: str, client_id: str = CLIENT_ID) -> None:
        """Register the site at `app_url` as a client (confidential, its redirect URIs exact)."""
        self._control(
            "client",
            {
                "client_id": client_id,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{app_url}/staff/sso/callback"],
                "post_logout_redirect_uris": [f"{app_url}/staff/login"],
            },
        )

    def next_login(
        self,
        sub: str,
        email: str | None,
        *,
        email_verified: bool = True,
        amr: Sequence[str] = ("pwd", "mfa"),
        groups: Sequence[str] = (),
    ) -> None:
        """Have the next login be this person, having shown these methods (`amr`)."""
        person: dict[str, Any] = {"sub": sub, "amr": list(amr), "name": "Test Person"}
        if email is not None:
            person |= {"email": email, "email_verified": email_verified}
        if groups:
            person["groups"] = list(groups)
        self._control("next", person)

    def tamper(
        self,
        claims: dict[str, Any] | None = None,
        remove: Sequence[str] = (),
        *,
        foreign_key: bool = False,
        hang_up: bool = False,
    ) -> None:
        """Change the next token response: its ID token's claims, re-signed, or no answer."""
        change = {"claims": claims or {}, "remove": list(remove), "foreign_key": foreign_key}
        self._control("tamper", change | {"hang_up": hang_up})

    def config(self) -> dict[str, Any]:
        """Return the app settings that turn single sign-on on with this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        }


@contextmanager
def running_oidc_provider() -> Iterator[OidcProvider]:
    """Start tests/oidc/provider.mjs on 127.0.0.1 and a free port; stop it afterwards."""
    node = shutil.which("node")
    require_tool(node is not None, "Node.js")
    require_tool(PACKAGE.exists(), "the npm package oidc-provider (npm ci)")
    assert node is not None
    folder = Path(tempfile.mkdtemp(prefix="gvisite-oidc-"))
    provider = OidcProvider(free_port(), folder / "log")
    log = open(provider.log, "wb")  # noqa: SIM115  (closed below)
    try:
        provider.process = subprocess.Popen(
            [node, str(SCRIPT), str(provider.port)], cwd=PROJECT_ROOT, stdout=log, stderr=log
        )
        if not wait_until(provider.answers, seconds=30):
            raise RuntimeError(f"oidc-provider did not start: {provider.log.read_text()}")
        yield provider
    finally:
        stop_process(provider.process)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """Run oidc-provider for the session; fail in CI, skip elsewhere, if Node or it is missing."""
    with running_oidc_provider() as provider:
        yield provider


# --- Logging in through it with the test client -------------------------------------------------


def provider_answer(client: FlaskClient, next_url: str | None = None) -> str:
    """Press the login page's SSO button and follow the provider to its answer; return that URL.

    The browser's part at the provider is played by `requests` (the test client cannot leave
    the app); the callback URL it returns, with its code and state, is the test's to open.
    """
    login_page = "/staff/login" + (f"?next={next_url}" if next_url else "")
    token = csrf_token(client, login_page)
    start = "/staff/sso/start" + (f"?next={next_url}" if next_url else "")
    response = client.post(start, data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    with requests.Session() as browser:
        while not location.startswith(TEST_APP + "/"):
            answer = browser.get(location, allow_redirects=False, timeout=10)
            assert answer.status_code in {302, 303}, (answer.status_code, answer.text[:2000])
            location = requests.compat.urljoin(location, answer.headers["Location"])
    return location


def callback_path(url: str) -> str:
    """Return the path and query of a callback URL, as the test client opens it."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- The staff site with single sign-on on -------------------------------------------------------


@dataclass
class SsoSite:
    """The staff site with single sign-on on, through the test provider."""

    site: StaffSite
    provider: OidcProvider

    @property
    def app(self):
        """Return the app."""
        return self.site.app

    def text(self, message: str, **variables: str) -> str:
        """Return a message as the (Swedish) staff area shows it."""
        return translate(self.app, "sv", message, **variables)

    def account(self, who: str = "handler") -> StaffUser:
        """Return one of ACCOUNTS as stored now, detached."""
        with self.app.app_context():
            user = db.session.get(StaffUser, self.site.ids[who])
            assert user is not None
            db.session.expunge(user)
            return user

    def session_rows(self) -> list[StaffSession]:
        """Return every session row, detached."""
        with self.app.app_context():
            rows = list(db.session.scalars(select(StaffSession).order_by(StaffSession.id)))
            db.session.expunge_all()
            return rows

    def log_in(self, client: FlaskClient, next_url: str | None = None) -> TestResponse:
        """Go through the provider and open its answer (who logs in was set beforehand)."""
        return client.get(callback_path(provider_answer(client, next_url)))


@pytest.fixture
def sso_site(
    staff_site: StaffSite, oidc_provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> SsoSite:
    """The staff site, single sign-on on (MFA required, no role claim), its client registered."""
    for key, value in oidc_provider.config().items():
        monkeypatch.setitem(staff_site.app.config, key, value)
    oidc_provider.add_client(TEST_APP)
    return SsoSite(staff_site, oidc_provider)
