"""Audit the locked dependencies with pip-audit; never pass when nothing could be checked.

    .venv-tools/bin/python scripts/audit.py requirements/test.lock   (make audit)

Tries each vulnerability service in turn (PyPI's, then OSV). Exit status: 0 every package was
checked and none has a known vulnerability; 1 a vulnerability was found; 3 the audit could not
be done completely (no service reachable, or some packages unchecked), said in plain words.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SERVICES = ("pypi", "osv")
NOT_AUDITED = 3


def summarise(report: dict, service: str) -> tuple[int, list[str]]:
    """Turn a pip-audit JSON report into an exit status and the lines to print."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    checked = len(dependencies) - len(skipped)
    lines = [f"{service}: {checked} of {len(dependencies)} packages checked"]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            lines.append(f"  VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']}")
            lines.append(f"    fixed in: {fixes}")
    if vulnerable:
        return 1, lines
    if not dependencies or skipped:
        lines.append(f"  NOT AUDITED: {len(skipped)} packages could not be checked, e.g.")
        lines += [f"    {d['skip_reason']}" for d in skipped[:3]]
        return NOT_AUDITED, lines
    lines.append("  no known vulnerability")
    return 0, lines


def run_service(lock: Path, service: str) -> tuple[int, list[str]]:
    """Run pip-audit against one service; a service that cannot be reached is not a pass."""
    command = [
        *(sys.executable, "-m", "pip_audit"),
        *("--requirement", str(lock), "--no-deps", "--disable-pip"),
        *("--vulnerability-service", service, "--format", "json", "--progress-spinner", "off"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return NOT_AUDITED, [f"{service}: NOT AUDITED: the service could not be used ({reason})"]
    return summarise(report, service)


def main(argv: list[str]) -> int:
    """Audit against the first service that can check every package; print what happened."""
    lock = Path(argv[1] if len(argv) > 1 else "requirements/test.lock")
    status = NOT_AUDITED
    for service in SERVICES:
        status, lines = run_service(lock, service)
        print("\n".join(lines))
        if status != NOT_AUDITED:
            return status
    print(
        f"\nThe dependencies in {lock} were NOT audited: no vulnerability database could be"
        " reached from this machine. Run `make audit` where PyPI's JSON API or api.osv.dev"
        " answers (a CI runner with internet access, say) before trusting them."
    )
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
