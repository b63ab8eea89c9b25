"""Fault soak: submissions through gunicorn while workers die, SMTP stops and the database restarts.

    .venv/bin/python benchmarks/soak.py [--submissions 3000] [--clients 20] [--database both]

Everything runs on 127.0.0.1 in a temporary folder: gunicorn (2 workers), two `flask outbox
worker`s, an aiosmtpd server and, for PostgreSQL, a throw-away cluster. While N report
submissions come from the clients, the faults below happen at fixed points; afterwards the
outbox is given time to drain and the figures are printed: acknowledged, stored, lost,
duplicated mail, 5xx answers, the 503s during the outage, and p50/p99 of the submissions.
A resident who gets a 503 does what the page says: waits and sends the same answers again.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gvisite.config import OUTBOX_RETRY_MINUTES  # noqa: E402
from tests.fixtures_forms import REPORT_ANSWERS, STAFF_MAILBOX  # noqa: E402
from tests.fixtures_servers import SmtpServer, free_port, running_postgres  # noqa: E402

BIN = Path(sys.executable).parent
FORM = "/sv/tillganglighet/rapportera"
FIELD = re.compile(r'name="(csrf_token|started)"[^>]*value="([^"]*)"')
REFERENCE = re.compile(r'class="reference"><bdi dir="ltr">([A-Z]{2}-\d{4}-[0-9A-Z]{6})<')


@dataclass
class Figures:
    """What the clients saw."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # problem text -> reference
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)  # per POST
    lock: threading.Lock = field(default_factory=threading.Lock)


class Site:
    """gunicorn and two outbox workers over one database, mail to aiosmtpd."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        smtp: SmtpServer,
        retry_minutes: str,
        claim_seconds: int = 60,
    ) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "soak-secret",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": smtp.host,
            "SMTP_PORT": str(smtp.port),
            "FORM_MIN_SECONDS": "0",
            "SUBMISSION_RATE_LIMIT": "1000000 per hour",
            "OUTBOX_CLAIM_SECONDS": str(claim_seconds),
            "OUTBOX_RETRY_MINUTES": retry_minutes,
            "FORMATS_REFRESH_SECONDS": "0",
        }
        self.log = folder / "gunicorn.log"  # read it when the site does not start
        self.log_file = open(self.log, "ab")  # noqa: SIM115  (closed in stop)
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None, None]

    def flask(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a `flask` command of the site."""
        command = [str(BIN / "flask"), "--app", "wsgi", *args]
        quiet = subprocess.DEVNULL
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=quiet, stderr=quiet)

    def start(self) -> None:
        """Migrate, then start gunicorn and the outbox workers; wait until the site answers."""
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT, env=self.env, check=True, capture_output=True,
        )  # fmt: skip
        self.gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "60", "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=self.env, stderr=self.log_file,
        )  # fmt: skip
        for index in range(2):
            self.start_worker(index)
        for _ in range(240):
            try:
                if request(self.port, "GET", FORM)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not start; see {self.log}")

    def start_worker(self, index: int) -> None:
        """Start outbox worker `index`."""
        self.workers[index] = self.flask("outbox", "worker", "--interval", "0.5")

    def kill_worker(self, index: int) -> None:
        """Kill an outbox worker with SIGKILL and start a new one."""
        worker = self.workers[index]
        if worker is not None:
            worker.kill()
            worker.wait()
        self.start_worker(index)

    def kill_web_worker(self) -> None:
        """SIGKILL one of gunicorn's workers (the master starts another)."""
        assert self.gunicorn is not None
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        if pids:
            os.kill(pids[0], signal.SIGKILL)

    def stop(self) -> None:
        """Stop everything."""
        for process in [self.gunicorn, *self.workers]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.log_file.close()


def request(
    port: int, method: str, path: str, body: bytes | None = None, cookie: str = ""
) -> tuple[int, str, str]:
    """Send one request; return (status, body text, Set-Cookie value)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        cookie_header = (response.getheader("Set-Cookie") or "").split(";")[0]
        return response.status, text, cookie_header
    finally:
        connection.close()


def submit(port: int, number: int, figures: Figures) -> None:
    """Fill in the form as a resident would; when no receipt comes, send the same page again."""
    # After a 503 the page shown holds the answers: the resident waits and sends it. After a
    # cut connection the browser sends the same request again on reload. Both are the same
    # submission (its key is in the page), which the site must store once.
    problem = f"Soak {number}: knappen går inte att nå med tangentbordet."
    hidden: dict[str, str] = {}
    cookie = ""
    for _attempt in range(60):
        try:
            if not hidden:
                status, page, cookie = request(port, "GET", FORM)
                if status != 200:
                    figures.statuses[status] += 1
                    time.sleep(1)
                    continue
                hidden = dict(FIELD.findall(page))
            body = urlencode({**REPORT_ANSWERS, "problem": problem, "website": "", **hidden})
            started = time.monotonic()
            status, page, cookie2 = request(port, "POST", FORM, body.encode(), cookie)
            with figures.lock:
                figures.seconds.append(time.monotonic() - started)
                figures.statuses[status] += 1
            if status == 303:
                _, receipt, _ = request(port, "GET", "/sv/tillganglighet/kvitto", None, cookie2)
                found = REFERENCE.search(receipt)
                with figures.lock:
                    figures.acknowledged[problem] = found[1] if found else "(no receipt page)"
                return
            hidden = dict(FIELD.findall(page))  # the page as shown again, answers kept
            cookie = cookie2 or cookie
        except (OSError, http.client.HTTPException):
            with figures.lock:
                figures.statuses[0] += 1  # the connection itself failed (a worker was killed)
        time.sleep(1)


class Smtp:
    """aiosmtpd on a free port, which can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.server = SmtpServer("127.0.0.1", free_port())
        self.controller: object | None = None

    def start(self) -> None:
        """Listen (a fresh controller: a stopped one cannot start again)."""
        from aiosmtpd.controller import Controller

        class Tracking(Controller):
            """A controller that remembers its connections, to close them when it stops."""

            def factory(self) -> Any:
                protocol = super().factory()
                self.protocols.append(protocol)
                return protocol

        self.controller = Tracking(self.server, hostname=self.server.host, port=self.server.port)
        self.controller.protocols = []  # type: ignore[attr-defined]
        self.controller.start()

    def stop(self) -> None:
        """Stop listening and drop the open connections; what was received is kept."""
        controller: Any = self.controller
        if controller is None:
            return
        # aiosmtpd's stop leaves a connection that is open mid-delivery to the garbage collector,
        # which warns (an error under pytest). In the server's loop: stop accepting, abort each
        # connection, and again a moment later for one accepted just before (asyncio makes its
        # protocol in a task of its own); then wait until the loop has run the close callbacks.
        closed = threading.Event()

        def abort_all() -> None:
            for protocol in controller.protocols:
                if protocol.transport is not None:
                    protocol.transport.abort()

        def last_pass() -> None:
            abort_all()
            controller.loop.call_soon(closed.set)  # after the close callbacks abort scheduled

        def stop_accepting() -> None:
            controller.server.close()
            abort_all()
            controller.loop.call_later(0.2, last_pass)

        controller.loop.call_soon_threadsafe(stop_accepting)
        closed.wait(10)
        controller.stop()
        self.controller = None


@contextmanager
def smtp_server() -> Iterator[Smtp]:
    """Run the SMTP server for the soak."""
    smtp = Smtp()
    smtp.start()
    try:
        yield smtp
    finally:
        smtp.stop()


def stored_cases(database_url: str) -> dict[str, tuple[str, str]]:
    """Return problem text -> (reference, status of its staff mail) from the database."""
    from sqlalchemy import create_engine, text

    from gvisite.config import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.reference, c.answers, o.status FROM cases c "
                "LEFT JOIN outbox o ON o.case_id = c.id AND o.purpose = 'staff'"
            )
        ).all()
    engine.dispose()
    answers = {row[0]: json.loads(row[1]) if isinstance(row[1], str) else row[1] for row in rows}
    return {answers[reference]["problem"]: (reference, status) for reference, _, status in rows}


def cases_per_problem(database_url: str) -> Counter[str]:
    """Count the stored cases of each problem text: more than one is a submission stored twice."""
    from sqlalchemy import create_engine, text

    from gvisite.config import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT answers FROM cases")).scalars().all()
    engine.dispose()
    return Counter((json.loads(a) if isinstance(a, str) else a)["problem"] for a in rows)


def run(
    database: str,
    submissions: int,
    clients: int,
    smtp_down: float,
    retry_minutes: str = OUTBOX_RETRY_MINUTES,
    claim_seconds: int = 60,
) -> dict[str, object]:
    """Run the soak on one database; return its figures."""
    folder = Path(tempfile.mkdtemp(prefix=f"gvisite-soak-{database}-"))
    postgres = running_postgres() if database == "postgresql" else nullcontext()
    with postgres as pg, smtp_server() as mail:
        smtp = mail.server
        url = pg.new_database() if pg else f"sqlite:///{folder / 'soak.sqlite3'}"
        site = Site(folder, url, smtp, retry_minutes, claim_seconds)
        site.start()
        figures, done = Figures(), Counter()
        faults = [
            (0.15, "kill a gunicorn worker", site.kill_web_worker),
            (0.30, "kill outbox worker 1", lambda: site.kill_worker(0)),
            (0.45, f"stop SMTP for {smtp_down:.0f} s", lambda: stop_smtp(mail, smtp_down)),
            (0.90, "kill outbox worker 2", lambda: site.kill_worker(1)),
        ]
        if pg:
            faults += [
                (0.60, "restart PostgreSQL (fast)", lambda: (pg.stop("fast"), pg.start())),
                (0.70, "restart PostgreSQL (immediate)", lambda: (pg.stop(), pg.start())),
                (0.80, "stop PostgreSQL for 15 s", lambda: stop_for(pg, 15)),
            ]
        faults.sort(key=lambda fault: fault[0])
        log: list[str] = []

        def one(number: int) -> None:
            submit(site.port, number, figures)
            with figures.lock:
                done["n"] += 1

        running: list[threading.Thread] = []

        def injector() -> None:
            for at, name, action in faults:
                while done["n"] < at * submissions:
                    time.sleep(0.05)
                log.append(f"{time.strftime('%H:%M:%S')} after {done['n']}: {name}")
                # In a thread of its own: an outage lasts while the next faults come.
                running.append(threading.Thread(target=action, daemon=True))
                running[-1].start()

        started = time.monotonic()
        faulting = threading.Thread(target=injector, daemon=True)
        faulting.start()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(one, range(submissions)))
        faulting.join(timeout=120)
        for thread in running:
            thread.join(timeout=120)  # every outage over before the outbox is left to drain
        seconds = time.monotonic() - started
        # Let the outbox drain: failed attempts wait (by default) 1 minute, then 5, before they
        # are retried.
        # A busy machine drains slowly, so wait while mail still goes out (at most an hour),
        # and give up only after 7 minutes without progress.
        stored = stored_cases(url)
        deadline, progress = time.monotonic() + 3600, time.monotonic()
        unsent = sum(s != "sent" for _, s in stored.values())
        while unsent and time.monotonic() < min(deadline, progress + 420):
            time.sleep(5)
            stored = stored_cases(url)
            if (now_unsent := sum(s != "sent" for _, s in stored.values())) < unsent:
                progress = time.monotonic()
            unsent = now_unsent
        drained = time.monotonic() - started - seconds
        site.stop()
        per_problem = cases_per_problem(url)
    shutil.rmtree(folder, ignore_errors=True)  # the database, the site's files and its log
    ids = Counter(mail.message["Message-ID"] for mail in smtp.received)
    staff_mails = Counter(
        re.match(r"\[([A-Z]{2}-\d{4}-[0-9A-Z]{6})\]", mail.message["Subject"] or "")[1]
        for mail in smtp.received
        if STAFF_MAILBOX in mail.rcpt_tos
    )
    lost = [p for p in figures.acknowledged if p not in stored]
    return {
        "database": database,
        "submissions": submissions,
        "acknowledged": len(figures.acknowledged),
        "stored": len(stored),
        "lost": len(lost),
        "stored twice": sum(n - 1 for n in per_problem.values() if n > 1),
        "cases without a staff mail": sum(staff_mails[r] == 0 for r, _ in stored.values()),
        "mails received": len(smtp.received),
        "duplicated mails": sum(n - 1 for n in ids.values() if n > 1),
        "5xx other than 503": sum(n for s, n in figures.statuses.items() if s >= 500 and s != 503),
        "503 (refused, resent later)": figures.statuses[503],
        "connections cut": figures.statuses[0],
        "p50 ms": round(1000 * statistics.median(figures.seconds)),
        "p99 ms": round(1000 * statistics.quantiles(figures.seconds, n=100)[98]),
        "seconds": round(seconds),
        "seconds draining the outbox": round(drained),
        "faults": log,
    }


def stop_smtp(mail: Smtp, seconds: float) -> None:
    """Stop the SMTP server, wait, start it again on the same port."""
    mail.stop()
    time.sleep(seconds)
    mail.start()


def stop_for(pg: object, seconds: float) -> None:
    """Stop PostgreSQL, wait, start it again."""
    pg.stop("fast")  # type: ignore[attr-defined]
    time.sleep(seconds)
    pg.start()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    """Run the soak on the chosen databases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--smtp-down", type=float, default=60)
    options = parser.parse_args(argv)
    databases = ["sqlite", "postgresql"] if options.database == "both" else [options.database]
    results = []
    for database in databases:
        result = run(database, options.submissions, options.clients, options.smtp_down)
        results.append(result)
        for key, value in result.items():
            if key == "faults":
                for line in value:  # type: ignore[attr-defined]
                    print(f"  fault: {line}")
            else:
                print(f"  {key:<30} {value}")
    return results


if __name__ == "__main__":
    main()
