"""The architecture's import rules (../shared/DESIGN.md, "Layers"), read from the source.

Every module under ``src/cpppo`` is parsed with :mod:`ast`; every ``import`` in it (at module
level, inside functions and classes, under ``try`` or ``if TYPE_CHECKING``) becomes an edge to
the module it names, relative imports resolved and ``from pkg import submodule`` taken as an
edge to the submodule. Importing a module runs its parent packages' ``__init__`` too; that
implicit edge is not counted, only what a module names.

The layers under ``cpppo.server.enip``:

- ``codec/`` imports nothing of cpppo but ``codec/``;
- ``logix/`` and ``sim/`` (the simulated controller) never import ``net/``, ``client/``,
  ``tools/``, ``examples/``, ``fleet/`` or the documented top (``main``, the package ``__init__``
  and the short re-exporting modules beside it); ``logix/`` never imports ``sim/``;
- ``importers/`` never import ``sim/``, ``net/``, ``client/`` (nor the programs above);
- ``client/`` and the simulator (``sim/``, ``logix/``, ``net/``, ``importers/``) never import
  each other, and neither imports the programs above them (``tools/``, ``examples/``, top);
- no import cycles between modules; no module over :data:`MAX_LINES` lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ENIP = "cpppo.server.enip"
MAX_LINES = 600

# The sub-packages of cpppo.server.enip that are layers; any other module of it (main,
# __main__, the package __init__, the documented re-exporting modules) is the "top".
LAYERS = ("codec", "logix", "sim", "importers", "net", "client", "tools", "examples", "fleet")
SIMULATOR = frozenset({"sim", "logix", "net", "importers"})
PROGRAMS = frozenset({"tools", "examples", "fleet", "top"})  # the CLIs, tools and demos above all

# layer -> the layers it may not import (codec has its own, stricter rule).
FORBIDDEN: dict[str, frozenset[str]] = {
    "logix": PROGRAMS | {"net", "client", "sim"},
    "sim": PROGRAMS | {"net", "client"},
    "importers": PROGRAMS | {"net", "client", "sim"},
    "net": PROGRAMS | {"client"},
    "client": PROGRAMS | SIMULATOR,
}


@dataclass(frozen=True)
class Import:
    """One import statement's target: ``source`` imports ``target`` at ``path``:``line``."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


def module_name(path: Path) -> str:
    """The dotted name of a source file (a package's ``__init__.py`` is the package)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module under src/cpppo: dotted name -> file."""
    return {module_name(path): path for path in sorted((SRC / "cpppo").rglob("*.py"))}


def is_package(name: str) -> bool:
    """Whether a module of src/cpppo is a package (an ``__init__.py``)."""
    return modules()[name].name == "__init__.py"


def resolve(source: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    package = source.split(".") if is_package(source) else source.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def targets(source: str, node: ast.AST) -> Iterator[str]:
    """The modules one import statement names (absolute dotted names)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        base = resolve(source, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            yield submodule if submodule in modules() else base


@cache
def imports() -> tuple[Import, ...]:
    """Every import of a cpppo module by a cpppo module, once per statement, in source order."""
    found = set()
    for source, path in modules().items():
        tree = ast.parse(path.read_text(), filename=str(path))
        shown = str(path.relative_to(SRC.parent))
        for node in ast.walk(tree):
            for target in targets(source, node):
                if target == "cpppo" or target.startswith("cpppo."):
                    found.add(Import(source, target, shown, node.lineno))
    return tuple(sorted(found, key=lambda i: (i.path, i.line, i.target)))


def layer(name: str) -> str | None:
    """The layer of a module of cpppo.server.enip ("top" for main and the documented modules
    beside it), or None for a module outside cpppo.server.enip."""
    if name != ENIP and not name.startswith(ENIP + "."):
        return None
    rest = name[len(ENIP) + 1 :].split(".")
    return rest[0] if rest[0] in LAYERS else "top"


def test_the_walk_sees_the_layers():
    """The walk found the packages it judges, and edges between them (guards a broken walk)."""
    found = {layer(name) for name in modules()}
    assert set(LAYERS) | {"top"} <= found
    assert any(
        i.source.startswith(f"{ENIP}.sim.") and layer(i.target) == "codec" for i in imports()
    )


def test_imports_resolve():
    """Relative imports resolve against the module's package; ``from pkg import submodule``
    names the submodule, ``from module import name`` the module."""

    def named(source: str, code: str) -> list[str]:
        return list(targets(source, ast.parse(code).body[0]))

    device, sim = f"{ENIP}.sim.device", f"{ENIP}.sim"
    assert named(device, "from ..codec import types") == [f"{ENIP}.codec.types"]
    assert named(device, "from ..codec.types import INT") == [f"{ENIP}.codec.types"]
    assert named(device, "from . import attribute") == [f"{ENIP}.sim.attribute"]
    assert named(device, "from ....misc import parse_address") == ["cpppo.misc"]
    assert named(sim, "from . import device") == [device]
    assert named(sim, "from .. import codec") == [f"{ENIP}.codec"]
    assert named(device, "import cpppo.misc, os") == ["cpppo.misc", "os"]


def test_codec_imports_only_codec():
    bad = [str(i) for i in imports() if layer(i.source) == "codec" and layer(i.target) != "codec"]
    assert not bad, "codec/ imports something of cpppo above codec/:\n" + "\n".join(bad)


@pytest.mark.parametrize("source_layer", sorted(FORBIDDEN))
def test_layer_imports(source_layer):
    forbidden = FORBIDDEN[source_layer]
    bad = [
        f"{i} (a {layer(i.target)} module)"
        for i in imports()
        if layer(i.source) == source_layer and layer(i.target) in forbidden
    ]
    assert not bad, (
        f"{source_layer}/ imports what it may not ({', '.join(sorted(forbidden))}):\n"
        + "\n".join(bad)
    )


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, or with a self-edge
    (Tarjan's algorithm, iterative); each sorted, the list sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def test_cycles_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}, "b": set()}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    edges: dict[str, set[str]] = {name: set() for name in modules()}
    where: dict[tuple[str, str], Import] = {}
    for i in imports():
        if i.target in modules() and i.target != i.source:
            edges[i.source].add(i.target)
            where.setdefault((i.source, i.target), i)
    report = []
    for component in cycles(edges):
        members = set(component)
        report.append("cycle: " + ", ".join(component))
        report += [f"  {where[s, t]}" for s in component for t in sorted(edges[s] & members)]
    assert not report, "import cycles between modules:\n" + "\n".join(report)


def test_no_module_over_max_lines():
    lengths = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    bad = [
        f"{modules()[name].relative_to(SRC.parent)}: {lines} lines"
        for name, lines in sorted(lengths.items())
        if lines > MAX_LINES
    ]
    assert not bad, f"modules over {MAX_LINES} lines:\n" + "\n".join(bad)
