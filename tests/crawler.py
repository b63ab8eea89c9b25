"""The crawler: every address the site links to, from each locale's home page, and one check of
each page in Chromium and the Nu Html Checker that every test about a page reads.

The crawl follows every same-site link the pages hold (query strings included, the fragment
dropped, the staff area left out). Chromium loads each HTML page once, as a first visit (no
cookie), runs axe-core, and notes what the page loaded, logged and kept; the Nu checker reads
all pages in one run. `site_crawl` and `page_checks` are session fixtures over the built site.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.message import Message
from queue import Empty, SimpleQueue
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.urls import iri_to_uri

from tests import checked_pages
from tests.fixtures_servers import BuiltLiveServer
from tests.helpers import (
    AXE_SCRIPT,
    CHROMIUM,
    CHROMIUM_ARGS,
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
class PageSeen:
    """What Chromium met on one page: every problem, and what the page loaded and kept."""

    problems: list[Problem]  # axe-core's rules, files that did not load, other sites, console
    axe_failures: int = 0  # failing elements
    hosts: set[str] = field(default_factory=set)
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    cookies: list[dict[str, Any]] = field(default_factory=list)  # as the page left them

    @property
    def axe(self) -> list[Problem]:
        """Return the axe-core problems only."""
        return [p for p in self.problems if p.cause.startswith("axe ")]


@dataclass
class Tab:
    """One Chromium tab in its own context, and what it saw while loading the current page."""

    page: Any
    log: RequestLog
    failed: list[str] = field(default_factory=list)  # our own files that did not load
    path: str = ""

    def open(self, origin: str, path: str) -> Problem | None:
        """Load a page, with no cookie, and start axe-core on it; say so if it did not load."""
        self.log.clear()
        self.failed.clear()
        self.page.context.clear_cookies()  # each page as a first visit: what it sets is its own
        self.path = path
        response = self.page.goto(origin + path, wait_until="load")
        if response is None or response.status != 200:
            self.path = ""
            return Problem(path, f"Chromium got {response.status if response else 'no answer'}")
        start_axe(self.page)
        return None

    def seen(self) -> PageSeen:
        """Wait for axe-core and for the network to fall quiet; return what the page did."""
        if not self.path:
            return PageSeen([])
        lines = finish_axe(self.page)
        # Anything the page fetches late (a script's request) must also stay on the site.
        self.page.wait_for_load_state("networkidle")
        found = axe_problems(self.path, lines)
        found += [Problem(self.path, "the browser's request failed", url) for url in self.failed]
        found += [Problem(self.path, "loads from another site", url) for url in self.log.foreign]
        found += [Problem(self.path, f"console error: {t[:160]}") for t in self.log.console_errors]
        return PageSeen(
            found,
            len(lines),
            self.log.hosts(),
            list(self.log.foreign),
            list(self.log.console_errors),
            self.page.context.cookies(),
        )

    def problems(self) -> tuple[list[Problem], int]:
        """Wait for axe-core; return the page's problems and its number of failing elements."""
        seen = self.seen()
        return seen.problems, seen.axe_failures


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


# Chromium renders and runs axe-core in its own processes while a tab waits on the network,
# so several tabs in parallel keep both cores busy. Playwright's sync API belongs to the thread
# that started it: each tab gets a thread with its own Playwright and Chromium.
PAGE_CHECK_TABS = 3


def browser_pass(origin: str, paths: list[str], tabs: int = PAGE_CHECK_TABS) -> dict[str, PageSeen]:
    """Check pages in Chromium, `tabs` at a time, each tab taking the next page when done."""
    todo: SimpleQueue[str] = SimpleQueue()
    for path in paths:
        todo.put(path)

    def one_tab() -> dict[str, PageSeen]:
        """Open a Chromium of this thread's own; check pages until none is left."""
        from playwright.sync_api import sync_playwright

        seen: dict[str, PageSeen] = {}
        with sync_playwright() as playwright, ExitStack() as stack:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            stack.callback(browser.close)
            tab = open_tab(stack, browser, origin)
            while True:
                try:
                    path = todo.get_nowait()
                except Empty:
                    return seen
                problem = tab.open(origin, path)
                seen[path] = PageSeen([problem]) if problem else tab.seen()

    with ThreadPoolExecutor(max_workers=tabs, thread_name_prefix="chromium-tab") as pool:
        found = [pool.submit(one_tab) for _ in range(min(tabs, len(paths)))]
        seen = {path: page for future in found for path, page in future.result().items()}
    return {path: seen[path] for path in paths}


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


def timed(seconds: dict[str, float], name: str, work: Callable[..., Any], *args: Any) -> Any:
    """Run `work(*args)`, noting in `seconds` how long it took, for the figures."""
    started = time.monotonic()
    try:
        return work(*args)
    finally:
        seconds[name] = round(time.monotonic() - started, 1)


# --- One pass over every page, for every test that asks about a page --------------------------


@dataclass
class PageChecks:
    """Every crawled page checked once: in Chromium (axe-core and more) and by the Nu checker."""

    origin: str
    seen: dict[str, PageSeen]
    nu: list[Problem]
    seconds: dict[str, float]
    checked: int = 0  # pages checked in this run
    kept: int = 0  # pages whose result an earlier run kept, with everything they are made of

    def page(self, path: str) -> PageSeen:
        """Return what Chromium met at a path, which the crawl must have reached."""
        assert path in self.seen, f"{path}: no link leads to it, so the crawl never checked it"
        return self.seen[path]


def seen_from_json(data: dict[str, Any]) -> PageSeen:
    """Return a kept result as the PageSeen it was written from."""
    return PageSeen(
        [Problem(**problem) for problem in data["problems"]],
        data["axe_failures"],
        set(data["hosts"]),
        data["foreign"],
        data["console_errors"],
        data["cookies"],
    )


@pytest.fixture(scope="session")
def site_crawl(built_live_server: BuiltLiveServer) -> Crawl:
    """Crawl the built site over HTTP once for the session."""
    return crawl(http_fetcher(built_live_server.url), built_live_server.url)


@pytest.fixture(scope="session")
def page_checks(site_crawl: Crawl, browser: Any, built_live_server: BuiltLiveServer) -> PageChecks:
    """Check every page the crawl found, once: Chromium and the Nu checker side by side.

    A page that passed before, made of exactly the same files, is not checked again
    (tests/checked_pages.py); a page with any problem is always checked afresh.
    """
    require_nu_checker()
    run = checked_pages.run_key(AXE_SCRIPT, browser.version, built_live_server.formats_dir)
    answers = site_crawl.answers
    keys = {path: checked_pages.page_key(run, path, answers[path]) for path in site_crawl.pages}
    kept = {path: found for path, key in keys.items() if (found := checked_pages.load(key))}
    todo = [path for path in site_crawl.pages if path not in kept]
    seconds: dict[str, float] = {"nu": 0.0, "browser": 0.0}
    fresh: dict[str, PageSeen] = {}
    nu_found: list[Problem] = []
    if todo:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pages = {path: site_crawl.pages[path] for path in todo}
            nu = pool.submit(timed, seconds, "nu", nu_problems, pages)
            fresh = timed(seconds, "browser", browser_pass, site_crawl.origin, todo)
            nu_found = nu.result()
    for path in todo:
        if not fresh[path].problems and not any(p.url == path for p in nu_found):
            checked_pages.keep(keys[path], checked_pages.as_json(fresh[path]))
    seen = {
        path: fresh[path] if path in fresh else seen_from_json(kept[path])
        for path in site_crawl.pages
    }
    return PageChecks(site_crawl.origin, seen, nu_found, seconds, len(todo), len(kept))
