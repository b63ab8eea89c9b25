"""Public pages from pre-built bytes: the same answer as the app, rendered once, kept current."""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import brotli
import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gvisite import create_app
from gvisite.extensions import db
from gvisite.handling_snapshot import recompute_handling
from gvisite.i18n import LOCALES
from gvisite.models import PublishedProblem
from gvisite.pages.model import Site
from gvisite.prebuilt.kept import accepted_codings, prepare
from gvisite.prebuilt.layer import PrebuiltPages
from gvisite.prebuilt.stamp import EXTENSION, stamp_file
from tests.conftest import app_config, close_database
from tests.helpers import parse
from tests.pages.test_views import HOSTILE_PATHS

OURS = {"etag", "last-modified", "cache-control", "vary"}  # what the layer adds to the app's


def public_urls(site: Site) -> list[str]:
    """Return every page the layer keeps: content, statements, feeds, sitemap, robots.txt."""
    pages = sorted(page.url for page in site.pages.values())
    statements = [f"/{code}/tillganglighet{end}" for code in LOCALES for end in ("", ".json")]
    contact = [f"/{code}/kontakt" for code in LOCALES]
    feeds = [f"/{code}/nyheter/feed.atom" for code in LOCALES]
    return [*pages, *statements, *contact, *feeds, "/sitemap.xml", "/robots.txt"]


def layer(app: Flask) -> PrebuiltPages:
    """Return the app's pre-built pages."""
    return app.extensions[EXTENSION]


def kept_paths(app: Flask) -> set[str]:
    """Return the paths the app keeps now."""
    return set(layer(app).current().pages)


def flask_answer(app: Flask, path: str, **builder: Any) -> tuple[str, Headers, bytes]:
    """Return what Flask itself answers, past the pre-built pages."""
    environ = EnvironBuilder(path=path, base_url="http://localhost", **builder).get_environ()
    body, status, headers = run_wsgi_app(layer(app).app, environ, buffered=True)
    return status, Headers(headers), b"".join(body)


@contextmanager
def rendered(app: Flask) -> Iterator[list[str]]:
    """Record the names of the templates the app renders."""
    names: list[str] = []

    def record(_sender: Flask, template: Any, **_extra: Any) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


@contextmanager
def queries(app: Flask) -> Iterator[list[str]]:
    """Record the SQL statements the app sends."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- The same answer as the app -------------------------------------------------------------


def test_every_public_page_is_the_apps_own_bytes_and_headers(
    site_app: Flask, site_client: FlaskClient, site: Site
) -> None:
    for url in public_urls(site):
        status, headers, body = flask_answer(site_app, url)
        for _ in range(2):  # built, then from memory
            response = site_client.get(url)
            assert response.status == status == "200 OK", url
            assert response.data == body, url
            ours = {name.lower() for name in response.headers.keys()}  # noqa: SIM118
            assert ours - {name.lower() for name in headers.keys()} == OURS, url  # noqa: SIM118
            for name, value in headers.items():
                if name.lower() != "vary":
                    assert response.headers[name] == value, (url, name)
            assert response.headers["Cache-Control"] == "public, no-cache"
            assert response.headers["Vary"] == "Accept-Encoding"
            assert response.headers["ETag"].startswith('"') and len(response.headers["ETag"]) > 20
        assert url in kept_paths(site_app)


def test_the_second_request_renders_no_template_and_reads_no_database(
    app: Flask, client: FlaskClient
) -> None:
    first: dict[str, bytes] = {}
    with rendered(app) as names, queries(app) as statements:
        for url in ("/sv/", "/ar/om-gvi", "/sv/tillganglighet", "/sv/nyheter", "/sitemap.xml"):
            first[url] = client.get(url).data
    assert "statement.html" in names and any("published_problems" in s for s in statements)
    with rendered(app) as names, queries(app) as statements:
        for url, body in first.items():
            for _ in range(3):
                assert client.get(url).data == body
    assert names == []
    assert statements == []


def test_a_page_asked_with_a_query_string_or_head_first_is_kept_as_the_page_itself(
    app: Flask, client: FlaskClient
) -> None:
    _, _, body = flask_answer(app, "/sv/tillganglighet")
    head = client.head("/sv/tillganglighet?page=/sv/om-gvi")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(body))
    with rendered(app) as names:
        for query in ("", "?page=/sv/om-gvi", "?utm_source=news", "?a=%ff%00", "?" + "x" * 5000):
            response = client.get(f"/sv/tillganglighet{query}")
            assert response.status_code == 200 and response.data == body, query
            assert response.headers["ETag"] == head.headers["ETag"]
    assert names == []
    assert kept_paths(app) == {"/sv/tillganglighet"}


def test_search_results_are_never_kept(app: Flask, client: FlaskClient) -> None:
    """The search page depends on its query: each query gets its own results, none is kept."""
    found = client.get("/sv/sok", query_string={"q": "stöd"}).get_data(as_text=True)
    nothing = client.get("/sv/sok", query_string={"q": "xylofonorkester"}).get_data(as_text=True)
    assert 'class="search-results"' in found and 'class="search-results"' not in nothing
    assert not any(path.endswith("/sok") for path in kept_paths(app))


def test_head_sends_the_headers_of_get_without_the_body(site_client: FlaskClient) -> None:
    for encoding in ("", "gzip", "br"):
        get = site_client.get("/fi/om-gvi", headers={"Accept-Encoding": encoding})
        head = site_client.head("/fi/om-gvi", headers={"Accept-Encoding": encoding})
        assert head.status_code == 200 and head.data == b""
        assert sorted(head.headers.items()) == sorted(get.headers.items())
        assert int(head.headers["Content-Length"]) == len(get.data)


# --- Conditional requests -------------------------------------------------------------------


def test_a_current_copy_gets_304_not_modified(site_client: FlaskClient) -> None:
    page = site_client.get("/en/om-gvi")
    etag = page.headers["ETag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        for method in (site_client.get, site_client.head):
            response = method("/en/om-gvi", headers={"If-None-Match": header})
            assert response.status_code == 304, header
            assert response.data == b""
            assert response.headers["ETag"] == etag
            assert response.headers["Cache-Control"] == page.headers["Cache-Control"]
            assert response.headers["Vary"] == "Accept-Encoding"
            assert response.headers["Content-Security-Policy"]
            assert "Content-Length" not in response.headers
    stale = site_client.get("/en/om-gvi", headers={"If-None-Match": '"0123456789abcdef"'})
    assert stale.status_code == 200 and stale.data == page.data


def test_if_modified_since_is_honoured_once_the_date_can_be_trusted(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path / "instance"))
    try:
        time.sleep(1.1)  # Last-Modified is a whole second: a page made within it could change
        client = app.test_client()
        page = client.get("/sv/om-gvi")
        since = page.headers["Last-Modified"]
        assert client.get("/sv/om-gvi", headers={"If-Modified-Since": since}).status_code == 304
        earlier = "Mon, 01 Jan 2024 00:00:00 GMT"
        assert client.get("/sv/om-gvi", headers={"If-Modified-Since": earlier}).status_code == 200
        # If-None-Match decides when both are sent: a different ETag means a new copy.
        both = {"If-Modified-Since": since, "If-None-Match": '"other"'}
        assert client.get("/sv/om-gvi", headers=both).status_code == 200
        junk = client.get("/sv/om-gvi", headers={"If-Modified-Since": "yesterday"})
        assert junk.status_code == 200 and junk.data == page.data
    finally:
        close_database(app)


# --- Compression ----------------------------------------------------------------------------


def test_gzip_and_brotli_decode_to_the_same_bytes_with_their_own_etags(
    site_client: FlaskClient,
) -> None:
    for url in ("/sv/", "/ar/", "/sv/tillganglighet", "/sitemap.xml", "/sv/nyheter/feed.atom"):
        plain = site_client.get(url)
        gzipped = site_client.get(url, headers={"Accept-Encoding": "gzip"})
        brotlied = site_client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert gzipped.headers["Content-Encoding"] == "gzip"
        assert brotlied.headers["Content-Encoding"] == "br"
        assert gzip.decompress(gzipped.data) == plain.data
        assert brotli.decompress(brotlied.data) == plain.data
        assert len(brotlied.data) < len(gzipped.data) < len(plain.data) / 2
        etags = {r.headers["ETag"] for r in (plain, gzipped, brotlied)}
        assert len(etags) == 3, url
        for response in (plain, gzipped, brotlied):
            assert response.headers["Vary"] == "Accept-Encoding"
            assert int(response.headers["Content-Length"]) == len(response.data)
        # A copy is current only in its own encoding.
        again = {"Accept-Encoding": "br", "If-None-Match": gzipped.headers["ETag"]}
        assert site_client.get(url, headers=again).status_code == 200
        again["If-None-Match"] = brotlied.headers["ETag"]
        assert site_client.get(url, headers=again).status_code == 304


def test_a_body_compression_would_not_shrink_is_sent_as_it_is() -> None:
    noise = os.urandom(4000)
    kept = prepare("200 OK", [("Content-Type", "application/octet-stream")], noise, 0)
    assert kept.variant("br") is None and kept.variant("gzip") is None
    assert kept.identity.body == noise


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", ("identity",)),
        ("gzip", ("gzip", "identity")),
        ("gzip, deflate, br, zstd", ("br", "gzip", "identity")),
        ("br;q=0.5, gzip;q=1.0", ("gzip", "br", "identity")),
        ("BR; Q=0.9, GZip; q=0.8", ("br", "gzip", "identity")),
        ("br;q=0, gzip;q=0", ("identity",)),
        ("x-gzip", ("gzip", "identity")),
        ("*", ("br", "gzip", "identity")),
        ("*;q=0.5, br;q=0", ("gzip", "identity")),
        ("identity;q=0, gzip", ("gzip",)),
        ("*;q=0", ("identity",)),  # nothing acceptable: unencoded beats a 406
        ("gzip;q=nonsense, br", ("br", "identity")),
        ("deflate", ("identity",)),
        (",,;;,q=1", ("identity",)),
    ],
)
def test_the_encoding_is_chosen_by_accept_encoding_and_its_weights(
    header: str, expected: tuple[str, ...]
) -> None:
    assert accepted_codings(header) == expected


def test_the_weights_choose_the_encoding_actually_sent(site_client: FlaskClient) -> None:
    cases = {
        "gzip;q=1, br;q=0.5": "gzip",
        "br;q=0": None,
        "gzip, br;q=0": "gzip",
        "*": "br",
        "identity": None,
    }
    for header, coding in cases.items():
        response = site_client.get("/sv/om-gvi", headers={"Accept-Encoding": header})
        assert response.headers.get("Content-Encoding") == coding, header


# --- Kept current ---------------------------------------------------------------------------


def published_problem_shown(client: FlaskClient, text: str, locale: str = "sv") -> bool:
    """Tell whether the statement in a locale lists a problem."""
    page = parse(client.get(f"/{locale}/tillganglighet").data)
    return text in page.get_text(" ")


def test_a_problem_published_through_one_app_is_on_the_statement_the_other_serves(
    tmp_path: Path, database_url: str
) -> None:
    instance = tmp_path / "shared-instance"
    config = app_config(instance, DATABASE_URL=database_url)
    writer, reader = create_app(config), create_app(config)
    with writer.app_context():
        db.create_all()
    # The tables came after the apps: make the handling figures now, as a first case or the
    # next day would (until then no statement is kept: it shows no figures yet).
    recompute_handling(writer)
    text = "Sökrutan saknar en synlig etikett."
    try:
        client = reader.test_client()
        assert not published_problem_shown(client, text)
        with rendered(reader) as names:
            assert not published_problem_shown(client, text)  # kept
        assert names == []
        with writer.app_context():
            problem = PublishedProblem(what={"sv": text}, criteria=["2.4.6"])
            db.session.add(problem)
            db.session.commit()
            problem_id = problem.id
        assert published_problem_shown(client, text)  # the very next request
        assert all(published_problem_shown(client, text, code) for code in LOCALES)
        with rendered(reader) as names:
            assert published_problem_shown(client, text)
        assert names == []
        with writer.app_context():
            resolved = db.session.get(PublishedProblem, problem_id)
            resolved.resolved_at = resolved.published_at
            db.session.commit()
        assert not published_problem_shown(client, text)
    finally:
        close_database(writer)
        close_database(reader)


def test_a_change_that_was_rolled_back_keeps_the_pages(app: Flask, client: FlaskClient) -> None:
    client.get("/sv/tillganglighet")
    stamp = stamp_file(app.config["FORMATS_DIR"])
    before = stamp.stat().st_size if stamp.exists() else 0
    with app.app_context():
        db.session.add(PublishedProblem(what={"sv": "Aldrig sparad."}, criteria=["1.1.1"]))
        db.session.flush()
        db.session.rollback()
    assert (stamp.stat().st_size if stamp.exists() else 0) == before
    assert kept_paths(app) == {"/sv/tillganglighet"}


def test_a_statement_made_while_the_database_failed_is_not_kept(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        db.session.add(PublishedProblem(what={"sv": "Fokus syns inte."}, criteria=["2.4.7"]))
        db.session.commit()
    with app.app_context():
        engine = db.engine
    monkeypatch.setattr(engine.dialect, "do_execute", failing_execute)
    response = client.get("/sv/tillganglighet")
    assert response.status_code == 200 and "Fokus syns inte." not in response.text
    assert "/sv/tillganglighet" not in kept_paths(app)
    monkeypatch.undo()
    assert published_problem_shown(client, "Fokus syns inte.")


def failing_execute(*_args: Any) -> None:
    """Fail like a database that went away."""
    import sqlite3

    raise sqlite3.OperationalError("the database is gone")


def test_a_format_built_by_another_process_changes_the_page_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gvisite.formats import build as formats_build

    folder = tmp_path / "formats"
    config = app_config(tmp_path / "instance", FORMATS_DIR=str(folder))
    serving, builder = create_app(config), create_app(config)  # the refresher's child is another
    # Only the formats that need no program, for one page: quick, and as real as the others.
    monkeypatch.setattr(formats_build, "tool_versions", lambda: {})
    monkeypatch.setattr(formats_build, "source_names", lambda _app: [("sv", "om-gvi")])
    try:
        client = serving.test_client()

        def offered() -> list[str]:
            block = parse(client.get("/sv/om-gvi").data).select_one("section.other-formats")
            return [a["href"] for a in block.select("ul a[type]")] if block else []

        assert offered() == []
        before = client.get("/sv/om-gvi").headers["ETag"]
        report = formats_build.build(builder)
        assert report.built["txt"] == 1 and report.failed == []
        assert "/formats/sv/om-gvi.txt" in offered()
        assert client.get("/sv/om-gvi").headers["ETag"] != before
        assert client.get("/formats/sv/om-gvi.txt").status_code == 200
    finally:
        close_database(serving)
        close_database(builder)


# --- Everything else as before --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/sv/finns-inte", {}),
        ("/de/om-gvi", {"Accept-Language": "fi"}),
        ("/sv/om-gvi/", {}),
        ("/sv", {}),
        ("/sv/nyheter/jarfalla-inror-gvi", {}),
        ("/", {"Accept-Language": "ar"}),
        ("/", {"Accept-Language": "en-GB,en;q=0.9"}),
        ("/sv/tillganglighet/rapportera", {}),
        ("/formats/sv/finns-inte.pdf", {}),
    ],
)
def test_errors_redirects_and_forms_are_the_apps_as_before_and_never_kept(
    app: Flask, client: FlaskClient, path: str, headers: dict[str, str]
) -> None:
    for method in ("GET", "HEAD"):
        status, expected, body = flask_answer(app, path, method=method, headers=headers)
        response = client.open(path, method=method, headers=headers)
        assert response.status == status, path
        assert response.headers.get("Location") == expected.get("Location")
        if "Set-Cookie" not in expected:  # a form's token differs per request
            assert response.data == body
            assert sorted(response.headers.items()) == sorted(expected.items())
        assert "ETag" not in response.headers
    assert kept_paths(app) == set()


def test_a_bad_host_is_refused_even_for_a_kept_page(site_client: FlaskClient) -> None:
    assert site_client.get("/sv/").status_code == 200
    response = site_client.get("/sv/", headers={"Host": "gvi.se@evil.example"})
    assert response.status_code == 400
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "ETag" not in response.headers


def test_hostile_paths_never_fail_and_never_grow_the_kept_pages(
    app: Flask, client: FlaskClient
) -> None:
    home = client.get("/sv/").data
    for query in ("?\x00=%ff", "?%c0%ae%c0%ae=/etc/passwd", "?" + "%ff" * 3000, "?a&a&a;b=\\"):
        for method in ("GET", "HEAD"):
            with client.open(f"/sv/{query}", method=method) as response:
                assert response.status_code == 200
                assert response.data == (home if method == "GET" else b"")
    for path in [*HOSTILE_PATHS, "/sv/om-gvi\x00", "/sv/%ff/om-gvi", "/sv/om-gvi%c3"]:
        for method in ("GET", "HEAD"):
            with client.open(path, method=method) as response:
                assert response.status_code in {400, 404}, (path[:40], response.status_code)
        with client.open(path, headers={"Accept-Encoding": "br"}) as response:
            assert response.status_code in {400, 404}
    assert kept_paths(app) == {"/sv/"}


def test_reading_kept_pages_with_a_cookie_sets_none(site_client: FlaskClient, site: Site) -> None:
    site_client.set_cookie("session", "left-over-from-the-form")
    for url in public_urls(site)[:8]:
        for _ in range(2):
            response = site_client.get(url)
            assert response.status_code == 200
            assert "Set-Cookie" not in response.headers, url


def test_over_https_a_kept_page_and_its_304_carry_hsts(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path / "instance", SITE_URL="https://gvi.example.se"))
    try:
        client = app.test_client()
        _, expected, _ = flask_answer(app, "/sv/om-gvi")
        assert expected["Strict-Transport-Security"]
        hsts = expected["Strict-Transport-Security"]
        for _ in range(2):
            page = client.get("/sv/om-gvi")
            assert page.headers["Strict-Transport-Security"] == hsts
        again = client.get("/sv/om-gvi", headers={"If-None-Match": page.headers["ETag"]})
        assert again.status_code == 304
        assert again.headers["Strict-Transport-Security"] == hsts
    finally:
        close_database(app)


def test_a_forked_worker_starts_with_nothing_kept(app: Flask, client: FlaskClient) -> None:
    """A worker forked from a process that served pages renders its first request itself."""
    client.get("/sv/")
    assert kept_paths(app) == {"/sv/"}
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only reports through its exit status
        os._exit(0 if kept_paths(app) == set() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert kept_paths(app) == {"/sv/"}
