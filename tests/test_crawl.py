"""Everything the site links to, from each locale's home page, as a resident would meet it.

The crawl (tests/crawler.py) follows every same-site link the pages hold, query strings
included, on a live server over the real content with every other format built. Downloads and
static files get a HEAD; every HTML page must answer 200, pass the Nu Html Checker and axe-core
in Chromium, and keep no cookie unless it is a form's. A second crawl, with the test client,
checks statuses, addresses and that reading pages never set a cookie.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from gvisite.i18n import LOCALES
from gvisite.prebuilt.stamp import pages_changed
from tests import checked_pages
from tests.conftest import close_database, make_app, markdown_page
from tests.crawler import (
    Crawl,
    PageChecks,
    Problem,
    client_fetcher,
    crawl,
    failure_report,
    http_fetcher,
    open_tab,
)
from tests.fixtures_servers import BuiltFormats, BuiltLiveServer
from tests.helpers import FORM_AREA, Answer, sitemap_paths


def record(figures: list[str], folder: Path, name: str, numbers: dict[str, Any]) -> None:
    """Keep figures for the closing note: in the terminal summary, on stdout and as JSON."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    line = f"{name}: " + ", ".join(f"{key}={value}" for key, value in numbers.items())
    figures.append(f"{line} ({path})")
    print(line)


def cookie_changes(set_cookie: str) -> str:
    """Describe Set-Cookie headers (joined by newlines) as the cookies they set and clear."""
    changes: dict[str, set[str]] = {"sets": set(), "clears": set()}
    for header in set_cookie.splitlines():
        name, _, rest = header.partition("=")
        cleared = "max-age=0" in rest.lower().replace(" ", "") or "1970" in rest
        changes["clears" if cleared else "sets"].add(name.strip())
    return ", ".join(
        f"{verb} {' '.join(sorted(names))}" for verb, names in changes.items() if names
    )


# --- The tests --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figures_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the crawl's figures are written as JSON."""
    return tmp_path_factory.mktemp("crawl-figures")


def test_every_linked_url_answers_200_with_sensible_headers_and_our_own_address(
    site_crawl: Crawl,
    built_live_server: BuiltLiveServer,
    built_formats: BuiltFormats,
    figures: list[str],
    figures_folder: Path,
) -> None:
    found = site_crawl
    # The crawl really went everywhere: every locale's pages, both forms, downloads, the feeds.
    for locale in LOCALES:
        assert any(
            p.startswith(f"/{locale}/tillganglighet/alternativt-format?") for p in found.pages
        )
        assert any(p.startswith(f"/formats/{locale}/") for p in found.heads), locale
    assert len(found.feeds) == 4
    sitemap = http_fetcher(built_live_server.url)("GET", "/sitemap.xml")
    unlinked = [p for p in sitemap_paths(sitemap.body) if p not in found.answers]
    problems = found.problems + [
        Problem(p, "in the sitemap, but no page links to it") for p in unlinked
    ]
    record(
        figures,
        figures_folder,
        "crawl-links",
        {
            "urls_crawled": len(found.answers),
            "html_pages": len(found.pages),
            "file_heads": len(found.heads),
            "format_heads": sum(p.startswith("/formats/") for p in found.heads),
            "feeds": len(found.feeds),
            "other_documents": len(found.others),
            "not_200": sum(a.status != 200 for a in found.answers.values()),
            "problems": len(problems),
            "failing_urls": len({p.url for p in problems}),
            "seconds_crawl": found.seconds,
            "seconds_formats_build": round(built_live_server.report.seconds, 1),
            "formats_built": sum(built_live_server.report.built.values()),
            "formats_kept_from_an_earlier_run": sum(built_live_server.report.current.values()),
            # While the other worker's group built them (a cold run), this one waited.
            "seconds_waiting_for_another_workers_build": built_formats.waited,
        },
    )
    assert not problems, failure_report(problems)


def test_every_linked_page_is_valid_html_and_passes_axe_in_chromium(
    page_checks: PageChecks, figures: list[str], figures_folder: Path
) -> None:
    seen = page_checks.seen
    in_browser = [problem for page in seen.values() for problem in page.problems]
    # A first visit to a reading page keeps no cookie; only the forms' own area sets one.
    in_browser += [
        Problem(path, "a reading page sets a cookie", ", ".join(c["name"] for c in page.cookies))
        for path, page in seen.items()
        if page.cookies and not FORM_AREA.match(path)
    ]
    problems = page_checks.nu + in_browser
    axe_found = [p for p in in_browser if p.cause.startswith("axe ")]
    record(
        figures,
        figures_folder,
        "crawl-pages",
        {
            "html_pages": len(seen),
            "nu_errors": len(page_checks.nu),
            "nu_pages_with_errors": len({p.url for p in page_checks.nu}),
            "axe_violations": sum(page.axe_failures for page in seen.values()),
            "axe_rules_failed": len({p.cause for p in axe_found}),
            "axe_pages_with_violations": len({p.url for p in axe_found}),
            "other_browser_problems": len(in_browser) - len(axe_found),
            "failing_urls": len({p.url for p in problems}),
            "seconds_nu": page_checks.seconds["nu"],
            "seconds_browser": page_checks.seconds["browser"],
            "pages_checked_now": page_checks.checked,
            "pages_kept_from_an_earlier_run": page_checks.kept,
            "causes": dict(Counter(p.cause.split(":")[0] for p in problems)),
        },
    )
    assert not problems, failure_report(problems)


@pytest.mark.parametrize(
    "first", [None, "/sv/tillganglighet/rapportera"], ids=["fresh", "after-a-form"]
)
def test_client_crawl_answers_200_links_to_site_url_and_sets_no_cookie_while_reading(
    built_live_server: BuiltLiveServer, first: str | None
) -> None:
    """The cheap crawl: no browser, the test client's own host, a session cookie or none."""
    client = built_live_server.app.test_client()  # asks for http://localhost/, not SITE_URL
    if first is not None:
        form = client.get(first)
        assert form.status_code == 200
        assert form.headers.getlist("Set-Cookie"), "the form keeps its CSRF token in a cookie"
    site_url = built_live_server.app.config["SITE_URL"].rstrip("/")
    found = crawl(client_fetcher(client), site_url)
    assert len(found.pages) > 100 and found.heads
    cookies = [
        Problem(path, f"a reading page changes cookies: {cookie_changes(sent)}")
        for path, answer in found.answers.items()
        if (sent := answer.headers.get("set-cookie")) and not FORM_AREA.match(path)
    ]
    problems = found.problems + cookies
    assert not problems, failure_report(problems)


def test_the_crawler_reports_broken_links_and_addresses_not_from_site_url(
    make_content: Callable[..., Path], tmp_path: Path
) -> None:
    """The crawler itself: a dead link, a :5000 address and plain http are each named."""
    body = (
        "[Borta](/sv/finns-inte) [Gammal adress](http://127.0.0.1:5000/sv/)"
        " [Osäker](http://example.org/) [Säker](https://example.org/) [Personal](/staff/)"
    )
    content = make_content({"sv/index.md": markdown_page(body=body)})
    app = make_app(
        tmp_path / "instance", CONTENT_DIR=str(content), SITE_URL="http://127.0.0.1:5123"
    )
    try:
        found = crawl(client_fetcher(app.test_client()), "http://127.0.0.1:5123", ["/sv/"])
    finally:
        close_database(app)
    causes = {(p.url, p.cause) for p in found.problems}
    assert ("/sv/finns-inte", "GET answers 404") in causes
    assert (
        "/sv/",
        "links to http://127.0.0.1:5000, not to SITE_URL http://127.0.0.1:5123",
    ) in causes
    assert ("/sv/", "links to another site over plain http: http://example.org") in causes
    assert not any(path.startswith("/staff") for path in found.answers)
    assert "/sv/tillganglighet/rapportera?page=/sv/" in found.pages


BROKEN_PAGE = (
    '<!DOCTYPE html><html lang="sv"><head><title>Trasig</title>'
    '<link rel="stylesheet" href="/saknas.css"></head>'
    '<body><main><h1>Trasig</h1><img src="/bild.png"></main></body></html>'
)


def test_the_browser_pass_reports_axe_violations_and_files_that_did_not_load(
    browser: Any,
) -> None:
    """The Chromium half itself: an image without alt text and a missing stylesheet are named."""
    origin = "http://crawl.test"

    def answer(route: Any) -> None:
        if route.request.url == f"{origin}/":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=BROKEN_PAGE)
        else:
            route.fulfill(status=404, body="")

    with ExitStack() as stack:
        tab = open_tab(stack, browser, origin)
        tab.page.route(f"{origin}/**", answer)
        assert tab.open(origin, "/") is None
        problems, failures = tab.problems()
    causes = {p.cause for p in problems}
    assert failures >= 1
    assert any(cause.startswith("axe image-alt (critical)") for cause in causes), causes
    failed = {p.detail for p in problems if p.cause == "the browser's request failed"}
    assert failed == {f"{origin}/saknas.css", f"{origin}/bild.png"}


def test_a_kept_check_is_used_only_for_the_same_page_as_served(app: Flask) -> None:
    """Two visits to a form differ only in their one-time tokens: one key. Any other change
    to the page, its headers, its cookie's attributes or what the run is made of: another."""
    answers = [
        client_fetcher(app.test_client())("GET", "/sv/tillganglighet/rapportera") for _ in range(2)
    ]
    assert answers[0].body != answers[1].body  # a fresh CSRF token on each visit
    assert answers[0].headers["set-cookie"] != answers[1].headers["set-cookie"]
    key = checked_pages.page_key("run", "/f", answers[0])
    assert checked_pages.page_key("run", "/f", answers[1]) == key
    body, headers = answers[0].body, answers[0].headers
    changed = [
        Answer(200, headers, body.replace(b"<h1", b'<h1 class="x"', 1)),
        Answer(200, headers, body.replace(b'type="hidden"', b'type="text"', 1)),
        Answer(200, {**headers, "content-security-policy": "default-src *"}, body),
        Answer(200, {**headers, "set-cookie": headers["set-cookie"].replace("HttpOnly", "")}, body),
    ]
    keys = {checked_pages.page_key("run", "/f", answer) for answer in changed}
    keys |= {checked_pages.page_key("run", "/g", answers[0])}
    keys |= {checked_pages.page_key("another run", "/f", answers[0])}
    assert key not in keys and len(keys) == 6


def test_the_run_key_holds_the_formats_files_but_not_the_folders_stamp(tmp_path: Path) -> None:
    """Every start of the site appends to the formats folder's stamp: the kept checks stay
    valid. A format file that changed, came or went: every page is checked again."""
    folder = tmp_path / "formats"
    (folder / "sv").mkdir(parents=True)
    (folder / "sv" / "om-gvi.txt").write_text("Om GVI\n", encoding="utf-8")
    key = checked_pages.run_key("axe", "chromium 1", folder)
    pages_changed(folder)
    (folder / ".build.lock").touch()
    assert checked_pages.run_key("axe", "chromium 1", folder) == key
    (folder / "sv" / "om-gvi.txt").write_text("Om GVI i Järfälla\n", encoding="utf-8")
    changed = checked_pages.run_key("axe", "chromium 1", folder)
    (folder / "sv" / "index.txt").write_text("Hem\n", encoding="utf-8")
    added = checked_pages.run_key("axe", "chromium 1", folder)
    assert len({key, changed, added, checked_pages.run_key("axe", "chromium 2", folder)}) == 4
