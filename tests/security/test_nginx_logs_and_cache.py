"""nginx in front of the app keeps no secret, no query and no stranger's copy (issue #22, §3, §5).

For real: `flask deploy nginx`, nginx and a gunicorn app server on loopback (tests/deploy).
A status link's secret and a search's words must reach no file under nginx's folder (logs, temp
files, cache), whether the app is up or down; a query string or another way of writing
Accept-Encoding makes no new cached copy of a public page; a 404 is not kept in one visitor's
language for the next.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.fronted import Answer, Client, Fronted, fronted_site
from tests.fixtures_servers import wait_until
from tests.helpers import parse

STATUS_PATH = "/sv/arende/TG-2026-ABCDEF"  # a status page's address: its secret is the query
KEY_LINE = re.compile(rb"\nKEY: ([^\n]*)\n")
CACHE_FILE = re.compile(r"^[0-9a-f]{32}$")  # a finished cache entry (a partial one has a suffix)


@pytest.fixture(scope="module")
def site() -> Iterator[Fronted]:
    """One app server behind nginx, for the whole module."""
    with fronted_site(servers=1) as fronted:
        yield fronted


def unique(label: str) -> str:
    """Return a string found nowhere but where this test put it."""
    return f"{label}{secrets.token_hex(8)}"


def visit_with_secrets(site: Fronted, client: Client) -> tuple[list[str], list[Answer]]:
    """Open a status link, a search and a public page, each with a query and a Referer holding one.

    Return the secrets and queries sent, and the answers.
    """
    sent: list[str] = []
    answers = []
    for path, name in ((STATUS_PATH, "nyckel"), ("/sv/sok", "q"), ("/sv/om-gvi", "q")):
        value, came_from = unique("query"), unique("referrer")
        sent += [value, came_from]
        referrer = f"{site.url}{path}?{name}={came_from}"
        answers.append(client.get(f"{path}?{name}={value}", Referer=referrer))
    return sent, answers


def flushed_access_log(site: Fronted) -> str:
    """Send a marker request and wait until nginx has written it (its access log is buffered)."""
    marker = "/" + unique("marker")
    site.client().get(marker)
    log = site.nginx.folder / "logs" / "access.log"
    assert wait_until(lambda: marker in log.read_text(errors="replace"), seconds=10)
    return log.read_text(errors="replace")


def files_holding(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    """Return every file under a folder that holds any of the strings, with the ones it holds."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            held = [needle for needle in needles if needle.encode() in data]
            if held:
                found[str(path.relative_to(folder))] = held
    return found


def test_no_secret_or_query_in_nginx_files_while_the_app_is_down(site: Fronted) -> None:
    client = site.client()
    client.get("/sv/om-gvi")  # cached, so it is served stale while the app is down
    site.apps[0].stop()
    try:
        sent, answers = visit_with_secrets(site, client)
    finally:
        site.apps[0].start()
    assert [answer.status for answer in answers[:2]] == [503, 503]
    log = flushed_access_log(site)
    assert files_holding(site.nginx.folder, sent) == {}
    # What an operator needs is still there: each request's path, and which app server failed.
    upstream = f"127.0.0.1:{site.apps[0].port}"
    for path in (STATUS_PATH, "/sv/sok"):
        line = next(line for line in log.splitlines() if f"GET {path} " in line)
        assert f"upstream={upstream} upstream_status=502" in line, line


def test_no_secret_or_query_in_nginx_files_while_the_app_is_up(site: Fronted) -> None:
    sent, answers = visit_with_secrets(site, site.client())
    assert [answer.status for answer in answers] == [404, 200, 200]
    flushed_access_log(site)
    assert files_holding(site.nginx.folder, sent) == {}


def cache_keys(site: Fronted, path: str) -> list[str]:
    """Return the keys of the cached copies of a path (nginx writes each into its file)."""
    keys = []
    for file in (site.nginx.folder / "cache").rglob("*"):
        if file.is_file() and CACHE_FILE.match(file.name):
            found = KEY_LINE.search(file.read_bytes())
            if found and found.group(1).decode().split(" ")[0].split("?")[0] == path:
                keys.append(found.group(1).decode())
    return sorted(keys)


ENCODINGS = {  # Accept-Encoding: the encoding the answer must have (q=0 means "not this one")
    "gzip;q=0.9, br;q=1.0": "br",
    "br;q=1.0, gzip;q=0.9": "br",
    "BR;Q=0.5": "br",
    "*": "br",
    "gzip, br;q=0": "gzip",
    "br;q=0, gzip;q=0.001": "gzip",
    "x-gzip;q=0.5, br;q=0.000": "gzip",
    "gzip, *;q=0": "gzip",
    "br;q=0": None,
    "gzip;q=0, br;q=0": None,
    "*;q=0": None,
    "identity": None,
    "deflate;q=0.8": None,
}


def test_queries_and_encoding_spellings_make_one_cached_copy_per_encoding(site: Fronted) -> None:
    path = "/en/om-gvi"
    client = site.client()
    for number in range(10):
        answer = client.get(f"{path}?flood={number}&q={unique('query')}")
        assert answer.status == 200
    for accept, encoding in ENCODINGS.items():
        for query in ("", f"?v={unique('query')}"):
            answer = client.get(path + query, **{"Accept-Encoding": accept})
            assert answer.status == 200
            assert answer.headers.get("Content-Encoding") == encoding, accept
    # Another spelling of the same path (an escaped letter, a doubled slash) is the same page.
    for spelling in ("/en/%6Fm-gvi", "//en/om-gvi", "/en/./om-gvi"):
        assert client.get(spelling, **{"Accept-Encoding": "gzip"}).status == 200
    wait_until(lambda: len(cache_keys(site, path)) >= 3, seconds=5)  # written as answers end
    keys = cache_keys(site, path)
    assert len(keys) == 3, keys  # br, gzip and none
    assert all("?" not in key for key in keys), keys


def test_pages_that_do_not_exist_fill_no_cache(site: Fronted) -> None:
    client = site.client()
    paths = [f"/sv/{unique('missing')}{end}" for end in ("", "/", "") for _ in range(3)]
    for path in paths:
        assert client.get(path).status in {301, 404}
    for path in paths:
        assert cache_keys(site, path) == []


def test_a_404_is_not_served_in_the_first_visitors_language(site: Fronted) -> None:
    """Outside a locale's folder the app answers 404 in the browser's language, so no copy."""
    path = f"/xx/{unique('nonexistent')}"
    client = site.client()
    for language in ("ar", "sv", "fi", "ar"):
        answer = client.get(path, **{"Accept-Language": language})
        assert answer.status == 404
        assert parse(answer.body).html["lang"] == language
        assert answer.headers.get("X-Cache-Status") != "HIT"
