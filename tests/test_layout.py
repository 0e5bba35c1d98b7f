"""The package's layout shows its design: a root that is only the package's face, imports that run one way
(no module imports one that imports it back, type-checking imports included), and the environment read
only by the entry points."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"
FACE = {"__init__", "__main__", "api", "errors", "progress", "resources", "workspace"}
ENTRY_POINTS = ("cli", "tui")  # and the face (engine/__init__.py)


def module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The engine modules `path` imports at its top level (its functions' imports run later, on demand)."""
    found = set()
    for statement in ast.parse(path.read_text()).body:
        for node in ast.walk(statement) if not isinstance(statement, (ast.FunctionDef, ast.ClassDef)) else ():
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("engine"):
                found |= {
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                    for alias in node.names
                }
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("engine")}
    return found & modules - {module_name(path)}


def test_the_root_holds_only_the_face():
    root = {path.stem for path in ENGINE.glob("*.py")}
    assert root == FACE and len(root) <= 8


def test_no_module_imports_one_that_imports_it_back():
    paths = {module_name(path): path for path in ENGINE.rglob("*.py")}
    graph = {name: imports(path, set(paths)) for name, path in paths.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for imported in sorted(graph[name]):
            assert state.get(imported) != "open", "import circle: " + " -> ".join([*trail, name, imported])
            if imported not in state:
                visit(imported, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_only_the_entry_points_read_the_environment_for_the_context():
    readers = [
        str(path.relative_to(ENGINE))
        for path in ENGINE.rglob("*.py")
        if re.search(r"\w\.from_env\(", path.read_text())
        and path.relative_to(ENGINE).parts[0] not in ENTRY_POINTS
        and path != ENGINE / "__init__.py"
    ]
    assert readers == []
