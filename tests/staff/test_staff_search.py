"""Finding a case from the inbox: a caller gives a reference, a name or an e-mail address."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from gvisite.models import utcnow
from tests.fixtures_staff import StaffSite, audit_rows, login_redirect_next
from tests.helpers import parse


def found(client: FlaskClient, query: str, **filters: str) -> list[str]:
    """Search the inbox and return the references listed."""
    response = client.get("/staff/", query_string={"q": query, **filters})
    assert response.status_code == 200, response.status_code
    return [a.get_text(strip=True) for a in parse(response.data).select("table.cases th a")]


@pytest.fixture
def cases(staff_site: StaffSite) -> dict[str, str]:
    """Three residents' cases (one closed) and a spam case, by who sent them."""
    made = {
        "asa": staff_site.case(name="Åsa Öberg", email="asa.oberg@example.se"),
        "orjan": staff_site.case(
            "format", name="Örjan Ärlig", email="ORJAN@Exempel.se", status="avslutad",
            closed_at=utcnow(),
        ),
        "anon": staff_site.case(name=None, email=None),
        "spam": staff_site.case(name="Åsa Spam", email="spam@example.se", spam=True),
    }  # fmt: skip
    return {who: case.reference for who, case in made.items()}


def test_the_inbox_has_one_search_box_sent_by_get(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    soup = parse(handler_client.get("/staff/").data)
    [form] = soup.select("main form[role=search]")
    assert form.get("method", "get").lower() == "get"
    field = form.select_one("input[name=q]")
    label = soup.select_one(f"label[for={field['id']}]")
    assert label is not None and label.get_text(strip=True)
    assert field["autocomplete"] == "off"  # the browser keeps no residents' addresses


def test_a_reference_is_found_exactly_from_its_start_or_by_its_code(
    handler_client: FlaskClient, cases: dict[str, str]
) -> None:
    asa = cases["asa"]
    assert found(handler_client, asa) == [asa]
    assert found(handler_client, f"  {asa.lower()} ") == [asa]  # read out over the phone
    assert found(handler_client, asa[-6:]) == [asa]  # the code alone
    assert set(found(handler_client, "TG-")) == {asa, cases["anon"]}  # both reports
    assert found(handler_client, asa[3:10]) == []  # not from the middle


def test_a_name_or_address_is_found_in_part_whatever_the_case(
    handler_client: FlaskClient, cases: dict[str, str]
) -> None:
    assert found(handler_client, "åsa") == [cases["asa"]]
    assert found(handler_client, "ÖBERG") == [cases["asa"]]
    assert found(handler_client, "@exempel.SE") == [cases["orjan"]]  # closed cases too
    assert found(handler_client, "ärlig") == [cases["orjan"]]


def test_the_search_keeps_to_the_filters_and_never_shows_spam_unasked(
    handler_client: FlaskClient, cases: dict[str, str]
) -> None:
    assert found(handler_client, "Åsa") == [cases["asa"]]
    assert found(handler_client, "Åsa", spam="1") == [cases["spam"]]
    assert found(handler_client, "e", kind="format") == [cases["orjan"]]
    assert found(handler_client, "e", status="ny") == [cases["asa"]]


@pytest.mark.parametrize("query", ["%", "_", "\\", "a\x00b", "x" * 5000, "<b>åsa</b>"])
def test_what_is_typed_is_searched_for_as_text(
    handler_client: FlaskClient, cases: dict[str, str], query: str
) -> None:
    assert found(handler_client, query) == []


def test_nothing_found_says_so_and_offers_the_way_back(
    staff_site: StaffSite, handler_client: FlaskClient, cases: dict[str, str]
) -> None:
    soup = parse(handler_client.get("/staff/", query_string={"q": "Nilsson"}).data)
    said = " ".join(soup.select_one("main").get_text(" ").split())
    assert "Nilsson" in said
    assert soup.select_one("main a[href='/staff/']") is not None  # clear the search


def test_search_terms_stay_out_of_the_logs_and_the_audit_log(
    staff_site: StaffSite,
    handler_client: FlaskClient,
    cases: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = audit_rows(staff_site.app)
    with caplog.at_level(logging.DEBUG):
        assert found(handler_client, "asa.oberg@example") == [cases["asa"]]
    assert "asa.oberg" not in caplog.text
    assert audit_rows(staff_site.app)[len(before) :] == []  # a search is no view of a case


def test_anonymous_visitors_cannot_search(staff_site: StaffSite, cases: dict[str, str]) -> None:
    response = staff_site.client().get("/staff/", query_string={"q": "Åsa"})
    assert login_redirect_next(response) is not None
    assert "Åsa".encode() not in response.data
