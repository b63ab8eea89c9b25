"""Strangers cannot lock a member of staff out, yet guessing at an account stays slow (#22 §4).

OWASP's device cookies: a browser that logged in to an account before is trusted for it, so
failures from elsewhere do not stop it; browsers without one share the account's hourly limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from gvisite import ratelimits
from gvisite.staff import throttle
from tests.fixtures_staff import ACCOUNTS, PASSWORD, StaffSite, login, post_action

HANDLER_EMAIL = ACCOUNTS["handler"][0]
DEVICE_COOKIE = "staff_device"  # its name over plain HTTP, as in these tests
COLLEAGUE_EMAIL = ACCOUNTS["colleague"][0]
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.7"}  # an address no stranger used


def stranger(number: int) -> dict[str, str]:
    """Return the request environment of an attacker's address, one of many."""
    return {"REMOTE_ADDR": f"203.0.{number // 250}.{number % 250 + 1}"}


@dataclass
class Clock:
    """A clock the counters read instead of the real one, moved on by the test."""

    now: float = 1_900_000_000.0

    def time(self) -> float:
        """Return the pretended time, as `time.time()` would."""
        return self.now


@pytest.fixture
def clocked_site(
    make_staff_app: Callable[..., StaffSite], monkeypatch: pytest.MonkeyPatch
) -> tuple[StaffSite, Clock]:
    """A staff site whose login counters live in its database and run on a test clock."""
    site = make_staff_app(RATELIMIT_STORAGE_URI="database://")
    clock = Clock()
    # Only the counters' clock moves: sessions, cookies and the database keep real time.
    monkeypatch.setattr(ratelimits, "time", clock)
    monkeypatch.setattr(throttle, "time", clock)
    return site, clock


def owner_browser(site: StaffSite) -> FlaskClient:
    """Return the owner's browser after an ordinary login and logout (it keeps its cookies)."""
    client = site.client()
    assert login(client, HANDLER_EMAIL).status_code == 303
    assert post_action(client, "/staff/logout").status_code == 303
    return client


def test_strangers_failing_from_many_addresses_do_not_lock_out_the_owners_browser(
    staff_site: StaffSite,
) -> None:
    browser = owner_browser(staff_site)
    # The review's attack: five wrong passwords from each of six addresses, and more.
    for number in range(60):
        login(staff_site.client(), HANDLER_EMAIL, "gissning", environ_base=stranger(number))
    # A browser that never logged in to the account now waits, even with the right password...
    fresh = login(staff_site.client(), HANDLER_EMAIL, PASSWORD, environ_base=ELSEWHERE)
    assert fresh.status_code == 429
    assert int(fresh.headers["Retry-After"]) > 0
    # ...but the owner's own browser logs in, from its usual address or from any other.
    assert login(browser, HANDLER_EMAIL).status_code == 303
    assert post_action(browser, "/staff/logout").status_code == 303
    assert login(browser, HANDLER_EMAIL, environ_base=stranger(0)).status_code == 303


def test_the_owners_browser_may_mistype_but_not_guess(staff_site: StaffSite) -> None:
    browser = owner_browser(staff_site)
    statuses = [login(browser, HANDLER_EMAIL, "fel").status_code for _ in range(11)]
    # Five mistakes on its own count; then the browser is trusted no more and is counted as a
    # stranger's (five per address and account), then it waits like one.
    assert statuses == [200] * 10 + [429]
    assert login(browser, HANDLER_EMAIL).status_code == 429


def test_a_device_cookie_vouches_only_for_its_own_account(staff_site: StaffSite) -> None:
    browser = staff_site.client()
    assert login(browser, COLLEAGUE_EMAIL).status_code == 303  # trusted for the colleague only
    post_action(browser, "/staff/logout")
    for number in range(30):
        login(staff_site.client(), HANDLER_EMAIL, "gissning", environ_base=stranger(number))
    assert login(browser, HANDLER_EMAIL).status_code == 429
    assert login(browser, COLLEAGUE_EMAIL).status_code == 303


def test_a_forged_device_cookie_is_not_trusted(staff_site: StaffSite) -> None:
    browser = owner_browser(staff_site)
    cookie = browser.get_cookie(DEVICE_COOKIE, path="/staff/login")
    assert cookie is not None
    for number in range(30):
        login(staff_site.client(), HANDLER_EMAIL, "gissning", environ_base=stranger(number))
    forger = staff_site.client()
    forger.set_cookie(DEVICE_COOKIE, cookie.value[:-2] + "xx", path="/staff/login")
    assert login(forger, HANDLER_EMAIL).status_code == 429


def test_the_device_cookie_is_kept_to_the_login_form(staff_site: StaffSite) -> None:
    response = login(staff_site.client(), HANDLER_EMAIL)
    [cookie] = [
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(f"{DEVICE_COOKIE}=")
    ]
    assert "Path=/staff/login" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert HANDLER_EMAIL not in cookie  # it names the account by a keyed hash only


def test_guesses_without_a_device_cookie_are_bounded_per_hour(
    clocked_site: tuple[StaffSite, Clock],
) -> None:
    site, clock = clocked_site
    browser = owner_browser(site)
    # A stranger tries every 20 seconds for an hour, each time from a new address.
    guessed = 0
    for number in range(180):
        status = login(
            site.client(), HANDLER_EMAIL, f"gissning {number}", environ_base=stranger(number)
        ).status_code
        assert status in {200, 429}
        guessed += status == 200
        clock.now += 20
    assert guessed == throttle.ACCOUNT_LIMIT.amount == 30
    # Guessing slowed down; the owner was never stopped.
    assert login(browser, HANDLER_EMAIL).status_code == 303
    post_action(browser, "/staff/logout")
    # When the hour is over, the account's limit starts again: a wait, not a lock.
    clock.now += 60
    assert login(site.client(), HANDLER_EMAIL, environ_base=stranger(999)).status_code == 303
