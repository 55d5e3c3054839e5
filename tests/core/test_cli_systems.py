"""``harness systems`` lists what a world fakes: the bundled fakes, or a flow's own world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


def test_the_bundled_fakes_are_listed_with_their_hosts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["systems", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    by_name = {s["name"]: s for s in listed["systems"]}
    assert {"hubspot", "stripe", "zendesk"} <= set(by_name)
    assert by_name["stripe"]["hosts"] == ["api.stripe.com"]
    assert by_name["stripe"]["idempotency"] == "header Idempotency-Key"
    assert "invoice" in by_name["stripe"]["record_kinds"]
    assert main(["systems"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == f"{len(by_name)} systems in the bundled fakes (the default world):"


def test_a_declared_world_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "world.py").write_text(
        "from harness.systems import RecordStore, Resource, World\n\n"
        "def make(seed):\n"
        "    erp = RecordStore('erp', [Resource('order', '/api/v1/orders')],\n"
        "                      extra_hosts=('https://erp.internal',))\n"
        "    return World([erp])\n\n"
        "def broken(seed):\n    return 42\n",
        encoding="utf-8",
    )
    assert main(["systems", "--world", f"{tmp_path / 'world.py'}:make"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        f"1 systems in the world of {tmp_path / 'world.py'}:make:",
        "  erp          erp.internal",
        "               records: order",
    ]
    assert main(["systems", "--world", f"{tmp_path / 'world.py'}:broken"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"harness: error: the world of {tmp_path / 'world.py'}:broken: the factory returned int, "
        "not a harness World"
    )
    assert main(["systems", "--world", "x.py:make", "--flow", "f.py"]) == 2
    assert "not both" in capsys.readouterr().err
