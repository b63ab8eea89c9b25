"""Interface catalogs: complete, not fuzzy, and in step with the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from gvisite.i18n import LOCALES

ROOT = Path(__file__).resolve().parents[1]


def _catalog(locale: str):
    """Read a locale's .po file."""
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.fixture(scope="module")
def code_msgids(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Extract the message ids the code uses now, the way `make translations-extract` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "--ignore-dirs=.venv node_modules", "-o", str(pot), "."],
        cwd=ROOT, check=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_every_message_is_translated_and_not_fuzzy(locale: str) -> None:
    catalog = _catalog(locale)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    untranslated += [
        m.id for m in catalog if m.id and isinstance(m.string, tuple) and not all(m.string)
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"{locale}: untranslated: {untranslated[:10]}"
    assert not fuzzy, f"{locale}: fuzzy: {fuzzy[:10]}"


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_catalog_is_in_step_with_the_code(locale: str, code_msgids: set[str]) -> None:
    catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(locale) if m.id}
    missing = sorted(code_msgids - catalog)
    stale = sorted(catalog - code_msgids)
    assert not missing, f"{locale}: run `make translations-update`; missing: {missing[:10]}"
    assert not stale, f"{locale}: messages no longer in the code: {stale[:10]}"


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_placeholders_survive_translation(locale: str) -> None:
    placeholder = re.compile(r"%\((\w+)\)s")
    for message in _catalog(locale):
        if message.id and isinstance(message.id, str) and message.string:
            assert set(placeholder.findall(message.id)) == set(
                placeholder.findall(message.string)
            ), f"{locale}: {message.id!r}"


def test_arabic_has_one_word_for_a_case() -> None:
    """معاملة (an errand with an authority), never قضية, which also means a court case."""
    found = []
    for message in _catalog("ar"):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and any("قضي" in text for text in strings):
            found.append(message.id)
    assert found == []
