"""The folder of built files, and which of them match their page as it is now.

The files are built ahead of time (build.py; the running site rebuilds what goes stale by
itself, refresh.py) into `FORMATS_DIR`, one folder per locale, with a small JSON manifest per
page that records what each file was built from. A page offers a format only while its file was
built from the page as it is now; nothing is built on request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from ..prebuilt.stamp import pages_changed
from ..statement import problems_version, read_published
from .catalogue import Format
from .source import STATEMENT, render_source

EXTENSION = "gvisite.formats"  # where the app keeps its Store


@dataclass
class Store:
    """The folder of built files: `<locale>/<name><suffix>` plus `<locale>/<name>.json`."""

    root: Path
    _manifests: dict[Path, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _digests: dict[tuple[str, str, Any], str] = field(default_factory=dict)

    def file(self, locale: str, name: str, fmt: Format) -> Path:
        """Return where a format of a page is kept."""
        return self.root / locale / f"{name}{fmt.suffix}"

    def manifest_file(self, locale: str, name: str) -> Path:
        """Return where the record of a page's built files is kept."""
        return self.root / locale / f"{name}.json"

    def manifest(self, locale: str, name: str) -> dict[str, Any]:
        """Return `{format key: {key, content, size, etag}}` for a page's built files."""
        path = self.manifest_file(locale, name)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return {}
        cached = self._manifests.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entries = data.get("formats", {}) if isinstance(data, dict) else {}
        self._manifests[path] = (mtime, entries)
        return entries

    def write_manifest(self, locale: str, name: str, entries: dict[str, Any]) -> None:
        """Record a page's built files; readers see the old record or the new one, never half."""
        path = self.manifest_file(locale, name)
        write_atomic(path, json.dumps({"formats": entries}, indent=1, sort_keys=True).encode())
        pages_changed(self.root)  # the page's "Other formats" block changed, in every process


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file under a temporary name and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def store(app: Flask | None = None) -> Store:
    """Return the app's store of built files."""
    return (app or current_app).extensions[EXTENSION]


def available(locale: str, name: str) -> dict[str, dict[str, Any]]:
    """Return the built files of a page that match the page as it is now."""
    entries = store().manifest(locale, name)
    if not entries:
        return {}
    digest = current_digest(locale, name)
    return {key: entry for key, entry in entries.items() if entry.get("content") == digest}


def current_digest(locale: str, name: str) -> str | None:
    """Return the digest of a page as it is now (see Source.digest); None if there is none."""
    files = store()
    # Pages are loaded once; the statement changes only when staff publish or resolve a problem,
    # so its digest is kept per version of those changes instead of rendering it every time.
    version = read_published(problems_version, None) if name == STATEMENT else None
    key = (locale, name, version)
    digest = files._digests.get(key)
    if digest is None:
        source = render_source(current_app._get_current_object(), locale, name)  # type: ignore[attr-defined]  # a LocalProxy, typed as the app
        if source is None:
            return None
        digest = files._digests[key] = source.digest
    return digest
