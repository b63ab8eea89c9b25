"""Every public page stays up while no app server answers, not only the pages read lately.

`flask deploy nginx` writes the configuration and a copy of every public page; the app is
stopped before any page is read through nginx (its cache is empty, as after a deploy), and
every address the site lists is asked for. Real nginx, gunicorn and openssl, as test_nginx.py.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from gvisite.formats.catalogue import FORMATS
from gvisite.formats.refresh import Refresher
from gvisite.i18n import LOCALES
from gvisite.prebuilt.copy import COPY_NAME, copy_link, file_name
from gvisite.prebuilt.kept import CACHE_CONTROL
from gvisite.prebuilt.stamp import pages_changed
from tests.conftest import close_database, make_app
from tests.deploy.fronted import (
    CACHE_SECONDS,
    SERVER_NAME,
    Answer,
    Fronted,
    deploy,
    fronted_site,
)
from tests.deploy.test_nginx import assert_security_headers, built_files
from tests.fixtures_servers import wait_until
from tests.helpers import (
    PROJECT_ROOT,
    assert_no_axe_violations,
    nu_errors,
    parse,
    translate,
    watched_context,
)

EXTRA_PAGE = "sv/en-sida-som-tas-bort.md"  # added before the deploy, removed after it
PAGE_TEXT = "Den här sidan finns bara en stund."


@pytest.fixture(scope="module")
def content() -> Iterator[Path]:
    """The shipped content, copied so that a test can change and remove pages."""
    folder = Path(tempfile.mkdtemp(prefix="gvisite-content-"))
    shutil.copytree(PROJECT_ROOT / "content", folder, dirs_exist_ok=True)
    (folder / EXTRA_PAGE).write_text(
        f"---\ntitle: En sida som tas bort\ndescription: En sida för ett test.\n"
        f"updated: 2026-12-01\n---\n\n{PAGE_TEXT}\n",
        encoding="utf-8",
    )
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def site(content: Path) -> Iterator[Fronted]:
    """One app server behind nginx, deployed and started; nothing read through nginx yet."""
    with fronted_site(servers=1, CONTENT_DIR=str(content)) as fronted:
        yield fronted


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app to look up the interface's words in each locale."""
    app = make_app(tmp_path_factory.mktemp("words") / "instance")
    yield app
    close_database(app)


def from_app(site: Fronted, path: str) -> Answer:
    """GET a path from the app server itself, as nginx would (its cache stays empty)."""
    connection = http.client.HTTPConnection("127.0.0.1", site.apps[0].port, timeout=60)
    try:
        connection.request("GET", path, headers={
            "Host": f"{SERVER_NAME}:{site.https}", "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "127.0.0.1",
        })  # fmt: skip
        response = connection.getresponse()
        return Answer(response.status, response.msg, response.read())
    finally:
        connection.close()


def public_addresses(site: Fronted) -> list[str]:
    """Return every address the site lists: the sitemap's, and each locale's data and feeds."""
    sitemap = from_app(site, "/sitemap.xml")
    assert sitemap.status == 200
    base = site.env["SITE_URL"]
    listed = [url.removeprefix(base) for url in re.findall(r"<loc>([^<]+)</loc>", sitemap.text)]
    forms = re.compile(r"/(rapportera|alternativt-format)$")  # forms: the app's, or its 503
    per_locale = [
        f"/{code}/{path}"
        for code in LOCALES
        for path in ("tillganglighet.json", "nyheter/feed.atom", "tillganglighet/statistik.csv",
                     "tillganglighet/statistik.json")
    ]  # fmt: skip
    return [*(p for p in listed if not forms.search(p)), *per_locale, "/sitemap.xml", "/robots.txt"]


def test_every_public_page_is_served_from_the_copy_while_the_app_is_down(
    site: Fronted, content: Path
) -> None:
    addresses = public_addresses(site)
    assert f"/{EXTRA_PAGE.removesuffix('.md')}" in addresses
    assert len(addresses) > 80
    expected = {path: from_app(site, path) for path in addresses}
    files = built_files(site)
    client = site.client()
    site.apps[0].stop()
    try:
        for path, app_answer in expected.items():
            if app_answer.status != 200:
                continue  # a locale without news has no feed, as the app says
            answer = client.get(path)
            assert answer.status == 200, path
            assert answer.body == app_answer.body, path
            assert answer.headers["Content-Type"] == app_answer.headers["Content-Type"], path
            assert answer.headers["Cache-Control"] == CACHE_CONTROL, path
            assert answer.headers["X-Cache-Status"] == "COPY", path
            assert_security_headers(answer)
        assert sum(a.status == 200 for a in expected.values()) > 80
        # Every format file, straight from FORMATS_DIR.
        for url, data in files:
            answer = client.get(url)
            assert (answer.status, answer.body) == (200, data), url
        # The copy is nginx's alone: its own address gives the 503 page, never its files.
        for path in ("/_gvisite_copy/sv/om-gvi", "/_gvisite_copy/sv/om-gvi.html"):
            answer = client.get(path)
            assert answer.status == 503, path
            assert parse(answer.body).h1.get_text(strip=True) == "Tjänsten fungerar inte just nu"
        # Not a page: the 503 page in its language, as before.
        for path, locale in (("/fi/ei-sivua", "fi"), ("/ar/tillganglighet/rapportera", "ar")):
            answer = client.get(path)
            assert answer.status == 503, path
            assert parse(answer.body).html["lang"] == locale
            assert answer.headers["Retry-After"] == "60"
    finally:
        site.apps[0].start()


@pytest.mark.parametrize("locale", LOCALES)
def test_a_search_while_the_app_is_down_says_so_and_leads_to_the_pages(
    site: Fronted, words: Flask, locale: str
) -> None:
    client = site.client()
    site.apps[0].stop()
    try:
        answer = client.get(f"/{locale}/sok?q=anh%C3%B6riga")
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "60"
        assert answer.headers["Cache-Control"] == "no-store"
        page = parse(answer.body)
        assert page.html["lang"] == locale
        heading = page.h1.get_text(strip=True)
        assert heading == translate(words, locale, "Search is not available right now")
        links = [a["href"] for a in page.select("main a[href]")]
        assert f"/{locale}/" in links
        for href in links:  # each leads to a page the copy has
            if href.startswith("/"):
                assert client.get(href).status == 200, href
        assert nu_errors({f"/{locale}/sok": answer.body}) == []
    finally:
        site.apps[0].start()


def test_the_search_page_while_down_reads_well_in_a_browser(site: Fronted, browser: Any) -> None:
    site.apps[0].stop()
    try:
        for locale, width in (("sv", 320), ("ar", 1280)):
            with watched_context(
                browser,
                site.url,
                ignore_https_errors=True,
                viewport={"width": width, "height": 800},
            ) as (context, log):
                tab = context.new_page()
                assert tab.goto(f"{site.url}/{locale}/sok?q=x").status == 503
                assert tab.evaluate("document.documentElement.scrollWidth") <= width
                assert_no_axe_violations(tab)
                assert not log.foreign
    finally:
        site.apps[0].start()


def test_a_changed_page_reaches_readers_and_a_removed_one_never_comes_back(
    site: Fronted, content: Path
) -> None:
    client = site.client()
    page = "/sv/surfa-sakrare"
    assert client.get(page).status == 200
    source = content / "sv/surfa-sakrare.md"
    source.write_text(
        source.read_text(encoding="utf-8") + "\nEn mening som kom till i dag.\n", encoding="utf-8"
    )
    (content / EXTRA_PAGE).unlink()
    app = site.apps[0]
    app.stop()
    app.start()  # a deploy: the app reads its content at start
    started = time.monotonic()

    def changed() -> bool:
        return "En mening som kom till i dag." in client.get(page).text

    # Through nginx's cache, as before: within its lifetime, and a refresh after it.
    assert wait_until(changed, seconds=CACHE_SECONDS * 2 + 5)
    assert time.monotonic() - started <= CACHE_SECONDS * 2 + 5
    # The operator writes the configuration again after a deploy (docs/operations.md): the
    # copy then has the change, and no longer the removed page.
    deploy_again(site)
    app.stop()
    try:
        assert "En mening som kom till i dag." in client.get(page).text
        gone = client.get(f"/{EXTRA_PAGE.removesuffix('.md')}")
        assert gone.status == 503
        assert PAGE_TEXT.encode() not in gone.body
    finally:
        app.start()


def deploy_again(site: Fronted) -> None:
    """Run `flask deploy nginx` again with the same addresses (nginx reads the new copy)."""
    deploy(
        site.env, site.folder / "nginx", site.https, site.http,
        [app.port for app in site.apps], site.cert, site.cert.with_name("key.pem"),
    )  # fmt: skip


def test_the_copy_names_every_format_type_nginx_knows(site: Fronted) -> None:
    """Nothing the copy holds reaches a reader as a download of unknown type."""
    conf = (site.folder / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    block = conf[conf.index('location ~ "^/_gvisite_copy') :]
    for ending in ("html", "json", "xml", "atom", "txt", "csv"):
        assert re.search(rf'" {ending};', block), ending
    assert not {fmt.suffix for fmt in FORMATS.values()} & {".html.html"}


def test_the_refresher_writes_the_copy_again_after_every_change(tmp_path: Path) -> None:
    """Each app server's refresher keeps the copy as the site is, with nothing left of a page."""
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    (content / EXTRA_PAGE).write_text(
        f"---\ntitle: En sida\ndescription: En sida.\nupdated: 2026-12-01\n---\n\n{PAGE_TEXT}\n",
        encoding="utf-8",
    )
    app = make_app(tmp_path / "instance", CONTENT_DIR=str(content),
                   FORMATS_DIR=str(tmp_path / "formats"))  # fmt: skip
    refresher = Refresher(app, 3600)
    extra = tmp_path / "formats" / COPY_NAME / f"{EXTRA_PAGE.removesuffix('.md')}.html"
    try:
        refresher.copy_pages()  # a new site: no copy yet
        first = os.readlink(copy_link(app))
        assert PAGE_TEXT in extra.read_text(encoding="utf-8")
        assert len(list(copy_link(app).rglob("*.html"))) > 60
        refresher.copy_pages()  # nothing changed: the same copy
        assert os.readlink(copy_link(app)) == first
        # A public change (a problem published, a format built, a figure changed).
        pages_changed(app.config["FORMATS_DIR"])
        refresher.copy_pages()
        second = os.readlink(copy_link(app))
        assert second != first
        # A page removed from the content (a deploy): the next copy no longer has it.
        (content / EXTRA_PAGE).unlink()
        refresher.copy_pages()
        assert os.readlink(copy_link(app)) not in {first, second}
        assert not extra.exists()
        # Two copies are kept (nginx may still be sending a file of the one before).
        versions = [p for p in (tmp_path / "formats").glob(f"{COPY_NAME}.*") if p.is_dir()]
        assert len(versions) == 2
    finally:
        refresher.stop()
        close_database(app)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/sv/", "sv/index.html"),
        ("/sv/om-gvi", "sv/om-gvi.html"),
        ("/sitemap.xml", "sitemap.xml.html"),
        ("/sv/../x", None),
        ("/sv/.hidden", None),
        ("/sv//x", None),
        ("/../etc/passwd", None),
        ("sv/om-gvi", None),
    ],
)
def test_a_copy_file_never_leaves_its_folder(path: str, expected: str | None) -> None:
    assert file_name(path, "text/html; charset=utf-8") == expected
    assert file_name("/sv/om-gvi", "application/octet-stream") is None  # no type nginx maps
