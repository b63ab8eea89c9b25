"""`flask deploy nginx` itself: what it writes, and what it refuses (no nginx needed here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from gvisite.formats.catalogue import ALL_FILES
from gvisite.i18n import LOCALES
from gvisite.security import HEADERS
from tests.helpers import nu_errors, parse, translate

ARGS = ["--server-name", "gvi.example.se", "--https", "127.0.0.1:8443", "--http", "127.0.0.1:8080",
        "--upstream", "127.0.0.1:8001", "--upstream", "127.0.0.1:8002"]  # fmt: skip


@pytest.fixture
def credentials(tmp_path: Path) -> list[str]:
    """Certificate options naming files that exist (the command only checks that)."""
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("placeholder\n")
    return ["--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem")]


def deploy(app: Flask, out: Path, *args: str) -> tuple[int, str]:
    """Run `flask deploy nginx` on the app; return its exit code and output."""
    result = app.test_cli_runner().invoke(args=["deploy", "nginx", "--out", str(out), *args])
    return result.exit_code, result.output


def test_it_writes_the_config_and_a_503_and_413_page_per_locale(
    app: Flask, tmp_path: Path, credentials: list[str]
) -> None:
    out = tmp_path / "nginx"
    code, output = deploy(app, out, *ARGS, *credentials)
    assert code == 0, output
    assert f"run:   nginx -c {out}/nginx.conf -p {out} -g 'daemon off;'" in output
    config = (out / "nginx.conf").read_text()
    for upstream in ("127.0.0.1:8001", "127.0.0.1:8002"):
        assert f"server {upstream} " in config
    assert "return 301 https://gvi.example.se:8443$request_uri;" in config
    for value in HEADERS.values():
        assert f'"{value}"' in config
    assert f"client_max_body_size {app.config['MAX_CONTENT_LENGTH']};" in config
    for fmt in ALL_FILES.values():
        assert f'default_type "{fmt.content_type}";' in config
    pages = {}
    for code_ in (503, 413):
        for locale in LOCALES:
            html = (out / "errors" / f"{code_}.{locale}.html").read_text()
            page = parse(html)
            assert page.html["lang"] == locale
            pages[f"{code_}.{locale}"] = html
    heading = translate(app, "fi", "The service is not available right now")
    assert parse(pages["503.fi"]).h1.get_text(strip=True) == heading
    assert nu_errors(pages) == []


def test_running_it_again_replaces_the_config(
    app: Flask, tmp_path: Path, credentials: list[str]
) -> None:
    out = tmp_path / "nginx"
    assert deploy(app, out, *ARGS, *credentials)[0] == 0
    args = [*ARGS[:-4], "--upstream", "127.0.0.1:9001", *credentials]
    assert deploy(app, out, *args)[0] == 0
    config = (out / "nginx.conf").read_text()
    assert "server 127.0.0.1:9001 " in config
    assert "127.0.0.1:8001" not in config


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--https", "8443", "is not HOST:PORT"),
        ("--upstream", "127.0.0.1:99999", "is not HOST:PORT"),
        ("--http", "bad host:80", "is not a host name"),
        ("--server-name", "gvi.example.se;evil", "is not a host name"),
    ],
)
def test_it_refuses_what_nginx_would_misread(
    app: Flask, tmp_path: Path, credentials: list[str], option: str, value: str, message: str
) -> None:
    args = list(ARGS)
    args[args.index(option) + 1] = value
    code, output = deploy(app, tmp_path / "nginx", *args, *credentials)
    assert code == 2
    assert message in output
    assert not (tmp_path / "nginx" / "nginx.conf").exists()


def test_a_setting_nginx_cannot_hold_is_refused(
    app: Flask, tmp_path: Path, credentials: list[str]
) -> None:
    app.config["FORMATS_DIR"] = str(tmp_path / 'formats"; evil')
    code, output = deploy(app, tmp_path / "nginx", *ARGS, *credentials)
    assert code == 2
    assert "cannot be written into nginx.conf" in output
