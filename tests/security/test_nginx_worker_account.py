"""`flask deploy nginx --user`: the workers' account is one nginx accepts (issue #22, §5).

Debian has no `nobody` group, and nginx's default group is the one named like the user, so a bare
`user nobody;` stops nginx from starting. The command names the user's own group, or `--group`.
"""

from __future__ import annotations

import grp
import pwd
import subprocess
from pathlib import Path

from flask import Flask

from tests.deploy.fronted import make_certificate
from tests.fixtures_servers import require_nginx

ARGS = ["--server-name", "localhost", "--https", "127.0.0.1:8443", "--http", "127.0.0.1:8080",
        "--upstream", "127.0.0.1:8001"]  # fmt: skip


def deploy(app: Flask, out: Path, *args: str) -> tuple[int, str]:
    """Run `flask deploy nginx` with a real certificate; return its exit code and output."""
    cert, key = make_certificate(out.parent)
    result = app.test_cli_runner().invoke(
        args=["deploy", "nginx", "--out", str(out), *ARGS, "--cert", str(cert), "--key", str(key),
              *args]
    )  # fmt: skip
    return result.exit_code, result.output


def nginx_check(out: Path) -> subprocess.CompletedProcess[str]:
    """Run `nginx -t` on the written configuration (as root, it looks the account up)."""
    return subprocess.run(
        [require_nginx(), "-t", "-c", str(out / "nginx.conf"), "-p", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_user_nobody_runs_in_its_own_group_and_nginx_accepts_it(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "nginx"
    code, output = deploy(app, out, "--user", "nobody")
    assert code == 0, output
    group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name  # Debian: nogroup
    assert f'user "nobody" "{group}";' in (out / "nginx.conf").read_text()
    checked = nginx_check(out)
    assert checked.returncode == 0, checked.stderr


def test_a_group_can_be_named(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "nginx"
    root_group = grp.getgrgid(0).gr_name
    code, output = deploy(app, out, "--user", "nobody", "--group", root_group)
    assert code == 0, output
    assert f'user "nobody" "{root_group}";' in (out / "nginx.conf").read_text()
    checked = nginx_check(out)
    assert checked.returncode == 0, checked.stderr


def test_an_unknown_user_without_a_group_is_refused(app: Flask, tmp_path: Path) -> None:
    code, output = deploy(app, tmp_path / "nginx", "--user", "no-such-user-here")
    assert code == 2
    assert "name its --group" in output
    assert not (tmp_path / "nginx" / "nginx.conf").exists()


def test_an_account_name_nginx_would_misread_is_refused(app: Flask, tmp_path: Path) -> None:
    for args in (["--user", "nobody; daemon on"], ["--user", "nobody", "--group", "x y"]):
        code, output = deploy(app, tmp_path / "nginx", *args)
        assert code == 2, args
        assert "is not a user or group name" in output
