"""The staff case page links a resident's page answer only when it is a page of this site."""

from __future__ import annotations

import pytest

from tests.fixtures_staff import StaffSite
from tests.helpers import parse, translate

# (stored page answer, the link the case page may show: None for plain text)
ANSWERS = [
    pytest.param("//evil.example/phish", None, id="protocol-relative"),
    pytest.param("/\\evil.example/phish", None, id="backslash"),
    pytest.param("/\\/evil.example/phish", None, id="backslash-slash"),
    pytest.param("http://evil.example/sv/om-gvi", None, id="other-site"),
    pytest.param("/sv/finns-inte", None, id="no-such-page"),
    pytest.param("Ett brev från kommunen", None, id="description"),
    pytest.param("/sv/om-gvi", "/sv/om-gvi", id="site-page"),
]


@pytest.mark.parametrize(("page", "link"), ANSWERS)
def test_the_case_page_links_only_pages_of_the_site(
    staff_site: StaffSite, page: str, link: str | None
) -> None:
    case = staff_site.case(page=page)
    response = staff_site.client("handler").get(f"/staff/cases/{case.reference}")
    assert response.status_code == 200
    label = translate(staff_site.app, "sv", "Page")
    term = next(dt for dt in parse(response.data).select("main dt") if dt.get_text() == label)
    shown = term.find_next_sibling("dd")
    assert shown.get_text() == page  # what the resident wrote, always, as text
    anchors = shown.select("a")
    assert [a["href"] for a in anchors] == ([link] if link else [])
