"""The layers of docs/architecture.md, checked on the source: who may import whom, no import circles, and
an engine that reads no environment variable (it takes explicit paths and values)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "app", "benchmarks")
# The engine's only environment access: thread caps written for worker processes (docs/architecture.md).
ENV_WRITERS = {"engine.runtime.threads", "engine.sweep.executors"}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


MODULES = _modules()


def _runtime_nodes(tree: ast.AST):
    """Every node, except what sits under `if TYPE_CHECKING:` (imports for type hints only never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in ast.walk(child))
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(tree: ast.Module) -> set[str]:
    """Every module named by an import statement that runs, anywhere in the file (functions included)."""
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_engine_imports_neither_qt_nor_app_nor_benchmarks_nor_tests():
    banned = {"app", "benchmarks", "tests", "PySide6", "pyqtgraph"}
    found = {(mod, imp) for mod, tree in MODULES.items() if _top(mod) == "engine"
             for imp in _imports(tree) if _top(imp) in banned}
    assert not found


def test_the_app_imports_neither_benchmarks_nor_tests():
    found = {(mod, imp) for mod, tree in MODULES.items() if _top(mod) == "app"
             for imp in _imports(tree) if _top(imp) in ("benchmarks", "tests")}
    assert not found


def test_kernels_import_only_numpy_numba_and_other_kernels():
    # (and the standard library's plumbing of engine/kernels/jit.py, and llvmlite for numba's intrinsics)
    allowed = {"numpy", "numba", "llvmlite", "math", "__future__", "contextlib", "contextvars", "sys", "threading",
               "typing", "collections"}
    found = {(mod, imp) for mod, tree in MODULES.items() if mod.startswith("engine.kernels")
             for imp in _imports(tree) if _top(imp) not in allowed and not imp.startswith("engine.kernels")}
    assert not found


def test_no_import_circles():
    graph = {mod: {imp for imp in _imports(tree) if imp in MODULES and imp != mod} for mod, tree in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for mod in graph:
        if mod not in index:
            visit(mod)
    assert not circles


def test_the_engine_reads_no_environment_variable():
    reads = set()
    for mod, tree in MODULES.items():
        if _top(mod) != "engine" or mod in ENV_WRITERS:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                reads.add((mod, node.lineno))
    assert not reads
