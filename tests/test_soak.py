"""A short fault soak in the suite: workers killed, SMTP stopped, PostgreSQL restarted.

`make soak` runs the long one (3,000 submissions per database; `SOAK=--submissions 10000`).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest

from tests.helpers import PROJECT_ROOT


def soak_module() -> Any:
    """Load benchmarks/soak.py (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("soak", PROJECT_ROOT / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_short_soak_loses_nothing_and_sends_nothing_twice(
    database: str, figures: list[str]
) -> None:
    """Every acknowledged report is stored with its staff mail; no 500; no mail sent twice but
    the one a killed worker was delivering."""
    # The retries come in seconds, not minutes (`make soak` keeps the real waits): what is
    # tested is that every message goes out once, not how long the operator lets it wait.
    # A message a killed worker was sending waits out its claim before another takes it: the
    # drain's length. PostgreSQL's 15 s outage needs the 60 s claim (a delivery is recorded
    # after up to 30 s of pauses); SQLite has no outage, and 30 s outlasts its pauses.
    result = soak_module().run(
        database,
        submissions=150,
        clients=10,
        smtp_down=3,
        retry_minutes="0.05,0.1,0.5,1,5",
        claim_seconds=60 if database == "postgresql" else 30,
    )
    refused = result["503 (refused, resent later)"]
    figures.append(
        f"soak ({database}, 150): acknowledged {result['acknowledged']}, lost {result['lost']},"
        f" stored twice {result['stored twice']},"
        f" duplicated mails {result['duplicated mails']}, 503 {refused},"
        f" p99 {result['p99 ms']} ms, {result['seconds']} s"
        f" + {result['seconds draining the outbox']} s draining"
    )
    assert result["acknowledged"] == 150
    assert result["lost"] == 0
    assert result["stored twice"] == 0  # a resend after a lost answer finds the first case
    assert result["cases without a staff mail"] == 0
    assert result["5xx other than 503"] == 0
    # What SMTP cannot rule out: an outbox worker killed between the server's "250 OK" and
    # recording it; each of the two kills can re-send at most the message it was delivering.
    assert result["duplicated mails"] <= 2
    if database == "postgresql":  # the outage was real: someone was refused and sent again
        assert len(result["faults"]) == 7
