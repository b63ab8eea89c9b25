"""How fast a content page is served: the app against the ceilings of what serves it.

Four servers answer `/sv/` (or the `--page` given) with the same bytes, measured side by side in
one run with wrk (2 threads, 50 connections, a fixed duration each): the full app under
gunicorn; a one-route Flask app returning those bytes; a bare WSGI callable returning them (both
under gunicorn with the same 2 sync workers); and nginx serving them as a static file (2 worker
processes). The goal (issue #12): the app at 90 % or more of the one-route Flask app.

    python benchmarks/serving.py [--seconds 4] [--rounds 3] [--page /sv/tillganglighet]

Gunicorn imports this file as the module `serving` for the two reference apps.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
PAGE_PATH_VARIABLE = "GVISITE_BENCH_PATH"  # which page: `--page` sets it for the servers too
PAGE = os.environ.get(PAGE_PATH_VARIABLE, "/sv/")
WORKERS = 2
THREADS, CONNECTIONS = 2, 50
GOAL = 0.90  # the app against the one-route Flask app
READY_SECONDS = 90  # a loaded two-core machine starts the app slowly
PAGE_FILE_VARIABLE = "GVISITE_BENCH_PAGE"  # tells the reference apps which bytes to return


# --- The reference apps (imported by gunicorn) ---------------------------------------------


def _page() -> bytes:
    """Read the bytes the reference apps return."""
    return Path(os.environ[PAGE_FILE_VARIABLE]).read_bytes()


def one_route_app() -> Any:
    """Return a Flask app with one route that returns the page's bytes."""
    from flask import Flask, Response

    body = _page()
    app = Flask("one_route")

    @app.get(PAGE)
    def page() -> Response:
        return Response(body, mimetype="text/html")

    return app


def bare_wsgi() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """Return a WSGI callable that answers every request with the page's bytes."""
    body = _page()
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]

    def application(_environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", list(headers))
        return [body]

    return application


# --- Servers ----------------------------------------------------------------------------------


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1, below the range the kernel hands out itself."""
    # Tests running beside the benchmark take ports from the kernel's ephemeral range (bind to
    # port 0); one might take ours between this check and the server's own bind.
    while True:
        port = random.randrange(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def fetch(url: str) -> bytes:
    """GET a URL without compression and return the body."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until a server answers, or fail if it exited or took too long."""
    deadline, error = time.monotonic() + READY_SECONDS, None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            fetch(url)
            return
        except OSError as exc:
            error = exc
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {READY_SECONDS} s: {error}")


@contextmanager
def running(command: list[str], url: str, **popen: Any) -> Iterator[None]:
    """Start a server, wait until it answers, and stop it (and its workers) afterwards."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        **popen,
    )
    try:
        wait_until_up(url, process)
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and its workers
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def gunicorn(app: str, port: int, chdir: Path) -> list[str]:
    """Return the gunicorn command every Python contender runs under."""
    return [
        sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--chdir", str(chdir), "--log-level", "warning", app,
    ]  # fmt: skip


NGINX_CONF = """\
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    types {{ text/html html; }}
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location / {{ try_files $uri $uri/index.html =404; }}
    }}
}}
"""


def nginx_command(root: Path, port: int, body: bytes) -> list[str]:
    """Write a config serving the page as a file from `root` and return the command for it."""
    (root / "www" / PAGE.strip("/")).mkdir(parents=True)
    (root / "www" / PAGE.strip("/") / "index.html").write_bytes(body)
    (root / "tmp").mkdir()
    root.chmod(0o755)  # nginx's workers drop root and must still read the page
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=WORKERS, root=root, port=port), encoding="utf-8")
    return ["nginx", "-c", str(conf), "-p", str(root), "-g", "daemon off;"]


# --- Measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    """What wrk measured for one server."""

    name: str
    requests_per_second: float
    p99_ms: float


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(url: str, seconds: float) -> tuple[float, float]:
    """Load a URL with wrk for a fixed time; return (requests per second, p99 in ms)."""
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rate is None or p99 is None or errors is not None:
        raise RuntimeError(f"wrk did not measure {url} cleanly:\n{out}")
    return float(rate[1]), float(p99[1]) * _UNITS_MS[p99[2]]


def measure(urls: dict[str, str], body: bytes, seconds: float, rounds: int) -> list[Result]:
    """Check each server sends the page's bytes, then measure them in turns, `rounds` times.

    The servers take turns (and each keeps its median) so that a burst of other work on the
    machine falls on one turn of one server, not on all of one server's time.
    """
    for name, url in urls.items():
        if fetch(url) != body:
            raise RuntimeError(f"{name} does not send the same bytes")
        wrk(url, 1)  # warm up: workers forked, the app's page kept, connections made
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            runs[name].append(wrk(url, seconds))
    return [
        Result(name, statistics.median(r for r, _ in found), statistics.median(p for _, p in found))
        for name, found in runs.items()
    ]


def page_bytes(instance: Path) -> bytes:
    """Migrate a fresh instance and return the page's bytes as the app serves them."""
    from flask_migrate import upgrade

    from gvisite import create_app

    app = create_app(app_environment(instance))
    with app.app_context():
        upgrade()
    # A fresh app, as a server starts after `flask db upgrade`: what it makes at start (the
    # statement's handling figures) needs the tables.
    return create_app(app_environment(instance)).test_client().get(PAGE).data


def app_environment(instance: Path) -> dict[str, Any]:
    """Return the settings the app runs with: its own instance, no background builds."""
    return {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "benchmark-only",
        "SITE_URL": "http://127.0.0.1",
        # The refresher would build every format in the background during the run.
        "FORMATS_REFRESH_SECONDS": 0,
    }


def run(seconds: float, rounds: int) -> tuple[list[Result], int]:
    """Start the servers on the same page and measure them side by side."""
    root = Path(tempfile.mkdtemp(prefix="gvisite-serving-"))
    try:
        instance = root / "instance"
        body = page_bytes(instance)
        (root / "page.html").write_bytes(body)
        settings = {key: str(value) for key, value in app_environment(instance).items()}
        env = {**os.environ, **settings, PAGE_FILE_VARIABLE: str(root / "page.html")}
        contenders = [
            ("the app", gunicorn("wsgi:app", port := free_port(), PROJECT), port),
            ("one-route Flask", gunicorn("serving:one_route_app()", p2 := free_port(), HERE), p2),
            ("bare WSGI", gunicorn("serving:bare_wsgi()", p3 := free_port(), HERE), p3),
        ]
        if shutil.which("nginx"):
            contenders.append(("nginx, a file", nginx_command(root, p4 := free_port(), body), p4))
        else:
            print("  nginx is not installed (make bench installs nginx-light): left out")
        urls = {name: f"http://127.0.0.1:{port}{PAGE}" for name, _command, port in contenders}
        with ExitStack() as servers:
            for name, command, _port in contenders:
                servers.enter_context(running(command, urls[name], env=env))
            results = measure(urls, body, seconds, rounds)
        return results, len(body)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def report(results: list[Result], size: int) -> None:
    """Print the table and the ratios, with the goal."""
    by_name = {r.name: r for r in results}
    app = by_name["the app"]
    print(
        f"{PAGE} ({size:,} bytes), wrk -t{THREADS} -c{CONNECTIONS}, {WORKERS} workers each,"
        " median of the turns:"
    )
    print(f"  {'served by':18} {'req/s':>9} {'p99 ms':>8} {'app is':>8}")
    for result in results:
        share = app.requests_per_second / result.requests_per_second
        print(
            f"  {result.name:18} {result.requests_per_second:9,.0f} {result.p99_ms:8.1f}"
            f" {share:8.0%}"
        )
    flask = by_name["one-route Flask"]
    share = app.requests_per_second / flask.requests_per_second
    verdict = "met" if share >= GOAL else "NOT met"
    print(f"  goal: the app >= {GOAL:.0%} of one-route Flask: {share:.0%}, {verdict}")


def main() -> None:
    """Measure and print."""
    global PAGE  # the module's one setting, which the reference apps read too
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="wrk's time per turn")
    parser.add_argument("--rounds", type=int, default=3, help="turns per server (median kept)")
    parser.add_argument("--page", default=PAGE, help="the page to serve, e.g. /sv/tillganglighet")
    # Run by benchmarks/run.py, whose own arguments (benchmark names) are left to it.
    args, _names = parser.parse_known_args()
    PAGE = os.environ[PAGE_PATH_VARIABLE] = args.page
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `make bench` installs it (Debian package wrk)")
    # A stop (timeout, kill) still stops the servers and removes the temporary folder.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        report(*run(args.seconds, args.rounds))
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
