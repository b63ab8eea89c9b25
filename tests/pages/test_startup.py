"""Start-up: commands that need no pages run without loading them (even broken ones); the site,
`flask run` and a page read on first use still refuse broken content."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup, cli

from gvisite import create_app
from gvisite.config import PROJECT_ROOT
from gvisite.pages import LazySite, load_pages
from gvisite.pages.cache import FOLDER
from gvisite.pages.load import ContentError, current_site
from gvisite.pages.model import Site
from tests.conftest import app_config, markdown_page
from tests.pages.conftest import flask_environment

FLASK = Path(sys.executable).with_name("flask")
BROKEN = {"sv/trasig.md": "---\ntitle: Trasig\n---\nIngen beskrivning.\n"}


def flask(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `flask --app wsgi ARGS` as an operator would, in the project folder."""
    return subprocess.run(
        [str(FLASK), "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_outbox_send_and_db_upgrade_run_beside_a_broken_page(
    make_content: Callable, tmp_path: Path
) -> None:
    content = make_content(BROKEN)
    env = flask_environment(tmp_path / "instance", content)
    for args in (["db", "upgrade"], ["outbox", "send"]):
        done = flask(env, *args)
        assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0 sent, 0 failed attempt(s)"
    assert not (tmp_path / "instance" / FOLDER).exists()  # not one page was rendered


@pytest.mark.parametrize(
    "args",
    [
        ["outbox", "send"],
        ["outbox", "worker", "--rounds", "1", "--interval", "0"],
        ["cases", "purge"],
        ["cases", "export", "--format", "json"],
        ["staff", "list"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_commands_that_need_no_pages_never_render_one(
    make_content: Callable,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    renders: list[str],
    args: list[str],
) -> None:
    content = make_content(BROKEN)
    instance = tmp_path / "instance"
    for name, value in flask_environment(instance, content).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    # The `flask` command itself, in this process, making a new app from the factory.
    app_option = ["--app", "gvisite:create_app()"]
    for command in (["db", "upgrade"], args):
        result = runner.invoke(cli, [*app_option, *command], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert renders == []


def test_flask_run_refuses_to_start_on_a_broken_page(
    make_content: Callable, tmp_path: Path
) -> None:
    content = make_content(BROKEN)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Were the content not checked at start, this would serve until the timeout.
    done = flask(flask_environment(tmp_path / "instance", content), "run", "--port", str(port))
    assert done.returncode != 0
    assert "trasig.md: missing required field(s): description, updated" in done.stderr


def test_a_warm_cache_does_not_hide_a_page_broken_since(
    make_content: Callable, tmp_path: Path
) -> None:
    content = make_content({"sv/om.md": markdown_page("Text.")})
    instance = tmp_path / "instance"
    create_app(app_config(instance, CONTENT_DIR=str(content)))
    (content / "sv/om.md").write_text("---\ntitle: Om\n---\nText.\n", encoding="utf-8")
    with pytest.raises(ContentError, match="description, updated"):
        create_app(app_config(instance, CONTENT_DIR=str(content)))


def flask_with_a_page_command() -> FlaskGroup:
    """Return a `flask` command whose app has one more command, which reads a page."""

    def factory() -> Flask:
        app = create_app()

        @app.cli.command("title")
        def title() -> None:
            """Print the Swedish home page's title."""
            page = current_site().get("sv", "")
            click.echo(page.title if page else "none")

        return app

    return FlaskGroup(create_app=factory)


def test_a_command_that_reads_a_page_loads_them_on_first_use(
    make_content: Callable,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    renders: list[str],
) -> None:
    content = make_content({"sv/om.md": markdown_page("## Om oss\n\nText.")})
    for name, value in flask_environment(tmp_path / "instance", content).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(flask_with_a_page_command(), ["title"], catch_exceptions=False)
    assert result.output == "Hem\n"
    assert len(renders) == 5  # the four home pages and sv/om


def test_a_command_that_reads_a_page_still_refuses_broken_content(
    make_content: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = make_content(BROKEN)
    for name, value in flask_environment(tmp_path / "instance", content).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(flask_with_a_page_command(), ["title"])
    assert isinstance(result.exception, ContentError)
    assert "trasig.md: missing required field(s)" in str(result.exception)


def test_a_lazy_site_is_a_site_with_every_page(make_content: Callable, tmp_path: Path) -> None:
    content = make_content({"sv/om.md": markdown_page("## Om oss\n\nText.", order="1")})
    eager = create_app(app_config(tmp_path / "instance", CONTENT_DIR=str(content)))
    site = LazySite(lambda: load_pages(eager))
    assert not site.loaded
    assert isinstance(site, Site)
    assert [p.path for p in site.navigation("sv")] == ["om"]
    assert site.loaded
    loaded = eager.extensions["gvisite.site"]
    assert (site.pages, site.facts) == (loaded.pages, loaded.facts)
