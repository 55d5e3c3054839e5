"""No function of the package is longer than 80 lines, except the ones listed here with why.

Run as a script (``python tests/core/test_function_length.py``) to print every
function over 50 lines, longest first.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "harness"
LIMIT = 80

#: ``path:function`` over the limit -> why it stays for now.  Shrink this list; never grow it.
WAIVED: dict[str, str] = {
    # tables: one vendor object literal per function, documented field by field
    "systems/_stripe_billing.py:subscription_object": "a table: Stripe's subscription object",
    "systems/_stripe_objects.py:invoice_object": "a table: Stripe's invoice object",
    "systems/_zendesk.py:_create_ticket": "a table: Zendesk's ticket object (48 of its lines)",
}


def function_lengths(root: Path = ROOT) -> list[tuple[int, str]]:
    """``(lines, "path:function")`` for every function and method under ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                out.append((lines, f"{rel}:{node.name}"))
    return sorted(out, reverse=True)


def test_no_function_over_the_limit() -> None:
    long = [f"{name} ({n} lines)" for n, name in function_lengths() if n > LIMIT and name not in WAIVED]
    assert not long, f"functions over {LIMIT} lines: split them along their jobs: " + ", ".join(long)


def test_every_waiver_is_still_needed() -> None:
    lengths = {name: n for n, name in function_lengths()}
    stale = [name for name in WAIVED if lengths.get(name, 0) <= LIMIT]
    assert not stale, f"these functions are {LIMIT} lines or fewer now: drop them from WAIVED: {stale}"


def test_the_counter_counts_nested_functions_and_methods(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "def outer():\n    def inner():\n        return 1\n    return inner\n\n"
        "class C:\n    async def m(self):\n        pass\n",
        encoding="utf-8",
    )
    assert function_lengths(tmp_path) == [(4, "m.py:outer"), (2, "m.py:m"), (2, "m.py:inner")]


if __name__ == "__main__":
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    for n, name in function_lengths():
        if n > limit:
            print(f"{n:4d}  {name}")
