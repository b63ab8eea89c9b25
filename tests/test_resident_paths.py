"""What a resident meets on the way: addresses, cookies, moved pages and the pages' furniture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gvisite import create_app
from gvisite.config import site_url
from gvisite.i18n import LOCALES
from tests.conftest import app_config
from tests.fixtures_forms import REPORT_ANSWERS, form_url, submit
from tests.helpers import parse, translate

READING_PAGES = ["/sv/", "/sv/om-gvi", "/fi/tillganglighet", "/ar/nyheter", "/sv/lattlast"]
OTHER_PAGES = [
    f"/{code}/{path}"
    for code in LOCALES
    for path in ("tillganglighet", "tillganglighet/rapportera", "tillganglighet/alternativt-format")
]

# --- The site's own address ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"HOST": "127.0.0.1", "PORT": 5123}, "http://127.0.0.1:5123"),
        ({"HOST": "0.0.0.0", "PORT": 8080}, "http://127.0.0.1:8080"),  # noqa: S104
        ({"HOST": "::1", "PORT": 5000}, "http://[::1]:5000"),
        (
            {"HOST": "127.0.0.1", "PORT": 5123, "SITE_URL": "https://gvi.example.se/"},
            "https://gvi.example.se",
        ),
    ],
)
def test_the_site_address_follows_host_and_port_unless_set(settings: dict, expected: str) -> None:
    assert site_url(settings) == expected


def test_with_another_port_every_absolute_link_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `PORT=5123 make run` does: no SITE_URL, only HOST and PORT in the environment.
    monkeypatch.setenv("PORT", "5123")
    monkeypatch.setenv("HOST", "127.0.0.1")
    config = app_config(tmp_path)
    del config["SITE_URL"]
    client = create_app(config).test_client()
    for url in ("/sv/om-gvi", "/sitemap.xml", "/sv/nyheter/feed.atom", "/robots.txt"):
        body = client.get(url).get_data(as_text=True)
        assert "127.0.0.1:5123" in body, url
        assert ":5000" not in body, url


# --- Cookies: none while reading, before or after a form -----------------------------------------


def test_reading_pages_never_set_or_clear_a_cookie_even_after_a_form(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    for path in READING_PAGES:
        assert forms_client.get(path).headers.getlist("Set-Cookie") == [], path
    form = forms_client.get(form_url("sv", "report"))
    [cookie] = form.headers.getlist("Set-Cookie")
    # The form's cookie is only sent back to the forms of its locale, not to reading pages.
    assert "Path=/sv/tillganglighet/" in cookie and "HttpOnly" in cookie
    submit(forms_client, form_url("sv", "report"), REPORT_ANSWERS)
    for path in READING_PAGES:
        response = forms_client.get(path)
        assert response.headers.getlist("Set-Cookie") == [], path


def test_a_form_left_open_still_works_after_reading_other_pages(
    forms_app: Flask, forms_client: FlaskClient
) -> None:
    # Reading in another tab must not clear the form's session (and its CSRF token).
    url = form_url("sv", "report")
    token = parse(forms_client.get(url).data).select_one("input[name=csrf_token]")["value"]
    for path in READING_PAGES:
        forms_client.get(path)
    response = submit(forms_client, url, REPORT_ANSWERS, csrf_token=token)
    assert response.status_code == 303


# --- Moved pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_the_old_news_address_redirects_permanently(site_client: FlaskClient, locale: str) -> None:
    response = site_client.get(f"/{locale}/nyheter/jarfalla-inror-gvi")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/{locale}/nyheter/jarfalla-infor-gvi"
    assert site_client.get(response.headers["Location"]).status_code == 200


def test_an_old_address_inside_the_easy_to_read_folder_redirects_to_its_new_one(
    site_client: FlaskClient,
) -> None:
    response = site_client.get("/sv/lattlast/nyheter/jarfalla-inror-gvi")
    assert response.status_code == 301
    assert response.headers["Location"] == "/sv/lattlast/nyheter/jarfalla-infor-gvi"
    assert site_client.get(response.headers["Location"]).status_code == 200


# --- Near misses: one address per page -----------------------------------------------------------


def get_path(client: FlaskClient, path: str) -> Any:
    """GET a path exactly as a browser sends it (the test client reads `//x` as a host)."""
    return client.get("/", environ_overrides={"PATH_INFO": path})


@pytest.mark.parametrize(
    ("sent", "location"),
    [
        ("/SV/", "/sv/"),
        ("/Sv/om-gvi", "/sv/om-gvi"),
        ("/FI/tillganglighet", "/fi/tillganglighet"),
        ("//sv/om-gvi", "/sv/om-gvi"),
        ("/sv//om-gvi", "/sv/om-gvi"),
        ("//AR///nyheter", "/ar/nyheter"),
    ],
)
def test_a_near_miss_redirects_permanently_to_the_one_address(
    site_client: FlaskClient, sent: str, location: str
) -> None:
    response = get_path(site_client, sent)
    assert (response.status_code, response.headers.get("Location")) == (301, location)
    assert site_client.get(location).status_code == 200


def test_a_near_miss_keeps_its_query(site_client: FlaskClient) -> None:
    response = site_client.get("/SV/sok", query_string={"q": "kontakt"})
    assert (response.status_code, response.headers["Location"]) == (301, "/sv/sok?q=kontakt")


@pytest.mark.parametrize(
    "sent",
    ["//evil.example/sv/om-gvi", "//evil.example", "///evil.example/", "//\\evil.example/sv/",
     "/\\evil.example", "//sv/finns-inte", "/SV/finns-inte", "/XX/om-gvi"],
)  # fmt: skip
def test_a_near_miss_never_leads_to_another_host_or_to_nothing(
    site_client: FlaskClient, sent: str
) -> None:
    response = get_path(site_client, sent)
    assert response.status_code == 404, response.headers.get("Location")


# --- The same furniture as content pages ---------------------------------------------------------


@pytest.mark.parametrize("path", OTHER_PAGES)
def test_statement_and_forms_have_alternates_description_owner_and_date(
    site_app: Flask, site_client: FlaskClient, path: str
) -> None:
    locale = path.split("/")[1]
    rest = path.split("/", 2)[2]
    soup = parse(site_client.get(f"{path}?page=/{locale}/om-gvi").data)
    canonical = soup.select_one("link[rel=canonical]")["href"]
    assert canonical == f"http://localhost{path}"
    alternates = {
        link["hreflang"]: link["href"] for link in soup.select("link[rel=alternate][hreflang]")
    }
    assert alternates == {code: f"http://localhost/{code}/{rest}" for code in LOCALES}
    description = soup.select_one('meta[name="description"]')
    assert description is not None and description["content"].strip()
    # The language menu leads to the same page in the other language, keeping `?page=`.
    menu = soup.find("nav", attrs={"aria-label": translate(site_app, locale, "Languages")})
    for link in menu.find_all("a", hreflang=True):
        assert link["href"].startswith(f"/{link['hreflang']}/{rest}"), link
        if "tillganglighet/" in rest:
            assert link["href"].endswith(f"?page=/{locale}/om-gvi")
    facts = soup.select_one("main .page-facts")
    assert facts is not None
    assert facts.select_one("time[datetime]") is not None
    assert facts.select_one('a[href^="mailto:"]') is not None


@pytest.mark.parametrize("kind", ["report", "format"])
def test_the_public_record_notice_and_warning_come_before_the_send_button(
    site_app: Flask, site_client: FlaskClient, kind: str
) -> None:
    soup = parse(site_client.get(form_url("sv", kind)).data)
    order = [tag for tag in soup.select("main *")]
    button = soup.select_one("main form button[type=submit]")
    record = soup.find(string=lambda s: s and "allmän handling" in s)
    warning = soup.find(string=lambda s: s and "namn på någon" in s)
    assert record is not None and warning is not None
    assert order.index(record.parent) < order.index(button)
    assert order.index(warning.parent) < order.index(button)


def test_statement_links_open_the_forms_with_the_page_filled_in(site_client: FlaskClient) -> None:
    soup = parse(site_client.get("/sv/tillganglighet").data)
    for endpoint in ("rapportera", "alternativt-format"):
        links = soup.select(f'main a[href^="/sv/tillganglighet/{endpoint}"]')
        assert links and all(a["href"].endswith("?page=/sv/tillganglighet") for a in links)
        form = parse(site_client.get(links[0]["href"]).data)
        assert form.select_one("input[name=page]")["value"] == "/sv/tillganglighet"
