"""``harness simulate``: write a labelled synthetic history to see the 90-day report early.

The history comes from :func:`harness.ledger.simulate.simulate_history`: a
fault model that changes over the weeks (an outage week, dedupe switched on, a
contract change), two segments, inbox items resolved by named people and
``flow_changes`` rows.  Every row is marked synthetic and the campaign's label
says so.
"""

from __future__ import annotations

import time

import click

from harness._commands._options import flow_name_options, resolve_flow_name
from harness._commands.ledger import ledger_option
from harness.ledger import MODES, Ledger
from harness.ledger.simulate import simulate_history

__all__ = ["COMMANDS"]


@click.command("simulate")
@click.option("--days", type=click.IntRange(min=1, max=3650), default=90, show_default=True,
              help="Length of the history in days, ending now.")
@click.option("--runs-per-day", "runs_per_day", type=click.IntRange(min=1), required=True,
              help="Runs per day.")
@flow_name_options("Flow name the runs belong to.", default="deal_won")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the history's content.")
@click.option("--mode", type=click.Choice(MODES), default="production", show_default=True,
              help="production (wall clock), orchestrated or bare (virtual clock).")
@ledger_option
def simulate_command(
    days: int,
    runs_per_day: int,
    flow_file: str | None,
    flow_name: str,
    seed: int,
    mode: str,
    ledger_url: str | None,
) -> None:
    """Write a synthetic, clearly labelled history of a flow into the ledger."""
    flow = resolve_flow_name(flow_file, flow_name, default="deal_won") or "deal_won"
    started = time.perf_counter()
    total = days * runs_per_day
    with Ledger.open(ledger_url) as ledger:
        url = ledger.url
        shown = [0]

        def progress(done: int, of: int) -> None:
            # a line every ~10% so a long simulation shows it is alive
            if done * 10 // of > shown[0] or done == of:
                shown[0] = done * 10 // of
                click.echo(f"  day {done}/{of}", err=True)

        campaign_id = simulate_history(
            ledger, flow=flow, days=days, runs_per_day=runs_per_day, seed=seed, mode=mode,
            progress=progress if total >= 100_000 else None,
        )
    elapsed = time.perf_counter() - started
    click.echo(
        f"wrote SYNTHETIC history {campaign_id}: {total:,} runs of flow {flow!r} ({mode}) "
        f"over {days} days to {url} in {elapsed:.1f} s"
    )


COMMANDS: list[click.Command] = [simulate_command]
