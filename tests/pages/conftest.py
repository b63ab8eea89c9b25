"""Fixtures of the start-up tests: counting what the renderer is given, a `flask` environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gvisite.pages import cache as cache_module
from gvisite.pages.markdown import Rendered, render


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every body the renderer is given (in this process)."""
    bodies: list[str] = []

    def counting(text: str) -> Rendered:
        bodies.append(text)
        return render(text)

    monkeypatch.setattr(cache_module, "render", counting)
    yield bodies


def flask_environment(instance: Path, content: Path) -> dict[str, str]:
    """Return the environment of a `flask` process with its own instance folder and content."""
    own = ("FLASK_", "DATABASE_", "INSTANCE_", "CONTENT_", "MAIL_")
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(own)}
    inherited.update(INSTANCE_PATH=str(instance), CONTENT_DIR=str(content))
    inherited.update(SECRET_KEY="test-secret-key", SITE_URL="http://localhost")
    return inherited
