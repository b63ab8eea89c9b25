"""The house rules of the package's layout, checked on the code itself.

docs/architecture.md describes the layout these rules keep ("House rules"): parts that do not
import each other in circles, a public site that works without the staff area, modules short
enough to read, each language described in one place, and documentation that a clone of the
repository can follow to the end.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from gvisite.config import from_environment
from gvisite.i18n import LOCALES
from tests.helpers import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "site" / "gvisite"
MAX_LINES = 400


def module_name(path: Path) -> str:
    """Return the dotted name of a module file: gvisite/pages/load.py is gvisite.pages.load."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Return every module of the package (its migrations' scripts are Alembic's, not ours)."""
    return {
        module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.relative_to(PACKAGE).parts
    }


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """Return the package's modules a module imports, anywhere in it (functions included)."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:  # `from x import y` may name a module y
                if f"{target}.{alias.name}" in modules:
                    found.add(f"{target}.{alias.name}")
                elif target in modules:
                    found.add(target)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """Return module -> the package modules it imports."""
    modules = package_modules()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules, or None if there is none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_cycle_and_a_function_level_import(tmp_path: Path) -> None:
    """The rules below would pass on anything if the import reader missed what it must see."""
    graph = import_graph()
    # Relative imports resolve to modules, and `from . import x` to the module x.
    assert "gvisite.pages.load" in graph["gvisite.statement"]
    assert {"gvisite.pages", "gvisite.staff", "gvisite.formats"} <= graph["gvisite"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # An import inside a function counts as much as one at the top.
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from .x import y\n", encoding="utf-8")
    assert imports_of("gvisite.m", source, {"gvisite.x", "gvisite.m"}) == {"gvisite.x"}


def test_no_import_cycle_between_the_packages_modules() -> None:
    """No module imports one that imports it back, directly or through others."""
    assert find_cycle(import_graph()) is None


def test_nothing_outside_the_staff_area_imports_it() -> None:
    """The public site works without the staff area; only the app factory registers it."""
    offenders = {
        name: sorted(target for target in targets if target.startswith("gvisite.staff"))
        for name, targets in import_graph().items()
        if name != "gvisite" and not name.startswith("gvisite.staff")
    }
    offenders = {name: found for name, found in offenders.items() if found}
    assert offenders == {}, "only the factory registers the staff area (docs/architecture.md)"


@pytest.mark.parametrize("name", sorted(package_modules()))
def test_no_module_is_over_the_line_limit(name: str) -> None:
    """A module is short enough to read in one sitting."""
    lines = package_modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines (split it: docs/architecture.md)"


def test_locale_codes_are_spelled_out_in_the_locale_module_only() -> None:
    """Adding a language is one record in i18n.py: no other module names a locale code."""
    codes = set(LOCALES)
    found = {}
    for name, path in package_modules().items():
        if name == "gvisite.i18n":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        literals = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        if literals & codes:
            found[name] = sorted(literals & codes)
    assert found == {}, "a language is one SiteLocale in i18n.py (docs/architecture.md)"
    # The check itself reads what it must: the locale module does spell them out.
    i18n = ast.parse((PACKAGE / "i18n.py").read_text(encoding="utf-8"))
    assert codes <= {n.value for n in ast.walk(i18n) if isinstance(n, ast.Constant)}


# --- The documentation ---------------------------------------------------------------------

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
# A Markdown link or image, [text](target) or ![alt](target); the target ends at a space or ")".
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# A path that climbs out of its folder, linked or merely named (`../shared/notes.md`).
_CLIMB = re.compile(r"(?:\.\./)+[\w./-]*")
# What else a clone lacks: this machine's work folder, and the design notes kept beside it.
_ELSEWHERE = re.compile(r"/work/|DESIGN\.md")


def anchors(path: Path) -> set[str]:
    """Return the anchors a Markdown file's headings get, as GitHub makes them."""
    found: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (heading := re.match(r"#{1,6} (.+)", line)):
            text = re.sub(r"[`*_]", "", heading.group(1)).strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


def broken_links(path: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """Return the relative links in a Markdown file that lead to no file or heading in `root`."""
    broken = []
    for target in _LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # https:, mailto:, tel: lead off the site on purpose
            continue
        file, _hash, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.is_relative_to(root) or not linked.exists():
            broken.append(target)  # no such file here
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)  # the file is there, the heading is not
    return broken


def test_the_link_checker_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    """The rules below would pass on anything if the link reader missed what it must see."""
    page = tmp_path / "page.md"
    page.write_text(
        "# Where it goes\n\n## Step by step (Debian 12)\n\n```\n# not a heading\n```\n"
        "[a](#where-it-goes) [b](#step-by-step-debian-12) [c](#not-a-heading) [d](gone.md)\n"
        "[e](page.md#nowhere) ![f](page.md) [g](https://example.org/x.md) [h](page.md)\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path) == ["#not-a-heading", "gone.md", "page.md#nowhere"]
    assert outside_the_repository(page.with_name("x.md"), "see `../notes.md`", tmp_path) == [
        "../notes.md"
    ]


def outside_the_repository(path: Path, text: str, root: Path = PROJECT_ROOT) -> list[str]:
    """Return what a Markdown file's text names outside the repository, linked or not."""
    climbs = [
        found
        for found in _CLIMB.findall(text)
        if not (path.parent / found).resolve().is_relative_to(root)
    ]
    return climbs + _ELSEWHERE.findall(text)


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_link_in_the_documentation_leads_somewhere_in_the_repository(path: Path) -> None:
    """A reader who clones the repository can follow every link in the README and docs/."""
    assert broken_links(path) == []


def test_the_documentation_is_all_in_the_repository() -> None:
    """The README leads to docs/, never to a file outside the repository, which a clone lacks."""
    expected = {"architecture.md", "accessibility-law.md", "operations.md"}
    assert expected <= {path.name for path in DOCS}, "docs/ explains the project (issue #24)"
    readme = PROJECT_ROOT / "README.md"
    outside = {path.name: outside_the_repository(path, path.read_text("utf-8")) for path in DOCS}
    assert {name: found for name, found in outside.items() if found} == {}
    linked = {target.partition("#")[0] for target in _LINK.findall(readme.read_text("utf-8"))}
    assert {f"docs/{name}" for name in expected} <= linked, "the README links every doc"


class _Asked(dict[str, str]):
    """An empty environment that remembers every name read from it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:
        """Note the name, then answer as an empty environment does."""
        self.names.add(name)
        return default


def test_every_setting_has_a_row_in_the_operations_table() -> None:
    """Adding a setting includes saying what it does, where operators look (docs/operations.md)."""
    environment = _Asked()
    from_environment(environment)
    text = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    first_cells = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", " ".join(first_cells)))
    assert len(environment.names) > 30, "the reader saw every variable config.py reads"
    assert sorted(environment.names - documented) == []


def test_search_and_the_pages_import_nothing_from_the_formats() -> None:
    """The formats are made from the pages, never the other way: search and the pages read a
    page's text with the pages' own reader (pages/reading.py)."""
    readers = {
        name: sorted(target for target in targets if target.startswith("gvisite.formats"))
        for name, targets in import_graph().items()
        if name == "gvisite.search" or name.startswith(("gvisite.search.", "gvisite.pages"))
    }
    assert {name: found for name, found in readers.items() if found} == {}


def test_only_the_factory_wires_middleware_and_url_converters() -> None:
    """The WSGI stack and the URL converters have one visible order: the factory's."""
    found = {}
    for name, path in package_modules().items():
        if name == "gvisite":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                wired = ast.unparse(target)  # a middleware's own `self.wsgi_app` wires nothing
                stacked = wired.endswith(".wsgi_app") and not wired.startswith("self.")
                if stacked or ".url_map.converters[" in wired:
                    found.setdefault(name, []).append(wired)
    assert found == {}
    # The check itself reads what it must: the factory does both.
    factory = ast.unparse(ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8")))
    assert "app.wsgi_app = " in factory and "app.url_map.converters['locale'] = " in factory


# --- Links from the routes ------------------------------------------------------------------
# A path is written once, in its route; everything else builds it (url_for, links.py's
# absolute_url, or the rules in app.url_map), so renaming a route changes only the route.
ROUTE_CALLS = {"get", "post", "put", "delete", "route", "add_url_rule"}
TEMPLATES = PACKAGE / "templates"
# What still writes a path, each with why: (module, the string it writes).
WRITTEN_PATHS = {
    # The content tree is the address space: a page's address is its file's path under its
    # locale, set where the page is loaded (no app yet); pages.home and pages.page match it.
    ("gvisite.pages.model", "/{}/{}"): "a content page's address is its path",
    ("gvisite.pages.model", "/{}/"): "a locale's home page is its content folder",
    ("gvisite.assets", "img/favicon.ico"): "the icon's file in the static folder",
    # The news items' content folder, which the feed's rule (/<locale>/nyheter/feed.atom) is under.
    ("gvisite.pages.model", "nyheter"): "the news folder of the content tree",
}
# The staff area's prefix: its blueprints' url_prefix and area.py's PREFIX, and where the
# public side must know it without importing the area (the cookie paths, the staff's language).
STAFF_PREFIX = "/staff"
LOCALIZED = "/<locale:locale>/"  # how the rules of the pages in every language begin


def is_route_declaration(node: ast.Call) -> bool:
    """Tell whether a call declares a route (`@bp.get("/x")`, `Blueprint(url_prefix=...)`)."""
    name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
    return name in ROUTE_CALLS or any(k.arg == "url_prefix" for k in node.keywords)


def declared_rules() -> set[str]:
    """Return every rule and blueprint prefix the package declares."""
    found = set()
    for path in package_modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and is_route_declaration(node):
                values = [
                    *node.args[:1],
                    *(k.value for k in node.keywords if k.arg == "url_prefix"),
                ]
                found |= {v.value for v in values if isinstance(v, ast.Constant)}
    return {rule for rule in found if isinstance(rule, str)}


def route_words(prefix: str = "/") -> set[str]:
    """Return the fixed parts of the rules: `tillganglighet`, `rapportera`, `feed.atom`, …"""
    rules = [rule for rule in declared_rules() if rule.startswith(prefix)]
    parts = {part for rule in rules for part in rule.split("/")}
    return {part for part in parts if part and "<" not in part}


def written_path(words: set[str]) -> re.Pattern[str]:
    """Return the pattern of a route's fixed part written as a path: `/kontakt`, `/sok?`."""
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"/(?:{alternatives})(?=$|[/?#\"'<$])")


def module_strings(path: Path) -> list[str]:
    """Return a module's strings outside docstrings and route declarations; f-strings as `{}`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and is_route_declaration(node):
            skip |= {id(n) for arg in [*node.args, *node.keywords] for n in ast.walk(arg)}
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip |= {id(n) for n in ast.walk(body[0])}  # a docstring (or a bare string)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            found.append(
                "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            )
            skip |= {id(v) for v in node.values}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


def paths_in_modules() -> set[tuple[str, str]]:
    """Return (module, string) for every string in a module that writes a path by hand."""
    pattern, names = written_path(route_words()), route_words(LOCALIZED)
    return {
        (name, text)
        for name, path in package_modules().items()
        for text in module_strings(path)
        # A route's path, one begun by hand from a locale (f"/{locale}/…"), or the name of a
        # localized route's folder or page on its own, to be joined into a path later.
        if pattern.search(text) or text.startswith("/{}") or text in names
    }


def paths_in_templates() -> set[tuple[str, str]]:
    """Return (template, line) for every template line that writes a path by hand."""
    words = written_path(route_words())
    # A path begun from a variable (`href="/{{ locale }}/"`, `"/" ~ locale`), or a full
    # address glued to SITE_URL: url_for and absolute_url build both.
    begun = re.compile(r"""(?<![\w}\)\]])/\{\{|["']/["']\s*~|SITE_URL\s*\}\}\s*/""")
    files = sorted(p for p in TEMPLATES.rglob("*") if p.is_file())
    return {
        (str(path.relative_to(PACKAGE)), line.strip())
        for path in [*files, PACKAGE / "deploy" / "nginx.conf"]
        for line in path.read_text(encoding="utf-8").splitlines()
        if words.search(line) or begun.search(line)
    }


def test_the_path_checker_finds_what_it_must() -> None:
    """The checks read the rules, and see a path in code, f-strings and templates."""
    words = route_words()
    assert {"tillganglighet", "rapportera", "kontakt", "sok", "feed.atom", "staff"} <= words
    pattern = written_path(words)
    for text in ("/sv/kontakt", "{}/{}/tillganglighet", "/{}/sok?q=", 'href="/x/sok"'):
        assert pattern.search(text), text
    for text in ("content/tillganglighet.yaml", "tillganglighet@jarfalla.se", "/sv/kontakter"):
        assert not pattern.search(text), text


def test_no_module_or_template_writes_a_route_path_by_hand() -> None:
    """A route's path is written in the route only: the rest build it from the route."""
    found = {(name, text) for name, text in paths_in_modules() if text != STAFF_PREFIX}
    assert {key for key in found if key not in WRITTEN_PATHS} == set()
    assert paths_in_templates() == set()
    # Every exception still stands: one made needless is taken out of the list.
    assert set(WRITTEN_PATHS) <= paths_in_modules()


def test_the_error_summary_is_rendered_in_the_layout_only() -> None:
    """Every form page gets what went wrong from base.html; no page template renders it again."""
    templates = PACKAGE / "templates"
    callers = sorted(
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if "_macros" not in path.parts
        and re.search(r"error_summary\(|feedback/_not_sent\.html", path.read_text("utf-8"))
    )
    assert callers == ["base.html"]


def test_the_feedback_forms_render_their_questions_from_the_form_class() -> None:
    """A new question is its field: the form templates name no field of their own."""
    for name in ("report", "format"):
        text = (PACKAGE / "templates" / "feedback" / f"{name}.html").read_text("utf-8")
        assert re.findall(r"\b(?:input|textarea|radios)\(form\.", text) == [], name


def test_the_status_page_is_a_module_of_its_own(app: Flask) -> None:
    """The resident's status page and its actions are feedback/status.py; views.py is the forms'."""
    status_rule = next(app.url_map.iter_rules("feedback.case_status")).rule
    found = {
        rule.endpoint: app.view_functions[rule.endpoint].__module__
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("feedback.")
    }
    expected = {
        rule.endpoint: "gvisite.feedback.status"
        if rule.rule.startswith(status_rule)
        else "gvisite.feedback.views"
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("feedback.")
    }
    assert len(set(expected.values())) == 2  # both kinds exist, so the rule checks something
    assert found == expected


def test_how_pages_relate_is_worked_out_once_in_the_pages_area() -> None:
    """The language links and the easy-to-read rule live in pages/; templating.py hands them
    on. A second copy of the rule drifts from the first (the readability meter had one)."""
    where = {"is_easy_to_read": "gvisite.pages.model"}
    for name in ("same_page_in", "alternates", "language_links", "easy_to_read_switch"):
        where[name] = "gvisite.pages.alternates"
    found: dict[str, list[str]] = {name: [] for name in where}
    for module, path in package_modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name in found:
                found[node.name].append(module)
    assert found == {name: [module] for name, module in where.items()}


TESTS = PROJECT_ROOT / "tests"
CLOCK_NAMES = {"utcnow", "system_time"}  # the site's clock and the seam under it (workdays.py)
PATCHERS = {"setattr", "patch", "object"}  # monkeypatch.setattr, setattr, mock.patch(.object)


def clock_patches(source: str) -> list[int]:
    """Return the lines of `source` that patch the site's clock by name."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        words = {
            arg.value.rsplit(".", 1)[-1]
            for arg in node.args
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        }
        if name in PATCHERS and words & CLOCK_NAMES:
            lines.append(node.lineno)
    return lines


def test_only_the_clock_fixture_stops_the_sites_clock() -> None:
    """Tests set the time with the `clock` fixture: a patch of one module's `utcnow` leaves
    the other modules on another clock (sessions, one-time codes and due days then disagree)."""
    sample = 'monkeypatch.setattr(reports, "utcnow", f)\npatch("gvisite.cases.utcnow")\n'
    assert clock_patches(sample) == [1, 2]
    found = {
        str(path.relative_to(TESTS)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if (lines := clock_patches(path.read_text(encoding="utf-8")))
    }
    assert list(found) == ["conftest.py"] and len(found["conftest.py"]) == 1, found


def test_only_the_progress_module_draws_a_progress_bar() -> None:
    """A command's progress goes through progress.py: Click's own bar, used directly, still
    prints its label off a terminal, into the logs and CI that must stay as they were."""
    drawers = [
        name
        for name, path in package_modules().items()
        if "progressbar" in path.read_text(encoding="utf-8")
    ]
    assert drawers == ["gvisite.progress"]


# `# type: ignore[code]  # why`: the error silenced, and why it is wrong here (mypy runs in
# `make test`; an ignore without a code hides every error on its line).
REASONED_IGNORE = re.compile(r"# type: ignore\[[a-z-]+(?:, [a-z-]+)*\]  # \S.*")


def bare_type_ignores(text: str) -> list[str]:
    """Return the comments of a module that silence mypy without a code or a reason."""
    return [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
        and re.search(r"type:\s*ignore", token.string)
        and not REASONED_IGNORE.fullmatch(token.string)
    ]


def test_the_ignore_checker_wants_a_code_and_a_reason() -> None:
    assert bare_type_ignores("x = 1  # type: ignore[attr-defined]  # a proxy\n") == []
    for bare in ("# type: ignore", "# type: ignore[misc]", "# type:ignore[misc]  # why"):
        assert bare_type_ignores(f"x = 1  {bare}\n") == [bare]


def test_every_type_ignore_says_what_it_silences_and_why() -> None:
    """Each `type: ignore` in the package names its error code and gives a reason after it."""
    found = {
        f"{path.relative_to(PACKAGE)}: {comment}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for comment in bare_type_ignores(path.read_text(encoding="utf-8"))
    }
    assert found == set()


def test_make_test_checks_the_types() -> None:
    """`make test` runs mypy (its settings are pyproject's) before the tests."""
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "\t$(BIN)/mypy\n" in recipe


def test_the_site_hashes_staff_passwords_with_argon2s_defaults() -> None:
    """The suite hashes with argon2's cheapest profile (conftest.py); the site must not."""
    source = (PACKAGE / "staff" / "auth.py").read_text(encoding="utf-8")
    assert "\nhasher = PasswordHasher()\n" in source
    assert "profiles" not in source and "CHEAPEST" not in source
