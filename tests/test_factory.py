"""The factory wires what must come in one order: the middleware stack and the locale converter.

The parts provide their middleware; only the factory places it. So however `PARTS` is
reordered, the host check stays in front of the pre-built pages, and a Host that is no host
name is refused before any kept page could answer it.
"""

from __future__ import annotations

import inspect
import random
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import gvisite
from gvisite.prebuilt.layer import PrebuiltPages
from gvisite.security import RefuseBadHosts
from tests.conftest import close_database, make_app

BAD_HOST = {"Host": "gvi.se@evil.example"}


def middleware_of(app: Flask) -> list[type]:
    """Return the classes of the WSGI middleware around Flask, outermost first."""
    found: list[type] = []
    wsgi: Any = app.wsgi_app
    while not (inspect.ismethod(wsgi) and wsgi.__func__ is Flask.wsgi_app):
        found.append(type(wsgi))
        wsgi = wsgi.app if hasattr(wsgi, "app") else wsgi.wsgi_app
    return found


def shuffled(parts: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return the parts in an order of their own (the same in every run)."""
    order = list(parts)
    random.Random(24).shuffle(order)
    return tuple(order)


def security_first(parts: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return the parts with security's `init_app` before the pre-built pages' one."""
    rest = [part for part in parts if part is not gvisite.security]
    return (rest[0], gvisite.security, *rest[1:])  # pages stay first: they load the content


REORDERINGS = {
    "reversed": lambda parts: parts[::-1],
    "shuffled": shuffled,
    "security first": security_first,
}


def test_the_host_check_is_outside_the_pre_built_pages(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance")
    try:
        assert middleware_of(app) == [RefuseBadHosts, PrebuiltPages]
    finally:
        close_database(app)


def test_behind_a_proxy_the_forwarded_headers_are_read_outermost(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", TRUSTED_PROXIES=1)
    try:
        assert middleware_of(app) == [ProxyFix, RefuseBadHosts, PrebuiltPages]
    finally:
        close_database(app)


@pytest.mark.parametrize("reorder", REORDERINGS.values(), ids=REORDERINGS.keys())
def test_reordering_the_parts_never_puts_kept_pages_before_the_host_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reorder: Any
) -> None:
    monkeypatch.setattr(gvisite, "PARTS", reorder(gvisite.PARTS))
    app = make_app(tmp_path / "instance")
    try:
        assert middleware_of(app) == [RefuseBadHosts, PrebuiltPages]
        client = app.test_client()
        kept = client.get("/sv/")
        assert kept.status_code == 200
        assert client.get("/sv/").headers["ETag"] == kept.headers["ETag"]  # kept, from memory
        refused = client.get("/sv/", headers=BAD_HOST)
        assert refused.status_code == 400
        assert "ETag" not in refused.headers and kept.data not in refused.data
        # The `<locale>` converter is in place for every part's routes, whatever their order.
        assert client.get("/en/tillganglighet").status_code == 200
        assert client.get("/xx/tillganglighet").status_code == 404
    finally:
        close_database(app)
