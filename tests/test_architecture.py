"""The shape of the house: data flows one way, each room stays small, streamlit stays upstairs.

Read from the source with :mod:`ast`, so an import inside a function counts as much as one
at the top of a module. These are the rules ``../shared/DESIGN.md`` and the README's layout
table describe; a change that breaks one says where.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bachgen"
APP = PACKAGE.parent / "app.py"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported(module: str) -> list[tuple[str, str, int]]:
    """Every ``bachgen`` module and name ``module`` imports, anywhere in it: (target, name, line)."""
    path = MODULES[module]
    found = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("bachgen")]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, node, path.name == "__init__.py")
            if not target.startswith("bachgen"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub, "", node.lineno) if sub in MODULES else (target, alias.name, node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the bachgen modules it imports (a package's ``__init__`` counts for its package)."""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in imported(module):
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != module and not module.startswith(target + "."):
                edges[module].add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_circle_counting_imports_inside_functions():
    assert find_cycle(graph()) is None, " -> ".join(find_cycle(graph()) or [])


def test_no_module_imports_a_private_name_of_another():
    private = [f"{m}:{line} imports {target}.{name}" for m in MODULES
               for target, name, line in imported(m) if name.startswith("_") and name != "__version__"]
    assert private == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_holds_one_room(module):
    assert len(MODULES[module].read_text().splitlines()) <= MAX_MODULE_LINES


def long_functions(path: Path) -> list[str]:
    return [f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(parse(path))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_no_function_does_several_things():
    found = [f for path in [*MODULES.values(), APP] for f in long_functions(path)]
    assert found == []


def test_only_the_page_imports_streamlit():
    users = []
    for module, path in MODULES.items():
        for node in ast.walk(parse(path)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "streamlit" for n in names):
                users.append(module)
    assert users and all(m == "bachgen.ui" or m.startswith("bachgen.ui.") for m in users), users


def test_no_module_runs_as_its_own_command():
    mains = [m for m, path in MODULES.items() if "__name__ == \"__main__\"" in path.read_text()
             and m != "bachgen.__main__"]
    assert mains == []


def test_the_page_is_a_thin_entry():
    assert len(APP.read_text().splitlines()) <= 150
