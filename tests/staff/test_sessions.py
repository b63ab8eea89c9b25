"""Staff sessions kept on the server: logout, deactivation, lifetime, idleness, the session list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from gvisite.extensions import db
from gvisite.models import SessionEnd, StaffSession, StaffUser, utcnow
from gvisite.staff.sessions import end_sessions
from tests.conftest import Clock
from tests.fixtures_staff import (
    ACCOUNTS,
    PASSWORD,
    StaffLiveServer,
    StaffSite,
    audit_rows,
    browser_login,
    login,
    login_redirect_next,
    pass_second_step,
    post_action,
    set_active,
)
from tests.helpers import assert_no_axe_violations, desktop_tab, nu_errors, parse, translate

HANDLER_EMAIL = ACCOUNTS["handler"][0]
IDLE_MESSAGE = "You were logged out because you were inactive. Log in again."
LIFETIME_MESSAGE = "You were logged out because you have been logged in for too long. Log in again."
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)
EDGE_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0"
)


def client_as(app: Flask, who: str, user_agent: str | None = None) -> FlaskClient:
    """Log a fresh client in as one of ACCOUNTS, from a browser that says `user_agent`."""
    client = app.test_client()
    if user_agent is not None:
        client.environ_base["HTTP_USER_AGENT"] = user_agent  # on every request, as a browser
    response = login(client, ACCOUNTS[who][0])
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return client


def is_logged_in(client: FlaskClient) -> bool:
    """Tell whether the client's session opens the inbox."""
    return client.get("/staff/").status_code == 200


def sessions_of(app: Flask, who_id: int) -> list[StaffSession]:
    """Return an account's session rows, oldest first, detached."""
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(StaffSession).where(StaffSession.user_id == who_id).order_by("id")
            )
        )
        db.session.expunge_all()
        return rows


def notice_text(response: TestResponse) -> str:
    """Return the text of the message box at the top of a page."""
    box = parse(response.data).select_one("main .notice, main .error-summary")
    assert box is not None, "no message on the page"
    return " ".join(box.get_text(" ").split())


def copy_cookie(source: FlaskClient, app: Flask) -> FlaskClient:
    """Return a new client holding a copy of `source`'s staff session cookie, as a thief would."""
    cookie = source.get_cookie("session", path="/staff")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value, path="/staff")
    return thief


# --- Logout and deactivation end the session on the server -------------------------------------


def test_a_cookie_replayed_after_logout_gets_the_login_page(staff_site: StaffSite) -> None:
    client = client_as(staff_site.app, "handler")
    replay = copy_cookie(client, staff_site.app)
    assert is_logged_in(replay)  # the copy works while the session lives
    assert post_action(client, "/staff/logout").status_code == 303
    for url in ["/staff/", "/staff/statistik", "/staff/sessioner"]:
        response = replay.get(url)
        assert login_redirect_next(response) == url, (url, response.status_code)
    [row] = sessions_of(staff_site.app, staff_site.ids["handler"])
    assert row.ended_reason == "logout" and row.ended_at is not None
    assert ("logout", None, staff_site.ids["handler"]) in audit_rows(staff_site.app)


def test_a_new_login_does_not_revive_an_ended_session(staff_site: StaffSite) -> None:
    client = client_as(staff_site.app, "handler")
    replay = copy_cookie(client, staff_site.app)
    post_action(client, "/staff/logout")
    assert login(client, HANDLER_EMAIL).status_code == 303
    assert is_logged_in(client)
    assert not is_logged_in(replay)


def test_deactivating_an_account_ends_all_its_sessions(
    make_staff_app: Callable[..., StaffSite], database_url: str
) -> None:
    site = make_staff_app(database_url)
    office, phone = client_as(site.app, "handler"), client_as(site.app, "handler", SAFARI_IPHONE)
    colleague = client_as(site.app, "colleague")
    assert is_logged_in(office) and is_logged_in(phone)
    result = site.app.test_cli_runner().invoke(args=["staff", "deactivate", HANDLER_EMAIL])
    assert result.exit_code == 0, result.output
    assert "2 session(s) ended" in result.output
    assert login_redirect_next(office.get("/staff/")) == "/staff/"
    assert login_redirect_next(phone.get("/staff/")) == "/staff/"
    assert is_logged_in(colleague)
    rows = sessions_of(site.app, site.ids["handler"])
    assert [row.ended_reason for row in rows] == ["deactivated", "deactivated"]
    # Active again, the account must log in afresh: the old sessions stay ended.
    set_active(site.app, HANDLER_EMAIL, True)
    assert not is_logged_in(office) and not is_logged_in(phone)
    assert login(site.app.test_client(), HANDLER_EMAIL).status_code == 303


# --- Idleness and the absolute lifetime ---------------------------------------------------------


@pytest.mark.parametrize("hours", [12, 2])
def test_a_busy_session_still_ends_after_the_lifetime(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch, clock: Clock, hours: int
) -> None:
    if hours != 12:
        monkeypatch.setitem(staff_site.app.config, "STAFF_SESSION_HOURS", hours)
    assert staff_site.app.config["STAFF_SESSION_HOURS"] == hours  # 12 is the default
    client = client_as(staff_site.app, "handler")
    # Active every 25 minutes (never idle) until just before the lifetime runs out.
    for _step in range(hours * 60 // 25):
        clock.advance(minutes=25)
        assert client.get("/staff/").status_code == 200, clock.now
    clock.advance(minutes=25)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/login?lifetime=1"
    page = client.get(response.headers["Location"])
    assert notice_text(page) == translate(staff_site.app, "sv", LIFETIME_MESSAGE)
    assert not is_logged_in(client)
    [row] = sessions_of(staff_site.app, staff_site.ids["handler"])
    assert row.ended_reason == "lifetime"
    # Logging in again starts a new lifetime.
    assert login(client, HANDLER_EMAIL).status_code == 303
    assert is_logged_in(client)


def test_an_idle_session_ends_on_the_server(staff_site: StaffSite, clock: Clock) -> None:
    client = client_as(staff_site.app, "handler")
    clock.advance(minutes=29)
    assert is_logged_in(client)
    clock.advance(minutes=31)
    response = client.get("/staff/statistik")
    assert response.headers["Location"] == "/staff/login?timeout=1"
    page = client.get(response.headers["Location"])
    assert notice_text(page) == translate(staff_site.app, "sv", IDLE_MESSAGE)
    [row] = sessions_of(staff_site.app, staff_site.ids["handler"])
    assert row.ended_reason == "timeout"


def test_a_copy_of_the_cookie_left_unused_dies_while_its_owner_works_on(
    staff_site: StaffSite, clock: Clock
) -> None:
    client = client_as(staff_site.app, "handler")
    stolen = copy_cookie(client, staff_site.app)
    for _step in range(3):  # the owner is active; the stolen copy ages
        clock.advance(minutes=20)
        assert is_logged_in(client)
    response = stolen.get("/staff/")
    assert response.headers["Location"] == "/staff/login?timeout=1"
    assert not is_logged_in(stolen)
    assert is_logged_in(client)  # the owner is not thrown out by the stale copy


# --- The list of one's own sessions -------------------------------------------------------------


def session_rows(client: FlaskClient) -> list[str]:
    """Return the rows of the sessions table, each as its visible text."""
    response = client.get("/staff/sessioner")
    assert response.status_code == 200
    rows = parse(response.data).select("main table tbody tr")
    return [" ".join(row.get_text(" ").split()) for row in rows]


def end_button_value(client: FlaskClient, browser_text: str) -> str:
    """Return the session id the end button of the row naming `browser_text` sends."""
    soup = parse(client.get("/staff/sessioner").data)
    for row in soup.select("main table tbody tr"):
        if browser_text in row.get_text(" "):
            field = row.select_one("input[name=value]")
            assert field is not None, f"no end button for {browser_text}"
            return field["value"]
    raise AssertionError(f"no session from {browser_text}")


def test_the_list_shows_each_session_and_ending_one_logs_it_out(staff_site: StaffSite) -> None:
    office = client_as(staff_site.app, "handler", FIREFOX_WINDOWS)
    phone = client_as(staff_site.app, "handler", SAFARI_IPHONE)
    colleague = client_as(staff_site.app, "colleague", EDGE_MAC)
    rows = session_rows(office)
    assert len(rows) == 2, rows  # the colleague's session is not the handler's business
    this_one = translate(staff_site.app, "sv", "this login")
    mine = next(row for row in rows if "Firefox på Windows" in row)
    other = next(row for row in rows if "Safari på iOS" in row)
    assert this_one in mine and this_one not in other
    assert ["Edge på macOS" in row for row in session_rows(colleague)] == [True]
    value = end_button_value(office, "Safari på iOS")
    response = post_action(office, "/staff/sessioner", {"value": value})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/sessioner"
    page = office.get("/staff/sessioner")
    assert notice_text(page) == translate(staff_site.app, "sv", "The login was ended.")
    assert login_redirect_next(phone.get("/staff/")) == "/staff/"
    assert is_logged_in(office) and is_logged_in(colleague)
    assert len(session_rows(office)) == 1
    assert ("end-session", value, staff_site.ids["handler"]) in audit_rows(staff_site.app)


def test_ending_all_other_sessions_keeps_only_this_one(staff_site: StaffSite) -> None:
    clients = [client_as(staff_site.app, "handler") for _ in range(3)]
    colleague = client_as(staff_site.app, "colleague")
    assert len(session_rows(clients[0])) == 3
    response = post_action(clients[0], "/staff/sessioner", {"value": "others"})
    assert response.status_code == 303
    assert is_logged_in(clients[0])
    assert not is_logged_in(clients[1]) and not is_logged_in(clients[2])
    assert is_logged_in(colleague)
    assert len(session_rows(clients[0])) == 1
    assert ("end-other-sessions", "2", staff_site.ids["handler"]) in audit_rows(staff_site.app)
    rows = sessions_of(staff_site.app, staff_site.ids["handler"])
    assert [row.ended_reason for row in rows] == [None, "ended-by-user", "ended-by-user"]


def test_nobody_ends_a_session_that_is_not_their_own(staff_site: StaffSite) -> None:
    handler = client_as(staff_site.app, "handler")
    colleague = client_as(staff_site.app, "colleague")
    [theirs] = sessions_of(staff_site.app, staff_site.ids["colleague"])
    [mine] = sessions_of(staff_site.app, staff_site.ids["handler"])
    for value in [str(theirs.id), str(mine.id), "999999", "-1", "1e3", "١", "9" * 40, ""]:
        response = post_action(handler, "/staff/sessioner", {"value": value})
        assert response.status_code == 400, value
    assert is_logged_in(colleague) and is_logged_in(handler)
    assert (
        post_action(handler, "/staff/sessioner", {"value": "others"}, token=False).status_code
        == 400
    )


def test_a_timed_out_session_is_not_listed(staff_site: StaffSite, clock: Clock) -> None:
    forgotten = client_as(staff_site.app, "handler", SAFARI_IPHONE)
    clock.advance(minutes=40)
    office = client_as(staff_site.app, "handler", FIREFOX_WINDOWS)
    rows = session_rows(office)
    assert len(rows) == 1 and "Firefox på Windows" in rows[0]
    assert not is_logged_in(forgotten)


def test_the_menu_leads_to_the_session_list(staff_site: StaffSite) -> None:
    client = client_as(staff_site.app, "handler")
    link = parse(client.get("/staff/").data).select_one("nav a[href='/staff/sessioner']")
    assert link is not None
    assert link.get_text(strip=True) == translate(staff_site.app, "sv", "Your logins")
    current = parse(client.get("/staff/sessioner").data).select_one("nav [aria-current=page]")
    assert current is not None and current["href"] == "/staff/sessioner"


# --- The cookie ---------------------------------------------------------------------------------


def test_the_session_cookie_has_the_secure_prefix_over_https(
    make_staff_app: Callable[..., StaffSite],
) -> None:
    site = make_staff_app(SITE_URL="https://gvi.jarfalla.se")
    client = site.app.test_client()
    base = {"base_url": "https://gvi.jarfalla.se"}
    cookies = client.get("/staff/login", **base).headers.getlist("Set-Cookie")
    [cookie] = [c for c in cookies if "session=" in c and not c.startswith("remember")]
    assert cookie.startswith("__Secure-session=")
    assert "; Secure" in cookie and "Path=/staff" in cookie and "HttpOnly" in cookie
    # Logging in and working goes on with the prefixed cookie (Referer: CSRF over HTTPS).
    token = parse(client.get("/staff/login", **base).data).select_one("input[name=csrf_token]")
    response = client.post(
        "/staff/login",
        data={"email": HANDLER_EMAIL, "password": PASSWORD, "csrf_token": token["value"]},
        headers={"Referer": "https://gvi.jarfalla.se/staff/login"},
        **base,
    )
    assert response.status_code == 303
    step = response.headers["Location"]
    referer = {"Referer": f"https://gvi.jarfalla.se{step}"}
    response = pass_second_step(client, HANDLER_EMAIL, step, headers=referer, **base)
    assert response.status_code == 303
    assert client.get("/staff/", **base).status_code == 200
    assert client.get_cookie("__Secure-session", domain="gvi.jarfalla.se", path="/staff")


def test_the_session_cookie_keeps_its_plain_name_over_http(staff_site: StaffSite) -> None:
    cookies = staff_site.client().get("/staff/login").headers.getlist("Set-Cookie")
    assert any(c.startswith("session=") for c in cookies), cookies
    assert not any(c.startswith("__Secure-") for c in cookies)


# --- Purging old session rows -------------------------------------------------------------------


def test_purge_deletes_old_session_rows_only(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(staff_site.app.config, "RETENTION_DAYS", 30)
    client = client_as(staff_site.app, "handler")  # an open, live session: kept
    now = utcnow()
    user = staff_site.ids["colleague"]
    rows = {
        "ended long ago": dict(ended_at=now - dt.timedelta(days=31), ended_reason="logout"),
        "ended lately": dict(ended_at=now - dt.timedelta(days=29), ended_reason="logout"),
        "unused long ago": dict(ended_at=None),
    }
    with staff_site.app.app_context():
        for number, (label, fields) in enumerate(rows.items()):
            started = now - dt.timedelta(days=40 if label != "ended lately" else 29)
            db.session.add(
                StaffSession(
                    user_id=user,
                    token_hash=f"{number:064d}",
                    created_at=started,
                    last_seen_at=started,
                    browser=label,
                    **fields,
                )
            )
        db.session.commit()
    result = staff_site.app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0, result.output
    assert [row.browser for row in sessions_of(staff_site.app, user)] == ["ended lately"]
    assert len(sessions_of(staff_site.app, staff_site.ids["handler"])) == 1
    assert is_logged_in(client)


@pytest.mark.parametrize("days", [0, 1])
def test_a_purge_with_a_short_retention_logs_nobody_out(
    staff_site: StaffSite, monkeypatch: pytest.MonkeyPatch, days: int
) -> None:
    """`RETENTION_DAYS=0 flask cases purge` erases case data; every live login goes on."""
    monkeypatch.setitem(staff_site.app.config, "RETENTION_DAYS", days)
    working = client_as(staff_site.app, "handler")
    other = client_as(staff_site.app, "admin")
    now = utcnow()
    with staff_site.app.app_context():
        # A login left idle past STAFF_IDLE_MINUTES two days ago, and one logged out: both over.
        idle = now - dt.timedelta(days=2)
        for number, ended in enumerate([None, idle]):
            db.session.add(
                StaffSession(
                    user_id=staff_site.ids["colleague"], token_hash=f"{number:064d}",
                    created_at=idle, last_seen_at=idle, ended_at=ended, browser="over",
                )
            )  # fmt: skip
        db.session.commit()
    result = staff_site.app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0, result.output
    assert is_logged_in(working) and is_logged_in(other)
    assert sessions_of(staff_site.app, staff_site.ids["colleague"]) == []


# --- The page in HTML and in Chromium -----------------------------------------------------------


def test_the_session_pages_are_valid_html(staff_site: StaffSite) -> None:
    client_as(staff_site.app, "handler", SAFARI_IPHONE)
    office = client_as(staff_site.app, "handler", FIREFOX_WINDOWS)
    value = end_button_value(office, "Safari")
    client_as(staff_site.app, "handler", EDGE_MAC)
    documents = {
        "session list": office.get("/staff/sessioner").get_data(as_text=True),
        "after ending one": office.get(
            post_action(office, "/staff/sessioner", {"value": value}).headers["Location"]
        ).get_data(as_text=True),
        "login after lifetime": staff_site.client()
        .get("/staff/login?lifetime=1")
        .get_data(as_text=True),
    }
    assert "Safari" not in documents["after ending one"].split("<main", 1)[1]
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)


@pytest.fixture
def live_tabs(browser: Any, staff_live_server: StaffLiveServer) -> Iterator[tuple[Any, Any]]:
    """Two desktop tabs in separate browsers (no shared cookies), the colleague's sessions reset."""
    app = staff_live_server.app
    with app.app_context():
        user = db.session.scalar(
            select(StaffUser).where(StaffUser.email == ACCOUNTS["colleague"][0])
        )
        end_sessions(user.id, SessionEnd.LOGOUT)  # left open by other tests in this server
        db.session.commit()
    with (
        desktop_tab(browser, staff_live_server.url) as first,
        desktop_tab(browser, staff_live_server.url) as second,
    ):
        yield first, second


def log_in_tab(tab: Any, server: StaffLiveServer, who: str) -> None:
    """Log in through the form in a tab."""
    browser_login(tab, server.url, server.app, ACCOUNTS[who][0])


def test_the_session_list_in_chromium(
    live_tabs: tuple[Any, Any], staff_live_server: StaffLiveServer
) -> None:
    first, second = live_tabs
    log_in_tab(first, staff_live_server, "colleague")
    log_in_tab(second, staff_live_server, "colleague")
    first.click("nav a[href='/staff/sessioner']")
    first.wait_for_url(f"{staff_live_server.url}/staff/sessioner")
    assert first.locator("main table tbody tr").count() == 2
    assert first.locator("main tbody tr", has_text="den här inloggningen").count() == 1
    assert (
        first.get_by_role("region", name="Öppna inloggningar, den senast aktiva först").count() == 1
    )
    assert_no_axe_violations(first)
    with first.expect_navigation():
        first.click("main form:has(input[name=value][value='others']) button")
    assert (
        first.locator("main .notice").inner_text().strip()
        == "Dina andra inloggningar har avslutats."
    )
    assert first.locator("main table tbody tr").count() == 1
    assert_no_axe_violations(first)
    second.reload()
    assert second.url.startswith(f"{staff_live_server.url}/staff/login")
