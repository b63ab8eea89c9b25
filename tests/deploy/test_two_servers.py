"""Several app servers behind one nginx: one PostgreSQL, Redis for the rate limits, two senders.

What docs/operations.md promises for a bigger set-up, run for real: two gunicorn app servers
(2 workers each) behind the nginx that `flask deploy nginx` wrote, one PostgreSQL database, the
rate-limit counters in Debian's redis-server, two `flask outbox worker`s and an SMTP server.
Each resident comes from an address of their own (127.0.0.x), as they would through the internet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.deploy.fronted import Client, Fronted, fronted_site
from tests.fixtures_forms import ALT_FORMAT_MAILBOX, REPORT_ANSWERS, STAFF_MAILBOX
from tests.fixtures_servers import (
    PostgresServer,
    RedisServer,
    SmtpServer,
    running_postgres,
    wait_until,
)
from tests.helpers import parse

LIMIT = 3  # accepted submissions per client address and hour
FORM = "/sv/tillganglighet/rapportera"
RESIDENTS = 8


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this module's own, which a test stops and starts again."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer, redis_server: RedisServer, smtp_session: SmtpServer
) -> Iterator[Fronted]:
    """Two app servers, two outbox workers and nginx over one PostgreSQL and one Redis."""
    database = postgres.new_database()
    with fronted_site(
        servers=2,
        workers=2,
        DATABASE_URL=database,
        RATELIMIT_STORAGE_URI=redis_server.url,
        SUBMISSION_RATE_LIMIT=f"{LIMIT} per hour",
        MAIL_BACKEND="smtp",
        SMTP_HOST=smtp_session.host,
        SMTP_PORT=str(smtp_session.port),
        STAFF_MAILBOX=STAFF_MAILBOX,
        ALT_FORMAT_MAILBOX=ALT_FORMAT_MAILBOX,
    ) as site:
        yield site


def outbox(site: Fronted) -> list[tuple[int, str]]:
    """Return (id, status) of every message the site queued."""
    with psycopg.connect(site.env["DATABASE_URL"]) as connection:
        return list(connection.execute("SELECT id, status FROM outbox ORDER BY id"))


def posts_from(site: Fronted, address: str) -> dict[str, list[str]]:
    """Return, per app server, the statuses it answered to form posts from one address."""
    return {
        app.name: [
            status
            for method, path, status, forwarded in app.requests()
            if method == "POST" and path == FORM and forwarded == address
        ]
        for app in site.apps
    }


def logged(seen: dict[str, list[str]]) -> list[str]:
    """Return every status in `posts_from`'s answer, sorted."""
    return sorted(status for found in seen.values() for status in found)


def resident(site: Fronted, number: int) -> int:
    """Send one report from a resident's own address; return the status of the post."""
    client = site.client(f"127.0.0.{20 + number}")
    problem = f"Boende {number}: rubrikerna är inte uppmärkta som rubriker."
    return client.submit(FORM, {**REPORT_ANSWERS, "problem": problem}).status


def test_submissions_reach_both_servers_and_every_mail_goes_out_once(
    cluster: Fronted, smtp_session: SmtpServer
) -> None:
    smtp_session.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda n: resident(cluster, n), range(RESIDENTS)))
    assert statuses == [303] * RESIDENTS

    # Both app servers took some of them (gunicorn logs each just after answering).
    def answered() -> Counter[str]:
        return Counter(
            app.name
            for app in cluster.apps
            for method, path, status, _ in app.requests()
            if method == "POST" and path == FORM and status == "303"
        )

    assert wait_until(lambda: answered().total() == RESIDENTS, seconds=10), answered()
    assert set(answered()) == {"app1", "app2"}, answered()

    def all_sent() -> bool:
        messages = outbox(cluster)
        return bool(messages) and all(status == "sent" for _, status in messages)

    assert wait_until(all_sent, seconds=120, step=0.5), outbox(cluster)
    queued = len(outbox(cluster))
    assert queued >= RESIDENTS  # at least the staff's mail of each case
    assert wait_until(lambda: len(smtp_session.received) >= queued, seconds=30)
    ids = Counter(mail.message["Message-ID"] for mail in smtp_session.received)
    assert len(ids) == queued
    assert set(ids.values()) == {1}, [mid for mid, n in ids.items() if n > 1]


def test_the_rate_limit_holds_across_both_servers(cluster: Fronted) -> None:
    address = "127.0.0.50"
    client = cluster.client(address)
    answers = {**REPORT_ANSWERS, "problem": "Samma adress: länkarna saknar fokusmarkering."}
    statuses = []
    for n in range(LIMIT + 3):
        if n % 2:
            # nginx takes turns between the servers; one more request shifts whose turn the
            # post is, so this resident's posts go to both.
            assert Client(cluster.https, cluster.cert).get("/staff/login").status == 200
        statuses.append(client.submit(FORM, answers).status)
    assert statuses == [303] * LIMIT + [429] * 3
    # gunicorn writes its access log line just after answering: wait for the last one.
    expected = sorted(map(str, statuses))
    assert wait_until(lambda: logged(posts_from(cluster, address)) == expected, seconds=10)
    seen = posts_from(cluster, address)
    assert all(seen.values()), seen  # both servers answered some, and counted them all
    # Another resident is not held back by this one.
    assert cluster.client("127.0.0.51").submit(FORM, answers).status == 303


def test_while_the_database_is_down_the_form_comes_back_with_the_answers(
    cluster: Fronted, postgres: PostgresServer
) -> None:
    client = cluster.client("127.0.0.60")
    problem = "Under avbrottet: menyn går inte att öppna med tangentbordet."
    fields = {**client.form(FORM), **REPORT_ANSWERS, "problem": problem}
    postgres.stop("fast")
    try:
        # Sent again, as the page tells the resident to: each time the app's own page with
        # the answers (nginx passes the app's 503 on), on whichever server it reaches.
        for _ in range(len(cluster.apps) + 1):
            answer = client.post(FORM, fields)
            assert answer.status == 503
            assert answer.headers["Retry-After"] == "60"
            shown = parse(answer.body).select_one("textarea[name=problem]")
            assert shown is not None, answer.text[:1000]
            assert shown.get_text() == problem
    finally:
        postgres.start()
    again = parse(answer.body)
    fields.update({tag["name"]: tag["value"] for tag in again.select("input[type=hidden][name]")})
    assert client.post(FORM, fields).status == 303
