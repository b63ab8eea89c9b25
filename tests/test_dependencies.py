"""The locked dependencies: what `make run` installs is pinned, hashed and audited honestly."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    """Return package -> locked version of a lock file."""
    text = (LOCKS / lock).read_text()
    return {canonicalize_name(name): release for name, release in PIN.findall(text)}


def declared(extra: str | None = None) -> list[Requirement]:
    """Return the dependencies pyproject.toml declares (or those of one extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in listed]


def audit() -> ModuleType:
    """Import scripts/audit.py."""
    spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("lock", ["run.lock", "test.lock", "tools.lock"])
def test_every_locked_package_is_pinned_with_a_hash(lock: str) -> None:
    """pip --require-hashes refuses a file without one: each pin is followed by its hashes."""
    text = (LOCKS / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9._-]+==)", text.split("\n", 6)[-1])
    entries = [block for block in blocks if PIN.match(block)]
    assert len(entries) == len(pins(lock)) > 5
    for block in entries:
        assert "--hash=sha256:" in block, block.splitlines()[0]


@pytest.mark.parametrize(("lock", "extra"), [("run.lock", None), ("test.lock", "test")])
def test_the_locks_hold_what_pyproject_declares(lock: str, extra: str | None) -> None:
    """A dependency added to pyproject.toml without `make lock` is caught here."""
    locked = pins(lock)
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (name, lock)


def test_the_test_lock_keeps_the_releases_the_site_runs_with() -> None:
    """The suite tests the releases `make run` installs, not others."""
    run, test = pins("run.lock"), pins("test.lock")
    assert {name: test.get(name) for name in run} == run


def test_the_build_tools_are_locked_and_current() -> None:
    """setuptools 65 (Python 3.11's venv default) has known CVEs; the lock replaces it."""
    locked = pins("run.lock")
    assert Version(locked["setuptools"]) >= Version("80")
    assert Version(locked["pip"]) >= Version("26")


def test_this_environment_runs_the_locked_releases() -> None:
    """The venv the suite runs in was installed from the lock (a stale venv is caught)."""
    for name, release in pins("test.lock").items():
        assert version(name) == release, f"{name}: installed {version(name)}, locked {release}"


def test_an_audit_that_reached_no_database_does_not_pass() -> None:
    """pip-audit exits 0 when PyPI answers 404 for every package; `make audit` must not."""
    report = {
        "dependencies": [
            {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be"},
            {"name": "jinja2", "skip_reason": "Dependency not found on PyPI and could not be"},
        ]
    }
    status, lines = audit().summarise(report, "pypi")
    assert status == 3
    assert "NOT AUDITED" in "\n".join(lines)
    assert audit().summarise({"dependencies": []}, "osv")[0] == 3


def test_an_audit_reports_a_vulnerability_with_its_fix() -> None:
    """A known vulnerability fails the audit and names the release that fixes it."""
    report = {
        "dependencies": [
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
            },
            {"name": "flask", "version": "3.1.3", "vulns": []},
        ]
    }
    status, lines = audit().summarise(report, "osv")
    assert status == 1
    assert any("jinja2 3.1.2: GHSA-h5c8-rqwp-cp95" in line for line in lines)
    assert any("3.1.3" in line for line in lines)


def test_a_complete_clean_audit_passes() -> None:
    """Every package checked, none vulnerable: the one case that exits 0."""
    report = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]}
    assert audit().summarise(report, "pypi") == (
        0,
        ["pypi: 1 of 1 packages checked", "  no known vulnerability"],
    )


def test_make_installs_from_the_locks_with_hashes() -> None:
    """`make run` and `make test` install nothing that is not locked and hashed."""
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"^\t\$\(BIN\)/pip install (.*)$", makefile, re.MULTILINE)
    assert installs, "no pip install in the Makefile"
    for arguments in installs:
        assert "--require-hashes" in arguments or "--no-deps" in arguments, arguments
