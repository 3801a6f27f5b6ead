"""The package's shape: dependencies run one way, no import circles, a cheap start.

Layers, lowest first; a module may import from its own layer and the ones below, never
above. Imports inside functions and under ``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "evalgap"

#: (layer name, package prefixes), lowest first.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "evalgap._version",
            "evalgap.errors",
            "evalgap._memory",
            "evalgap._params",
            "evalgap._json",
            "evalgap._output",
        ),
    ),
    ("stats", ("evalgap.stats",)),
    ("data", ("evalgap.data",)),
    ("io", ("evalgap.io",)),
    ("results", ("evalgap.results",)),
    ("engines", ("evalgap.models", "evalgap.executors")),
    ("analyses", ("evalgap.analyses",)),
    ("ledger", ("evalgap.ledger",)),
    ("report", ("evalgap.report",)),
    ("cli", ("evalgap.cli", "evalgap.__main__")),
]


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    name = ".".join(rel.parts)
    return name.removesuffix(".__init__")


def _layer(module: str) -> int | None:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


def _imports(path: Path) -> set[str]:
    """Every evalgap module ``path`` imports, anywhere in the file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("evalgap"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base.startswith("evalgap"):
                out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        graph[name] = {m for m in _imports(path) if m in files and m != name}
    return graph


def test_every_module_is_in_a_layer():
    unplaced = [m for m in _graph() if m != "evalgap" and _layer(m) is None]
    assert unplaced == []


def test_dependencies_run_one_way():
    bad = []
    for module, targets in _graph().items():
        if module == "evalgap":  # the public API re-exports everything, lazily
            continue
        own = _layer(module)
        for target in targets:
            layer = _layer(target)
            if layer is not None and own is not None and layer > own:
                bad.append(f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[layer][0]})")
    assert bad == []


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), not counting a
    package's own ``__init__`` re-exports."""
    packages = {m for m in graph if (SRC.parent / m.replace(".", "/") / "__init__.py").exists()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w in packages:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert _circles(_graph()) == []


def test_the_shared_circle_checker_agrees():
    tool = SRC.parents[2] / "shared" / "tools" / "import_circles.py"
    if not tool.exists():
        pytest.skip("the shared import_circles.py is not beside this checkout")
    done = subprocess.run(
        [sys.executable, str(tool), str(SRC)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


def test_help_and_import_load_no_heavy_module():
    code = (
        "import sys, evalgap, evalgap.cli\n"
        "try:\n    evalgap.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'scipy', 'numpy', 'vl_convert', 'torch', 'rich',"
        " 'transformers', 'ray', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="


@pytest.mark.parametrize(
    "argv", [["inflation", "--help"], ["inflation", "likelihood", "--help"], ["probe", "--help"]]
)
def test_white_box_help_loads_no_model_library(argv):
    # The white-box commands need torch to run, not to explain themselves.
    code = (
        "import sys, evalgap.cli\n"
        f"try:\n    evalgap.cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'ray', 'sklearn',"
        " 'sentence_transformers') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="
