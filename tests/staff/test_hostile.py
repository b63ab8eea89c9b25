"""Hostile input to the staff area: NUL, header injection in `next`, JSON bodies. Never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.fixtures_staff import (
    ACCOUNTS,
    PASSWORD,
    StaffSite,
    csrf_token,
    logged_in,
    login,
    post_action,
)


@pytest.fixture
def site_on(make_staff_app: Callable[..., StaffSite], database_url: str) -> StaffSite:
    """The staff site on each database the site supports."""
    return make_staff_app(database_url)


def test_a_nul_in_the_login_address_is_a_wrong_login_not_a_500(site_on: StaffSite) -> None:
    """PostgreSQL refuses NUL in text; the login treats it as an unknown account."""
    email = ACCOUNTS["handler"][0]
    response = login(site_on.app.test_client(), email.replace("@", "\x00@"))
    assert response.status_code == 200
    assert "is wrong" in response.get_data(as_text=True) or "fel" in response.get_data(as_text=True)
    assert login(site_on.app.test_client(), email).status_code == 303


def test_a_nul_in_a_case_address_is_a_404(site_on: StaffSite) -> None:
    client = logged_in(site_on.app, "handler")
    for path in ("/staff/cases/%00", "/staff/cases/TG-2026-ABCDE%00"):
        assert client.get(path).status_code == 404, path
    case = site_on.case()
    assert client.get(f"/staff/cases/{case.reference}").status_code == 200
    response = post_action(client, "/staff/cases/TG-2026-%00/note", {"note": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "next_url",
    ["/staff\r\nSet-Cookie: evil=1", "/staff/%0d%0aSet-Cookie:evil=1", "/staff/\x00", "/staff\t"],
)
def test_a_line_break_in_next_is_ignored_after_login(staff_site: StaffSite, next_url: str) -> None:
    """The login succeeds and goes to the inbox; no header is ever written from `next`."""
    response = login(staff_site.client(), ACCOUNTS["handler"][0], next_url=next_url)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert "evil" not in response.headers.get("Set-Cookie", "")
    if "%0d" not in next_url:  # decoded by the browser: a plain path with letters is fine
        assert location.endswith("/staff/")


def test_json_to_the_login_and_the_case_actions_is_not_read(staff_site: StaffSite) -> None:
    """A JSON body is no form: the login stays on the login page, an action changes nothing."""
    client = staff_site.client()
    token = csrf_token(client)
    body = {"email": ACCOUNTS["handler"][0], "password": PASSWORD, "csrf_token": token}
    response = client.post("/staff/login", data=json.dumps(body), content_type="application/json")
    assert response.status_code in {200, 400}
    assert client.get("/staff/").status_code == 302  # not logged in
    handler = logged_in(staff_site.app, "handler")
    case = staff_site.case()
    token = csrf_token(handler, "/staff/")
    for data in ({"note": {"k": 1}, "csrf_token": token}, {"note": [1, 2], "csrf_token": 5}):
        response = handler.post(
            f"/staff/cases/{case.reference}/note",
            data=json.dumps(data),
            content_type="application/json",
        )
        assert response.status_code == 400
