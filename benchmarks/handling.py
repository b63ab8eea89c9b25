"""How long the handling figures take to recompute with 100 000 cases in PostgreSQL.

Starts a throw-away PostgreSQL cluster, stores 100 000 cases over three years (reports and
requests, answered after 0 to 12 days or not at all, 1 % withdrawn, 2 % spam) and 200 published
problems, then times what a change of a case makes the site do (`recompute_handling`): read
every case and problem, compute the figures the statement and the open data show (the last
12 months, this year, and every month since the first case), and compare them with the
snapshot. The goal (issue #26): under a second.

    python benchmarks/handling.py [--cases 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from gvisite import create_app  # noqa: E402
from gvisite.extensions import db  # noqa: E402
from gvisite.handling_snapshot import recompute_handling, snapshots  # noqa: E402
from gvisite.models import WITHDRAWN, Case, CaseEvent, PublishedProblem  # noqa: E402
from gvisite.workdays import add_working_days  # noqa: E402
from tests.fixtures_servers import running_postgres  # noqa: E402

GOAL_SECONDS = 1.0


def read_snapshot(app: Flask) -> dict | None:
    """Return the snapshot the app wrote."""
    store = snapshots(app)
    return store.read() if store is not None else None


def fill(cases: int) -> None:
    """Store the cases, their withdrawals and the published problems."""
    rng = random.Random(26)
    start = dt.datetime(2024, 1, 1, 8)
    rows = []
    for number in range(cases):
        created = start + dt.timedelta(minutes=rng.randrange(0, 1070 * 24 * 60))
        answered = rng.random() < 0.9
        rows.append(
            {
                "reference": f"TG-{created.year}-{number:06d}",
                "kind": "report" if rng.random() < 0.7 else "format",
                "locale": "sv",
                "answers": {},
                "status": "avslutad",
                "spam": rng.random() < 0.02,
                "created_at": created,
                "due_on": add_working_days(created.date(), 5),
                "first_reply_at": created + dt.timedelta(days=rng.randrange(0, 13))
                if answered
                else None,
            }
        )
    for chunk in range(0, len(rows), 10_000):
        db.session.execute(insert(Case), rows[chunk : chunk + 10_000])
    ids = db.session.scalars(select(Case.id).where(Case.first_reply_at.is_(None))).all()
    db.session.execute(
        insert(CaseEvent),
        [{"case_id": case_id, "action": WITHDRAWN} for case_id in ids[: cases // 100]],
    )
    problems = []
    for _ in range(200):
        published = start + dt.timedelta(days=rng.randrange(0, 1000))
        fixed = published + dt.timedelta(days=rng.randrange(5, 90))
        problems.append(
            {
                "what": {"sv": "En brist."},
                "criteria": ["1.1.1"],
                "published_at": published,
                "resolved_at": fixed if rng.random() < 0.8 else None,
            }
        )
    db.session.execute(insert(PublishedProblem), problems)
    db.session.commit()


def recompute(app: Flask) -> int:
    """Do what a change of a case makes the site do; return the months in the snapshot."""
    recompute_handling(app, announce=False)  # reads, computes, compares, writes if changed
    snapshot = read_snapshot(app)
    assert snapshot is not None, "no snapshot written"
    return len(snapshot["months"])


def main() -> None:
    """Fill PostgreSQL and print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args, _names = parser.parse_known_args()
    with running_postgres() as server, tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "INSTANCE_PATH": folder,
                "SECRET_KEY": "bench",
                "SITE_URL": "http://127.0.0.1",
                "DATABASE_URL": server.new_database(),
                "FORMATS_REFRESH_SECONDS": 0,
            }
        )
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            fill(args.cases)
            print(f"{args.cases:,} cases stored in {time.perf_counter() - started:.1f} s")
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                months = recompute(app)
                times.append(time.perf_counter() - started)
                db.session.rollback()
            median = statistics.median(times)
            verdict = "met" if median < GOAL_SECONDS else "NOT met"
            print(
                f"recompute ({months} months): median {median:.2f} s, max {max(times):.2f} s"
                f" of {args.rounds}; goal < {GOAL_SECONDS:.0f} s: {verdict}"
            )
            db.engine.dispose()


if __name__ == "__main__":
    main()
