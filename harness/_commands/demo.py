"""``harness demo``: the bundled deal-won flow, bare vs orchestrated, to a report.

Runs a campaign of generated bad days against ``scenarios/deal_won`` in both
modes, records every run in the ledger, computes the four metrics from the
ledger, writes ``reports/demo.html`` and prints a short summary with one
reproduce line per finding.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.report import Metrics

__all__ = ["COMMANDS", "bundled_flow_path", "check_writable"]

_DEMO_FLOW = Path("scenarios") / "deal_won" / "flow.py"


def bundled_flow_path() -> Path:
    """The demo flow: ``./scenarios/deal_won/flow.py``, else the one beside the package."""
    here = Path.cwd() / _DEMO_FLOW
    if here.is_file():
        return here
    beside = Path(__file__).resolve().parents[2] / _DEMO_FLOW
    if beside.is_file():
        return beside
    raise UsageError(
        f"the demo flow {str(_DEMO_FLOW)!r} was not found in the current directory or beside "
        "the installed package; run `harness demo` from a clone of the harness repository"
    )


def check_writable(path: Path, *, what: str = "report") -> Path:
    """Fail before any work if ``path`` cannot be written (creating its folder if needed)."""
    path = path.expanduser()
    if path.exists() and path.is_dir():
        raise UsageError(f"{what} path {str(path)!r} is a directory; give a file name such as demo.html")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{what} path {str(path)!r}: cannot create folder {str(parent)!r} "
            f"({exc.strerror or exc}); choose a writable location with --out"
        ) from None
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(
            f"{what} path {str(path)!r} is not writable; choose a writable location with --out"
        )
    return path


def _fmt(value: Any, *, pct: bool = False, secs: bool = False) -> str:
    if value is None:
        return "n/a"
    if pct:
        return f"{100 * float(value):.1f}%"
    if secs:
        v = float(value)
        return f"{v:.1f}s" if v < 120 else f"{v / 60:.1f}min"
    return str(value)


#: the demo's default seed: at the default 100 examples it shows every class of finding the
#: bundled automation has in bare mode, and none under the orchestrator (checked by a test)
DEMO_SEED = 1


@click.command("demo")
@click.option("--examples", type=click.IntRange(min=1), default=100, show_default=True,
              help="Scenarios per mode.")
@click.option(
    "--seed", type=int, default=DEMO_SEED, show_default=True,
    help="Seed for everything. The default shows every class of finding the bundled "
    "automation has, as the README's table does.",
)
@click.option("--ledger", "ledger_url", default=None, metavar="URL",
              help="Ledger URL (default: $HARNESS_LEDGER_URL or sqlite:///.harness/ledger.db).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("reports") / "demo.html", show_default=True, help="HTML report path.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def demo(examples: int, seed: int, ledger_url: str | None, out: Path,
         progress: bool | None) -> int:
    """Run the bundled deal-won flow on generated bad days, bare and orchestrated."""
    # Validate everything the user gave before importing the heavy rooms or
    # touching the ledger: a bad path must change nothing.
    out = check_writable(out)
    flow_path = bundled_flow_path()

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from harness.chaos import run_campaign
    from harness.flow import load_flow
    from harness.ledger import Ledger
    from harness.report import compute_metrics, write_report

    flow = load_flow(str(flow_path))
    console = Console(stderr=False, highlight=False)
    show_progress = sys.stdout.isatty() if progress is None else progress
    started = time.perf_counter()
    command = f"harness demo --examples {examples} --seed {seed}"
    with Ledger.open(ledger_url) as ledger:
        console.print(f"[bold]harness demo[/bold]: flow [cyan]{flow.name}[/cyan] "
                      f"({flow.description}), {examples} scenarios per mode")
        # the URL on its own line, never wrapped: a reader copies it into other commands
        console.print(f"ledger {ledger.url}", soft_wrap=True, markup=False)
        result = _run_with_progress(
            run_campaign, flow, ledger=ledger, examples=examples, seed=seed,
            command=command, show=show_progress, console=console,
        )
        modes = list(result.campaign_ids)
        metrics = {m: compute_metrics(ledger, campaign_id=result.campaign_ids[m]) for m in modes}
        report_path = write_report(
            ledger, out, flow=flow.name, campaign_ids=dict(result.campaign_ids),
            title=f"harness demo: {flow.name}",
        )
    console.print(f"seed {result.seed}: reproduce the whole demo with "
                  f"[bold]harness demo --examples {examples} --seed {result.seed}[/bold]")

    by_class: dict[str, dict[str, int]] = {}
    for f in result.findings:
        by_class.setdefault(f.oracle, {}).setdefault(f.mode, 0)
        by_class[f.oracle][f.mode] += 1
    table = Table(title="Findings by class", show_lines=False)
    table.add_column("oracle")
    for m in modes:
        table.add_column(m, justify="right")
    for oracle in sorted(by_class):
        table.add_row(oracle, *[str(by_class[oracle].get(m, 0)) for m in modes])
    if not by_class:
        table.add_row("(none)", *["0" for _ in modes])
    console.print(table)

    mt = Table(title="The four metrics (from the ledger)")
    mt.add_column("metric")
    for m in modes:
        mt.add_column(m, justify="right")
    rows: list[tuple[str, Callable[[Metrics], str]]] = [
        ("runs", lambda x: str(x.accepted_runs)),
        ("failed runs by class", lambda x: ", ".join(f"{k} {v}" for k, v in sorted(x.failed_runs_by_class.items())) or "none"),
        ("runs ended failed", lambda x: str(x.runs_failed)),
        ("time to recovery p50", lambda x: _fmt(x.time_to_recovery_p50, secs=True)),
        ("time to recovery p90", lambda x: _fmt(x.time_to_recovery_p90, secs=True)),
        ("duplicate prevention success", lambda x: _fmt(x.duplicate_prevention_success, pct=True)),
        ("duplicate effects escaped", lambda x: str(x.duplicate_effects_escaped)),
        ("manual fallback frequency", lambda x: _fmt(x.manual_fallback_frequency, pct=True)),
    ]
    for label, get in rows:
        mt.add_row(label, *[get(metrics[m]) for m in modes])
    console.print(mt)

    if result.findings:
        console.print("[bold]Reproduce each finding:[/bold]")
        for f in result.findings:
            console.print(escape(f"  [{f.mode}] {f.oracle}: {f.reproduce}"), soft_wrap=True)
    console.print(f"report: [bold]{report_path}[/bold]  ({time.perf_counter() - started:.1f}s)")
    return 0


def _run_with_progress(run_campaign: Any, flow: Any, *, show: bool, console: Any, **kwargs: Any) -> Any:
    if not show:
        return run_campaign(flow, **kwargs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        return run_campaign(flow, progress=progress, **kwargs)


COMMANDS: list[click.Command] = [demo]
