"""No import cycles: between the gateway's packages and top-level modules (``gateway.metrics`` and
``gateway.messages`` once imported each other), and between the benchmark modules. Imports inside functions
count too: a cycle hidden in a function is still one."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def import_graph(package: str, depth: int) -> dict[str, set[str]]:
    """Module → modules it imports, both cut to ``depth`` dotted parts (2: gateway.messages, gateway.metrics)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        node = ".".join(name.split(".")[:depth])
        edges = graph.setdefault(node, set())
        for statement in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
                targets = [statement.module, *(f"{statement.module}.{alias.name}" for alias in statement.names)]
            elif isinstance(statement, ast.Import):
                targets = [alias.name for alias in statement.names]
            for target in targets:
                cut = ".".join(target.split(".")[:depth])
                if target.startswith(package + ".") and cut != node and cut.count(".") == depth - 1:
                    edges.add(cut)
    return {node: {e for e in edges if e in graph} for node, edges in graph.items()}


@pytest.mark.parametrize(("package", "depth"), [("gateway", 2), ("benchmarks", 2), ("providers", 2)])
def test_no_import_cycles(package: str, depth: int) -> None:
    try:
        tuple(TopologicalSorter(import_graph(package, depth)).static_order())
    except CycleError as cycle:
        pytest.fail(f"import cycle: {' → '.join(cycle.args[1])}")


def test_metrics_are_a_leaf_every_layer_may_count_with() -> None:
    assert import_graph("gateway", 2)["gateway.metrics"] == set()
