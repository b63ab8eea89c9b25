"""nginx in front of the app, for real: what `flask deploy nginx` writes is what residents get.

One gunicorn app server (2 workers) behind nginx on loopback, over TLS with a certificate openssl
made. nginx, openssl and gunicorn are required: the tests fail in CI where one is missing.
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gvisite.formats.catalogue import ALL_FILES
from gvisite.formats.store import current_digest, store
from gvisite.forms import BODY_BYTES_CEILING
from gvisite.security import HEADERS
from tests.conftest import close_database, make_app
from tests.deploy.fronted import (
    CACHE_SECONDS,
    SERVER_NAME,
    Answer,
    Fronted,
    fronted_site,
    plain_request,
)
from tests.fixtures_forms import REPORT_ANSWERS
from tests.fixtures_servers import wait_until
from tests.helpers import assert_no_axe_violations, parse, watched_context

HSTS = "Strict-Transport-Security"
LIMIT = 2  # accepted submissions per client address and hour, in this module's app
FORM = "/sv/tillganglighet/rapportera"


@pytest.fixture(scope="module")
def site() -> Iterator[Fronted]:
    """One app server behind nginx, for the whole module."""
    with fronted_site(servers=1, SUBMISSION_RATE_LIMIT=f"{LIMIT} per hour") as fronted:
        yield fronted


def assert_security_headers(answer: Answer, hsts: bool = True, referrer: str = "") -> None:
    """Assert the app's security headers, each exactly once (and HSTS over HTTPS).

    `referrer` is a page's own Referrer-Policy (a receipt's is no-referrer), if it sets one."""
    expected = {**HEADERS, **({"Referrer-Policy": referrer} if referrer else {})}
    for name, value in expected.items():
        assert answer.all(name) == [value], name
    assert answer.all(HSTS) == (["max-age=31536000"] if hsts else [])


def test_nginx_accepts_the_written_configuration(site: Fronted) -> None:
    checked = site.nginx.check()
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    # pid, logs and the working folders are inside the output folder; daemon is left to -g.
    config = (site.nginx.folder / "nginx.conf").read_text()
    assert "daemon" not in config.replace("daemon off;", "")
    assert (site.nginx.folder / "nginx.pid").exists()
    assert (site.nginx.folder / "logs" / "access.log").exists()


def test_plain_http_redirects_to_the_same_address_over_https(site: Fronted) -> None:
    answer = plain_request(site.http, "/sv/om-gvi?a=1")
    assert answer.status == 301
    assert answer.headers["Location"] == f"{site.url}/sv/om-gvi?a=1"
    # Browsers ignore HSTS over plain HTTP, and the spec says not to send it there.
    assert_security_headers(answer, hsts=False)
    # Another host name still goes to the site's own name, never to the one asked for.
    assert plain_request(site.http, "/", host="evil.example").headers["Location"] == site.url + "/"


def tls_version(site: Fronted, version: ssl.TLSVersion) -> str:
    """Connect with only one TLS version offered; return the version agreed (or raise)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(site.cert)
    with warnings.catch_warnings():  # Python deprecates naming the old versions at all
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    context.set_ciphers("ALL:@SECLEVEL=0")  # our side would speak even the old ones
    raw = socket.create_connection(("127.0.0.1", site.https), timeout=10)
    with raw, context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
        return str(tls.version())


def test_only_tls_1_2_and_newer(site: Fronted) -> None:
    assert tls_version(site, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert tls_version(site, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            tls_version(site, old)


def test_public_pages_come_from_the_cache_with_the_apps_headers(site: Fronted) -> None:
    client = site.client()
    first = client.get("/sv/om-gvi")
    again = client.get("/sv/om-gvi")
    assert first.status == again.status == 200
    assert again.headers["X-Cache-Status"] == "HIT"
    assert again.body == first.body
    assert_security_headers(again)
    assert "Set-Cookie" not in again.headers


@pytest.mark.parametrize(
    ("browsers", "encoding"),
    [
        (("gzip, deflate, br, zstd", "br, gzip", "deflate, gzip, br"), "br"),
        (("gzip, deflate", "x-gzip"), "gzip"),
        (("", "deflate", "identity"), None),
        (("gzip;q=0, br;q=0", "br;q=0"), None),  # weights: nginx reads them; q=0 refuses
        (("gzip;q=0.9, br;q=1.0", "br;q=0.5, gzip"), "br"),
    ],
)
def test_one_cached_copy_per_encoding_whatever_the_browser_writes(
    site: Fronted, browsers: tuple[str, ...], encoding: str | None
) -> None:
    """Browsers write Accept-Encoding many ways; each gets the right body, from one copy."""
    path = f"/fi/om-gvi?encoding-test={len(browsers)}-{encoding}"  # the query changes no copy
    client = site.client()
    answers = []
    for browser in browsers:
        answers.append(client.request("GET", path, headers={"Accept-Encoding": browser}))
        answers.append(client.request("GET", path, headers={"Accept-Encoding": browser}))
    for answer in answers:
        assert answer.status == 200
        assert answer.headers.get("Content-Encoding") == encoding
        assert "Accept-Encoding" in answer.headers["Vary"]  # for browsers and other caches
        assert answer.body == answers[0].body
    statuses = [answer.headers["X-Cache-Status"] for answer in answers]
    assert statuses[1:] == ["HIT"] * (len(answers) - 1), statuses


def test_forms_status_pages_and_staff_are_never_cached(site: Fronted) -> None:
    client = site.client()
    searches = ("/sv/sok?q=st%C3%B6d", "/ar/sok")  # a query may name someone: no copy kept
    for path in (
        FORM,
        "/fi/tillganglighet/alternativt-format",
        "/staff/login",
        "/sv/arende/x",
        *searches,
    ):
        for _ in range(2):
            answer = client.get(path)
            assert "X-Cache-Status" not in answer.headers, path
    # The form's session cookie comes through, scoped to the form's folder.
    cookies = site.client().get(FORM).all("Set-Cookie")
    assert any("Path=/sv/tillganglighet/" in cookie for cookie in cookies), cookies


def test_the_home_address_follows_each_browsers_language(site: Fronted) -> None:
    client = site.client()
    assert client.get("/", **{"Accept-Language": "fi"}).headers["Location"].endswith("/fi/")
    assert client.get("/", **{"Accept-Language": "en"}).headers["Location"].endswith("/en/")
    assert client.get("/", **{"Accept-Language": "ar"}).headers["Location"].endswith("/ar/")


def test_another_host_name_gets_nothing(site: Fronted) -> None:
    answer = site.client().get("/sv/", Host="evil.example")
    assert answer.status == 421
    assert_security_headers(answer)


def test_a_submission_through_nginx_is_stored_and_acknowledged(site: Fronted) -> None:
    client = site.client("127.0.0.9")
    sent = client.submit(FORM, {**REPORT_ANSWERS, "problem": "Genom nginx: fokus syns inte."})
    assert sent.status == 303, sent.text[:2000]
    receipt = client.get(sent.headers["Location"].removeprefix(site.url))
    assert receipt.status == 200
    assert parse(receipt.body).select_one(".reference") is not None
    assert "X-Cache-Status" not in receipt.headers
    # The receipt holds the status link's secret: no page it links to may learn its address.
    assert_security_headers(receipt, referrer="no-referrer")


def test_a_submission_without_its_token_is_refused(site: Fronted) -> None:
    client = site.client("127.0.0.10")
    sent = client.submit(FORM, {**REPORT_ANSWERS, "csrf_token": "forged"})
    assert sent.status == 200  # shown again, not stored
    assert "Location" not in sent.headers


def test_the_rate_limit_counts_each_residents_own_address(site: Fronted) -> None:
    answers = {**REPORT_ANSWERS, "problem": "Räknas per adress: kontrasten är för låg."}
    first = site.client("127.0.0.2")
    statuses = []
    for n in range(LIMIT + 1):
        # A forged X-Forwarded-For must not make a new resident of the same client.
        statuses.append(first.submit(FORM, answers, **{"X-Forwarded-For": f"10.0.0.{n}"}).status)
    assert statuses == [303] * LIMIT + [429]
    # Someone else, on another address, is not held back by the first one's submissions.
    assert site.client("127.0.0.3").submit(FORM, answers).status == 303


def test_a_too_large_form_gets_the_apps_page_in_its_language(site: Fronted) -> None:
    body = b"problem=" + b"x" * BODY_BYTES_CEILING  # over any limit the forms' fields derive
    answer = site.client().request(
        "POST", "/fi/tillganglighet/rapportera", body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert answer.status == 413
    assert parse(answer.body).html["lang"] == "fi"
    assert_security_headers(answer)


def test_public_pages_stay_up_while_the_app_is_down(site: Fronted) -> None:
    client = site.client()
    warm = {path: client.get(path) for path in ("/sv/", "/ar/om-gvi", "/sitemap.xml")}
    site.apps[0].stop()
    try:
        time.sleep(CACHE_SECONDS + 1)  # every page is stale now
        for path, before in warm.items():
            answer = client.get(path)
            assert answer.status == 200, path
            assert answer.body == before.body
            assert answer.headers["X-Cache-Status"] in {"STALE", "UPDATING"}
            assert_security_headers(answer)
    finally:
        site.apps[0].start()


DOWN_PAGES = {  # path: (the locale of its 503 page, that page's heading)
    "/fi/tillganglighet/rapportera": ("fi", "Palvelu ei ole juuri nyt käytettävissä"),
    "/ar/tillganglighet/alternativt-format": ("ar", "الخدمة غير متاحة الآن"),
    "/en/arende/TG-2026-ABCDEF": ("en", "The service is not available right now"),
    "/staff/login": ("sv", "Tjänsten fungerar inte just nu"),
    "/en/a-page-never-read": ("en", "The service is not available right now"),
}


def test_while_the_app_is_down_nginx_answers_503_in_the_pages_language(
    site: Fronted, browser: Any
) -> None:
    client = site.client()
    site.apps[0].stop()
    try:
        # What a resident sees: the site's page, styled, accessible, in right-to-left Arabic too.
        for path in ("/ar/tillganglighet/rapportera", "/staff/login"):
            with watched_context(browser, site.url, ignore_https_errors=True) as (context, log):
                tab = context.new_page()
                assert tab.goto(site.url + path).status == 503
                assert tab.evaluate("getComputedStyle(document.body).margin") != "8px"
                assert_no_axe_violations(tab)
                assert not log.foreign
        for path, (locale, heading) in DOWN_PAGES.items():
            for method in ("GET", "POST"):
                answer = client.request(method, path, b"a=b", {"Content-Type": "text/plain"})
                assert answer.status == 503, (method, path)
                assert answer.headers["Retry-After"] == "60"
                assert answer.headers["Cache-Control"] == "no-store"
                page = parse(answer.body)
                assert page.html["lang"] == locale, path
                assert page.h1.get_text(strip=True) == heading
                assert_security_headers(answer)
        # Its stylesheet comes from nginx too, so the page looks like the site.
        stylesheet = page.select_one('link[rel="stylesheet"]')["href"]
        assert client.get(stylesheet).status == 200
        # The home address cannot ask the app for the browser's language: Swedish, then.
        home = client.get("/", **{"Accept-Language": "fi"})
        assert (home.status, home.headers["Location"]) == (302, f"{site.url}/sv/")
        assert_security_headers(home)
    finally:
        site.apps[0].start()
    assert client.get("/fi/tillganglighet/rapportera").status == 200


def built_files(
    site: Fronted, pages: tuple[tuple[str, str], ...] = (("sv", "om-gvi"), ("fi", "index"))
) -> list[tuple[str, bytes]]:
    """Put files of every format for pages into FORMATS_DIR, as the build records them."""
    instance = Path(site.env["INSTANCE_PATH"]).parent / "digest-instance"  # removed with the site
    app = make_app(instance, SITE_URL=site.env["SITE_URL"], FORMATS_DIR=site.env["FORMATS_DIR"])
    paths = []
    try:
        with app.test_request_context("/"):
            for locale, name in pages:
                entries = {}
                for fmt in ALL_FILES.values():  # the recordings' timings too
                    data = f"{fmt.key} of {locale}/{name}".encode()
                    target = store().file(locale, name, fmt)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.parent.chmod(0o755)
                    target.write_bytes(data)
                    digest = current_digest(locale, name)
                    entries[fmt.key] = {"content": digest, "size": len(data), "etag": fmt.key}
                    paths.append((f"/formats/{locale}/{name}{fmt.suffix}", data))
                store().write_manifest(locale, name, entries)
    finally:
        close_database(app)
    return paths


def test_format_files_are_served_by_nginx_with_the_apps_names_and_types(site: Fronted) -> None:
    files = built_files(site)
    client = site.client()
    app = site.apps[0]
    asked_before = len(app.requests())
    for path, data in files:
        answer = client.get(path)
        assert answer.status == 200, path
        assert answer.body == data
        from_app = plain_request(app.port, path)
        assert from_app.status == 200, path
        for name in ("Content-Type", "Content-Disposition", "Cache-Control", "Link"):
            assert answer.all(name) == from_app.all(name), (path, name)
        assert_security_headers(answer)
    # nginx answered them itself: the app saw only the requests made to it directly (gunicorn
    # logs each just after answering, so wait for the last line, then for any stragglers).
    assert wait_until(lambda: len(app.requests()) - asked_before >= len(files), seconds=10)
    time.sleep(0.5)
    assert len(app.requests()) - asked_before == len(files)
    names = {path: client.get(path).headers["Content-Disposition"] for path, _ in files}
    assert names["/formats/sv/om-gvi.storstil.pdf"] == "inline; filename=om-gvi-storstil.pdf"
    assert names["/formats/fi/index.brf"] == "attachment; filename=start-fi.brf"
    # The slow recording: its own name beside the normal one's, played as audio, not confused
    # with `.mp3` (a page's name has no dot, so each suffix has one location).
    assert names["/formats/fi/index.langsam.mp3"] == "inline; filename=start-fi-langsam.mp3"
    assert names["/formats/fi/index.mp3"] == "inline; filename=start-fi.mp3"
    slow = client.get("/formats/sv/om-gvi.langsam.mp3")
    assert slow.headers["Content-Type"] == "audio/mpeg"
    assert slow.body == b"mp3-slow of sv/om-gvi"
    # The recordings' timings, which the read-along loads: text/vtt, shown, each its own.
    for suffix, key in ((".vtt", "vtt"), (".langsam.vtt", "vtt-slow")):
        timings = client.get(f"/formats/sv/om-gvi{suffix}")
        assert timings.headers["Content-Type"] == "text/vtt; charset=utf-8"
        assert timings.body == f"{key} of sv/om-gvi".encode()
        stem = suffix.replace(".langsam", "-langsam")
        assert names[f"/formats/sv/om-gvi{suffix}"] == f"inline; filename=om-gvi{stem}"


def test_a_format_file_nginx_does_not_know_goes_to_the_app(site: Fronted) -> None:
    answer = site.client().get("/formats/sv/no-such-page.storstil.pdf")
    assert answer.status == 404
    assert parse(answer.body).html["lang"] == "sv"  # the app's own page, not nginx's


def test_static_files_come_from_nginx_with_the_apps_headers(site: Fronted) -> None:
    client = site.client()
    page = parse(client.get("/sv/").body)
    for link in page.select('link[rel="stylesheet"], script[src]'):
        url = link.get("href") or link["src"]
        answer = client.get(url)
        from_app = plain_request(site.apps[0].port, url)
        assert answer.status == from_app.status == 200
        assert answer.body == from_app.body
        for name in ("Content-Type", "Cache-Control", "Content-Disposition"):
            assert answer.all(name) == from_app.all(name), (url, name)
        assert_security_headers(answer)


def test_the_cache_asks_the_app_again_after_a_few_seconds(site: Fronted) -> None:
    client = site.client()
    client.get("/en/om-gvi")
    assert client.get("/en/om-gvi").headers["X-Cache-Status"] == "HIT"
    app = site.apps[0]
    asked = len(app.requests())
    time.sleep(CACHE_SECONDS + 0.5)
    # A copy refreshed in the background during the first requests is a few seconds younger
    # than they are (a busy machine): it must expire within one more lifetime.
    statuses = []

    def expired() -> bool:
        statuses.append(client.get("/en/om-gvi").headers["X-Cache-Status"])
        return statuses[-1] in {"STALE", "EXPIRED", "REVALIDATED"}

    assert wait_until(expired, seconds=CACHE_SECONDS + 5), statuses

    # Another page's background refresh, started by an earlier test, may land here too.
    def asked_again() -> bool:
        return any(request[1] == "/en/om-gvi" for request in app.requests()[asked:])

    assert wait_until(asked_again, seconds=10), app.requests()[asked:]


def test_a_changed_page_reaches_readers_through_the_cache(site: Fronted) -> None:
    """Its recordings built, a cached page shows its players once nginx has asked again."""
    client = site.client()
    client.get("/en/om-gvi")
    before = client.get("/en/om-gvi")
    assert before.headers["X-Cache-Status"] == "HIT"
    assert b"<audio" not in before.body
    built_files(site, (("en", "om-gvi"),))
    answers: list[Answer] = []

    def players_shown() -> bool:
        answers.append(client.get("/en/om-gvi"))
        return b"<audio" in answers[-1].body

    assert wait_until(players_shown, seconds=CACHE_SECONDS * 3 + 10), [
        a.headers.get("X-Cache-Status") for a in answers
    ]
    # And the new copy is what the cache now gives, not the old one kept open.
    assert b"<audio" in client.get("/en/om-gvi").body
