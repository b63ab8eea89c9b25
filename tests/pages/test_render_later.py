"""A start with many pages missing from the render cache serves before rendering them: each
body renders on first use (from the cache once the warm-up process has filled it), and the
warm-up leaves every page in the cache, so that the next start renders nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from gvisite import create_app
from gvisite.pages import body as body_module
from gvisite.pages import load as load_module
from gvisite.pages import warm
from gvisite.pages.body import Body
from gvisite.pages.cache import FOLDER, SUFFIX, RenderCache
from gvisite.pages.load import load_site
from tests.conftest import app_config, markdown_page
from tests.helpers import parse

MANY = 30  # pages beside the four home pages; "many" is lowered to 10 for these tests
PAGES = {
    f"sv/sida-{n}.md": markdown_page(f"## Del {n}\n\nSida {n} om stöd.\n") for n in range(MANY)
}


@pytest.fixture(autouse=True)
def many_is_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count ten missing pages as many (the site's own figure is PARALLEL_MIN, 200)."""
    monkeypatch.setattr(load_module, "PARALLEL_MIN", 10)


def test_the_site_serves_at_once_and_the_warm_up_renders_every_page(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    content, instance = make_content(PAGES), tmp_path / "instance"
    app = create_app(app_config(instance, CONTENT_DIR=str(content)))
    site = app.extensions["gvisite.site"]
    assert site.later == MANY + 4 and renders == []  # nothing rendered in the server to start
    warm_up = app.extensions["gvisite.warm_up"]
    assert warm_up is not None
    response = app.test_client().get("/sv/sida-7")
    assert response.status_code == 200
    main = parse(response.data).main
    assert "Sida 7 om stöd." in main.get_text(" ", strip=True)
    assert main.find("h2", id="del-7") is not None  # the headings came with the body
    assert len(renders) <= 1  # that page alone, unless the warm-up had kept it already
    assert warm_up.wait(timeout=120) == 0
    assert len(list((instance / FOLDER).glob(f"*{SUFFIX}"))) == MANY + 4
    renders.clear()
    again = create_app(app_config(instance, CONTENT_DIR=str(content)))
    assert renders == [] and again.extensions["gvisite.site"].later == 0
    assert again.extensions["gvisite.warm_up"] is None
    assert again.extensions["gvisite.site"].pages == site.pages  # the same pages, word for word


def test_a_body_left_for_later_reads_what_the_warm_up_kept(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    content, folder = make_content(PAGES), tmp_path / "cache"
    site, errors = load_site(content, RenderCache(folder), later=True)
    assert errors == [] and site.later == MANY + 4
    assert warm.main(["warm", str(content), str(folder)]) == 0  # in this process, to count
    assert len(renders) == MANY + 4
    renders.clear()
    page = site.get("sv", "sida-3")
    assert page is not None and "Sida 3 om stöd." in page.html
    assert [(h.level, h.id, h.text) for h in page.headings] == [(2, "del-3", "Del 3")]
    assert renders == []  # read from the cache, not rendered again


def test_a_body_read_before_the_warm_up_renders_once_and_is_kept(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    content, folder = make_content(PAGES), tmp_path / "cache"
    site, _errors = load_site(content, RenderCache(folder), later=True)
    page = site.get("sv", "sida-5")
    assert page is not None and not page.body.rendered
    assert "Sida 5 om stöd." in page.html and "Sida 5 om stöd." in page.html
    assert len(renders) == 1 and page.body.rendered
    renders.clear()
    eager, _errors = load_site(content, RenderCache(folder))
    assert len(renders) == MANY + 3  # every page but the one already read
    assert eager.get("sv", "sida-5") == page


def test_a_load_without_later_or_with_few_missing_renders_at_once(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    content = make_content(PAGES)
    site, _errors = load_site(content, RenderCache(tmp_path / "one"))
    assert site.later == 0 and len(renders) == MANY + 4  # `flask content check`, the warm-up
    renders.clear()
    folder = tmp_path / "two"
    load_site(content, RenderCache(folder))  # fills it
    (next(folder.glob(f"*{SUFFIX}"))).unlink()  # one page changed: render it now
    renders.clear()
    site, _errors = load_site(content, RenderCache(folder), later=True)
    assert site.later == 0 and len(renders) == 1


def test_readers_in_two_threads_render_a_body_once() -> None:
    made, started = [], threading.Event()

    def make() -> tuple[str, tuple[()]]:
        started.wait(5)
        made.append(1)
        return "<p>Klar</p>", ()

    body = Body.later(make)
    seen: list[str] = []
    readers = [threading.Thread(target=lambda: seen.append(body.html)) for _ in range(2)]
    for reader in readers:
        reader.start()
    started.set()
    for reader in readers:
        reader.join(5)
    assert seen == ["<p>Klar</p>"] * 2 and made == [1]


def test_without_a_warm_up_process_every_page_still_serves(
    make_content: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_processes(*_args: object, **_kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(body_module.subprocess, "Popen", no_processes)
    app = create_app(app_config(tmp_path / "instance", CONTENT_DIR=str(make_content(PAGES))))
    assert app.extensions["gvisite.warm_up"] is None
    client = app.test_client()
    for n in range(MANY):
        response = client.get(f"/sv/sida-{n}")
        assert response.status_code == 200 and f"Sida {n} om stöd.".encode() in response.data


def test_a_failed_warm_up_is_reaped_and_logged_and_pages_still_serve(
    make_content: Callable,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(body_module, "sys", SimpleNamespace(executable="/bin/false"))
    app = create_app(app_config(tmp_path / "instance", CONTENT_DIR=str(make_content(PAGES))))
    warm_up = app.extensions["gvisite.warm_up"]
    deadline = time.monotonic() + 30
    while warm_up.returncode is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the server's reaper thread waits for it, not this test
    assert warm_up.returncode == 1  # reaped: no zombie left behind
    assert "render warm-up: ended with 1" in caplog.text
    response = app.test_client().get("/sv/sida-3")
    assert response.status_code == 200 and "Sida 3 om stöd.".encode() in response.data
