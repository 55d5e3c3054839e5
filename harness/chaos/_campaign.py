"""Campaigns: explore many scenarios with Hypothesis, judge each, shrink every finding.

For each mode, Hypothesis draws ``examples`` scenarios from the flow's
:class:`~harness.chaos.ScenarioSpace` (seeded: one seed reproduces the whole
campaign); every scenario is played in a fresh world, judged by the oracles and
written to the ledger as one batch of runs.  Then, for each oracle class met,
the first failing scenario is shrunk (steps deleted, then simplified, while the
class still shows) to the fewest deliveries and faults, and becomes a
:class:`~harness.chaos.oracles.Finding`.
"""

from __future__ import annotations

import dataclasses
import platform
import secrets
import shlex
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from harness._watchdog import (
    DEFAULT_CAMPAIGN_TIMEOUT,
    DEFAULT_RUN_TIMEOUT,
    AutomationExited,
    AutomationHung,
    Watchdog,
    exit_guard,
    location_of_traceback,
)
from harness.chaos._coverage import ENUMERATION_SHARE, Coverage, enumerated
from harness.chaos._faults import get_fault
from harness.chaos._records import run_records
from harness.chaos._runner import ScenarioRun, Target, wall_now
from harness.chaos._scenario import Deliver, InjectFault, Scenario, SetValue, Step
from harness.chaos._strategies import scenarios
from harness.chaos.oracles import Finding, Hit, judge, oracle_names, timeline_of
from harness.errors import BaselineFailure, LedgerError, RunBrokenError, UsageError
from harness.flow import Flow
from harness.ledger.records import CampaignRecord, FindingRecord

__all__ = ["DEFAULT_EXAMPLES", "MODES", "CampaignResult", "replay", "run_campaign"]

MODES: tuple[str, ...] = ("bare", "orchestrated")

#: scenarios per mode when nothing else is asked (``harness check --examples``)
DEFAULT_EXAMPLES = 100

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CampaignResult:
    """What a campaign found.

    ``examples`` is the number of scenarios run per mode; ``campaign_ids`` maps
    each mode to its campaign in the ledger; ``faults_injected`` counts the
    faults injected per mode and kind (trigger faults included);
    ``coverage`` what each mode tried of every (endpoint x fault kind),
    (value target x how) and trigger fault (:meth:`Coverage.to_dict`);
    ``warnings`` says what the findings cannot show (objects the automation
    fails for even without faults).
    """

    seed: int
    examples: Mapping[str, int]
    campaign_ids: Mapping[str, str]
    findings: tuple[Finding, ...]
    faults_injected: Mapping[str, Mapping[str, int]]
    command: str = ""
    flow: str = ""
    warnings: tuple[str, ...] = ()
    coverage: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def findings_for(self, mode: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.mode == mode)


@dataclass
class _ModeState:
    first: dict[str, tuple[Scenario, int, Hit]] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=dict)
    examples: int = 0
    ledger_error: LedgerError | None = None
    coverage: Coverage | None = None


def _validate(examples: Any, seed: Any, modes: Sequence[str]) -> tuple[int, int, tuple[str, ...]]:
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 1:
        raise UsageError(f"--examples must be an integer >= 1, got {examples!r}")
    if seed is None:
        seed = secrets.randbelow(2**31)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {seed!r}")
    modes = tuple(modes)
    if not modes:
        raise UsageError("--mode: at least one mode is needed: bare, orchestrated or both")
    for m in modes:
        if m not in MODES:
            raise UsageError(f"--mode: unknown mode {m!r}; expected bare, orchestrated or both")
    return examples, seed, modes


def _versions() -> dict[str, str]:
    import hypothesis

    try:
        from importlib.metadata import version

        harness_version = version("harness")
    except Exception:
        harness_version = "unknown"
    return {
        "harness": harness_version,
        "hypothesis": hypothesis.__version__,
        "python": platform.python_version(),
    }


def _count_trigger_faults(scenario: Scenario, into: dict[str, int]) -> None:
    for step in scenario.steps:
        if isinstance(step, Deliver):
            if step.kind != "original":
                into[step.kind] = into.get(step.kind, 0) + 1
            if step.late:
                into["out_of_order"] = into.get("out_of_order", 0) + 1
        elif isinstance(step, SetValue):
            into["bad_value"] = into.get("bad_value", 0) + 1


def _explore_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
        derandomize=False,
        print_blob=False,
    )


def run_campaign(
    flow: Flow,
    *,
    ledger: Any,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    modes: Sequence[str] = MODES,
    command: str = "",
    progress: Progress | None = None,
    faults: Sequence[str] = (),
    flow_ref: str | None = None,
    shrink: bool = True,
    world_factory: Any = None,
    passthrough: Sequence[str] = (),
    run_timeout: float | None = DEFAULT_RUN_TIMEOUT,
    campaign_timeout: float | None = DEFAULT_CAMPAIGN_TIMEOUT,
) -> CampaignResult:
    """Run ``examples`` scenarios of ``flow`` per mode; judge, shrink, record in ``ledger``.

    ``seed`` (drawn and returned when ``None``) reproduces the whole campaign;
    ``faults`` restricts the fault kinds by name; ``flow_ref`` is how a
    reproduce line names the flow (a ``--flow`` file or ``path.py:function``;
    found from the flow's module when omitted).  ``passthrough`` names
    ``HOST:PORT`` endpoints the automation may reach for real, besides the
    flow's own.  ``progress(mode, done,
    total)`` is called after each scenario.  A ``KeyboardInterrupt`` marks the
    campaigns ``interrupted`` in the ledger and propagates.

    ``run_timeout`` and ``campaign_timeout`` are wall-clock limits in seconds
    (``None`` or 0: none) on one call of the automation and on the whole
    campaign.  An automation that runs past one, calls ``os._exit`` or raises
    a ``BaseException`` of its own breaks the campaign: it is recorded as
    ``failed`` and :class:`~harness.errors.RunBrokenError` is raised naming
    the file and line, so it is never mistaken for a pass or for findings.
    """
    try:
        with exit_guard(), Watchdog(run_timeout=run_timeout, campaign_timeout=campaign_timeout):
            return _run_campaign(
                flow, ledger=ledger, examples=examples, seed=seed, modes=modes, command=command,
                progress=progress, faults=faults, flow_ref=flow_ref, shrink=shrink,
                world_factory=world_factory, passthrough=passthrough,
            )
    except (AutomationHung, AutomationExited) as exc:
        raise RunBrokenError(f"{flow.name}: {exc}") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except Exception:
        raise
    except BaseException as exc:
        where = location_of_traceback(exc.__traceback__)
        raise RunBrokenError(
            f"{flow.name}: the automation raised {type(exc).__name__}({str(exc)[:200]!r}), a "
            "BaseException that is not an Exception"
            + (f", at {where}" if where else "")
            + "; the harness cannot treat it as the failure of one run, so the campaign is "
            "broken; derive the automation's errors from Exception"
        ) from None


def _run_campaign(
    flow: Flow,
    *,
    ledger: Any,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    modes: Sequence[str] = MODES,
    command: str = "",
    progress: Progress | None = None,
    faults: Sequence[str] = (),
    flow_ref: str | None = None,
    shrink: bool = True,
    world_factory: Any = None,
    passthrough: Sequence[str] = (),
) -> CampaignResult:
    """:func:`run_campaign` without its guards."""
    examples, seed, modes = _validate(examples, seed, modes)
    for name in faults:
        get_fault(name)
    # imported now rather than by the first failing scenario (run records classify
    # failures with it): Hypothesis rescans every module for constants whenever
    # sys.modules grows during a test, which cost a fifth of a second per campaign
    import harness.orchestrator  # noqa: F401
    target = Target(
        flow, seed=seed, faults=faults, world_factory=world_factory, passthrough=passthrough
    )
    # a failing reference (or a host nothing fakes) is refused before anything is recorded
    baseline = _baseline_error(target)
    if baseline is not None:
        raise BaselineFailure(baseline)
    space = target.space
    strategy = scenarios(space)
    ref = flow_ref or _flow_ref(flow)
    campaign_ids: dict[str, str] = {}
    states: dict[str, _ModeState] = {}
    findings: list[Finding] = []
    versions = _versions()
    for mode in modes:
        cid = f"c-{uuid.uuid4().hex[:12]}"
        campaign_ids[mode] = cid
        ledger.start_campaign(
            CampaignRecord(
                id=cid, flow=flow.name, mode=mode, wall_started=wall_now(), seed=seed,
                examples=examples, command=command, versions=versions,
                label=f"harness check {flow.name} ({mode})",
            )
        )
        state = states[mode] = _ModeState()
        status = "failed"
        try:
            _explore(target, strategy, mode, examples, seed, cid, ledger, state, progress)
            for oracle in oracle_names():
                if oracle not in state.first:
                    continue
                scenario, example, _hit = state.first[oracle]
                minimal = _shrink(target, mode, oracle, scenario) if shrink else scenario
                findings.append(
                    _finding(target, minimal, mode, oracle, example, cid, ref, ledger, seed)
                )
            ledger.write_findings(
                [_finding_record(f, flow, ref) for f in findings if f.mode == mode]
            )
            status = "completed"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            ledger.finish_campaign(cid, status=status, wall_ended=wall_now())
    return CampaignResult(
        seed=seed,
        examples={m: states[m].examples for m in modes},
        campaign_ids=campaign_ids,
        findings=tuple(findings),
        faults_injected={m: dict(sorted(states[m].injected.items())) for m in modes},
        command=command,
        flow=flow.name,
        warnings=_warnings(target),
        coverage={m: c.to_dict() for m in modes if (c := states[m].coverage) is not None},
    )


def _warnings(target: Target) -> tuple[str, ...]:
    """What the user must know to read the findings: failures without any fault, stray threads."""
    threads = tuple(list(target.thread_warnings.values())[:3])
    if not target.baseline_failures:
        return threads
    n, total = len(target.baseline_failures), len(target.object_ids)
    first = min(target.baseline_failures)
    return (
        f"without any fault the automation already failed for {n} of {total} "
        f"{target.noun}s (for example {target.noun} {first}, {target.object_ids[first]}: "
        f"{target.baseline_failures[first]}); those {target.noun}s cannot show what faults do",
        *threads,
    )


def _explore(
    target: Target,
    strategy: Any,
    mode: str,
    examples: int,
    seed: int,
    cid: str,
    ledger: Any,
    state: _ModeState,
    progress: Progress | None,
) -> None:
    coverage = state.coverage = Coverage.of(target.space)

    def play(scenario: Scenario) -> None:
        if state.ledger_error is not None:
            return  # the ledger failed: stop recording (raised once Hypothesis returns)
        example = state.examples
        state.examples += 1
        try:
            run = target.run(scenario, mode, campaign_id=cid, example=example, ledger=ledger)
            if target.note_refused(run.world.calls):
                # a call no fake could serve: not a fault, not a transient error, not an inbox
                # item; the run is left out of the ledger and the campaign ends in a usage error
                return
            records, items = run_records(run, campaign_id=cid, example=example)
            # one transaction per scenario: its runs and the inbox items they left
            ledger.write_runs(records, inbox=items)
        except LedgerError as exc:
            # raised inside @given it would be replayed and grouped by Hypothesis; the
            # user must see this one error (a dropped database connection, a full disk)
            state.ledger_error = exc
            return
        for kind, n in run.injected.items():
            state.injected[kind] = state.injected.get(kind, 0) + n
        _count_trigger_faults(scenario, state.injected)
        coverage.record(scenario, run)
        for hit in judge(run):
            if hit.oracle not in state.first:
                state.first[hit.oracle] = (scenario, example, hit)
        if progress is not None:
            progress(mode, state.examples, examples)

    # coverage first: every (endpoint x fault kind) and (value target x how) once, as far
    # as the budget allows; then chance, with what is left
    phase = enumerated(target.space, int(examples * ENUMERATION_SHARE))
    coverage.enumerated = len(phase)
    for scenario in phase:
        play(scenario)
    if state.ledger_error is not None:
        raise state.ledger_error
    remaining = examples - len(phase)
    if remaining <= 0:
        return

    @_explore_settings(remaining)
    @hypothesis_seed(seed)
    @given(strategy)
    def explore(scenario: Scenario) -> None:
        play(scenario)

    explore()
    if state.ledger_error is not None:
        raise state.ledger_error
    refused = _baseline_error(target)
    if refused is not None:
        raise BaselineFailure(refused)


def _baseline_error(target: Target) -> str | None:
    """Why a campaign of ``target`` would measure nothing: unfaked hosts, failing reference runs."""
    noun, total = target.noun, len(target.object_ids)
    fix_host = (
        "declare a fake for each: a SystemDescriptor(name=..., hosts=(HOST,)) on a fake (a "
        "RecordStore serves a REST API in a few lines), add it to a world "
        "(FACTORY(seed) -> World: standard_world(seed) plus World.add) and pass "
        "--world PATH.py:FACTORY or Flow(world=FACTORY); see README \"Check your own automation\""
    )
    if target.refused:
        hosts = "; ".join(
            f"{host} ({n} call{'s' if n != 1 else ''}, first {first})"
            for host, (n, first) in sorted(target.refused.items())
        )
        failed = len(target.baseline_failures)
        runs = (
            f"without any fault it failed for {failed} of {total} {noun}s"
            if failed else "some scenarios reached them"
        )
        return (
            f"the automation called hosts no fake serves: {hosts}; the harness refused those "
            f"calls (nothing left the machine) and {runs}, so no finding could be trusted; "
            f"{fix_host}"
        )
    if target.baseline_failures:
        n = len(target.baseline_failures)
        first = min(target.baseline_failures)
        return (
            f"without any fault the automation failed for {n} of {total} {noun}s in the "
            f"reference runs ({noun} {first}, {target.object_ids[first]}: "
            f"{target.baseline_failures[first]}); findings need a reference run that succeeds: "
            "fix the automation, or the world's seed data (a record or property it expects), "
            "or tell the flow how to read its result (Flow(result=...))"
        )
    return None


def _classes(target: Target, scenario: Scenario, mode: str) -> frozenset[str]:
    """The oracle classes ``scenario`` shows in ``mode`` (memoised per target: shrinking revisits)."""
    cache: dict[tuple[str, str], frozenset[str]] = target.__dict__.setdefault("_judged", {})
    key = (scenario.to_json(), mode)
    found = cache.get(key)
    if found is None:
        found = frozenset(h.oracle for h in judge(target.run(scenario, mode)))
        if len(cache) > 4096:
            cache.clear()
        cache[key] = found
    return found


def _shows(target: Target, scenario: Scenario, mode: str, oracle: str) -> bool:
    return oracle in _classes(target, scenario, mode)


def _shrink(target: Target, mode: str, oracle: str, first: Scenario) -> Scenario:
    """The smallest scenario still showing ``oracle``, from the first one that showed it.

    Greedy and deterministic, in the spirit of Hypothesis's shrinker but over
    steps (which is what a person reads): delete steps while the oracle still
    fires, then simplify what is left (the lowest object numbers, original
    deliveries, the simplest parameter of each fault).  Every candidate is
    played in a fresh world; results are memoised.  Measured on the quality
    suite it reaches the same sizes as ``hypothesis.find`` from the same seed
    in about a third of the time.
    """
    return _polish(target, first, mode, oracle)


def _renumbered(scenario: Scenario, old: int, new: int) -> Scenario:
    """``scenario`` with objects ``old`` and ``new`` swapped in every step."""

    def swap(step: Step) -> Step:
        if isinstance(step, Deliver | SetValue):
            if step.obj == old:
                return dataclasses.replace(step, obj=new)
            if step.obj == new:
                return dataclasses.replace(step, obj=old)
        return step

    return dataclasses.replace(scenario, steps=tuple(swap(s) for s in scenario.steps))


def _simpler_steps(step: Step) -> list[Step]:
    out: list[Step] = []
    if isinstance(step, Deliver):
        if step.late:
            out.append(dataclasses.replace(step, late=False))
        if step.kind != "original":
            out.append(dataclasses.replace(step, kind="original"))
    elif isinstance(step, InjectFault):
        if step.times > 1:
            out.append(dataclasses.replace(step, times=1))
        kind = get_fault(step.fault)
        for name, values in kind.params.items():
            current = dict(step.params).get(name)
            if values and current != values[0]:
                params = tuple((k, values[0] if k == name else v) for k, v in step.params)
                out.append(dataclasses.replace(step, params=params))
    return out


def _polish(target: Target, scenario: Scenario, mode: str, oracle: str) -> Scenario:
    """Delete steps, then simplify them, while the oracle still fires (a greedy pass)."""
    best = scenario
    changed = True
    budget = 60
    while changed and budget > 0:
        changed = False
        for i in range(len(best.steps)):
            steps = best.steps[:i] + best.steps[i + 1 :]
            if not any(isinstance(s, Deliver) for s in steps):
                continue
            candidate = dataclasses.replace(best, steps=steps)
            budget -= 1
            if _shows(target, candidate, mode, oracle):
                best, changed = candidate, True
                break
        if changed:
            continue
        objects = sorted({d.obj for d in best.deliveries})
        for low, obj in enumerate(objects):
            if obj != low:
                candidate = _renumbered(best, obj, low)
                budget -= 1
                if _shows(target, candidate, mode, oracle):
                    best, changed = candidate, True
                    break
        if changed:
            continue
        for i, step in enumerate(best.steps):
            for simpler in _simpler_steps(step):
                candidate = dataclasses.replace(best, steps=(*best.steps[:i], simpler, *best.steps[i + 1 :]))
                budget -= 1
                if _shows(target, candidate, mode, oracle):
                    best, changed = candidate, True
                    break
            if changed:
                break
    return best


def _flow_ref(flow: Flow) -> str:
    """How a shell line names ``flow``: the file that declares it, else its automation spec."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("harness_user_") and not name.endswith(".flow") and name != "flow":
            continue
        if getattr(module, "flow", None) is flow and getattr(module, "__file__", None):
            return f"--flow {module.__file__}"
    world = flow.world_spec()
    with_world = f" --world {shlex.quote(world)}" if world else ""
    if isinstance(flow.automation, str):
        return f"{shlex.quote(flow.automation)} --trigger {flow.trigger.name}{with_world}"
    fn = flow.automation
    module_name = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", "")
    if module_name and qual and "<" not in qual:
        mod = sys.modules.get(module_name)
        file = getattr(mod, "__file__", None)
        where = file if module_name.startswith("harness_user_") and file else module_name
        return f"{shlex.quote(f'{where}:{qual}')} --trigger {flow.trigger.name}{with_world}"
    return f"<{flow.name}> --trigger {flow.trigger.name}{with_world}"


def _ledger_arg(ledger: Any) -> str:
    url = str(getattr(ledger, "url", "") or "")
    try:
        from harness.ledger import DEFAULT_URL, resolve_url

        if url in (resolve_url(None), DEFAULT_URL):
            return ""
    except Exception:
        pass
    if not url or "***" in url or "[redacted]" in url:
        return ""  # a hidden password cannot be pasted back; the user passes --ledger again
    return f" --ledger {shlex.quote(url)}"


def _finding(
    target: Target,
    scenario: Scenario,
    mode: str,
    oracle: str,
    example: int | None,
    cid: str,
    ref: str,
    ledger: Any,
    seed: int,
) -> Finding:
    run = target.run(scenario, mode)
    hits = [h for h in judge(run) if h.oracle == oracle]
    message = hits[0].message if hits else f"{oracle} (did not show again on the minimal run)"
    fid = f"{cid}-{oracle.replace('_', '-')}"
    return Finding(
        oracle=oracle,
        mode=mode,
        message=message,
        program=scenario.program(target.labels(), world=target.world_name),
        reproduce=f"harness replay {fid}{_ledger_arg(ledger)}",
        timeline=timeline_of(run),
        seed=seed,
        example=example,
        scenario_json=scenario.to_json(),
        id=fid,
        flow=target.flow.name,
        campaign_id=cid,
    )


def _finding_record(f: Finding, flow: Flow, ref: str) -> FindingRecord:
    return FindingRecord(
        id=f.id,
        flow=flow.name,
        mode=f.mode,
        oracle=f.oracle,
        message=f.message,
        scenario=f.program,
        reproduce=f.reproduce,
        wall_created=wall_now(),
        campaign_id=f.campaign_id,
        seed=f.seed,
        example=f.example,
        timeline=tuple(t.to_dict() for t in f.timeline),
        detail={
            "scenario_json": f.scenario_json,
            "flow_ref": ref,
            "trigger": flow.trigger.name,
        },
    )


def replay(
    flow: Flow, scenario: Scenario, *, mode: str, world_factory: Any = None
) -> tuple[ScenarioRun, list[Hit]]:
    """Play one scenario exactly as a campaign did; return the run and every oracle hit."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; expected bare or orchestrated")
    target = Target(flow, seed=scenario.seed, world_factory=world_factory)
    run = target.run(scenario, mode)
    return run, judge(run)
