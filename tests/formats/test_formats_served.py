"""How built files reach a browser: asked for again before each use, and the large-print web page
with the site's quick exit. From a quick build of a few pages' files that need no tool."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask

from gvisite.extensions import db
from gvisite.formats.convert import prepare
from gvisite.formats.source import STATEMENT, render_source
from gvisite.models import PublishedProblem
from tests.conftest import close_database, make_app
from tests.helpers import build_without_tools, parse, translate


@pytest.fixture(scope="module")
def few(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app with the large-print web page and text of a page and the statement built."""
    root = tmp_path_factory.mktemp("few")
    app = make_app(root / "instance", FORMATS_DIR=str(root / "formats"))
    build_without_tools(app, [("sv", "om-gvi"), ("ar", "om-gvi"), ("sv", STATEMENT)])
    yield app
    close_database(app)


def test_a_statement_format_is_asked_for_again_so_a_published_problem_shows_at_once(
    few: Flask,
) -> None:
    client, url = few.test_client(), f"/formats/sv/{STATEMENT}.storstil.html"
    first = client.get(url)
    assert first.status_code == 200
    # Kept, but checked before each use: never an hour with the old statement.
    assert first.headers["Cache-Control"] == "public, no-cache"
    etag = first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with few.app_context():
        problem = PublishedProblem(what={"sv": "Knappen saknar fokus."}, criteria=["2.4.7"])
        db.session.add(problem)
        db.session.commit()
        problem_id = problem.id
    try:
        # The copy the browser kept says less than the statement now: it is not confirmed.
        assert client.get(url, headers={"If-None-Match": etag}).status_code != 304
    finally:
        with few.app_context():
            db.session.delete(db.session.get(PublishedProblem, problem_id))
            db.session.commit()


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_the_large_print_web_page_has_the_quick_exit_and_may_run_the_sites_script(
    few: Flask, locale: str
) -> None:
    client = few.test_client()
    response = client.get(f"/formats/{locale}/om-gvi.storstil.html")
    assert response.status_code == 200
    soup = parse(response.data)
    button = soup.select_one("[data-quick-exit-root] a[data-quick-exit]")
    assert button is not None
    assert button["href"] == few.extensions["gvisite.site"].facts["quick_exit_url"]
    assert button.get_text(strip=True) == translate(few, locale, "Leave this page quickly")
    assert soup.select_one("[data-quick-exit-root] [role=status]") is not None
    # The site's own script (the Shift shortcut), from the site, as its policy allows.
    [script] = soup.select("script[src]")
    src = urlsplit(script["src"])
    assert not src.scheme and not src.netloc
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    served = client.get(script["src"])
    assert served.status_code == 200 and served.mimetype.endswith("/javascript")
    assert b"data-quick-exit-root" in served.data


def test_the_large_print_pdf_has_no_quick_exit(few: Flask) -> None:
    """Paper has nothing to press: the PDF is made from the page without the bar and script."""
    source = render_source(few, "sv", "om-gvi")
    assert source is not None
    prepared = prepare(few, source, sandboxed=False)
    assert "data-quick-exit" in prepared.large_print
    assert "data-quick-exit" not in prepared.large_print_pdf
    assert "<script" not in prepared.large_print_pdf
