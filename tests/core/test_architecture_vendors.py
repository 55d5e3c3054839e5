"""The engines never name a vendor: everything vendor-specific comes from a system's descriptor.

Chaos, the oracles and the orchestrator ask :class:`harness.systems.SystemDescriptor`
for hosts, id shapes, error bodies, idempotency, records and guards.  A vendor
name in their code (an identifier or a string literal that is not a docstring)
means a branch that only one bundled fake gets; it fails here.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "harness"
ENGINES = sorted([*(ROOT / "chaos").rglob("*.py"), ROOT / "oracles.py", *(ROOT / "orchestrator").rglob("*.py")])
VENDORS = re.compile(r"hubspot|hubapi|stripe|zendesk", re.IGNORECASE)


def _docstring_lines(source: str) -> set[int]:
    """Line numbers of every docstring (module, class, function) in ``source``."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                first = body[0]
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def vendor_tokens(source: str) -> list[tuple[int, str]]:
    """``(line, token)`` for every identifier or non-docstring string naming a vendor."""
    docs = _docstring_lines(source)
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.NAME, tokenize.STRING) and tok.type != getattr(tokenize, "FSTRING_MIDDLE", -1):
            continue
        if tok.type == tokenize.STRING and tok.start[0] in docs:
            continue
        if VENDORS.search(tok.string):
            found.append((tok.start[0], tok.string))
    return found


def test_the_checker_sees_names_and_strings_but_not_docstrings() -> None:
    source = '''"""Talks about Stripe in prose."""
# a comment about HubSpot
IDEMPOTENT = {"stripe"}
def f(zendesk_guard):
    """Zendesk in a docstring."""
    return f"{zendesk_guard} hubapi.com"
'''
    lines = [line for line, _ in vendor_tokens(source)]
    assert 3 in lines and 4 in lines and 6 in lines
    assert 1 not in lines and 2 not in lines and 5 not in lines


@pytest.mark.parametrize("path", ENGINES, ids=lambda p: str(p.relative_to(ROOT)))
def test_engines_name_no_vendor(path: Path) -> None:
    hits = vendor_tokens(path.read_text(encoding="utf-8"))
    assert not hits, (
        f"{path.relative_to(ROOT.parent)} names a vendor in code at "
        + ", ".join(f"line {line} ({tok[:40]!r})" for line, tok in hits)
        + ": ask the system's descriptor (harness.systems.SystemDescriptor) instead"
    )
