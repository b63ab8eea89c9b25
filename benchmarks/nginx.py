"""The nginx-fronted site against nginx serving the same bytes as a file, over the same TLS.

    .venv/bin/python benchmarks/nginx.py [--seconds 3] [--rounds 5]

Starts what `flask deploy nginx` sets up (one gunicorn app server, 2 workers, behind nginx with
the written configuration) and, beside it, a second nginx with the same TLS settings, security
headers and access log that serves the bytes of `/sv/` from a file. wrk (2 threads, 50
connections) asks each for `/sv/` in turn, the cache warm, for a fixed time per round; prints
req/s and p99 per round, the ratio of each round, and their median (the goal is at least
80 %). Everything is on 127.0.0.1, in temporary folders that are removed afterwards;
about 40 s in all on a quiet machine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gvisite.security import HEADERS, STRICT_TRANSPORT_SECURITY  # noqa: E402
from tests.deploy.fronted import SERVER_NAME, Client, Fronted, fronted_site  # noqa: E402
from tests.fixtures_servers import free_port, running_nginx  # noqa: E402

PAGE = "/sv/"
THREADS, CONNECTIONS = 2, 50
GOAL = 0.80
# What the static server shares with the written configuration, so only the serving differs.
SHARED = re.compile(r"^\s*(?:ssl_\w+|sendfile|tcp_nopush|keepalive_timeout)\b.*;")


@dataclass
class Run:
    """One wrk run."""

    requests_per_second: float
    p99_ms: float


def wrk(url: str, seconds: int) -> Run:
    """Run wrk against a URL and read its figures."""
    wrk_binary = shutil.which("wrk")
    if wrk_binary is None:
        raise SystemExit("wrk is not installed (Debian `wrk`; `make bench` installs it)")
    done = subprocess.run(
        [wrk_binary, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if rate is None or p99 is None or errors:
        raise RuntimeError(f"wrk did not measure what was asked:\n{done.stdout}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]
    return Run(float(rate[1]), float(p99[1]) * scale)


def static_server(site: Fronted, folder: Path, body: bytes, port: int) -> Path:
    """Write an nginx config serving `body` as a file at PAGE, with the site's TLS and headers."""
    folder.mkdir(mode=0o755)
    (folder / "logs").mkdir()
    page = folder / "page.html"
    page.write_bytes(body)
    page.chmod(0o644)
    written = (site.nginx.folder / "nginx.conf").read_text()
    shared = "\n".join(line for line in written.splitlines() if SHARED.match(line))
    headers = "\n".join(
        f'            add_header {name} "{value}";' for name, value in HEADERS.items()
    )
    config = f"""
worker_processes auto;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
{shared}
    log_format gvisite '$remote_addr [$time_local] "$request_method $uri $server_protocol" '
                       '$status $body_bytes_sent $request_time $upstream_cache_status';
    access_log {folder}/logs/access.log gvisite buffer=64k flush=1s;
    client_body_temp_path {folder}/temp; proxy_temp_path {folder}/temp;
    fastcgi_temp_path {folder}/temp; uwsgi_temp_path {folder}/temp; scgi_temp_path {folder}/temp;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {SERVER_NAME};
        location = {PAGE} {{
            root {folder};
            try_files /{page.name} =404;  # an address ending in / is a file here, not a folder
            types {{}}
            default_type "text/html; charset=utf-8";
            add_header Strict-Transport-Security "{STRICT_TRANSPORT_SECURITY}";
{headers}
        }}
    }}
}}
"""
    (folder / "nginx.conf").write_text(config)
    return folder


def main(argv: list[str] | None = None) -> float:
    """Measure both, print the table, and return the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="wrk's duration per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each, taking turns")
    # Under benchmarks/run.py the command line is run.py's (benchmark names): leave those.
    args, _ = parser.parse_known_args(argv)
    with fronted_site(servers=1, NGINX_CACHE_SECONDS="5") as site:
        client = site.client()
        for _ in range(3):
            body = client.get(PAGE).body  # warm: from here on a cache hit
        assert client.get(PAGE).headers["X-Cache-Status"] == "HIT"
        port = free_port()
        static = static_server(site, site.folder / "static-nginx", body, port)
        with running_nginx(static, (port,)):
            check = Client(port, site.cert).get(PAGE)
            assert (check.status, check.body) == (200, body), (check.status, check.text[:300])
            urls = {
                "nginx, the same bytes as a file": f"https://{SERVER_NAME}:{port}{PAGE}",
                "the nginx-fronted site (cache warm)": f"{site.url}{PAGE}",
            }
            runs: dict[str, list[Run]] = {name: [] for name in urls}
            for _ in range(args.rounds):
                for name, url in urls.items():
                    runs[name].append(wrk(url, args.seconds))
    print(
        f"{PAGE} ({len(body):,} bytes) over TLS, wrk {THREADS} threads, {CONNECTIONS} "
        f"connections, {args.rounds} × {args.seconds} s each, taking turns:"
    )
    print(f"  {'served by':36} {'req/s, each round':>40}  p99 ms (median)")
    for name, measured in runs.items():
        rates = " ".join(f"{run.requests_per_second:>7,.0f}" for run in measured)
        p99 = statistics.median(run.p99_ms for run in measured)
        print(f"  {name:36} {rates:>40}  {p99:.1f}")
    static_runs, fronted_runs = runs.values()
    # Other load on this machine comes and goes: each round's two runs are seconds apart and
    # see much the same of it, so the goal is judged on the median of the rounds' ratios.
    ratios = [
        f.requests_per_second / s.requests_per_second
        for f, s in zip(fronted_runs, static_runs, strict=True)
    ]
    ratio = statistics.median(ratios)
    total = sum(r.requests_per_second for r in fronted_runs) / sum(
        r.requests_per_second for r in static_runs
    )
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"  ratio per round: {' '.join(f'{r:.0%}' for r in ratios)}")
    print(
        f"  nginx-fronted site / nginx static: {ratio:.0%}, the median round "
        f"(goal ≥ {GOAL:.0%}: {verdict}); {total:.0%} over all rounds"
    )
    return ratio


if __name__ == "__main__":
    main()
