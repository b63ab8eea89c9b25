"""Routes: locale negotiation, canonical redirects, 404s, hostile paths, feeds and headers."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gvisite import assets
from gvisite.i18n import LOCALES
from gvisite.pages.model import Site
from tests.helpers import ATOM_NS, parse, parse_xml, sitemap_entries, translate

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def content_urls(site: Site) -> list[str]:
    """Return the address of every Markdown page in every locale."""
    return sorted(page.url for page in site.pages.values())


@pytest.mark.parametrize(
    ("accept_language", "home"),
    [
        ("sv-SE,sv;q=0.9,en;q=0.8", "/sv/"),
        ("fi-FI,fi;q=0.9", "/fi/"),
        ("en-GB,en;q=0.9", "/en/"),
        ("ar-SE,ar;q=0.9,sv;q=0.5", "/ar/"),
        ("de-DE,de;q=0.9", "/sv/"),
        ("fi;q=0.4,en;q=0.8", "/en/"),
        ("*", "/sv/"),
        (None, "/sv/"),
    ],
)
def test_root_redirects_to_the_preferred_language(
    site_client: FlaskClient, accept_language: str | None, home: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = site_client.get("/", headers=headers)
    assert response.status_code in {302, 303, 307}
    assert urlsplit(response.headers["Location"]).path == home
    assert "Accept-Language" in response.headers.get("Vary", "")
    assert site_client.get(home).status_code == 200


def test_each_page_has_one_address_and_the_trailing_slash_form_redirects(
    site_client: FlaskClient, site: Site
) -> None:
    for page in site.pages.values():
        if not page.path:
            bare = site_client.get(f"/{page.locale}")
            assert bare.status_code in {301, 308}, page.url
            assert urlsplit(bare.headers["Location"]).path == page.url
            continue
        response = site_client.get(f"{page.url}/")
        assert response.status_code in {301, 308}, page.url
        assert urlsplit(response.headers["Location"]).path == page.url
        assert site_client.get(page.url).status_code == 200


@pytest.mark.parametrize("locale", LOCALES)
def test_not_found_page_is_in_the_visitors_language(
    site_app: Flask, site_client: FlaskClient, locale: str
) -> None:
    response = site_client.get(f"/{locale}/finns-inte")
    assert response.status_code == 404
    soup = parse(response.data)
    assert soup.html["lang"] == locale
    assert soup.html["dir"] == LOCALES[locale].direction
    assert soup.h1.get_text(strip=True) == translate(site_app, locale, "Page not found")
    main_links = [a["href"] for a in soup.find("main").find_all("a", href=True)]
    assert f"/{locale}/" in main_links
    assert len(main_links) > 1, "a 404 should offer more than the home page"


def test_unknown_locale_404_follows_the_browser_language(site_client: FlaskClient) -> None:
    response = site_client.get("/de/om-gvi", headers={"Accept-Language": "fi"})
    assert response.status_code == 404
    soup = parse(response.data)
    assert soup.html["lang"] == "fi"
    assert "/fi/" in [a["href"] for a in soup.find("main").find_all("a", href=True)]


HOSTILE_PATHS = [
    "/sv/../../etc/passwd",
    "/sv/..%2f..%2fetc%2fpasswd",
    "/sv/%2e%2e/%2e%2e/etc/passwd",
    "/sv/%2E%2E%2F%2E%2E%2Fpyproject.toml",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/sv/om-gvi/..",
    "/sv/....//....//etc/passwd",
    "/sv/..%5c..%5cpyproject.toml",
    "/sv/..\\..\\pyproject.toml",
    "/sv/%5c%5cevil.example",
    "/sv/om-gvi%00.md",
    "/sv/%00",
    "/sv/om-gvi%00",
    "/sv/index.md",
    "/sv/om-gvi.md",
    "/sv/index",
    "/sv/.git/config",
    "/site.yaml",
    "/sv/site.yaml",
    "/sv/%c0%ae%c0%ae/etc/passwd",
    "/sv/%ff%fe",
    "/sv/" + "a" * 10_000,
    "/sv/" + "a/" * 5_000,
    "/" + "x" * 10_000,
    "/static/" + "a" * 10_000,
    "/static/../../pyproject.toml",
    "/static/%2e%2e/%2e%2e/pyproject.toml",
    "/static/..%2f__init__.py",
    "/static/%00",
    "/xx/",
    "/de/om-gvi",
    "/SV/finns-inte",  # "/SV/" itself is a near miss: a redirect to /sv/ (test_resident_paths)
    "/sv-SE/",
    "/s/",
    "/svv/",
    "/sv%00/",
    "/en/lattlast/../../sv",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=lambda p: p[:40])
def test_hostile_path_is_refused_without_error_or_file_contents(
    site_client: FlaskClient, path: str
) -> None:
    with site_client.get(path) as response:
        body = response.get_data(as_text=True)
        assert response.status_code in {400, 404}, response.status_code
    assert "root:" not in body
    assert "[build-system]" not in body
    assert "quick_exit_url" not in body
    assert "title:" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/sv/../../etc/passwd",
        "/sv/%2e%2e/%2e%2e/etc/passwd",
        "/sv/om-gvi%00",
        "/sv/..\\..\\pyproject.toml",
        "/static/../../pyproject.toml",
        "/sv/" + "a" * 10_000,
    ],
    ids=lambda p: p[:40],
)
def test_hostile_path_over_real_http(live_server, path: str) -> None:
    """The raw request line, as a real server sees it: no client-side path clean-up."""
    host, port = urlsplit(live_server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    assert response.status in {400, 404, 414}
    assert "root:" not in body
    assert "[build-system]" not in body


def test_sitemap_lists_every_page_with_its_language_versions(
    site_client: FlaskClient, site: Site
) -> None:
    response = site_client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.mimetype in {"application/xml", "text/xml"}
    entries = sitemap_entries(response.data)
    base = "http://localhost"
    for page in site.pages.values():
        loc = f"{base}{page.url}"
        assert loc in entries, f"{page.url} is missing from the sitemap"
        expected = {
            code: f"{base}{other.url}" for code, other in site.alternates(page.path).items()
        }
        assert entries[loc] == expected, page.url
    assert len(entries) == len(set(entries)), "a page is listed twice"
    for loc in entries:
        assert site_client.get(urlsplit(loc).path).status_code == 200, loc


def test_robots_txt_allows_the_site_and_points_to_the_sitemap(site_client: FlaskClient) -> None:
    response = site_client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    fields = [line.split(":", 1) for line in response.get_data(as_text=True).splitlines() if line]
    rules = [(name.strip().lower(), value.strip()) for name, value in fields]
    assert ("user-agent", "*") in rules
    assert ("disallow", "/") not in rules
    assert ("sitemap", "http://localhost/sitemap.xml") in rules


@pytest.mark.parametrize("locale", LOCALES)
def test_atom_feed_lists_the_news_of_its_language(
    site_client: FlaskClient, site: Site, locale: str
) -> None:
    response = site_client.get(f"/{locale}/nyheter/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = parse_xml(response.data)
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.get(XML_LANG) == locale
    assert feed.findtext("a:title", namespaces=ATOM_NS).strip()
    assert feed.findtext("a:updated", namespaces=ATOM_NS)
    entries = feed.findall("a:entry", ATOM_NS)
    links = [e.find("a:link", ATOM_NS).get("href") for e in entries]
    assert links == [f"http://localhost{item.url}" for item in site.news(locale)]
    for entry, item in zip(entries, site.news(locale), strict=True):
        assert entry.findtext("a:title", namespaces=ATOM_NS) == item.title
        assert entry.findtext("a:published", namespaces=ATOM_NS).startswith(
            item.published.isoformat()
        )


def csp_directives(value: str) -> dict[str, list[str]]:
    """Split a Content-Security-Policy header into its directives."""
    directives = {}
    for part in value.split(";"):
        if words := part.split():
            directives[words[0].lower()] = words[1:]
    return directives


HEADER_URLS = [
    "/sv/",
    "/ar/",
    "/sv/om-gvi",
    "/sv/finns-inte",
    "/xx/",
    "/sitemap.xml",
    "/",
    "static",
]


@pytest.mark.parametrize("url", HEADER_URLS)
def test_security_headers_on_every_kind_of_response(site_client: FlaskClient, url: str) -> None:
    if url == "static":
        url = parse(site_client.get("/sv/").data).find("link", rel="stylesheet")["href"]
    with site_client.get(url) as response:
        headers = response.headers
    csp = csp_directives(headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp.get("object-src", ["'none'"]) == ["'none'"]
    for directive, sources in csp.items():
        assert "*" not in sources and "http:" not in sources, directive
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    }
    permissions = headers["Permissions-Policy"].replace(" ", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions.split(",")


def test_reading_pages_sets_no_cookie(site_client: FlaskClient, site: Site) -> None:
    for url in ["/", "/sv/finns-inte", *content_urls(site)]:
        response = site_client.get(url)
        assert "Set-Cookie" not in response.headers, url
    assert site_client.get_cookie("session") is None


def static_urls(site_client: FlaskClient) -> list[str]:
    """Return the stylesheet and script addresses the home page links to."""
    soup = parse(site_client.get("/sv/").data)
    styles = [link["href"] for link in soup.find_all("link", rel="stylesheet")]
    scripts = [script["src"] for script in soup.find_all("script", src=True)]
    return styles + scripts


def test_static_files_are_fingerprinted_and_cached_for_a_year(site_client: FlaskClient) -> None:
    urls = static_urls(site_client)
    assert len(urls) >= 2, "the stylesheet and the script"
    for url in urls:
        parts = urlsplit(url)
        assert parts.path.startswith("/static/")
        assert parts.query.startswith("v=") and len(parts.query) > 8, url
        with site_client.get(url) as response:
            assert response.status_code == 200
            assert response.cache_control.max_age == 365 * 24 * 3600
            assert response.cache_control.immutable
            assert response.cache_control.public
            # "no-cache" would make browsers ask again every time, whatever the rest says.
            assert not response.cache_control.no_cache, response.headers["Cache-Control"]


def test_a_stale_fingerprint_is_not_cached_for_long(site_client: FlaskClient) -> None:
    path = urlsplit(static_urls(site_client)[0]).path
    for url in (path, f"{path}?v=0123456789ab"):
        with site_client.get(url) as response:
            assert response.status_code == 200
            assert not response.cache_control.immutable
            assert (response.cache_control.max_age or 0) <= 3600
            assert not response.cache_control.no_cache, response.headers["Cache-Control"]


def test_a_changed_file_gets_a_new_address(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    (folder / "css").mkdir(parents=True)
    (folder / "css" / "site.css").write_text("body { color: black }")
    first = assets.fingerprints(folder)
    (folder / "css" / "site.css").write_text("body { color: navy }")
    assert assets.fingerprints(folder)["css/site.css"] != first["css/site.css"]


@pytest.mark.parametrize(
    "host",
    ["a" * 64 + ".example", "exa mple.se", "gvi.se@evil.example", "gvi.se/x", "ä.se", "x" * 300],
)
def test_a_host_header_that_is_no_host_name_is_a_400_with_the_security_headers(
    site_client: FlaskClient, host: str
) -> None:
    """Flask cannot build links for such a host, so even the error page would have failed."""
    for url in ("/sv/", "/finns-inte", "/sv/tillganglighet/rapportera", "/staff/login"):
        response = site_client.get(url, headers={"Host": host})
        assert response.status_code == 400, (url, host)
        assert response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert parse(response.data).h1.get_text(strip=True) == "Felaktig adress (400)"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5123", "[::1]:5000", "x" * 63 + ".se"])
def test_every_real_host_name_is_served(site_client: FlaskClient, host: str) -> None:
    assert site_client.get("/sv/", headers={"Host": host}).status_code == 200
