"""The production set-up for the tests: `flask deploy nginx`, nginx, gunicorn app servers, clients.

Everything is real and on loopback: a self-signed certificate made by openssl, the config the
command writes, nginx started on it, gunicorn app servers behind it and `flask outbox worker`s
beside them. Clients speak HTTPS with the standard library and can come from any 127.0.0.x
address, so the rate limits see different residents.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.fixtures_servers import (
    NginxServer,
    free_port,
    port_open,
    require_nginx,
    running_nginx,
    stop_process,
    wait_until,
)
from tests.helpers import PROJECT_ROOT, require_tool

BIN = Path(sys.executable).parent
SERVER_NAME = "localhost"
CACHE_SECONDS = 3  # NGINX_CACHE_SECONDS in the tests: short, so they can wait it out
FIELD = re.compile(r'name="(csrf_token|started)"[^>]*value="([^"]*)"')


def world_readable_folder(prefix: str) -> Path:
    """Make a temporary folder nginx's workers (`nobody`, when the tests run as root) can read."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Make a self-signed certificate for localhost and 127.0.0.1 with openssl."""
    require_tool(shutil.which("openssl") is not None, "openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={SERVER_NAME}",
         "-addext", f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    key.chmod(0o644)  # nginx's master reads it; this key guards nothing but the test
    return cert, key


def flask(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `flask` command of the site and return what it did."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=PROJECT_ROOT, env=dict(env), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@dataclass
class AppServer:
    """One gunicorn app server (2 sync workers), with an access log naming the client."""

    name: str
    env: dict[str, str]
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def access_log(self) -> Path:
        """Return the access log: method, path, status and the X-Forwarded-For nginx sent."""
        return self.folder / f"{self.name}-access.log"

    def start(self) -> None:
        """Start gunicorn and wait until it answers."""
        log = open(self.folder / f"{self.name}.log", "ab")  # noqa: SIM115  (gunicorn keeps it)
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "120", "--graceful-timeout", "5", "--access-logfile",
             str(self.access_log), "--access-logformat",
             '%(m)s %(U)s %(s)s %({x-forwarded-for}i)s', "wsgi:app"],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        if not wait_until(self.ready, seconds=180, step=0.3):
            self.stop()
            raise RuntimeError(f"gunicorn {self.name} did not start: {self.log_text()[-3000:]}")

    def ready(self) -> bool:
        """Tell whether gunicorn answers a request (and is still running)."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"gunicorn {self.name} exited: {self.log_text()[-3000:]}")
        if not port_open(self.port):
            return False
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", "/robots.txt", headers={"Host": SERVER_NAME})
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop gunicorn (and its workers) and wait until its port is closed."""
        stop_process(self.process)
        wait_until(lambda: not port_open(self.port), seconds=20)

    def log_text(self) -> str:
        """Return gunicorn's error log."""
        path = self.folder / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def requests(self) -> list[list[str]]:
        """Return the requests it answered: [method, path, status, X-Forwarded-For]."""
        if not self.access_log.exists():
            return []
        return [line.split(" ", 3) for line in self.access_log.read_text().splitlines()]


@dataclass
class Fronted:
    """nginx in front of app servers, as docs/operations.md's production set-up has it."""

    folder: Path
    env: dict[str, str]
    https: int
    http: int
    cert: Path
    apps: list[AppServer]
    nginx: NginxServer
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the public address, like https://localhost:12345."""
        return f"https://{SERVER_NAME}:{self.https}"

    def client(self, source: str = "127.0.0.1") -> Client:
        """Return an HTTPS client of the site whose requests come from a loopback address."""
        return Client(self.https, self.cert, source)


def site_env(folder: Path, https_port: int, **settings: str) -> dict[str, str]:
    """Return the environment of the app servers and commands: production-like, on loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "GVISITE_")) and key not in {"TESTING"}
    }
    formats = world_readable_folder("gvisite-formats-")
    env.update(
        {
            "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": f"sqlite:///{folder / 'site.sqlite3'}",
            "SECRET_KEY": "deploy-test-secret",
            "SITE_URL": f"https://{SERVER_NAME}:{https_port}",
            "TRUSTED_PROXIES": "1",
            "FORMATS_DIR": str(formats),
            "FORMATS_REFRESH_SECONDS": "0",  # no format builds eating the test machine's CPU
            "FORM_MIN_SECONDS": "0",
            "MAIL_BACKEND": "file",
            "NGINX_CACHE_SECONDS": str(CACHE_SECONDS),
        }
    )
    env.update(settings)
    return env


def deploy(env: Mapping[str, str], out: Path, https: int, http: int, upstreams: list[int],
           cert: Path, key: Path) -> None:  # fmt: skip
    """Write the nginx configuration with the real command, as an operator would."""
    args = ["deploy", "nginx", "--out", str(out), "--server-name", SERVER_NAME,
            "--https", f"127.0.0.1:{https}", "--http", f"127.0.0.1:{http}",
            "--cert", str(cert), "--key", str(key)]  # fmt: skip
    for port in upstreams:
        args += ["--upstream", f"127.0.0.1:{port}"]
    if os.geteuid() == 0:
        # nginx's workers would run as `nobody`, who may not reach a checkout under /root.
        args += ["--user", "root"]
    done = flask(env, *args)
    assert done.returncode == 0, done.stderr + done.stdout


@contextmanager
def fronted_site(servers: int = 1, workers: int = 0, **settings: str) -> Iterator[Fronted]:
    """Start app servers, outbox workers and nginx in front of them; stop and remove it all."""
    require_nginx()
    folder = world_readable_folder("gvisite-deploy-")
    https, http = free_port(), free_port()
    env = site_env(folder, https, **settings)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, env["FORMATS_DIR"], True)
        stack.callback(shutil.rmtree, folder, True)
        cert, key = make_certificate(folder)
        migrated = flask(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        apps = [AppServer(f"app{n + 1}", env, folder) for n in range(servers)]
        for app in apps:
            stack.callback(app.stop)
        deploy(env, folder / "nginx", https, http, [app.port for app in apps], cert, key)
        for app in apps:
            app.start()
        nginx = stack.enter_context(running_nginx(folder / "nginx", (https, http)))
        site = Fronted(folder, env, https, http, cert, apps, nginx)
        for _ in range(workers):
            worker = subprocess.Popen(
                [str(BIN / "flask"), "--app", "wsgi", "outbox", "worker", "--interval", "0.5"],
                cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            stack.callback(stop_process, worker)
            site.workers.append(worker)
        yield site


# --- Clients --------------------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP response as the client saw it."""

    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        """Return the body as text."""
        return self.body.decode("utf-8", "replace")

    def all(self, name: str) -> list[str]:
        """Return every value a header has (a header sent twice shows up twice)."""
        return self.headers.get_all(name) or []


@dataclass
class Client:
    """An HTTPS client that trusts the test certificate, keeps cookies, and picks its address."""

    port: int
    cert: Path
    source: str = "127.0.0.1"
    cookies: dict[str, str] = field(default_factory=dict)

    def context(self) -> ssl.SSLContext:
        """Return a TLS context that verifies the server against the test certificate."""
        return ssl.create_default_context(cafile=str(self.cert))

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> Answer:  # fmt: skip
        """Send one request over a new connection and read the whole answer."""
        connection = http.client.HTTPSConnection(
            SERVER_NAME, self.port, timeout=60, context=self.context(),
            source_address=(self.source, 0),
        )  # fmt: skip
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.msg, response.read())
        finally:
            connection.close()
        for cookie in answer.all("Set-Cookie"):
            name, _, value = cookie.split(";")[0].partition("=")
            self.cookies[name.strip()] = value
        return answer

    def get(self, path: str, **headers: str) -> Answer:
        """GET a path."""
        return self.request("GET", path, headers=headers)

    def form(self, path: str) -> dict[str, str]:
        """Open a form and return its hidden fields (CSRF token, start time, honeypot)."""
        page = self.get(path)
        assert page.status == 200, (page.status, page.text[:500])
        return {**dict(FIELD.findall(page.text)), "website": ""}

    def post(self, path: str, fields: Mapping[str, str], **headers: str) -> Answer:
        """Send a form's fields as a browser would, from the form's own page."""
        origin = f"https://{SERVER_NAME}:{self.port}"
        sent = {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin,
                "Referer": origin + urlsplit(path).path, **headers}  # fmt: skip
        return self.request("POST", path, urlencode(fields).encode(), sent)

    def submit(self, path: str, answers: Mapping[str, str], **headers: str) -> Answer:
        """Fill in a form as a browser would (token, start time, cookie) and send it."""
        return self.post(path, {**self.form(path), **answers}, **headers)


def plain_request(port: int, path: str, host: str = SERVER_NAME) -> Answer:
    """Send a plain-HTTP GET (to nginx's redirecting port, or straight to an app server)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return Answer(response.status, response.msg, response.read())
    finally:
        connection.close()
