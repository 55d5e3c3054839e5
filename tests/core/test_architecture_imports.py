"""Rooms import only downward, never in a cycle, and keep their private names to themselves.

The import graph is read with :mod:`ast` from the files under ``harness/``
(nothing is imported).  Three rules:

* no cycle between modules, counting the imports a module runs when it is
  imported (module level, ``try``/``if`` included; ``if TYPE_CHECKING:``
  blocks never run and are left out), and a package's ``__init__`` for every
  module imported from inside it;
* every import, also one inside a function, goes from a room to a room before
  it in :data:`ROOMS` (or stays in its room), except the few
  :data:`UPWARD_ALLOWED` with their reason;
* a name starting with ``_`` belongs to the module or package that holds it:
  ``harness.systems._world`` is the systems room's, ``harness._shared`` is
  the whole package's (the shared room every room may use).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "harness"

#: the rooms, lowest first: each imports only rooms before it (or its own modules).
#: The order is the data flow's (DESIGN.md): what everyone shares, the user's
#: declarations, the fakes and the ledger they write to, the orchestrator that
#: calls them, the chaos engine that drives it and judges the runs, then the
#: readers of the ledger (report, gate), the production server and the doors.
ROOMS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "_shared"}),
    frozenset({"policy", "_schedule", "_aio", "_terminal", "_watchdog", "_oracle_registry"}),
    frozenset({"flow"}),
    frozenset({"_triggers", "_accounting_triggers", "_app_triggers", "_pipedrive_trigger"}),
    frozenset({"triggers"}),
    frozenset({"systems"}),
    frozenset({"ledger"}),
    frozenset({"orchestrator"}),
    frozenset({"chaos"}),
    frozenset({"oracles", "strategies"}),
    frozenset({"report"}),
    frozenset({"gate"}),
    frozenset({"serve"}),
    frozenset({"pytest_plugin", "_commands"}),
    frozenset({"cli"}),
    frozenset({""}),  # harness/__init__.py: the one way in
)

#: (importing module, imported module) -> why this import goes up, run only inside a function
UPWARD_ALLOWED: dict[tuple[str, str], str] = {
    ("harness.flow", "harness.orchestrator"): (
        "Flow.handle(event) is the production entry point; the orchestrator brings the ledger "
        "(SQLAlchemy), which `import harness` must not load for a module that only declares flows"
    ),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    line: int
    target: str  # the imported module
    name: str | None  # the imported attribute, if not a module
    runtime: bool  # runs when the module is imported (not in a function, not TYPE_CHECKING)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(body: list[ast.stmt], runtime: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, runtime
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(node.body, False)
        elif isinstance(node, ast.If) and _type_checking(node.test):
            yield from _walk(node.body, False)
            yield from _walk(node.orelse, runtime)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    stmts = [c for c in children if isinstance(c, ast.stmt)]
                    yield from _walk(stmts, runtime)
                    for c in children:
                        if isinstance(c, ast.ExceptHandler | ast.match_case):
                            yield from _walk(c.body, runtime)


def packages(root: Path) -> set[str]:
    """The packages under ``root`` (directories with an ``__init__.py``)."""
    return {module_name(p, root) for p in root.rglob("__init__.py")}


def imports(root: Path) -> tuple[set[str], list[Import]]:
    """Every module under ``root`` and every import of one of them by another."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    pkg = root.name
    found: list[Import] = []
    for mod, path in files.items():
        is_package = path.name == "__init__.py"
        for node, runtime in _walk(ast.parse(path.read_text(encoding="utf-8")).body, True):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == pkg or alias.name.startswith(pkg + "."):
                        found.append(Import(mod, node.lineno, alias.name, None, runtime))
                continue
            if node.level:
                base = mod.split(".") if is_package else mod.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target != pkg and not target.startswith(pkg + "."):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in files:
                    found.append(Import(mod, node.lineno, sub, None, runtime))
                else:
                    found.append(Import(mod, node.lineno, target, alias.name, runtime))
    return set(files), found


def _within(module: str, owner: str) -> bool:
    return module == owner or module.startswith(owner + ".")


def _packages(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def cycles(modules: set[str], found: list[Import]) -> list[list[str]]:
    """The import cycles between modules at import time (strongly connected components)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in found:
        if not imp.runtime or imp.target not in modules:
            continue
        # importing a.b.c runs a/__init__ and a/b/__init__ first (those not already running)
        for target in [*_packages(imp.target), imp.target]:
            if target in modules and target != imp.module and not _within(imp.module, target):
                graph[imp.module].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank(room: str, rooms: tuple[frozenset[str], ...] = ROOMS) -> int:
    for i, members in enumerate(rooms):
        if room in members:
            return i
    raise AssertionError(f"room {room!r} is not placed in ROOMS; add it where the data flow puts it")


def upward(found: list[Import], rooms: tuple[frozenset[str], ...] = ROOMS,
           allowed: dict[tuple[str, str], str] = UPWARD_ALLOWED) -> list[str]:
    """Imports from a room to a room later in ``rooms`` (allowed ones only inside functions)."""
    bad = []
    for imp in found:
        src, dst = room_of(imp.module), room_of(imp.target)
        if src == dst or rank(dst, rooms) <= rank(src, rooms):
            continue
        pair = (imp.module, ".".join(imp.target.split(".")[:2]))
        if pair in allowed and not imp.runtime:
            continue
        bad.append(f"{imp.module}:{imp.line} imports {imp.target} (room {dst or 'harness'} is above {src})")
    return bad


def private_crossings(found: list[Import], packages: set[str]) -> list[str]:
    """Imports of a ``_name`` by a module outside the package that holds it.

    A private module belongs to its package; a private name in a module of a
    room package belongs to that package too (its modules share them); a
    private name in a top-level module (``harness.flow._MISSING``) belongs to
    that module, which is a room of its own.
    """
    bad = []
    for imp in found:
        path = imp.target.split(".") + ([imp.name] if imp.name else [])
        for i, part in enumerate(path):
            if i == 0 or not part.startswith("_") or part.startswith("__"):
                continue
            owner = ".".join(path[:i])
            if owner not in packages and owner.count(".") > 1:  # the module's package owns it
                owner = owner.rpartition(".")[0]
            if not _within(imp.module, owner):
                bad.append(f"{imp.module}:{imp.line} imports {'.'.join(path)} (private to {owner})")
                break
    return bad


MODULES, IMPORTS = imports(ROOT)


def test_no_import_cycle() -> None:
    found = cycles(MODULES, IMPORTS)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_rooms_import_only_downward() -> None:
    bad = upward(IMPORTS)
    assert not bad, "imports against the data flow:\n" + "\n".join(bad)


def test_no_private_name_crosses_a_package() -> None:
    bad = private_crossings(IMPORTS, packages(ROOT))
    assert not bad, (
        "private names used outside their package (export them from the package, or move "
        "them to harness._shared):\n" + "\n".join(bad)
    )


def test_every_room_is_placed() -> None:
    for module in MODULES:
        rank(room_of(module))


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "harness"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_planted_cycle_through_a_package_init_is_found(tmp_path: Path) -> None:
    root = _plant(tmp_path, {
        "__init__.py": "",
        "chaos/__init__.py": "from harness.chaos._campaign import run\n",
        "chaos/_campaign.py": "from harness.oracles import judge\n",
        "chaos/_faults.py": "X = 1\n",
        "oracles.py": "from harness.chaos._faults import X\n\ndef judge(): ...\n",
        "flow.py": "def handle():\n    from harness.orchestrator import run\n",
        "orchestrator.py": "from harness.flow import handle\n",
    })
    modules, found = imports(root)
    assert cycles(modules, found) == [["harness.chaos", "harness.chaos._campaign", "harness.oracles"]]


def test_a_planted_cycle_hidden_in_type_checking_is_not_a_cycle(tmp_path: Path) -> None:
    root = _plant(tmp_path, {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from harness.b import B\n",
        "b.py": "from harness.a import A\n",
    })
    modules, found = imports(root)
    assert cycles(modules, found) == []


def test_a_planted_upward_import_is_found_also_inside_a_function(tmp_path: Path) -> None:
    root = _plant(tmp_path, {
        "__init__.py": "",
        "flow.py": "def handle():\n    from harness.orchestrator import run\n",
        "orchestrator/__init__.py": "from harness.flow import handle\n",
        "systems/__init__.py": "from . import _world\n",
        "systems/_world.py": "from ..ledger import store\n",
        "ledger/__init__.py": "",
        "ledger/store.py": "",
    })
    rooms = (frozenset({"flow"}), frozenset({"systems"}), frozenset({"ledger"}), frozenset({"orchestrator"}))
    _, found = imports(root)
    bad = upward(found, rooms, allowed={})
    assert [b.split(" ")[0] for b in bad] == ["harness.flow:2", "harness.systems._world:1"]
    assert upward(found, rooms, allowed={("harness.flow", "harness.orchestrator"): "why"}) == [
        bad[1]
    ]


def test_a_planted_private_crossing_is_found(tmp_path: Path) -> None:
    root = _plant(tmp_path, {
        "__init__.py": "",
        "_shared/__init__.py": "",
        "_shared/redact.py": "def redact(): ...\n",
        "flow.py": "_MISSING = object()\n",
        "systems/__init__.py": "",
        "systems/_world.py": "last_call = None\nfrom ._inspect import snap\n",
        "systems/_inspect.py": "def snap(): ...\n",
        "orchestrator/__init__.py": "",
        "orchestrator/_run.py": (
            "from harness.flow import _MISSING\n"
            "from harness.systems._world import last_call\n"
            "from harness._shared.redact import redact\n"
            "from harness.systems import _inspect\n"
        ),
    })
    _, found = imports(root)
    assert private_crossings(found, packages(root)) == [
        "harness.orchestrator._run:1 imports harness.flow._MISSING (private to harness.flow)",
        "harness.orchestrator._run:2 imports harness.systems._world.last_call (private to harness.systems)",
        "harness.orchestrator._run:4 imports harness.systems._inspect (private to harness.systems)",
    ]
