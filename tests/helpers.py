"""Reusable test helpers: parsed HTML, axe-core, the Nu checker, requests, cookies, crawling."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from bs4 import BeautifulSoup
from flask import Flask
from flask_babel import force_locale, gettext

from gvisite import progress as progress_module
from gvisite.i18n import LOCALES
from tests.processes import free_port, stop_process, wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Screenshots the browser tests take, to be looked at (SCREENSHOTS moves them): never asserted on.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", "") or PROJECT_ROOT / "screenshots")
# Chromium's headless shell (Debian's chromium-headless-shell): the same Blink, V8 and DevTools
# protocol as the browser, without the browser's own layers (its GPU process, profile services).
# A page check costs it less than half the processor time (0.09 s against 0.27 s of Chromium's
# per page, measured over 60 pages). The real binary, not /usr/bin's shell wrapper, so a
# signal to stop it reaches Chromium itself.
CHROMIUM = "/usr/lib/chromium/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VNU_JAR = PROJECT_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# The WCAG levels the site promises (docs/accessibility-law.md: 2.1 AA by law, aiming for 2.2 AA).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SITEMAP_NS = {
    "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "x": "http://www.w3.org/1999/xhtml",
}
ATOM_NS = {"a": "http://www.w3.org/2005/Atom"}

_axe = Axe()


def parse(html: str | bytes) -> BeautifulSoup:
    """Parse an HTML document the way the assertions read it."""
    return BeautifulSoup(html, "html.parser")


def parse_xml(body: str | bytes) -> ET.Element:
    """Parse XML the site itself produced (sitemap, Atom); raises on anything malformed."""
    return ET.fromstring(body)  # noqa: S314  (our own server's output, not untrusted input)


def translate(app: Flask, locale: str, message: str, **variables: Any) -> str:
    """Return interface text as the catalog of `locale` has it (the msgid if untranslated)."""
    with app.test_request_context(f"/{locale}/"), force_locale(locale):
        return gettext(message, **variables)


def as_mailed(locale: str, text: str) -> str:
    """Return a text as a mail in the locale has it: right to left, its numbers isolated."""
    from gvisite.templating import isolate_ltr

    return isolate_ltr(text) if LOCALES[locale].direction == "rtl" else text


def require_tool(found: bool, what: str) -> None:
    """Skip a test whose tool is missing here, but fail it in CI, where everything must run."""
    if found:
        return
    message = f"{what} is not installed (run `make test` to install it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_chromium() -> None:
    """Require Chromium's headless shell from Debian."""
    require_tool(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM})")


def require_nu_checker() -> None:
    """Require Java and the Nu Html Checker from npm."""
    require_tool(shutil.which("java") is not None, "Java")
    require_tool(VNU_JAR.exists(), f"the Nu Html Checker ({VNU_JAR.relative_to(PROJECT_ROOT)})")


def force_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the long commands draw their progress as on a terminal (CliRunner's is none)."""
    # Click itself still sees CliRunner's stream, which is no terminal: it prints the labels.
    monkeypatch.setattr(progress_module, "on_terminal", lambda: True)


# --- Sitemap ----------------------------------------------------------------------------------


def sitemap_entries(body: str | bytes) -> dict[str, dict[str, str]]:
    """Return each `<loc>` of a sitemap with its `{hreflang: href}` alternates."""
    root = parse_xml(body)
    entries = {}
    for url in root.findall("s:url", SITEMAP_NS):
        loc = url.findtext("s:loc", namespaces=SITEMAP_NS)
        assert loc, "a sitemap <url> without <loc>"
        entries[loc.strip()] = {
            link.get("hreflang", ""): link.get("href", "")
            for link in url.findall("x:link", SITEMAP_NS)
        }
    return entries


def sitemap_paths(body: str | bytes) -> list[str]:
    """Return the site paths listed in a sitemap, in its order."""
    return [urlsplit(loc).path for loc in sitemap_entries(body)]


# --- axe-core ---------------------------------------------------------------------------------


def axe_options(tags: Iterable[str] = AXE_TAGS) -> dict[str, Any]:
    """Return axe-core's options: only the rules of `tags`, only violations reported."""
    return {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}


def violation_lines(results: Mapping[str, Any]) -> list[str]:
    """Return one readable line per element axe-core found failing a rule."""
    lines = []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']}"
                f" — {target}: {node['html'][:200]} — {summary}"
            )
    return lines


def axe_violations(page: Any, tags: Iterable[str] = AXE_TAGS) -> list[str]:
    """Run axe-core on a Playwright page; return one readable line per failing element."""
    return violation_lines(_axe.run(page, options=axe_options(tags)).response)


def axe_rule_violations(page: Any, rules: Iterable[str]) -> list[str]:
    """Run only the named axe-core rules (a best-practice one, like `region`) on a page."""
    options = {"runOnly": {"type": "rule", "values": list(rules)}, "resultTypes": ["violations"]}
    return violation_lines(_axe.run(page, options=options).response)


AXE_SCRIPT = _axe.axe_script  # for `context.add_init_script`, so each page has axe at load


def start_axe(page: Any, tags: Iterable[str] = AXE_TAGS) -> None:
    """Start axe-core in a page without waiting for it, so several tabs can work at once."""
    if not page.evaluate("() => typeof axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    page.evaluate(
        "(options) => { window.__axeRun = axe.run(document, options); }", axe_options(tags)
    )


def finish_axe(page: Any) -> list[str]:
    """Wait for the run `start_axe` began; return one readable line per failing element."""
    return violation_lines(page.evaluate("() => window.__axeRun"))


def assert_no_axe_violations(page: Any, tags: Iterable[str] = AXE_TAGS) -> None:
    """Fail with every axe-core violation on the page, each on its own line."""
    found = axe_violations(page, tags)
    assert not found, f"{page.url}: {len(found)} axe violation(s):\n" + "\n".join(found)


# --- Nu Html Checker --------------------------------------------------------------------------


# The checker runs as its own HTTP service, one per test process (each xdist worker starts its
# own), from the first check on: one JVM start per process instead of one per call, each
# several seconds of CPU. It listens on 127.0.0.1 only.
NU_STARTUP_SECONDS = 240  # it reads its schemas and the HTML spec: ~9 s of CPU, 15-30 s here
NU_THREADS = 2  # documents checked at once: one per core here (3 and 4 were no faster, 1 slower)


@dataclass
class NuService:
    """The Nu Html Checker's own HTTP service (vnu-server) on 127.0.0.1, and its output."""

    process: subprocess.Popen[bytes]
    url: str  # like http://127.0.0.1:12345/
    log: Path

    def output(self) -> str:
        """Return the end of what the service has printed."""
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def answers(self) -> bool:
        """Tell whether the service answers a request."""
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def check(self, html: bytes) -> list[dict[str, Any]]:
        """Check one document; return the messages `vnu.jar --errors-only` would report."""
        # UTF-8, as the command line reads a file: a document's own wrong declaration still shows.
        headers = {"Content-Type": "text/html; charset=utf-8"}
        address = f"{self.url}?out=json&level=error"
        request = urllib.request.Request(address, data=html, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                report = json.load(response)
        except (OSError, ValueError) as exc:
            raise AssertionError(f"the Nu Html Checker failed: {exc}\n{self.output()}") from exc
        # As --errors-only (the service's level=error) does: no "info" messages (warnings are
        # info); errors, fatal errors (an error with subType "fatal") and its own failures stay.
        return [message for message in report["messages"] if message.get("type") != "info"]

    def stop(self) -> None:
        """Stop the service's process group and remove its output."""
        stop_process(self.process, group=True)
        self.log.unlink(missing_ok=True)


@cache
def nu_service() -> NuService:
    """Start this process's Nu service and wait until it answers; it stops when we exit."""
    # setpriv's parent-death signal comes when the *thread* that started the service ends: a
    # service started in a pool's thread died with it, and every later check found no service.
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("start the Nu service on the main thread first (nu_service())")
    port = free_port()
    command = ["java", "-Dnu.validator.servlet.bind-address=127.0.0.1", "-cp", str(VNU_JAR)]
    command += ["nu.validator.servlet.Main", str(port)]
    if shutil.which("setpriv"):  # it dies with this process, even one killed before atexit runs
        command = ["setpriv", "--pdeathsig", "TERM", *command]
    handle, log = tempfile.mkstemp(prefix="gvisite-nu-", suffix=".log")
    with os.fdopen(handle, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    service = NuService(process, f"http://127.0.0.1:{port}/", Path(log))
    atexit.register(service.stop)
    up = wait_until(lambda: process.poll() is not None or service.answers(), NU_STARTUP_SECONDS)
    if not up or process.poll() is not None:
        said = service.output()
        service.stop()
        raise AssertionError(f"the Nu Html Checker's service did not start:\n{said}")
    return service


def nu_errors(documents: Mapping[str, str | bytes]) -> list[str]:
    """Validate HTML documents with the Nu Html Checker; return `name:line: message` errors."""
    require_nu_checker()
    service = nu_service()
    bodies = [html.encode() if isinstance(html, str) else html for html in documents.values()]
    with ThreadPoolExecutor(NU_THREADS) as pool:
        reports = list(pool.map(service.check, bodies))
    errors = []
    for name, messages in zip(documents, reports, strict=True):
        for message in messages:
            line = message.get("lastLine", "?")
            extract = " ".join(message.get("extract", "").split())
            errors.append(f"{name}:{line}: {message['message']} [{extract}]")
    return errors


# --- Requests and cookies ---------------------------------------------------------------------


@dataclass
class RequestLog:
    """What a browser context asked for: every request, and those to hosts other than ours."""

    own_origin: str
    urls: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def clear(self) -> None:
        """Forget everything logged so far."""
        self.urls.clear()
        self.foreign.clear()
        self.console_errors.clear()

    def hosts(self) -> set[str]:
        """Return every host the browser contacted."""
        return {urlsplit(url).netloc for url in self.urls if urlsplit(url).netloc}


def watch_requests(context: Any, own_origin: str) -> RequestLog:
    """Log a context's requests and block (and log) any that leave `own_origin`.

    Routes a test adds later take precedence, so a test can still stub one outside address.
    """
    log = RequestLog(own_origin.rstrip("/"))

    def handle(route: Any) -> None:
        url = route.request.url
        log.urls.append(url)
        if url.startswith(f"{log.own_origin}/") or url.startswith(("data:", "about:")):
            route.continue_()
        else:
            log.foreign.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", handle)
    context.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    context.on("weberror", lambda e: log.console_errors.append(str(e.error)))
    return log


def cookie_names(context: Any) -> list[str]:
    """Return the names of the cookies a browser context holds."""
    return sorted(cookie["name"] for cookie in context.cookies())


@contextmanager
def watched_context(browser: Any, origin: str, **options: Any) -> Iterator[tuple[Any, RequestLog]]:
    """Open a browser context that blocks and logs requests leaving `origin`; close it after."""
    context = browser.new_context(**{"locale": "sv-SE", **options})
    try:
        yield context, watch_requests(context, origin)
    finally:
        context.close()


@contextmanager
def desktop_tab(browser: Any, origin: str) -> Iterator[Any]:
    """Open one desktop-sized tab on `origin`; after use, no request may have left it."""
    with watched_context(browser, origin, viewport={"width": 1280, "height": 900}) as (
        context,
        log,
    ):
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        assert not log.foreign, f"requests left the site: {log.foreign}"


@cache
def app_sitemap_paths() -> list[str]:
    """Return the paths in the real app's sitemap, for parametrizing tests at collection time."""
    from gvisite import create_app

    with tempfile.TemporaryDirectory(prefix="gvisite-") as instance:
        app = create_app({"TESTING": True, "SECRET_KEY": "collect", "INSTANCE_PATH": instance})
        body = app.test_client().get("/sitemap.xml").data
    return sitemap_paths(body)


# --- Crawling ---------------------------------------------------------------------------------

# Where a page names another address: the links a reader or the browser follows.
LINK_ATTRIBUTES = {
    "a": "href",
    "area": "href",
    "link": "href",
    "script": "src",
    "img": "src",
    "audio": "src",
    "video": "src",
    "source": "src",
    "track": "src",
    "iframe": "src",
    "embed": "src",
}
# Files to HEAD rather than parse: format downloads, static assets, and anything with these ends.
FILE_PREFIXES = ("/formats/", "/static/")
FILE_SUFFIXES = {".css", ".js", ".ico", ".png", ".svg", ".webp", ".woff2", ".mp3", ".pdf", ".epub"}
# The media types a file with this ending must be served as (several names are in use for some).
MEDIA_TYPES = {
    ".css": {"text/css"},
    ".js": {"text/javascript", "application/javascript"},
    ".ico": {"image/x-icon", "image/vnd.microsoft.icon"},
    ".png": {"image/png"},
    ".svg": {"image/svg+xml"},
    ".webp": {"image/webp"},
    ".woff2": {"font/woff2"},
    ".mp3": {"audio/mpeg"},
    ".pdf": {"application/pdf"},
    ".epub": {"application/epub+zip"},
    ".txt": {"text/plain"},
    ".brf": {"text/plain"},
    ".vtt": {"text/vtt"},  # a recording's sentence timings (the read-along)
    ".html": {"text/html"},
    ".atom": {"application/atom+xml"},
    ".json": {"application/json"},
    ".csv": {"text/csv"},
    ".xml": {"application/xml", "text/xml"},
}
FORM_AREA = re.compile(
    r"^/[a-z]{2}/(tillganglighet/(rapportera|alternativt-format|kvitto)|arende/)|^/staff(/|$)"
)
LOCAL_URL = re.compile(r"https?://(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)(?::\d+)?")


@dataclass
class Link:
    """One address a document names, with what the link says the target is."""

    url: str  # absolute, with the query, without the fragment
    tag: str
    type: str = ""  # the link's `type` attribute, if any


@dataclass
class Answer:
    """One response, as a crawler needs it from a live server or a test client."""

    status: int
    headers: dict[str, str]  # names in lower case; `set-cookie` joined by newlines
    body: bytes = b""

    @property
    def media_type(self) -> str:
        """Return the Content-Type without its parameters."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def document_links(html: str | bytes, base: str) -> list[Link]:
    """Return every address an HTML document links to or loads, resolved against `base`."""
    soup = parse(html)
    found = []
    for tag, attribute in LINK_ATTRIBUTES.items():
        for element in soup.find_all(tag):
            value = element.get(attribute)
            if isinstance(value, str) and value.strip():
                url = urldefrag(urljoin(base, value.strip())).url
                found.append(Link(url, tag, str(element.get("type") or "")))
    return found


def feed_links(body: bytes, base: str) -> list[Link]:
    """Return the `<link href>` addresses and `<id>`s of an Atom feed."""
    root = parse_xml(body)
    links = [Link(urljoin(base, x.get("href", "")), "atom:link") for x in root.iter(_atom("link"))]
    ids = [Link(x.text.strip(), "atom:id") for x in root.iter(_atom("id")) if x.text]
    return links + ids


def _atom(name: str) -> str:
    """Return an Atom element's qualified name."""
    return f"{{{ATOM_NS['a']}}}{name}"


def origin_of(url: str) -> str:
    """Return `scheme://host[:port]` of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def foreign_address_problem(url: str, own_origin: str) -> str | None:
    """Say what is wrong with an absolute address that should name our own site, if anything.

    Other sites over https are fine; plain http elsewhere, and any local or :5000 address that is
    not `own_origin`, mean the page took its address from somewhere other than SITE_URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or origin_of(url) == own_origin:
        return None
    if parts.port == 5000 or LOCAL_URL.match(url):
        return f"links to {origin_of(url)}, not to SITE_URL {own_origin}"
    if parts.scheme == "http":
        return f"links to another site over plain http: {origin_of(url)}"
    return None


def content_type_problem(answer: Answer, path: str, declared: str = "") -> str | None:
    """Say what is wrong with a response's Content-Type for a file at `path`, if anything."""
    content_type = answer.headers.get("content-type", "")
    charsets = content_type.lower().count("charset=")
    if not answer.media_type:
        return "no Content-Type"
    if charsets > 1:
        return f"more than one charset: Content-Type {content_type!r}"
    if answer.media_type.startswith("text/") and charsets == 0:
        return f"text without a charset: Content-Type {content_type!r}"
    expected = MEDIA_TYPES.get(PurePosixPath(urlsplit(path).path).suffix.lower(), set())
    if declared and declared.split(";")[0].strip().lower() != answer.media_type:
        return f"served as {answer.media_type}, but the link says type={declared!r}"
    if expected and answer.media_type not in expected:
        return f"served as {answer.media_type}, expected {' or '.join(sorted(expected))}"
    return None


def is_file(path: str) -> bool:
    """Return whether a site path is a download or static file, to HEAD instead of parse."""
    suffix = PurePosixPath(urlsplit(path).path).suffix.lower()
    return path.startswith(FILE_PREFIXES) or suffix in FILE_SUFFIXES


def build_without_tools(app: Flask, sources: list[tuple[str, str]]) -> None:
    """Build a few pages' formats that need no tool (large-print web page, text): in a second."""
    from gvisite.formats import build as formats_build

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formats_build, "tool_versions", dict)  # no tool found: none runs
        patch.setattr(formats_build, "source_names", lambda _app: sources)
        formats_build.build(app)
