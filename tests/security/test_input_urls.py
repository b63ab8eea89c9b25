"""Addresses no parser can read (`http://[`) get a clear answer, never a 500; answers are kept."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures_forms import REPORT_ANSWERS, all_cases, form_url, form_values, submit
from tests.fixtures_staff import ACCOUNTS, StaffSite, login
from tests.helpers import parse

# Each makes Python's urlsplit raise ValueError (an unclosed IPv6 bracket).
BROKEN = ["http://[x", "https://[::1/sv/om-gvi", "//[", "http://[/sv/om-gvi"]


@pytest.mark.parametrize("kind", ["report", "format"])
def test_a_form_link_with_a_broken_page_address_shows_the_empty_form(
    forms_client: FlaskClient, kind: str
) -> None:
    response = forms_client.get(form_url("sv", kind, "http://%5B/x"))
    assert response.status_code == 200
    assert form_values(response.data)["page"] == ""


@pytest.mark.parametrize("address", BROKEN)
def test_a_broken_address_posted_as_the_page_loses_no_answer(
    forms_app: Flask, forms_client: FlaskClient, address: str
) -> None:
    """Kept as the resident's own words, or shown back with a field error: never a 500."""
    response = submit(forms_client, form_url("sv", "report"), {**REPORT_ANSWERS, "page": address})
    assert response.status_code in {200, 303}, response.status_code
    if response.status_code == 303:
        [case] = all_cases(forms_app)
        assert case.answers["problem"] == REPORT_ANSWERS["problem"]
        assert case.name == REPORT_ANSWERS["name"]
    else:
        shown = form_values(response.data)
        assert all(shown[name] == value for name, value in REPORT_ANSWERS.items() if name != "page")
        assert parse(response.data).select_one('main a[href="#page"]') is not None


@pytest.mark.parametrize("next_url", ["//[", "http://[::1", "https://[x/staff/"])
def test_a_correct_login_with_a_broken_next_address_goes_to_the_inbox(
    staff_site: StaffSite, next_url: str
) -> None:
    response = login(staff_site.app.test_client(), ACCOUNTS["handler"][0], next_url=next_url)
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"  # the inbox, as for any unsafe target
