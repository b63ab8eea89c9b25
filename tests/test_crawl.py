"""Everything the site links to, from each locale's home page, as a resident would meet it.

The crawl follows every same-site link the pages hold (query strings included, the fragment
dropped, the staff area left out) on a live server over the real content with every other
format built. Downloads and static files get a HEAD; every HTML page must answer 200, pass the
Nu Html Checker (one run for all pages) and axe-core in Chromium. A second crawl, with the test
client, checks statuses, addresses and that reading pages never set a cookie.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.urls import iri_to_uri

from gvisite.i18n import LOCALES
from tests.conftest import close_database, make_app, markdown_page
from tests.fixtures_servers import BuiltLiveServer
from tests.helpers import (
    AXE_SCRIPT,
    FORM_AREA,
    LOCAL_URL,
    Answer,
    Link,
    RequestLog,
    content_type_problem,
    document_links,
    feed_links,
    finish_axe,
    foreign_address_problem,
    is_file,
    nu_errors,
    origin_of,
    require_nu_checker,
    sitemap_paths,
    start_axe,
    watched_context,
)

HOMES = ("/sv/", "/fi/", "/en/", "/ar/")
SKIPPED = re.compile(r"^/staff(/|$)")
FEED = "application/atom+xml"

Fetch = Callable[[str, str], Answer]  # (method, site path with query) -> the answer


@dataclass(frozen=True)
class Problem:
    """One thing wrong at one URL; `cause` reads the same for every URL with the same fault."""

    url: str
    cause: str
    detail: str = ""


@dataclass
class Crawl:
    """What a crawl met: every answer, the HTML pages, the files it HEADed, and the problems."""

    origin: str
    answers: dict[str, Answer] = field(default_factory=dict)  # by site path, in visiting order
    pages: dict[str, bytes] = field(default_factory=dict)  # HTML pages that answered 200
    heads: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # other documents that were not HTML
    referrers: dict[str, str] = field(default_factory=dict)  # the first page linking to a URL
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0


# --- The crawler ------------------------------------------------------------------------------


def crawl(fetch: Fetch, origin: str, starts: Iterable[str] = HOMES) -> Crawl:
    """Visit `starts` and, breadth first, every same-site address they lead to."""
    started = time.monotonic()
    found = Crawl(origin)
    declared: dict[str, str] = {}  # the `type` the first link to a URL gave
    queue = deque(starts)
    found.referrers.update(dict.fromkeys(queue, "(start)"))
    while queue:
        path = queue.popleft()
        for link in visit(found, fetch, path, declared.get(path, "")):
            target = site_path(link.url, origin)
            if target is None or SKIPPED.match(target) or target in found.referrers:
                continue
            found.referrers[target] = path
            declared[target] = link.type
            queue.append(target)
    found.seconds = round(time.monotonic() - started, 1)
    return found


def site_path(url: str, origin: str) -> str | None:
    """Return the path and query of an address on `origin`, or None for anywhere else."""
    if origin_of(url) != origin:
        return None
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def visit(found: Crawl, fetch: Fetch, path: str, declared: str) -> list[Link]:
    """Fetch one address, note what is wrong with it, and return the links it holds."""
    method = "HEAD" if is_file(path) else "GET"
    answer = fetch(method, path)
    found.answers[path] = answer
    if answer.status != 200:
        where = f"linked from {found.referrers[path]}"
        if "location" in answer.headers:
            where += f"; redirects to {answer.headers['location']}"
        found.problems.append(Problem(path, f"{method} answers {answer.status}", where))
        return []
    if problem := content_type_problem(answer, path, declared):
        found.problems.append(Problem(path, problem))
    base = found.origin + path
    if method == "HEAD":
        found.heads.append(path)
        return []
    if answer.media_type == "text/html":
        found.pages[path] = answer.body
        links = document_links(answer.body, base)
    elif answer.media_type == FEED:
        found.feeds.append(path)
        links = feed_links(answer.body, base)
    else:
        found.others.append(path)  # JSON and the like: its Content-Type was checked above
        return []
    found.problems.extend(address_problems(path, answer.body, links, found.origin))
    return links


def address_problems(path: str, body: bytes, links: list[Link], origin: str) -> list[Problem]:
    """Name each absolute address in a document that is not our SITE_URL but should be."""
    examples: dict[str, str] = {}
    named = [link.url for link in links]
    named += LOCAL_URL.findall(body.decode("utf-8", "replace"))  # text, meta, mailto bodies
    for url in named:
        if problem := foreign_address_problem(url, origin):
            examples.setdefault(problem, url)
    return [Problem(path, problem, f"e.g. {url}") for problem, url in examples.items()]


# --- Two ways to fetch ------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the answer instead of following it: links should not redirect."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Follow no redirect."""
        return None


def _headers(message: Message | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return headers with lower-case names, repeated ones (Set-Cookie) joined by newlines."""
    items = message.items() if isinstance(message, Message) else message
    joined: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        joined[key] = f"{joined[key]}\n{value}" if key in joined else value
    return joined


def http_fetcher(origin: str) -> Fetch:
    """Fetch over real HTTP from a live server, one connection per request."""
    opener = urllib.request.build_opener(_NoRedirects)

    def fetch(method: str, path: str) -> Answer:
        request = urllib.request.Request(origin + iri_to_uri(path), method=method)
        try:
            with opener.open(request, timeout=30) as response:
                return Answer(response.status, _headers(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, _headers(error.headers), error.read())

    return fetch


def client_fetcher(client: FlaskClient) -> Fetch:
    """Fetch with a Flask test client, keeping its cookies between requests like a browser."""

    def fetch(method: str, path: str) -> Answer:
        response = client.open(path, method=method)
        try:
            return Answer(response.status_code, _headers(response.headers), response.get_data())
        finally:
            response.close()  # a served file stays open until then

    return fetch


# --- Checking pages in Chromium and with the Nu checker ---------------------------------------


@dataclass
class Tab:
    """One Chromium tab in its own context, and what it saw while loading the current page."""

    page: Any
    log: RequestLog
    failed: list[str] = field(default_factory=list)  # our own files that did not load
    path: str = ""

    def open(self, origin: str, path: str) -> Problem | None:
        """Load a page and start axe-core on it; say so if the page did not load."""
        self.log.clear()
        self.failed.clear()
        self.path = path
        response = self.page.goto(origin + path, wait_until="load")
        if response is None or response.status != 200:
            self.path = ""
            return Problem(path, f"Chromium got {response.status if response else 'no answer'}")
        start_axe(self.page)
        return None

    def problems(self) -> tuple[list[Problem], int]:
        """Wait for axe-core; return the page's problems and its number of failing elements."""
        if not self.path:
            return [], 0
        lines = finish_axe(self.page)
        found = axe_problems(self.path, lines)
        found += [Problem(self.path, "the browser's request failed", url) for url in self.failed]
        found += [Problem(self.path, "loads from another site", url) for url in self.log.foreign]
        found += [Problem(self.path, f"console error: {t[:160]}") for t in self.log.console_errors]
        return found, len(lines)


def open_tab(stack: ExitStack, browser: Any, origin: str) -> Tab:
    """Open a desktop-sized tab that has axe-core at hand and blocks other sites."""
    context, log = stack.enter_context(
        watched_context(browser, origin, viewport={"width": 1280, "height": 900})
    )
    context.add_init_script(script=AXE_SCRIPT)
    tab = Tab(context.new_page(), log)
    tab.page.set_default_timeout(30_000)
    tab.page.on(
        "response",
        lambda r: r.url.startswith(f"{origin}/") and r.status >= 400 and tab.failed.append(r.url),
    )
    return tab


def browser_problems(
    browser: Any, origin: str, paths: list[str], tabs: int = 2
) -> tuple[list[Problem], int]:
    """Check pages in Chromium, `tabs` at a time; return the problems and the axe failures."""
    problems: list[Problem] = []
    failures = 0
    with ExitStack() as stack:
        open_tabs = [open_tab(stack, browser, origin) for _ in range(tabs)]
        for first in range(0, len(paths), tabs):
            # Each tab loads its page and starts axe; axe then runs in all tabs at once.
            batch = list(zip(open_tabs, paths[first : first + tabs], strict=False))
            problems += [p for tab, path in batch if (p := tab.open(origin, path))]
            for tab, _path in batch:
                found, count = tab.problems()
                problems += found
                failures += count
    return problems, failures


def axe_problems(path: str, lines: list[str]) -> list[Problem]:
    """Group axe-core's one-line-per-element failures by rule."""
    by_rule: dict[str, list[str]] = {}
    for line in lines:
        rule, _, element = line.partition(" — ")
        by_rule.setdefault(f"axe {rule}", []).append(element.split(" — ")[0])
    return [
        Problem(path, rule, f"{len(elements)} element(s): " + "; ".join(elements[:3])[:400])
        for rule, elements in by_rule.items()
    ]


def nu_problems(pages: dict[str, bytes]) -> list[Problem]:
    """Validate every page in one Nu Html Checker run; one problem per error."""
    problems = []
    names = sorted(pages, key=len, reverse=True)  # a page's name may start another's
    for error in nu_errors(pages):
        path = next(name for name in names if error.startswith(f"{name}:"))
        line, _, text = error.removeprefix(f"{path}:").partition(": ")
        message, _, extract = text.partition(" [")
        problems.append(Problem(path, f"Nu: {message}", f"line {line}: [{extract}"[:300]))
    return problems


# --- Reading the results ----------------------------------------------------------------------


def failure_report(problems: list[Problem]) -> str:
    """Describe problems for a person: each cause with its URL count, then every URL's faults."""
    causes: dict[str, list[Problem]] = {}
    for problem in problems:
        causes.setdefault(problem.cause, []).append(problem)
    urls = {problem.url for problem in problems}
    lines = [f"{len(problems)} problem(s) at {len(urls)} URL(s), {len(causes)} cause(s):"]
    for cause, found in sorted(causes.items(), key=lambda item: -len(item[1])):
        lines.append(f"  [{len({p.url for p in found})} URL(s)] {cause}  (e.g. {found[0].url})")
    lines.append("Every URL:")
    for problem in sorted(problems, key=lambda p: (p.url, p.cause)):
        detail = f" — {problem.detail}" if problem.detail else ""
        lines.append(f"  {problem.url} → {problem.cause}{detail}")
    return "\n".join(lines)


def record(figures: list[str], folder: Path, name: str, numbers: dict[str, Any]) -> None:
    """Keep figures for the closing note: in the terminal summary, on stdout and as JSON."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    line = f"{name}: " + ", ".join(f"{key}={value}" for key, value in numbers.items())
    figures.append(f"{line} ({path})")
    print(line)


def timed(seconds: dict[str, float], name: str, work: Callable[..., Any], *args: Any) -> Any:
    """Run `work(*args)`, noting in `seconds` how long it took, for the figures."""
    started = time.monotonic()
    try:
        return work(*args)
    finally:
        seconds[name] = round(time.monotonic() - started, 1)


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
def site_crawl(built_live_server: BuiltLiveServer) -> Crawl:
    """Crawl the live server over HTTP once for the module."""
    return crawl(http_fetcher(built_live_server.url), built_live_server.url)


@pytest.fixture(scope="module")
def figures_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the crawl's figures are written as JSON."""
    return tmp_path_factory.mktemp("crawl-figures")


def test_every_linked_url_answers_200_with_sensible_headers_and_our_own_address(
    site_crawl: Crawl,
    built_live_server: BuiltLiveServer,
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
        },
    )
    assert not problems, failure_report(problems)


def test_every_linked_page_is_valid_html_and_passes_axe_in_chromium(
    site_crawl: Crawl,
    built_live_server: BuiltLiveServer,
    browser: Any,
    figures: list[str],
    figures_folder: Path,
) -> None:
    require_nu_checker()
    seconds: dict[str, float] = {}
    # The Nu checker (Java) and Chromium both take a while: run them side by side.
    with ThreadPoolExecutor(max_workers=1) as pool:
        nu = pool.submit(timed, seconds, "nu", nu_problems, site_crawl.pages)
        in_browser, axe_failures = timed(
            seconds, "browser", browser_problems, browser, site_crawl.origin, list(site_crawl.pages)
        )
        nu_found = nu.result()
    problems = nu_found + in_browser
    axe_found = [p for p in in_browser if p.cause.startswith("axe ")]
    record(
        figures,
        figures_folder,
        "crawl-pages",
        {
            "html_pages": len(site_crawl.pages),
            "nu_errors": len(nu_found),
            "nu_pages_with_errors": len({p.url for p in nu_found}),
            "axe_violations": axe_failures,  # failing elements, over all pages
            "axe_rules_failed": len({p.cause for p in axe_found}),
            "axe_pages_with_violations": len({p.url for p in axe_found}),
            "other_browser_problems": len(in_browser) - len(axe_found),
            "failing_urls": len({p.url for p in problems}),
            "seconds_nu": seconds["nu"],
            "seconds_browser": seconds["browser"],
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
