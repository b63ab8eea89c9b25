"""What Chromium and the Nu checker found on each page, kept between runs, keyed by content.

Checking the crawl's ~700 pages takes Chromium minutes. A page's result can only change when
something it is made of changes, so the key holds all of that: the page as served (its headers
and HTML, less the one-time tokens a form page holds), and, for every page at once, the site's
code, templates, translations and static files, the built formats' files, the checking code,
axe-core, Chromium and the Nu checker. Change any of them and every page is checked again; a
run after a change to tests elsewhere, or to no file at all, checks none. The files live in
`.cache/page-checks/`, one JSON file per page and key; a stale one is never read again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.helpers import PROJECT_ROOT, VNU_JAR, Answer

FOLDER = PROJECT_ROOT / ".cache" / "page-checks"
SITE = PROJECT_ROOT / "site" / "gvisite"
TESTS = Path(__file__).parent
# What the checks read besides the page itself: the site's own files, and the checking code.
SITE_FILES = ("**/*.py", "templates/**/*", "static/**/*", "prebuilt/**/*")
CHECKING_CODE = ("crawler.py", "checked_pages.py", "helpers.py", "fixtures_servers.py")
# Different on every request, and nothing the checks look at: a form's CSRF token and start.
HIDDEN_VALUE = re.compile(rb'(<input[^>]*\btype="hidden"[^>]*\bvalue=")[^"]*(")')
COOKIE_VALUE = re.compile(r"^([^=;\n]+)=[^;\n]*", re.MULTILINE)
VARYING_HEADERS = frozenset({"date", "content-length", "etag", "last-modified", "age", "expires"})


def _files_digest(digest: Any, root: Path, patterns: Iterable[str]) -> None:
    """Feed every file under `root` matching `patterns` (name and bytes) to `digest`."""
    files = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")


def run_key(axe_script: str, chromium: str, formats_dir: Path) -> str:
    """Return what every page's result depends on besides the page itself."""
    digest = hashlib.sha256()
    _files_digest(digest, SITE, SITE_FILES)
    _files_digest(digest, PROJECT_ROOT / "translations", ["*/LC_MESSAGES/*.mo"])
    _files_digest(digest, TESTS, CHECKING_CODE)
    # The formats' files a page links to or plays: their names and sizes (their keys name
    # their content, and a missing one would be a failed load). Not the folder's dot files:
    # its lock, and the stamp every start and change appends a byte to (prebuilt/stamp.py).
    for path in sorted(p for p in formats_dir.rglob("[!.]*") if p.is_file()):
        digest.update(f"{path.relative_to(formats_dir)} {path.stat().st_size}\n".encode())
    digest.update(axe_script.encode() + b"\0" + chromium.encode() + b"\0")
    digest.update(hashlib.sha256(VNU_JAR.read_bytes()).digest() if VNU_JAR.is_file() else b"")
    return digest.hexdigest()


def page_key(run: str, path: str, answer: Answer) -> str:
    """Return the key of one page's checks: the run's key and the page as served."""
    digest = hashlib.sha256(f"{run}\0{path}\0".encode())
    for name, value in sorted(answer.headers.items()):
        if name not in VARYING_HEADERS:
            value = COOKIE_VALUE.sub(r"\1=", value) if name == "set-cookie" else value
            digest.update(f"{name}: {value}\n".encode())
    digest.update(HIDDEN_VALUE.sub(rb"\1\2", answer.body))
    return digest.hexdigest()


def load(key: str, folder: Path = FOLDER) -> dict[str, Any] | None:
    """Return a page's kept result, or None if it was never checked as it is now."""
    try:
        found = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def keep(key: str, result: dict[str, Any], folder: Path = FOLDER) -> None:
    """Keep a page's result under its key (written whole, then renamed into place)."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{key}.tmp"
    temporary.write_text(json.dumps(result, sort_keys=True), encoding="utf-8")
    temporary.replace(folder / f"{key}.json")


def as_json(value: Any) -> Any:
    """Return a dataclass (a page's result) as JSON-ready values: sets become sorted lists."""
    data = asdict(value)
    return {k: sorted(v) if isinstance(v, set) else v for k, v in data.items()}
