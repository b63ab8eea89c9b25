"""The house rules of the package's layout, checked on the code itself (see README, "Layout").

They keep the layout one a new engineer can walk into: parts that do not import each other
in circles, a public site that works without the staff area, modules short enough to read,
and each language described in one place.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

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
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize("name", sorted(package_modules()))
def test_no_module_is_over_the_line_limit(name: str) -> None:
    """A module is short enough to read in one sitting."""
    lines = package_modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


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
    assert found == {}
    # The check itself reads what it must: the locale module does spell them out.
    i18n = ast.parse((PACKAGE / "i18n.py").read_text(encoding="utf-8"))
    assert codes <= {n.value for n in ast.walk(i18n) if isinstance(n, ast.Constant)}


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
