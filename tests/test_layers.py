"""The architecture holds: dependencies point one way and no module imports itself back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

# commands (policywatch) → crawler, ingest, reports → storage → analysis
ALLOWED = {
    "analysis": {"analysis"},
    "storage": {"storage", "analysis"},
    "ingest": {"ingest", "storage", "analysis"},
    "reports": {"reports", "storage", "analysis"},
    "crawler": {"crawler", "ingest", "storage", "analysis"},
    "policywatch": {"policywatch", "crawler", "ingest", "reports", "storage", "analysis"},
}


def modules() -> dict[str, Path]:
    found = {}
    for package in ALLOWED:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports, anywhere in its body (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = sorted(f"{name} imports {target}" for name, targets in graph().items() if name.split(".")[0] == layer
                   for target in targets if target.split(".")[0] not in ALLOWED[layer])
    assert wrong == []


def test_no_module_imports_itself_back() -> None:
    edges = graph()
    # A package's __init__ re-exporting its own modules is not a cycle of behaviour.
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    assert cycles == []


def test_the_graph_sees_imports_inside_functions_and_relative_imports() -> None:
    edges = graph()
    assert "ingest.extraction.markdown_syntax" in edges["ingest.extraction.html_markdown"]
    assert "storage.db" in edges["ingest.runs"]
