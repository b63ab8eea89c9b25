"""The real servers the tests run against: HTTP in a thread, SMTP, PostgreSQL, Redis, nginx,
Chromium.

Each starts on 127.0.0.1 only, on a free port, and stops when its scope ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from gvisite.formats.build import BuildBusy, Report, build
from tests.conftest import close_database, make_app
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PROJECT_ROOT,
    require_chromium,
    require_tool,
)
from tests.processes import free_port, port_open, stop_process, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INITDB_OPTIONS = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]


# --- Apps and their databases ------------------------------------------------------------------


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A real HTTP server for the browser tests."""

    app: Flask
    url: str  # like http://127.0.0.1:12345, without a trailing slash


@pytest.fixture(scope="session")
def live_server_config() -> dict[str, Any]:
    """Extra config for the live server's app; override it to add to it."""
    return {}


@contextmanager
def serving(
    make: Callable[[str], Flask], name: str = "live-server", port: int = 0
) -> Iterator[LiveServer]:
    """Bind 127.0.0.1 on `port` (0: a free one), make the app for that URL, serve it in a thread."""
    # Bind first, so the app's SITE_URL (sitemap, canonical links) names the real port.
    server: BaseWSGIServer = make_server("127.0.0.1", port, Flask(__name__), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    try:
        url = f"http://127.0.0.1:{server.port}"
        server.app = make(url)
        thread.start()
        yield LiveServer(server.app, url)
    finally:
        if thread.is_alive():
            server.shutdown()
            thread.join(timeout=10)
        server.server_close()
        if isinstance(server.app, Flask) and "sqlalchemy" in server.app.extensions:
            close_database(server.app)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, live_server_config: dict[str, Any]
) -> Iterator[LiveServer]:
    """Serve the app on 127.0.0.1 and a free port, in a thread, for the whole session."""
    instance = tmp_path_factory.mktemp("live") / "instance"
    with serving(lambda url: make_app(instance, SITE_URL=url, **live_server_config)) as live:
        yield live


@dataclass
class BuiltFormats:
    """The real content's app with every other format of every page built, and no server."""

    app: Flask
    url: str  # its SITE_URL, which the pages and the built files name
    report: Report
    formats_dir: Path
    waited: float  # seconds spent waiting while another test process built the same folder


@dataclass
class BuiltLiveServer(LiveServer):
    """A live server whose app has every other format of every page built."""

    report: Report
    formats_dir: Path


# The built formats are kept between runs: a file is rebuilt only when its page, the tools or
# the formats' code changed (build.py's keys), so a run after no such change converts nothing.
# The keys name SITE_URL, so the server that serves them binds the same port in every run.
FORMATS_CACHE = PROJECT_ROOT / ".cache" / "test-formats"


def wanted_port() -> int:
    """Return this checkout's own port for the built site: the same in every run."""
    return 20000 + int(hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest(), 16) % 10000


def stable_port() -> int:
    """Return this checkout's own port if it is free, else 0."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted_port()))
        except OSError:  # taken (another run of this checkout?): build afresh on any port
            return 0
    return wanted_port()


def build_when_free(app: Flask) -> tuple[Report, float]:
    """Build; while another process builds the same folder, wait, then build what is left."""
    started = time.monotonic()
    while True:
        try:
            report = build(app)
        except BuildBusy:  # another xdist worker's group needs the same built site
            time.sleep(1)
            continue
        return report, round(time.monotonic() - started - report.seconds, 1)


@pytest.fixture(scope="session")
def built_formats(tmp_path_factory: pytest.TempPathFactory) -> BuiltFormats:
    """The real content with all formats built by the real `formats build` (slow, cached).

    Tests that read the built files, or the pages through the test client, need no server:
    they run on another worker than the built site's server (scheduling.py), and share its
    folder; the first to come builds, the other waits on the build's lock.
    """
    root = tmp_path_factory.mktemp("built")
    url = f"http://127.0.0.1:{wanted_port()}"
    folder = FORMATS_CACHE / str(wanted_port())
    app = make_app(root / "instance", SITE_URL=url, FORMATS_DIR=str(folder))
    report, waited = build_when_free(app)
    return BuiltFormats(app, url, report, folder, waited)


@pytest.fixture(scope="session")
def built_live_server(
    built_formats: BuiltFormats, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BuiltLiveServer]:
    """Serve the built site on the port its SITE_URL names, for Chromium and the crawl."""
    built = built_formats
    if stable_port():
        with serving(lambda _url: built.app, "built-live-server", wanted_port()) as live:
            yield BuiltLiveServer(live.app, live.url, built.report, built.formats_dir)
        return
    # The port is taken: build afresh, for a server on any free port.
    root = tmp_path_factory.mktemp("built-elsewhere")
    folder = root / "formats"
    reports: list[Report] = []

    def make(url: str) -> Flask:
        app = make_app(root / "instance", SITE_URL=url, FORMATS_DIR=str(folder))
        reports.append(build(app))  # EPUB ids and the files' digests name SITE_URL: build after
        return app

    with serving(make, "built-live-server") as live:
        yield BuiltLiveServer(live.app, live.url, reports[0], folder)


# --- SMTP --------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """Parse the message with the modern email policy (decoded headers and body)."""
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def body(self) -> str:
        """Return the decoded text body, with the line breaks SMTP carried turned back into LF."""
        return self.message.get_content().replace("\r\n", "\n")


@dataclass
class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""

    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    delay: float = 0.0  # seconds to take over each message, to make senders overlap

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message (aiosmtpd's handler hook)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received.append(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        )
        return "250 Message accepted"

    def clear(self) -> None:
        """Forget what was received."""
        self.received.clear()
        self.delay = 0.0

    def config(self) -> dict[str, Any]:
        """Return the app config that sends mail here."""
        return {"MAIL_BACKEND": "smtp", "SMTP_HOST": self.host, "SMTP_PORT": self.port}

    def to(self, address: str) -> list[ReceivedMail]:
        """Return the messages delivered to an address."""
        return [mail for mail in self.received if address in mail.rcpt_tos]


@contextmanager
def smtp_server_offering(smtputf8: bool) -> Iterator[SmtpServer]:
    """Run a real SMTP server (aiosmtpd) on 127.0.0.1 that offers SMTPUTF8, or does not."""
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(
        server, hostname=server.host, port=server.port, enable_SMTPUTF8=smtputf8
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def smtp_session() -> Iterator[SmtpServer]:
    """Run one SMTP server for the session (it offers SMTPUTF8, aiosmtpd's default)."""
    with smtp_server_offering(True) as server:
        yield server


@pytest.fixture
def smtp_server(smtp_session: SmtpServer) -> SmtpServer:
    """The session's SMTP server, with nothing received yet."""
    smtp_session.clear()
    return smtp_session


# --- PostgreSQL --------------------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1."""

    port: int
    folder: Path

    @property
    def data(self) -> Path:
        """Return the cluster's data folder."""
        return self.folder / "data"

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        """Run pg_ctl on the cluster (as the postgres user when we are root)."""
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(_as_postgres(command), check=check, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        # Fast but honest: a commit is on disk before it returns (synchronous_commit), so a
        # crash (an immediate stop) loses nothing acknowledged; only the OS flush is skipped.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
            " -c full_page_writes=off -c max_connections=200"
        )
        self._pg_ctl("-l", str(self.folder / "log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (`immediate`: as if it crashed; `fast`: a clean shutdown)."""
        self._pg_ctl("-m", mode, "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        """Return the address of a database in the cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its address."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres(command: list[str]) -> list[str]:
    """Run a command as the postgres user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throw-away PostgreSQL 15 cluster on 127.0.0.1; remove it afterwards."""
    require_tool((PG_BIN / "initdb").exists(), f"PostgreSQL 15 ({PG_BIN})")
    folder = Path(tempfile.mkdtemp(prefix="gvisite-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PostgresServer(free_port(), folder)
    try:
        try:
            subprocess.run(
                _as_postgres([str(PG_BIN / "initdb"), "-D", str(server.data), *INITDB_OPTIONS]),
                check=True,
                capture_output=True,
                timeout=120,
            )
            server.start()
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            require_tool(False, f"a PostgreSQL server ({exc}: {detail.decode(errors='replace')})")
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start PostgreSQL 15 for the session; fail in CI, skip elsewhere, if it cannot start."""
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the site supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


# --- Redis ------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A throw-away Redis server on 127.0.0.1 that keeps nothing on disk."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the address the app's RATELIMIT_STORAGE_URI takes."""
        return f"redis://127.0.0.1:{self.port}"

    def ping(self) -> bool:
        """Tell whether the server answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(64).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """Start Debian's redis-server on 127.0.0.1 and a free port; remove it afterwards."""
    binary = shutil.which("redis-server")
    require_tool(binary is not None, "Redis (Debian redis-server)")
    assert binary is not None
    folder = Path(tempfile.mkdtemp(prefix="gvisite-redis-"))
    server = RedisServer(free_port(), folder)
    options = ["--bind", "127.0.0.1", "--port", str(server.port), "--dir", str(folder)]
    options += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    log = open(folder / "log", "wb")  # noqa: SIM115  (closed below)
    try:
        server.process = subprocess.Popen([binary, *options], stdout=log, stderr=log)
        if not wait_until(server.ping, seconds=30):
            raise RuntimeError(f"redis-server did not start: {(folder / 'log').read_text()}")
        yield server
    finally:
        stop_process(server.process)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """Run Redis for the session; fail in CI, skip elsewhere, if it is not installed."""
    with running_redis() as server:
        yield server


# --- nginx ------------------------------------------------------------------------------------


def require_nginx() -> str:
    """Return Debian's nginx; fail in CI, skip elsewhere, if it is not installed."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    require_tool(binary is not None, "nginx (Debian nginx-light)")
    assert binary is not None
    return binary


@dataclass
class NginxServer:
    """nginx running the configuration in a folder, as `flask deploy nginx` wrote it."""

    folder: Path
    ports: tuple[int, ...]
    process: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        """Return the nginx command line for this folder."""
        return [
            require_nginx(),
            "-c",
            str(self.folder / "nginx.conf"),
            "-p",
            str(self.folder),
            *extra,
        ]

    def check(self) -> subprocess.CompletedProcess[str]:
        """Run `nginx -t` on the configuration."""
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=60)

    def error_log(self) -> str:
        """Return nginx's error log so far."""
        path = self.folder / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_nginx(folder: Path, ports: tuple[int, ...]) -> Iterator[NginxServer]:
    """Run nginx in the foreground on a written configuration until the block ends."""
    server = NginxServer(folder, ports)
    server.process = subprocess.Popen(
        server.command("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        up = wait_until(lambda: all(port_open(port) for port in ports), seconds=30)
        if not up or server.process.poll() is not None:
            stop_process(server.process)
            said = (
                server.process.stderr.read().decode(errors="replace")
                if server.process.stderr
                else ""
            )
            raise RuntimeError(f"nginx did not start: {said} {server.error_log()}")
        yield server
    finally:
        stop_process(server.process, signal.SIGQUIT)  # a graceful stop: requests finish
        if server.process.stderr is not None:
            server.process.stderr.close()


# --- Chromium -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright, one instance for the whole session (a second sync
    Playwright in the same worker cannot start). It may play sound without a click, silently:
    the read-along tests start players by script (the site itself never plays on its own)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    sound = ["--autoplay-policy=no-user-gesture-required", "--mute-audio"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *sound]
        )
        try:
            yield chromium
        finally:
            chromium.close()
