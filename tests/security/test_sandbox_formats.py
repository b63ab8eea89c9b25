"""Issue #22 §1: the format tools get editors' and staff's text only as data, in a sandbox.

The hostile page is built for real, by the running site's refresher (a child process running
`build`, as in production), on a small site: a home page per locale, the statements and the
hostile page. Canaries: a file, an environment variable, a key file in the working folder and an
HTTP server on 127.0.0.1; none may show up in any output or be asked for.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from gvisite import create_app
from gvisite.config import defaults, from_environment
from gvisite.extensions import db
from gvisite.formats import build as formats_build
from gvisite.formats import sandbox
from gvisite.formats.build import build
from gvisite.formats.catalogue import FORMATS
from gvisite.formats.convert import make_pdf, prepare, static_fetcher
from gvisite.formats.refresh import Refresher
from gvisite.formats.source import render_source
from gvisite.formats.speech import SPEECH_RATE, _read_aloud
from gvisite.formats.store import Store
from gvisite.formats.text import Labels, read_blocks, speak_ssml, to_sentences
from gvisite.models import PublishedProblem
from tests.conftest import app_config, close_database, markdown_page, migrate
from tests.formats.test_formats_refresh import installed_formats, small_content
from tests.pages.test_lint import check as check
from tests.pages.test_lint import findings

PYTHON = "/usr/bin/python3"  # Debian's, in /usr: what the sandbox shows
HOSTILE = "fientlig"  # the hostile page's name, in sv
MARKER = "Kanariefagel"  # a word of the hostile page's text, never to be logged
# A stand-in for lou_translate that fails on the hostile page only, printing what it was given:
# the build must log the failure by page and format, without the page's text.
FAKE_LOU = """#!/bin/sh
if [ "$1" = "--version" ]; then exec /usr/bin/lou_translate --version; fi
t="$HOME/stdin"
cat > "$t"
if grep -q MARKER "$t"; then cat "$t" >&2; exit 3; fi
exec /usr/bin/lou_translate "$@" < "$t"
""".replace("MARKER", MARKER)


class CanaryServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that notes every request and answers with its token."""

    def __init__(self, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _CanaryHandler)
        self.token = token
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        """Return the server's address."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _CanaryHandler(BaseHTTPRequestHandler):
    server: CanaryServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        body = f'body::after {{ content: "{self.server.token}" }}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Keep quiet."""


def site_app(root: Path, content: Path | None = None, **overrides: Any) -> Flask:
    """An app on a small site (a home page per locale) or on `content`, its database made."""
    config = app_config(
        root / "instance",
        CONTENT_DIR=str(content or small_content(root)),
        FORMATS_DIR=str(root / "formats"),
        FORMATS_REFRESH_SECONDS=0,
        **overrides,
    )
    app = create_app(config)
    migrate(app)
    return app


@pytest.fixture
def canary_server() -> Iterator[CanaryServer]:
    """A canary HTTP server on 127.0.0.1, running for the test."""
    server = CanaryServer(f"canary-http-{secrets.token_hex(8)}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def everything_in(folder: Path) -> bytes:
    """Return every byte under a folder, with each zip file's members unpacked too."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found.append(data)
        if data[:2] == b"PK":
            with zipfile.ZipFile(path) as book:
                found += [book.read(name) for name in book.namelist()]
    return b"\n".join(found)


def still_running(word: str, grace: float = 5) -> list[str]:
    """Return the processes with `word` in their command line still there after `grace` s."""
    deadline = time.monotonic() + grace
    while (found := processes_with(word)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def processes_with(word: str) -> list[str]:
    """Return the command lines of running processes that contain `word`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if word in line and str(os.getpid()) != entry.name:
            found.append(line)
    return found


# --- The hostile page, built by the running site ---------------------------------------------


def test_hostile_text_and_images_reach_no_file_no_network_and_no_shell(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    canary_server: CanaryServer,
) -> None:
    tokens = {name: f"canary-{name}-{secrets.token_hex(8)}" for name in ("file", "env", "key")}
    canary_file = tmp_path / "canary.txt"
    canary_file.write_text(tokens["file"], encoding="ascii")
    touched = [Path(f"/tmp/gvisite-touched-{secrets.token_hex(6)}") for _ in range(2)]
    # What pandoc used to find from its working folder: the process's own environment, and a
    # key file as the development instance keeps it.
    work = tmp_path / "work" / "a" / "b" / "c"
    (work / "instance").mkdir(parents=True)
    (work / "instance" / "secret_key").write_text(tokens["key"], encoding="ascii")
    monkeypatch.chdir(work)
    monkeypatch.setenv("GVISITE_CANARY", tokens["env"])
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "lou_translate").write_text(FAKE_LOU, encoding="utf-8")
    (tools / "lou_translate").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    up = "../" * 12
    body = "\n\n".join([
        f'`<break time="1ms"/><audio src="$(touch {touched[0]})"/>` {MARKER} hälsar.',
        '`<break time="36000s"/>` ' * 50 + "Slut.",
        f"![Miljön]({up}proc/self/environ)",
        "![Nyckeln](instance/secret_key)",
        f"![Filen]({up}{str(canary_file).lstrip('/')})",
        f"![Servern]({canary_server.url}/bild.png)",
    ])  # fmt: skip
    content = small_content(tmp_path)
    (content / "sv" / f"{HOSTILE}.md").write_text(
        markdown_page(body, title="Fientlig sida"), encoding="utf-8"
    )
    app = site_app(tmp_path / "site", content)
    # The statement's audio reads the published problems: staff's text goes the same way.
    problem = f'<break time="1ms"/><audio src="$(touch {touched[1]})"/> {MARKER} saknas.'
    with app.app_context():
        db.session.add(PublishedProblem(what={"sv": problem}, criteria=["2.4.7"]))
        db.session.commit()
    refresher = Refresher(app, 3600)
    try:
        with caplog.at_level(logging.INFO, logger=app.logger.name):
            assert refresher.refresh() is False
    finally:
        close_database(app)
    assert refresher.last is not None
    # The stand-in braille tool fails where the marker is: the page, and the statements that
    # list the problem; nothing else fails.
    failed = refresher.last["failed"]
    assert ["sv", HOSTILE, "brf"] in failed and ["sv", "statement", "brf"] in failed
    assert {key for _locale, _name, key in failed} == {"brf"}
    folder = Path(app.config["FORMATS_DIR"])
    files = Store(folder)
    for key in installed_formats() - {"brf"}:  # the page's other formats are built
        assert files.file("sv", HOSTILE, FORMATS[key]).stat().st_size > 0, key
        assert files.file("sv", "statement", FORMATS[key]).stat().st_size > 0, key
    output = everything_in(folder)
    for token in [*tokens.values(), canary_server.token]:
        assert token.encode() not in output, token
    assert canary_server.requests == []
    assert [path for path in touched if path.exists()] == []
    logged = [r.getMessage() for r in caplog.records if r.name == app.logger.name]
    assert any(f"could not build sv/{HOSTILE} brf" in line for line in logged), logged
    assert not [line for line in logged if MARKER in line or "break" in line]


def test_speech_script_has_only_its_own_pauses_whatever_the_text_says() -> None:
    text = '&lt;break time="36000s"/&gt;&lt;audio src="/etc/passwd"/&gt; x'
    doc = read_blocks(f"<p>{text}</p><h2>&lt;break time=&quot;9s&quot;/&gt;</h2>", "http://x")
    labels = Labels("Uppdaterad", "Ägare", "Adress", "Länkar", "Rubrik: %(text)s")
    scripts = [speak_ssml(s.text, "sv") for s in to_sentences('<break time="99s"/>', doc, labels)]
    assert len(scripts) == 4 and not [s for s in scripts if "<audio" in s or "<break" in s]
    rate, _sound, samples = _read_aloud(scripts, "sv", SPEECH_RATE, sandboxed=True)
    assert sum(samples) / rate < 60  # read as text: no 36,000 s silence, no sound file


# --- The sandbox itself ----------------------------------------------------------------------


def test_a_tool_that_loops_is_killed_at_its_cpu_limit_with_everything_it_started() -> None:
    mark = str(900_000 + secrets.randbelow(99_999))
    started = time.monotonic()
    with pytest.raises(sandbox.ToolFailed, match=r"killed|exited"):
        sandbox.run(
            ["sh", "-c", f"sleep {mark} & while :; do :; done"],
            limits=sandbox.Limits(seconds=60, cpu_seconds=1),
        )
    assert time.monotonic() - started < 30
    assert still_running(f"sleep {mark}") == []


def test_a_tool_that_waits_is_stopped_at_the_wall_clock_limit() -> None:
    mark = str(800_000 + secrets.randbelow(99_999))
    started = time.monotonic()
    with pytest.raises(sandbox.ToolFailed, match="ran over 2 s"):
        sandbox.run(["sleep", mark], limits=sandbox.Limits(seconds=2))
    assert time.monotonic() - started < 15
    assert still_running(f"sleep {mark}") == []


def test_a_tool_leaves_no_process_behind_when_it_ends() -> None:
    mark = str(700_000 + secrets.randbelow(99_999))
    sandbox.run(["sh", "-c", f"sleep {mark} & echo started"])
    assert still_running(f"sleep {mark}") == []


@pytest.mark.parametrize(
    ("command", "limits"),
    [
        (["head", "-c", "8M", "/dev/zero"], sandbox.Limits(file_bytes=1 << 20)),
        (["sh", "-c", "head -c 8M /dev/zero > big"], sandbox.Limits(file_bytes=1 << 20)),
        ([PYTHON, "-c", "b = bytearray(512 << 20)"], sandbox.Limits(memory_bytes=64 << 20)),
    ],
    ids=["stdout-size", "file-size", "memory"],
)
def test_a_tool_is_stopped_at_its_size_and_memory_limits(
    command: list[str], limits: sandbox.Limits
) -> None:
    with pytest.raises(sandbox.ToolFailed):
        sandbox.run(command, limits=limits)


def test_a_tool_sees_no_network_no_environment_and_no_file_but_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, canary_server: CanaryServer
) -> None:
    token = f"canary-{secrets.token_hex(8)}"
    monkeypatch.setenv("SECRET_KEY", token)
    canary = tmp_path / "canary"
    canary.write_text(token, encoding="ascii")
    escaped = tmp_path / "written-from-the-sandbox"
    port = canary_server.server_address[1]
    script = (
        "import os, socket\n"
        "print(sorted(os.environ))\n"
        f"for path in {[str(canary), '/proc/1/environ', '/etc/passwd']!r}:\n"
        "    try: print(open(path).read())\n"
        "    except OSError as exc: print('refused', type(exc).__name__)\n"
        f"try: open({str(escaped)!r}, 'w').write('x')\n"
        "except OSError as exc: print('refused', type(exc).__name__)\n"
        f"try: socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
        "except OSError as exc: print('refused', type(exc).__name__)\n"
        "open('made-here', 'w').write('ok')\n"
    )
    said = sandbox.run([PYTHON, "-c", script], files={"input": b"in"})
    assert token.encode() not in said.stdout
    assert said.stdout.count(b"refused") == 4, said.stdout  # the canary, passwd, write, connect
    assert said.stdout.splitlines()[0] == b"['HOME', 'LANG', 'PATH', 'PWD']"
    assert said.files == {"made-here": b"ok"}
    assert not escaped.exists()
    assert canary_server.requests == []


# --- Without bubblewrap ----------------------------------------------------------------------


@pytest.fixture
def no_bubblewrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make bubblewrap missing, as on a server without the package."""
    monkeypatch.setattr(sandbox, "BWRAP", str(tmp_path / "no-such-bwrap"))
    sandbox.problem.cache_clear()
    yield
    sandbox.problem.cache_clear()


def test_without_bubblewrap_the_build_refuses_and_names_the_setting(
    tmp_path: Path, no_bubblewrap: None
) -> None:
    app = site_app(tmp_path)
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["formats", "build"])
        assert result.exit_code == 1
        assert "FORMATS_WITHOUT_SANDBOX" in result.output
        assert not list(Path(app.config["FORMATS_DIR"]).rglob("*.mp3"))
        result = runner.invoke(args=["formats", "check"])
        assert result.exit_code == 1
        assert "sandbox" in result.output and "FORMATS_WITHOUT_SANDBOX" in result.output
    finally:
        close_database(app)


def test_the_setting_builds_without_bubblewrap_and_warns_at_every_build(
    tmp_path: Path,
    no_bubblewrap: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert defaults(str(tmp_path))["FORMATS_WITHOUT_SANDBOX"] is False
    assert from_environment({"FORMATS_WITHOUT_SANDBOX": "1"}) == {"FORMATS_WITHOUT_SANDBOX": True}
    app = site_app(tmp_path, FORMATS_WITHOUT_SANDBOX=True)
    monkeypatch.setattr(formats_build, "source_names", lambda _app: [("sv", "index")])
    try:
        for _ in range(2):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger=app.logger.name):
                report = build(app, force=True)
            assert report.failed == []
            warned = [r for r in caplog.records if "WITHOUT a sandbox" in r.getMessage()]
            assert [r.levelname for r in warned] == ["WARNING"]
    finally:
        close_database(app)


def test_formats_check_says_the_sandbox_works(tmp_path: Path) -> None:
    app = site_app(tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["formats", "check"])
    finally:
        close_database(app)
    assert any(
        line.startswith("sandbox") and "works" in line for line in result.output.splitlines()
    )


# --- Images: files of the site only ----------------------------------------------------------


def test_an_image_not_of_the_site_is_a_content_error_with_its_file_and_line(
    check: Any, make_content: Any
) -> None:
    body = "\n".join([
        "Text.",  # file line 7: markdown_page puts six lines of front matter first
        "",
        "![Miljön](../../../../proc/self/environ)",
        "![Nyckeln](instance/secret_key)",
        "![Servern](http://127.0.0.1:9/bild.png)",
        "![Saknas](/static/img/finns-inte.png)",
        "![Utanför](/static/../config.py)",
        '<img alt="Rå" src="/etc/passwd">',
        "![Ikonen](/static/img/favicon.svg)",
    ])  # fmt: skip
    content = make_content({"sv/om.md": markdown_page(body)})
    result = check(content)
    errors = findings(result, "error")
    assert result.exit_code != 0
    for line, src in [(9, "environ"), (10, "secret_key"), (11, "127.0.0.1"),
                      (12, "finns-inte"), (13, "config.py"), (14, "/etc/passwd")]:  # fmt: skip
        assert any(f"sv/om.md:{line}:" in e and src in e for e in errors), (line, errors)
    assert not [e for e in errors if "favicon" in e]


def test_the_sanitizer_keeps_only_the_sites_own_images(make_content: Any, tmp_path: Path) -> None:
    body = "![A](instance/secret_key) ![B](http://127.0.0.1:9/x.png) ![C](/static/img/favicon.svg)"
    content = make_content({"sv/om.md": markdown_page(body)})
    app = site_app(tmp_path / "site", content)
    try:
        page = app.test_client().get("/sv/om").get_data(as_text=True)
    finally:
        close_database(app)
    assert "secret_key" not in page and "127.0.0.1:9" not in page
    assert 'src="/static/img/favicon.svg' in page


# --- WeasyPrint, in this process -------------------------------------------------------------


def test_the_pdf_fetches_nothing_but_the_sites_static_files(
    tmp_path: Path, canary_server: CanaryServer
) -> None:
    token = f"canary-css-{secrets.token_hex(8)}"
    css = tmp_path / "canary.css"
    css.write_text(f'body::after {{ content: "{token}" }}', encoding="ascii")
    hostile = (
        "<!doctype html><html lang=sv><head><title>T</title>"
        f'<link rel="stylesheet" href="file://{css}">'
        f'<link rel="stylesheet" href="{canary_server.url}/s.css">'
        f'<link rel="stylesheet" href="/static/../../../../../../../..{css}">'
        f'<link rel="stylesheet" href="../../../../../../../../..{css}">'
        f'<style>@import url("file://{css}");</style></head>'
        f'<body><p>Sidans text.</p><img alt="" src="{canary_server.url}/i.png"></body></html>'
    )
    app = site_app(tmp_path)
    try:
        source = render_source(app, "sv", "index")
        assert source is not None
        page = replace(prepare(app, source), large_print_pdf=hostile)
        pdf = make_pdf(page)
    finally:
        close_database(app)
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Sidans text." in text
    assert token not in text and canary_server.token not in text
    assert canary_server.requests == []
    fetch = static_fetcher("http://localhost")
    answer = fetch("http://localhost/static/img/favicon.svg")
    assert answer.read()[:4] == b"<svg"
    answer.close()
    refused = [f"file://{css}", f"{canary_server.url}/s.css", "http://localhost/instance/x",
               "http://localhost/static/%2e%2e/config.py",
               "http://evil/static/img/favicon.svg"]  # fmt: skip
    for url in refused:
        with pytest.raises(ValueError, match="not fetched"):
            fetch(url)
