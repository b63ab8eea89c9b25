"""The render cache: a warm start renders nothing, a change loads only what changed, a damaged
entry is loaded again, and processes writing at once leave every entry whole."""

from __future__ import annotations

import hashlib
import multiprocessing
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from gvisite import create_app
from gvisite.config import PROJECT_ROOT
from gvisite.pages import load as load_module
from gvisite.pages import markdown as markdown_module
from gvisite.pages.cache import FOLDER, SUFFIX, RenderCache
from gvisite.pages.load import load_site, loader_version
from gvisite.pages.markdown import renderer_version
from tests.conftest import app_config, markdown_page
from tests.helpers import parse
from tests.pages.conftest import flask_environment

BODY = "## Stöd\n\nRing [112](tel:112) om någon är i fara.\n\n- Polisen\n- Socialtjänsten\n"
PAGES = {
    "sv/om.md": markdown_page(BODY),
    "sv/stod.md": markdown_page("## Hjälp\n\nDu kan få hjälp.\n"),
    "fi/om.md": markdown_page("## Tuki\n\nSoita numeroon 112.\n"),
}


@pytest.fixture
def fresh_version() -> Iterator[None]:
    """Let a test compute the versions anew, and leave the real ones behind."""
    clear_versions()
    yield
    clear_versions()


def clear_versions() -> None:
    """Forget the renderer's and the loader's versions, computed once per process."""
    renderer_version.cache_clear()
    loader_version.cache_clear()


def start(instance: Path, content: Path) -> Flask:
    """Create the app over `content` with its instance folder (and so its render cache)."""
    return create_app(app_config(instance, CONTENT_DIR=str(content)))


def served(app: Flask, url: str) -> str:
    """Return the text of a page's main content as a visitor gets it."""
    response = app.test_client().get(url)
    assert response.status_code == 200
    return parse(response.data).main.get_text(" ", strip=True)


def test_a_warm_start_renders_nothing_and_serves_the_same_pages(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    content = make_content(PAGES)
    first = start(tmp_path / "instance", content)
    page_count = len(first.extensions["gvisite.site"].pages)
    assert page_count == len(renders) == 7  # four home pages and three more
    renders.clear()
    second = start(tmp_path / "instance", content)
    assert renders == []
    assert second.extensions["gvisite.site"].pages == first.extensions["gvisite.site"].pages
    assert served(second, "/sv/om") == served(first, "/sv/om")
    assert "Ring 112 om någon är i fara." in served(second, "/sv/om")


def test_changed_files_alone_are_loaded_again(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    content = make_content(PAGES)
    start(tmp_path / "instance", content)
    renders.clear()
    (content / "sv/om.md").write_text(markdown_page("## Stöd\n\nRing 114 14."), encoding="utf-8")
    (content / "sv/stod.md").write_text(  # the front matter only
        markdown_page("## Hjälp\n\nDu kan få hjälp.\n", title="Ny rubrik"), encoding="utf-8"
    )
    app = start(tmp_path / "instance", content)
    assert renders == ["\n## Stöd\n\nRing 114 14.\n", "\n## Hjälp\n\nDu kan få hjälp.\n\n"]
    assert "Ring 114 14." in served(app, "/sv/om")
    assert "Ring 112" not in served(app, "/sv/om")
    assert parse(app.test_client().get("/sv/stod").data).h1.get_text(strip=True) == "Ny rubrik"


def test_a_new_renderer_version_renders_every_page(
    make_content: Callable,
    tmp_path: Path,
    renders: list[str],
    monkeypatch: pytest.MonkeyPatch,
    fresh_version: None,
) -> None:
    content = make_content(PAGES)
    start(tmp_path / "instance", content)
    renders.clear()
    # An upgraded bleach and Markdown, as `importlib.metadata` would report them.
    monkeypatch.setattr(markdown_module, "version", lambda name: f"{name}-99")
    clear_versions()
    start(tmp_path / "instance", content)
    assert len(renders) == 7


def test_the_version_follows_the_code_and_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_version: None
) -> None:
    versions = [loader_version()]
    for module in (markdown_module, load_module):  # the renderer's code, then the loader's
        changed = tmp_path / Path(module.__file__).name
        changed.write_bytes(Path(module.__file__).read_bytes() + b"\n# one more line\n")
        with monkeypatch.context() as patch:
            patch.setattr(module, "__file__", str(changed))
            clear_versions()
            versions.append(loader_version())
    for module in (markdown_module, load_module):  # Markdown and bleach, then PyYAML
        with monkeypatch.context() as patch:
            patch.setattr(module, "version", lambda name: "0.0")
            clear_versions()
            versions.append(loader_version())
    clear_versions()
    assert len(set(versions)) == 5
    assert loader_version() == versions[0]


def signed(payload: bytes) -> bytes:
    """Return an entry file with a checksum that matches `payload`."""
    return hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


# Ways an entry can be left unusable, each applied to one file.
DAMAGE: dict[str, Callable[[Path], object]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-40]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"\xff\xfe not an entry at all"),
    "edited": lambda p: p.write_bytes(p.read_bytes().replace(b"112", b"911")),
    "wrong shape": lambda p: p.write_bytes(signed(b'{"html": 1, "headings": [[2]]}')),
    "a folder": lambda p: (p.unlink(), p.mkdir()),
}


def test_a_damaged_entry_is_rendered_again_and_the_page_is_right(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    pages = {f"sv/sida-{n}.md": markdown_page(f"{BODY}\nSida {n}.\n") for n in range(6)}
    content = make_content(pages)
    instance = tmp_path / "instance"
    fresh = start(instance, content)
    folder = instance / FOLDER
    for (name, harm), n in zip(DAMAGE.items(), range(6), strict=True):
        data = (content / f"sv/sida-{n}.md").read_bytes()
        entry = folder / f"{RenderCache.key(loader_version(), f'sv/sida-{n}.md', data)}{SUFFIX}"
        assert entry.is_file(), name
        harm(entry)
    renders.clear()
    again = start(instance, content)
    assert len(renders) == len(DAMAGE)
    for n in range(6):
        text = served(again, f"/sv/sida-{n}")
        assert text == served(fresh, f"/sv/sida-{n}")
        assert f"Ring 112 om någon är i fara. Polisen Socialtjänsten Sida {n}." in text
    renders.clear()
    start(instance, content)
    assert len(renders) == 1  # all but the folder in the entry's place were written again


def test_entries_the_content_no_longer_uses_are_removed(
    make_content: Callable, tmp_path: Path
) -> None:
    content = make_content(PAGES)
    instance = tmp_path / "instance"
    start(instance, content)
    before = {p.name for p in (instance / FOLDER).glob(f"*{SUFFIX}")}
    assert len(before) == 7
    (content / "sv/stod.md").unlink()
    (content / "fi/om.md").write_text(markdown_page("Uusi teksti."), encoding="utf-8")
    start(instance, content)
    after = {p.name for p in (instance / FOLDER).glob(f"*{SUFFIX}")}
    assert len(after) == 6
    assert len(before - after) == 2


def test_a_load_with_errors_keeps_the_cache(make_content: Callable, tmp_path: Path) -> None:
    content = make_content(PAGES)
    instance = tmp_path / "instance"
    start(instance, content)
    before = sorted((instance / FOLDER).glob(f"*{SUFFIX}"))
    (content / "sv/stod.md").write_text("---\ntitle: Trasig\n---\nText.\n", encoding="utf-8")
    _site, errors = load_site(content, RenderCache(instance / FOLDER))
    assert errors
    assert sorted((instance / FOLDER).glob(f"*{SUFFIX}")) == before


# In a fresh process: the test runner's own threads would keep rendering in this one.
PARALLEL = """
from pathlib import Path
from gvisite.pages import cache
from gvisite.pages.markdown import render
texts = [p.read_text(encoding="utf-8") for p in sorted(Path("content").rglob("*.md"))]
cache.PARALLEL_MIN = 2
cache._idle_cores = lambda: 0.5  # a busy machine: another process would only slow it down
assert cache._workers(len(texts)) == 1, "rendered in several processes on a busy machine"
cache._idle_cores = lambda: 2.0  # an idle one (the machine running the tests may be busy)
assert cache._workers(len(texts)) >= 2, "not rendered in several processes"
assert cache.render_many(texts) == [render(text) for text in texts]
print(len(texts))
"""


def test_rendering_in_several_processes_gives_the_same_pages() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PARALLEL], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 40


ENTRIES = {
    f"{n:064x}": {"html": f"<p>Sida {n}</p>" * (200 + n), "headings": [[2, f"h{n}", "R"]]}
    for n in range(12)
}


def hammer(folder: str, rounds: int) -> list[str]:
    """Write every entry again and again; return what was read back damaged."""
    cache = RenderCache(Path(folder))
    damaged = []
    for _ in range(rounds):
        for key, entry in ENTRIES.items():
            if (Path(folder) / f"{key}{SUFFIX}").exists() and cache.get(key) != entry:
                damaged.append(key)  # an entry that exists must read back whole
            cache.put(key, entry)
    return damaged


def test_processes_writing_at_once_leave_every_entry_whole(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(hammer, [(str(folder), 40)] * 4)
    assert results == [[], [], [], []]
    cache = RenderCache(folder)
    assert {key: cache.get(key) for key in ENTRIES} == ENTRIES
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{k}{SUFFIX}" for k in ENTRIES)


# A gunicorn worker's start: make the app over the content named in the environment.
START = "from gvisite import create_app; create_app()"


def test_two_processes_starting_together_on_one_cache_both_start(
    make_content: Callable, tmp_path: Path, renders: list[str]
) -> None:
    content = make_content({f"sv/sida-{n}.md": markdown_page(f"Sida {n}.") for n in range(30)})
    instance = tmp_path / "instance"
    env = flask_environment(instance, content)
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", START], cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    errors = [process.communicate(timeout=120)[1] for process in starts]
    assert [process.returncode for process in starts] == [0, 0], errors
    site, problems = load_site(content, RenderCache(instance / FOLDER))
    assert problems == []
    assert len(site.pages) == 34
    assert renders == []  # between them, the two left every page in the cache
    assert "Sida 29." in site.get("sv", "sida-29").html
