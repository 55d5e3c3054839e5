"""``harness check`` and ``harness replay``: learn how an automation breaks, and rerun one finding.

``harness check PATH.py:FUNCTION`` (or ``package.module:function``, or
``--flow path/to/flow.py``) runs a chaos campaign: Hypothesis draws scenarios
of trigger deliveries and faults, each is played against fresh fakes in bare
and/or orchestrated mode, the oracles judge the fakes' state against a
reference run, and every finding is printed with its minimal scenario and a
reproduce line.  Exit 0 without findings, 1 with findings, 2 on bad input.
``--jobs N`` plays the campaign in N worker processes with the same result;
``--shard I/N`` plays slice I of N of it into a shared ledger, for
``harness gate`` to judge the N shards as one campaign.

``harness replay FINDING_ID`` (or ``--scenario FILE.json``) reruns one
scenario exactly and says whether it still fails (exit 1) or not (exit 0).
"""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from harness._commands._outputs import check_outputs, write_text
from harness._terminal import safe_line
from harness._watchdog import DEFAULT_CAMPAIGN_TIMEOUT, DEFAULT_RUN_TIMEOUT
from harness.errors import ConfigError, UsageError

__all__ = ["COMMANDS"]

#: the largest --examples: more scenarios than a day of CPU; beyond it a typo, not a budget
MAX_EXAMPLES = 1_000_000
#: the largest --seed: a ledger stores seeds as signed 64-bit integers
MAX_SEED = 2**63 - 1

def _trigger_choices() -> str:
    from harness.triggers import trigger_names

    return ", ".join(trigger_names())


_TRIGGER_CHOICES = _trigger_choices()
_MODES = {"bare": ("bare",), "orchestrated": ("orchestrated",), "both": ("bare", "orchestrated")}


def _flow_name(function: str) -> str:
    """A flow name for an automation given as PATH.py:FUNCTION.

    A flow name is ASCII (``[A-Za-z0-9_.-]``: it goes into ledger keys, file
    names and shell lines) but Python allows any letter in a function name:
    ``händle`` is checked as flow ``handle`` (accents dropped, anything else
    ``_``), never refused for a name the user did not give.
    """
    import re
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", function).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", ascii_name)[:100].strip("_") or "automation"


def _check_report_suffix(report_path: str) -> None:
    from harness.report.render import FORMATS

    suffix = Path(report_path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"--report {report_path!r}: unknown report format {suffix or '(no suffix)'!r}; "
            f"expected a file ending in {', '.join(sorted(FORMATS))}"
        )


def _build_flow(
    target: str | None, flow_path: str | None, trigger: str, world: str | None = None
) -> tuple[Any, str]:
    """The flow to check and how a shell line names it (``--world`` included)."""
    import dataclasses

    from harness.flow import Flow, load_callable, load_flow
    from harness.triggers import get_trigger

    with_world = f" --world {shlex.quote(world)}" if world else ""
    if world:
        load_callable(world, what="world")  # a missing factory is a usage error up front

    if target and flow_path:
        raise UsageError("give PATH.py:FUNCTION or --flow FILE, not both")
    if not target and not flow_path:
        raise UsageError(
            "nothing to check: give PATH.py:FUNCTION (or package.module:function) or --flow FILE"
        )
    if flow_path:
        flow = load_flow(flow_path)
        flow.handler()  # a missing automation is a usage error before the ledger is opened
        if world:
            flow = dataclasses.replace(flow, world=world)
        elif flow.world is not None:
            flow.world_factory()  # the flow's own world must import too
        return flow, f"--flow {shlex.quote(flow_path)}{with_world}"
    assert target is not None
    trig = get_trigger(trigger)
    load_callable(target)
    name = _flow_name(target.rpartition(":")[2])
    return (
        Flow(name=name, automation=target, trigger=trig, world=world),
        f"{shlex.quote(target)} --trigger {shlex.quote(trigger)}{with_world}",
    )


def _parse_faults(text: str | None) -> tuple[str, ...]:
    from harness.chaos import get_fault

    if not text:
        return ()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for n in names:
        get_fault(n)
    return names


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _metrics(ledger: Any, campaign_id: str) -> dict[str, Any] | None:
    try:
        from harness.report import compute_metrics
    except ImportError:  # pragma: no cover - the report ships with the harness
        return None
    return dict(compute_metrics(ledger, campaign_id=campaign_id).to_json())


def _print_finding(console: Any, n: int, f: Any) -> None:
    from rich.markup import escape as rich_escape

    from harness._shared.redact import redact_text
    from harness._terminal import safe

    def escape(text: str) -> str:
        return str(rich_escape(safe(redact_text(text))))

    severity = getattr(f, "severity", "silent")
    console.print(f"\n[bold red]finding {n}[/]: [bold]{f.oracle}[/] ({f.mode}, {severity})  {escape(f.message)}")
    console.print("  minimal scenario:")
    for line in f.program.splitlines():
        console.print(f"    {escape(line)}")
    console.print("  timeline:")
    for entry in f.timeline[:40]:
        console.print(f"    {escape(entry.line())}")
    if len(f.timeline) > 40:
        console.print(f"    ... {len(f.timeline) - 40} more")
    console.print(f"  reproduce: [bold]{escape(f.reproduce)}[/]")


def _coverage_line(coverage: Any) -> str:
    """``faults tried: transport 52/52, values 67/80, trigger 3/3 (70 enumerated first); never: ...``."""
    parts = []
    for boundary, label in (("transport", "transport"), ("value", "values"), ("trigger", "trigger")):
        total = coverage["totals"].get(boundary)
        if total and total["possible"]:
            parts.append(f"{label} {total['tried']}/{total['possible']}")
    line = f"faults tried: {', '.join(parts) or 'none possible'} ({coverage['enumerated']} enumerated first)"
    untried = [u for b in ("transport", "value", "trigger") for u in coverage["untried"].get(b, ())]
    if untried:
        more = f" and {len(untried) - 3} more" if len(untried) > 3 else ""
        line += f"; never tried: {', '.join(untried[:3])}{more}"
    return line


@click.command("check")
@click.argument("target", required=False, metavar="PATH.py:FUNCTION")
@click.option("--flow", "flow_path", metavar="FILE", help="Check the Flow declared in FILE (attribute 'flow').")
@click.option(
    "--trigger", default="hubspot.deal.closedwon", show_default=True,
    help="The trigger that starts the automation (with PATH.py:FUNCTION): "
    + _TRIGGER_CHOICES + ". `harness triggers` shows their contracts.",
)
@click.option(
    "--world", "world", metavar="PATH.py:FACTORY",
    help="The world of fakes: FACTORY(seed) returns a harness World (default: the bundled fakes).",
)
@click.option("--examples", default=100, show_default=True, type=int, help="Scenarios per mode (the default budget).")
@click.option("--seed", default=None, type=int, help="Seed for everything (drawn and printed when omitted).")
@click.option(
    "--mode", default="both", show_default=True, type=click.Choice(sorted(_MODES)),
    help="Run the automation bare, under the orchestrator, or both.",
)
@click.option("--faults", "faults_text", metavar="NAMES", help="Only these fault kinds (comma-separated).")
@click.option("--json", "json_path", metavar="FILE", help="Write findings and metrics as JSON.")
@click.option("--report", "report_path", metavar="FILE", help="Write a report (.html, .json, .csv, .xml).")
@click.option("--ledger", "ledger_url", metavar="URL", help="Ledger URL (default: $HARNESS_LEDGER_URL or sqlite:///.harness/ledger.db).")
@click.option(
    "--run-timeout", type=click.FloatRange(min=0), default=DEFAULT_RUN_TIMEOUT, show_default=True,
    metavar="SECONDS", help="Wall-clock limit on one call of the automation (0: none); past it, exit 3.",
)
@click.option(
    "--campaign-timeout", type=click.FloatRange(min=0), default=DEFAULT_CAMPAIGN_TIMEOUT,
    show_default=True, metavar="SECONDS", help="Wall-clock limit on the whole campaign (0: none); past it, exit 3.",
)
@click.option(
    "--progress/--no-progress", "show_progress", default=None,
    help="Show progress on stderr: a bar on a terminal, a line per tenth of each mode "
    "otherwise (CI logs). Default: on.",
)
@click.option(
    "--passthrough", "passthrough", multiple=True, metavar="HOST:PORT",
    help="Let the automation reach this endpoint for real (a local test database); repeatable. "
    "Every other connection is refused and reported.",
)
@click.option(
    "--jobs", "jobs", default=1, show_default=True, type=int, metavar="N",
    help="Play the campaign's scenarios in N worker processes; the result is the same for any N.",
)
@click.option(
    "--shard", "shard_text", metavar="I/N",
    help="Play only slice I of N of the campaign (one job of a CI matrix, same --seed in each) "
    "into a shared --ledger; `harness gate` judges the N shards as one campaign.",
)
def check_command(
    target: str | None,
    flow_path: str | None,
    trigger: str,
    world: str | None,
    examples: int,
    seed: int | None,
    mode: str,
    faults_text: str | None,
    json_path: str | None,
    report_path: str | None,
    ledger_url: str | None,
    run_timeout: float,
    campaign_timeout: float,
    show_progress: bool | None,
    passthrough: tuple[str, ...] = (),
    jobs: int = 1,
    shard_text: str | None = None,
) -> int:
    """Find how an automation breaks on a bad day, with a minimal reproduction for each way.

    Exit 0: the campaign completed with no findings; 1: findings; 2: bad input
    (checked before anything runs); 3: the automation or the environment broke
    the run (it hung past a limit, exited the process, the disk filled).
    """
    from harness.chaos import run_campaign
    from harness.ledger import Ledger

    faults, shard = _check_request(
        examples, seed, jobs, shard_text, faults_text, json_path, report_path, passthrough
    )
    flow, flow_ref = _build_flow(target, flow_path, trigger, world)
    if seed is None:
        import secrets

        seed = secrets.randbelow(2**31)
    modes = _MODES[mode]
    command = _rerun_command(flow_ref, examples, seed, mode, faults, passthrough, shard)
    from rich.markup import escape

    out = _console()
    err = _console(stderr=True)
    err.print(
        f"harness check {flow.name}: seed {seed}, {examples} examples per mode ({', '.join(modes)})"
        + (f", shard {shard}" if shard is not None else "")
        + (f", {jobs} worker processes" if jobs > 1 else "")
    )
    with Ledger.open(ledger_url) as ledger:
        result = _run_with_progress(
            functools.partial(
                run_campaign, run_timeout=run_timeout, campaign_timeout=campaign_timeout,
                jobs=jobs, shard=shard,
            ),
            flow, ledger, examples, seed, modes, command, faults, flow_ref, err,
            show_progress is not False, passthrough,
        )
        for warning in result.warnings:
            err.print(f"[yellow]warning:[/] {escape(safe_line(warning))}")
        metrics = {m: _metrics(ledger, cid) for m, cid in result.campaign_ids.items()}
        for n, f in enumerate(result.findings, 1):
            _print_finding(out, n, f)
        out.print("")
        _print_modes(out, result, modes, metrics)
        out.print(f"rerun the campaign: {command}")
        if shard is not None:
            _print_shard_note(out, shard, flow.name, seed, examples, faults, passthrough)
        _write_outputs(
            out, ledger, result, metrics, flow.name, examples, modes, command, json_path, report_path
        )
    return 1 if result.findings else 0


def _rerun_command(
    flow_ref: str,
    examples: int,
    seed: int,
    mode: str,
    faults: Sequence[str],
    passthrough: Sequence[str],
    shard: Any,
) -> str:
    """The ``harness check`` line that reruns this campaign exactly."""
    return "harness check " + " ".join(
        [flow_ref, f"--examples {examples}", f"--seed {seed}", f"--mode {mode}"]
        + ([f"--faults {','.join(faults)}"] if faults else [])
        + [f"--passthrough {p}" for p in passthrough]
        + ([f"--shard {shard}"] if shard is not None else [])
    )


def _print_shard_note(
    out: Any,
    shard: Any,
    flow_name: str,
    seed: int,
    examples: int,
    faults: Sequence[str],
    passthrough: Sequence[str],
) -> None:
    """Print which campaign group this shard belongs to and how the group gets judged."""
    from harness.chaos import campaign_group

    group = campaign_group(
        flow_name, seed=seed, examples=examples, faults=faults, passthrough=passthrough
    )
    out.print(
        f"shard {shard} of campaign group {group}: once every shard has run, "
        "`harness gate --config GATE.toml` on this ledger judges them as one campaign"
    )


def _write_outputs(
    out: Any,
    ledger: Any,
    result: Any,
    metrics: Mapping[str, Any],
    flow_name: str,
    examples: int,
    modes: Sequence[str],
    command: str,
    json_path: str | None,
    report_path: str | None,
) -> None:
    """Write the ``--json`` and ``--report`` files asked for, printing a line for each."""
    from rich.markup import escape

    if json_path:
        _write_json(json_path, flow_name, examples, modes, command, result, metrics)
        out.print(f"wrote {escape(json_path)}")
    if report_path:
        from harness.report import write_report

        written = write_report(
            ledger, Path(report_path), flow=flow_name,
            campaign_ids=list(result.campaign_ids.values()),
            title=f"harness check {flow_name}",
        )
        out.print(f"wrote {written}")


def _check_request(
    examples: int,
    seed: int | None,
    jobs: int,
    shard_text: str | None,
    faults_text: str | None,
    json_path: str | None,
    report_path: str | None,
    passthrough: tuple[str, ...],
) -> tuple[tuple[str, ...], Any]:
    """Every usage error before anything runs or the ledger is opened; the faults and shard asked for."""
    from harness.chaos import MAX_JOBS, parse_shard
    from harness.systems import parse_passthrough

    if not 1 <= examples <= MAX_EXAMPLES:
        raise UsageError(f"--examples must be an integer from 1 to {MAX_EXAMPLES:,}, got {examples}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer from 0 to 2**63-1 ({MAX_SEED}), got {seed}")
    if not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"--jobs must be an integer from 1 to {MAX_JOBS}, got {jobs}")
    shard = parse_shard(shard_text) if shard_text is not None else None
    if shard is not None and seed is None:
        raise UsageError(
            f"--shard {shard_text}: give the same --seed to every shard (they are slices of one "
            "campaign); in a GitHub Actions matrix: --seed ${{ github.run_id }}"
        )
    if report_path:
        _check_report_suffix(report_path)
    # every output path is checked before anything runs or the ledger is opened
    check_outputs(json=json_path, report=report_path, makes_dirs=("report",))
    faults = _parse_faults(faults_text)
    for spec in passthrough:
        parse_passthrough(spec)  # a malformed endpoint is a usage error before anything runs
    return faults, shard


def _print_modes(out: Any, result: Any, modes: Sequence[str], metrics: Mapping[str, Any]) -> None:
    """One line per mode (scenarios, faults, findings), its coverage and its four metrics."""
    for m in modes:
        found = result.findings_for(m)
        classes = ", ".join(f.oracle for f in found) or "none"
        injected = sum(result.faults_injected.get(m, {}).values())
        out.print(
            f"{m}: {result.examples.get(m, 0)} scenarios, {injected} faults injected, "
            f"{len(found)} finding{'s' if len(found) != 1 else ''} ({classes})"
        )
        coverage = result.coverage.get(m)
        if coverage:
            out.print("  " + _coverage_line(coverage))
        mm = metrics.get(m)
        if mm:
            out.print(
                "  "
                + ", ".join(
                    f"{k}={json.dumps(mm.get(k))}"
                    for k in (
                        "failed_runs_by_class", "time_to_recovery_p50", "time_to_recovery_p90",
                        "duplicate_prevention_success", "manual_fallback_frequency",
                    )
                )
            )


def _write_json(
    json_path: str,
    flow: str,
    examples: int,
    modes: Sequence[str],
    command: str,
    result: Any,
    metrics: Mapping[str, Any],
) -> None:
    """The campaign as JSON: seed, examples, campaign ids, faults, coverage, findings, metrics."""
    payload = {
        "flow": flow,
        "seed": result.seed,
        "examples": examples,
        "examples_run": dict(result.examples),
        "modes": list(modes),
        "command": command,
        "campaign_ids": dict(result.campaign_ids),
        "faults_injected": {m: dict(v) for m, v in result.faults_injected.items()},
        "coverage": {m: dict(v) for m, v in result.coverage.items()},
        "warnings": list(result.warnings),
        "findings": [f.to_json() for f in result.findings],
        "metrics": metrics,
    }
    write_text(json_path, json.dumps(payload, indent=2, sort_keys=True) + "\n", option="--json")


def _run_with_progress(
    run_campaign: Any,
    flow: Any,
    ledger: Any,
    examples: int,
    seed: int,
    modes: Sequence[str],
    command: str,
    faults: Sequence[str],
    flow_ref: str,
    err: Any,
    show: bool = True,
    passthrough: Sequence[str] = (),
) -> Any:
    kwargs = {
        "ledger": ledger, "examples": examples, "seed": seed, "modes": modes, "command": command,
        "faults": faults, "flow_ref": flow_ref, "passthrough": tuple(passthrough),
    }
    if not show:
        return run_campaign(flow, **kwargs)
    if not err.is_terminal:
        return run_campaign(flow, progress=_progress_lines(flow.name, err), **kwargs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:
        tasks = {m: bar.add_task(f"{flow.name} {m}", total=examples) for m in modes}

        def progress(m: str, done: int, total: int) -> None:
            bar.update(tasks[m], completed=done, total=total)

        return run_campaign(flow, progress=progress, **kwargs)


def _progress_lines(name: str, err: Any) -> Any:
    """Progress for a log, not a terminal: one line per mode at each tenth of its scenarios.

    A CI log shows nothing for minutes otherwise; a line per scenario would drown it.
    """
    import time

    started: dict[str, float] = {}
    shown: dict[str, int] = {}

    def progress(mode: str, done: int, total: int) -> None:
        now = time.monotonic()
        started.setdefault(mode, now)
        tenth = (10 * done) // total if total else 10
        if tenth <= shown.get(mode, 0) and done != total:
            return
        if shown.get(mode) == 10:
            return
        shown[mode] = tenth
        err.print(
            f"harness check {name}: {mode} {done}/{total} scenarios ({now - started[mode]:.1f} s)",
            markup=False,
        )

    return progress


def _flow_from_ref(ref: str, world: str | None = None) -> Any:
    parts = shlex.split(ref)
    if len(parts) >= 2 and parts[-2] == "--world":
        world = world or parts[-1]
        parts = parts[:-2]
    if parts[:1] == ["--flow"] and len(parts) == 2:
        return _build_flow(None, parts[1], "", world)[0]
    if len(parts) == 3 and parts[1] == "--trigger":
        return _build_flow(parts[0], None, parts[2], world)[0]
    raise UsageError(f"cannot tell which flow {ref!r} names; pass --flow FILE or PATH.py:FUNCTION")


def _load_scenario_file(path: str) -> tuple[Any, str | None, str | None]:
    """A scenario file: a scenario, or a finding from ``harness check --json`` (with its mode)."""
    from harness.chaos import Scenario

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the scenario file ({exc.strerror})", path=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON ({exc})", path=path) from None
    mode = oracle = None
    if isinstance(data, dict) and "scenario_json" in data:
        mode, oracle = data.get("mode"), data.get("class")
        data = data["scenario_json"]
        if isinstance(data, str):
            data = json.loads(data)
    if not isinstance(data, dict):
        raise ConfigError("expected a JSON object with 'seed' and 'steps'", path=path)
    return Scenario.from_json(data, path=path), mode, oracle


@click.command("replay")
@click.argument("finding_id", required=False, metavar="FINDING_ID")
@click.option("--scenario", "scenario_path", metavar="FILE.json", help="Replay this scenario file instead of a finding.")
@click.option("--flow", "flow_path", metavar="FILE", help="The flow (with --scenario).")
@click.option("--target", "target", metavar="PATH.py:FUNCTION", help="The automation (with --scenario).")
@click.option("--trigger", default="hubspot.deal.closedwon", show_default=True)
@click.option(
    "--world", "world", metavar="PATH.py:FACTORY",
    help="The world of fakes (default: the one the finding's campaign recorded).",
)
@click.option("--mode", type=click.Choice(["bare", "orchestrated"]), default=None, help="Default: the finding's mode, else bare.")
@click.option("--ledger", "ledger_url", metavar="URL", help="Ledger URL holding the finding.")
def replay_command(
    finding_id: str | None,
    scenario_path: str | None,
    flow_path: str | None,
    target: str | None,
    trigger: str,
    world: str | None,
    mode: str | None,
    ledger_url: str | None,
) -> int:
    """Rerun one finding exactly and say whether it still fails (exit 1) or not (exit 0)."""
    from harness.chaos import Scenario, replay
    from harness.oracles import timeline_of

    expected: str | None = None
    if finding_id and scenario_path:
        raise UsageError("give FINDING_ID or --scenario FILE.json, not both")
    if scenario_path:
        scenario, file_mode, expected = _load_scenario_file(scenario_path)
        flow = _build_flow(target, flow_path, trigger, world)[0]
        mode = mode or file_mode or "bare"
    elif finding_id:
        from harness.ledger import Ledger

        with Ledger.open(ledger_url, create=False) as ledger:
            record = next((f for f in ledger.findings() if f.id == finding_id), None)
            if record is None:
                raise UsageError(
                    f"no finding {finding_id!r} in the ledger {ledger.url}; `harness check` prints "
                    "the ids (pass --ledger URL if the campaign used another ledger)"
                )
        detail = dict(record.detail)
        scenario = Scenario.from_json(str(detail.get("scenario_json", "")), path=f"finding {finding_id}")
        flow = (
            _build_flow(target, flow_path, trigger, world)[0]
            if (flow_path or target)
            else _flow_from_ref(str(detail.get("flow_ref", "")), world)
        )
        mode = mode or record.mode
        expected = record.oracle
    else:
        raise UsageError("nothing to replay: give FINDING_ID or --scenario FILE.json")
    run, hits = replay(flow, scenario, mode=mode)
    out = _console()
    from rich.markup import escape

    out.print(f"replaying {flow.name} ({mode}):")
    for line in scenario.program(world=flow.world_name()).splitlines():
        out.print(f"  {escape(line)}")
    out.print("timeline:")
    for entry in timeline_of(run):
        out.print(f"  {escape(entry.line())}")
    relevant = [h for h in hits if expected is None or h.oracle == expected]
    if relevant:
        for h in relevant:
            out.print(f"[bold red]still fails[/]: [bold]{h.oracle}[/]  {escape(h.message)}")
        return 1
    others = ", ".join(sorted({h.oracle for h in hits}))
    out.print(
        f"[bold green]no longer fails[/]{' as ' + expected if expected else ''}"
        + (f" (other findings: {others})" if others else "")
    )
    return 0


COMMANDS: list[click.Command] = [check_command, replay_command]


