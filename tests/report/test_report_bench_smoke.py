"""The 90-day report benchmark must not rot: run it end to end on a tiny ledger."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_report_benchmark_runs_on_a_tiny_ledger(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report_90d.py"), "--runs", "900",
         "--ledger", str(tmp_path / "l.db"), "--json", str(out),
         "--out", str(tmp_path / "review.html")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["runs"] == 900
    assert result["report_seconds"] > 0 and result["peak_mb"] > 0 and result["file_mb"] > 0
    assert set(result["within_targets"]) == {"seconds", "peak_mb", "file_mb"}
    assert Path(result["report"]).read_text().startswith("<!DOCTYPE html>")
