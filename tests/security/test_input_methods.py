"""A method a URL does not take gets the site's own 405 page, with the `Allow` header."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import parse

CASES = [
    # (method, path, the methods the URL takes)
    ("DELETE", "/sv/tillganglighet/rapportera", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("PUT", "/fi/tillganglighet/alternativt-format", {"GET", "HEAD", "OPTIONS", "POST"}),
    # The receipt takes a POST since its language menu posts its one-time ticket.
    ("DELETE", "/sv/tillganglighet/kvitto", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("POST", "/sv/om-gvi", {"GET", "HEAD", "OPTIONS"}),
    ("DELETE", "/staff/login", {"GET", "HEAD", "OPTIONS", "POST"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), CASES)
def test_a_method_not_allowed_names_the_allowed_ones(
    forms_app: Flask, method: str, path: str, allowed: set[str]
) -> None:
    response = forms_app.test_client().open(path, method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    language = "fi" if path.startswith("/fi/") else "sv"  # the staff area is in Swedish
    assert parse(response.data).html["lang"] == language  # still the site's own page
    assert "Content-Security-Policy" in response.headers
