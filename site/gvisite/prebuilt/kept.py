"""A kept page: the app's answer with validators, and its encodings made once, on first use."""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import brotli
from werkzeug.http import http_date, parse_date

CACHE_CONTROL = "public, no-cache"  # any cache may keep a page, and asks (ETag) before each use
# Made in the request that first asks for it, again after every change: quality 6 takes ~1 ms
# for an 8 kB page and is 6 % larger than 11, which takes ~35 ms (and seconds for a big sitemap).
BROTLI_QUALITY = 6
_NOT_MODIFIED_DROP = frozenset({"content-type", "content-length", "content-encoding"})


# --- Choosing an encoding -------------------------------------------------------------------

CODINGS = ("br", "gzip", "identity")  # the order of preference among equal q-values


def accepted_codings(header: str) -> tuple[str, ...]:
    """Return the codings an Accept-Encoding header allows, best first (identity if none)."""
    explicit: dict[str, float] = {}
    for item in header.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0  # a malformed weight allows nothing
        coding = "gzip" if coding == "x-gzip" else coding
        explicit[coding] = max(quality, explicit.get(coding, 0.0))
    star = explicit.get("*")
    weights = {c: explicit.get(c, star if star is not None else 0.0) for c in CODINGS}
    if "identity" not in explicit and (star is None or star > 0):
        weights["identity"] = 0.001  # always acceptable unless refused, and least preferred
    ranked = sorted((c for c in CODINGS if weights[c] > 0), key=lambda c: -weights[c])
    # Nothing acceptable: send the page unencoded rather than a 406 nobody could read.
    return tuple(ranked) or ("identity",)


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda body: gzip.compress(body, compresslevel=9, mtime=0),  # same bytes everywhere
    "br": lambda body: brotli.compress(body, quality=BROTLI_QUALITY),
}


# --- A kept page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One encoding of a kept page, with its headers for a 200 and for a 304."""

    body: bytes
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]
    etag: str


@dataclass
class Kept:
    """A page's answer as the app rendered it, with the encodings made from it so far."""

    status: str
    headers: list[tuple[str, str]]  # the app's headers and ours, without the per-encoding ones
    body: bytes  # as the app sent it
    last_modified: int  # seconds since the epoch
    strong_date: bool  # made a second or more after that: If-Modified-Since may be trusted
    variants: dict[str, Variant | None] = field(default_factory=dict)

    def variant(self, coding: str) -> Variant | None:
        """Return the page in a coding, made on first use; None if it would not be smaller."""
        if coding in self.variants:
            return self.variants[coding]
        if coding == "identity":
            made: Variant | None = self._make(self.body, None)
        else:
            body = COMPRESSORS[coding](self.body)
            made = self._make(body, coding) if len(body) < len(self.body) else None
        self.variants[coding] = made
        return made

    @property
    def identity(self) -> Variant:
        """Return the page as the app sent it."""
        made = self.variant("identity")
        assert made is not None
        return made

    def _make(self, body: bytes, coding: str | None) -> Variant:
        """Return a variant with its own strong ETag (a hash of exactly these bytes)."""
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        own = [("ETag", etag)]
        if coding:
            own.append(("Content-Encoding", coding))
        ok = [*self.headers, *own, ("Content-Length", str(len(body)))]
        not_modified = [(k, v) for k, v in ok if k.lower() not in _NOT_MODIFIED_DROP]
        return Variant(body, ok, not_modified, etag)


def prepare(status: str, app_headers: list[tuple[str, str]], body: bytes, changed_at: int) -> Kept:
    """Prepare an app's answer for serving again: validators, caching and Vary added."""
    headers = [(k, v) for k, v in app_headers if k.lower() != "content-length"]
    names = {k.lower() for k, _ in headers}
    if "cache-control" not in names:
        headers.append(("Cache-Control", CACHE_CONTROL))
    vary = [v for k, v in headers if k.lower() == "vary"]
    headers = [(k, v) for k, v in headers if k.lower() != "vary"]
    headers.append(("Vary", ", ".join([*vary, "Accept-Encoding"])))
    headers.append(("Last-Modified", http_date(changed_at)))
    strong = time.time() >= changed_at + 1
    kept = Kept(status, headers, body, changed_at, strong)
    kept.variant("identity")
    return kept


def etag_matches(header: str, etag: str) -> bool:
    """Tell whether If-None-Match names this ETag (weak comparison, as RFC 9110 asks)."""
    if header == etag:
        return True
    return any(
        token.strip() == "*" or token.strip().removeprefix("W/") == etag
        for token in header.split(",")
    )


def not_modified(kept: Kept, etag: str, environ: dict[str, Any]) -> bool:
    """Tell whether the client's copy is current: If-None-Match, else If-Modified-Since."""
    if (match := environ.get("HTTP_IF_NONE_MATCH")) is not None:
        return etag_matches(match, etag)
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since is None or not kept.strong_date:
        return False
    when = parse_date(since)
    return when is not None and when.timestamp() >= kept.last_modified
