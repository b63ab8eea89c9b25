"""Start-up time against content size: cold and warm starts with 4,000 more pages, and the CLI.

Generates 1,000 extra pages per locale (realistic Markdown: paragraphs, headings, lists, links)
into a temporary CONTENT_DIR beside a copy of content/, then times, each in a fresh process:
a cold start (empty render cache: until it serves, and until its warm-up process has rendered
every page), the same start rendering every page before it serves (as before the warm-up), a
warm start with 4,000 more pages, a warm start with the shipped content, and `flask outbox
send` with each. Prints the figures, the ratios against the goals of issue #12, and bleach's
share of a cold start (cProfile).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
LOCALES = [p.name for p in sorted(CONTENT.iterdir()) if p.is_dir()]
EXTRA_PER_LOCALE = 1000
PROFILED_PER_LOCALE = 250
FOLDERS = 20  # the extra pages sit in 20 folders of 50, as a grown site's sections would
COLD_GOAL_SECONDS = 10.0
WARM_GOAL_RATIO = 1.5
CLI_GOAL_RATIO = 1.5
TIMEOUT = 300  # a safety net for one process; on a quiet machine the whole run takes ~3 min
REPEAT = 3  # warm starts and CLI calls, each; the median is the figure

WORDS = [
    "stöd", "hjälp", "kommunen", "polisen", "socialtjänsten", "trygghet", "området", "familjen",
    "skolan", "våldet", "grupper", "samtal", "kontakt", "förebygga", "ansvar", "arbetet", "möten",
    "boende", "ungdomar", "föräldrar", "rådgivning", "säkerhet", "information", "myndigheter",
    "samverkan", "insatser", "frivilligt", "avhoppare", "erbjudande", "konsekvenser",
]  # fmt: skip


def sentence(rng: random.Random) -> str:
    """Return one sentence of 6 to 16 words, now and then with emphasis."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    if rng.random() < 0.2:
        words[2] = f"*{words[2]}*"
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, locale: str) -> str:
    """Return a paragraph of a few sentences, some with an internal or external link."""
    parts = [sentence(rng) for _ in range(rng.randint(2, 5))]
    if rng.random() < 0.5:
        parts.append(f"Läs mer om [{rng.choice(WORDS)}](/{locale}/om-gvi).")
    if rng.random() < 0.3:
        parts.append(f"Se [{rng.choice(WORDS)}s webbplats](https://www.polisen.se).")
    return " ".join(parts)


def page_text(rng: random.Random, locale: str, number: int) -> str:
    """Return one generated page: front matter, then sections of paragraphs and lists."""
    lines = [
        "---",
        f"title: Sida {number} om {rng.choice(WORDS)}",
        f"description: En genererad sida nummer {number} om {rng.choice(WORDS)}.",
        f"updated: 2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "---",
        "",
        paragraph(rng, locale),
        "",
    ]
    for section in range(rng.randint(2, 4)):
        lines += [f"## Avsnitt {section + 1}: {rng.choice(WORDS)}", "", paragraph(rng, locale), ""]
        if rng.random() < 0.6:
            lines += [f"- {sentence(rng)}" for _ in range(rng.randint(2, 5))] + [""]
        if rng.random() < 0.4:
            lines += [f"### {rng.choice(WORDS).capitalize()}", "", paragraph(rng, locale), ""]
        if rng.random() < 0.2:
            lines += [f"{n}. {sentence(rng)}" for n in range(1, rng.randint(3, 5))] + [""]
    return "\n".join(lines)


def make_content(folder: Path, per_locale: int = EXTRA_PER_LOCALE) -> Path:
    """Copy content/ into `folder` and add `per_locale` generated pages to every locale."""
    target = folder / "content"
    shutil.copytree(CONTENT, target)
    rng = random.Random(12)
    for locale in LOCALES:
        for number in range(per_locale):
            path = target / locale / "fler" / f"del-{number % FOLDERS:02d}" / f"sida-{number}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page_text(rng, locale, number), encoding="utf-8")
    return target


# A fresh process that makes the app and prints how long its start took and what it rendered.
# `render_many` is the loader's one way into the renderer, so counting its texts counts the
# pages rendered here. By default a start with many pages missing serves at once and leaves
# them to the warm-up process, which this one then waits for; `one_process` and `per_core` make
# the start render them all itself, as before the warm-up, in one process or one per core.
START = """
import json, sys, time
from gvisite import create_app
from gvisite.pages import cache, load
rendered, workers = [], []
def counting(texts):
    rendered.append(len(texts))
    workers.append(cache._workers(len(texts)))
    return cache.render_many(texts)
load.render_many = counting
if sys.argv[1] != "default":
    load.PARALLEL_MIN = 10**9  # render every missing page before serving
if sys.argv[1] == "one_process":
    cache.PARALLEL_MIN = 10**9
elif sys.argv[1] == "per_core":
    cache._idle_cores = lambda: 64.0
app = create_app()
serving = time.time()
site = app.extensions["gvisite.site"]
later, warm_up = site.later, app.extensions["gvisite.warm_up"]
if warm_up is not None and warm_up.wait() != 0:
    raise SystemExit("the warm-up failed")
print(json.dumps({"pages": len(site.pages), "rendered": sum(rendered), "later": later,
                  "workers": max(workers or [0]), "serving": serving}))
"""

# The same cold start in one process under cProfile: each package's share of the time.
PROFILE = """
import cProfile, json, pstats
from gvisite.pages import cache, load
load.PARALLEL_MIN = cache.PARALLEL_MIN = 10**9  # render every page here, before serving
profile = cProfile.Profile()
profile.enable()
from gvisite import create_app
create_app()
profile.disable()
stats = pstats.Stats(profile).stats
total = sum(row[2] for row in stats.values())
def share(part):
    return sum(row[2] for (file, _, _), row in stats.items() if part in file) / total
print(json.dumps({p: share(f"/{p}/") for p in ("bleach", "markdown", "yaml")}))
"""


def environment(instance: Path, content: Path) -> dict[str, str]:
    """Return a child's environment: its own instance folder and content, nothing inherited."""
    own = ("FLASK_", "INSTANCE_", "CONTENT_", "DATABASE_", "FORMATS_")
    inherited = {name: os.environ[name] for name in os.environ if not name.startswith(own)}
    return inherited | {
        "INSTANCE_PATH": str(instance),
        "CONTENT_DIR": str(content),
        "SECRET_KEY": "benchmark-secret-key",
        "SITE_URL": "http://127.0.0.1",
    }


class Timing(NamedTuple):
    """One fresh process: its wall time, the CPU time it and its workers used, what it printed."""

    wall: float
    cpu: float
    out: str


def run(args: Sequence[str], env: dict[str, str]) -> Timing:
    """Run a fresh process to its end and time it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Timing(wall, cpu, done.stdout)


def start(instance: Path, content: Path, mode: str = "default") -> tuple[Timing, dict[str, Any]]:
    """Start the app in a fresh process; return its timing and figures (pages, renders, ...).

    The timing's wall time runs to the end of the warm-up; `serving` in the figures is how long
    the process took until it could serve."""
    began = time.time()  # the child says when it could serve, by the same clock
    timing = run([sys.executable, "-c", START, mode], environment(instance, content))
    figures = json.loads(timing.out.strip().splitlines()[-1])
    return timing, figures | {"serving": figures["serving"] - began}


def median(values: Sequence[float]) -> float:
    """Return the middle value (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def side_by_side(first: Callable[[], Timing], second: Callable[[], Timing]) -> list[Timing]:
    """Time two commands in turn, REPEAT times each; return the medians (wall, CPU) of each."""
    runs: tuple[list[Timing], list[Timing]] = ([], [])
    for _ in range(REPEAT):  # in turn, so that a busy moment weighs on both alike
        runs[0].append(first())
        runs[1].append(second())
    return [
        Timing(median([t.wall for t in each]), median([t.cpu for t in each]), "") for each in runs
    ]


def warm(instance: Path, content: Path) -> Timing:
    """Start the app once over a filled render cache; a start that renders is a failure."""
    timing, figures = start(instance, content)
    if figures["rendered"] or figures["later"]:
        raise SystemExit("a warm start rendered pages: the render cache did not hold")
    return timing


def verdict(ok: bool) -> str:
    """Say whether a goal is met."""
    return "goal met" if ok else "GOAL MISSED"


def show(what: str, timing: Timing) -> None:
    """Print one figure: wall time, and the CPU time behind it."""
    print(f"{what}: {timing.wall:.2f} s (CPU {timing.cpu:.2f} s)")


def report_starts(folder: Path, big: Path) -> None:
    """Time cold and warm starts, with 4,000 more pages and with the shipped content."""
    cold, figures = start(folder / "cold", big)
    pages, serving = figures["pages"], figures["serving"]
    print(
        f"cold start, {pages} pages: serving after {serving:.2f} s, {figures['later']} pages"
        f" left to the warm-up; every page rendered after {cold.wall:.2f} s"
        f" (CPU {cold.cpu:.2f} s, warm-up included)"
    )
    # Before the warm-up, a start rendered every page itself; both ways, for comparison.
    for mode in ("per_core", "one_process"):
        timing, figures = start(folder / f"cold-{mode}", big, mode)
        show(f"  rendering them all before serving, in {figures['workers']} process(es)", timing)
    start(folder / "shipped", CONTENT)  # fills its cache
    warm_big, warm_shipped = side_by_side(
        lambda: warm(folder / "cold", big), lambda: warm(folder / "shipped", CONTENT)
    )
    show(f"warm start, {pages} pages (median of {REPEAT})", warm_big)
    show(f"warm start, shipped content (median of {REPEAT})", warm_shipped)
    met = verdict(serving <= COLD_GOAL_SECONDS)
    print(f"goal: cold start with 4,000 more pages <= {COLD_GOAL_SECONDS:.0f} s: {met}")
    ratio = warm_big.wall / warm_shipped.wall
    met = verdict(ratio <= WARM_GOAL_RATIO)
    print(
        f"goal: warm 4,000 / warm shipped = {ratio:.2f} <= {WARM_GOAL_RATIO}: {met}"
        f" (CPU {warm_big.cpu / warm_shipped.cpu:.2f})"
    )


def report_cli(folder: Path, big: Path) -> None:
    """Time `flask outbox send` with 4,000 more pages and with the shipped content."""
    flask = [str(Path(sys.executable).with_name("flask")), "--app", "wsgi"]
    big_env = environment(folder / "send-big", big)
    shipped_env = environment(folder / "send-shipped", CONTENT)
    for env in (big_env, shipped_env):
        run([*flask, "db", "upgrade"], env)
    big_send, shipped_send = side_by_side(
        lambda: run([*flask, "outbox", "send"], big_env),
        lambda: run([*flask, "outbox", "send"], shipped_env),
    )
    show(f"flask outbox send, 4,000 more pages (median of {REPEAT})", big_send)
    show(f"flask outbox send, shipped content (median of {REPEAT})", shipped_send)
    ratio = big_send.wall / shipped_send.wall
    met = verdict(ratio <= CLI_GOAL_RATIO)
    print(
        f"goal: outbox send 4,000 / shipped = {ratio:.2f} <= {CLI_GOAL_RATIO}: {met}"
        f" (CPU {big_send.cpu / shipped_send.cpu:.2f})"
    )


def report_profile(folder: Path) -> None:
    """Print each package's share of a cold start rendered in one process, under cProfile."""
    # A quarter of the extra pages: cProfile slows a start down severalfold.
    content = make_content(folder / "profiled", PROFILED_PER_LOCALE)
    timing = run([sys.executable, "-c", PROFILE], environment(folder / "profile", content))
    shares = json.loads(timing.out.strip().splitlines()[-1])
    print(
        f"cold start with {PROFILED_PER_LOCALE * len(LOCALES)} more pages in one process, "
        "under cProfile: " + ", ".join(f"{name} {share:.0%}" for name, share in shares.items())
    )


def main() -> None:
    """Generate the pages, measure, print the figures and clean up."""
    # A benchmark stopped from outside still removes its folder (SIGTERM would skip `finally`).
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="gvisite-startup-bench-"))
    began = time.perf_counter()
    try:
        big = make_content(folder)
        cores = len(os.sched_getaffinity(0))
        print(
            f"{EXTRA_PER_LOCALE * len(LOCALES)} generated pages + content/, {cores} core(s), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        report_starts(folder, big)
        report_cli(folder, big)
        report_profile(folder)
        took = time.perf_counter() - began
        print(f"(benchmark took {took:.0f} s, load average {os.getloadavg()[0]:.1f})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
