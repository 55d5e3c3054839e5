"""Campaigns: explore many scenarios with Hypothesis, judge each, shrink every finding.

A campaign's plan is ``examples`` scenarios of the flow's
:class:`~harness.chaos.ScenarioSpace`: the coverage-first enumeration, then
Hypothesis's draws (seeded: one seed reproduces the whole campaign; see
:func:`~harness.chaos._jobs.campaign_plan`).  For each mode every scenario is
played in a fresh world (in this process, or spread over ``jobs`` worker
processes with the same result), judged by the oracles and written to the
ledger as one batch of runs.  Then, for each oracle class met,
the first failing scenario is shrunk (steps deleted, then simplified, while the
class still shows) to the fewest deliveries and faults, and becomes a
:class:`~harness.chaos.oracles.Finding`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import secrets
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, settings

from harness._watchdog import (
    DEFAULT_CAMPAIGN_TIMEOUT,
    DEFAULT_RUN_TIMEOUT,
    AutomationExited,
    AutomationHung,
    Watchdog,
    exit_guard,
    location_of_traceback,
)
from harness.chaos._coverage import Coverage
from harness.chaos._faults import get_fault
from harness.chaos._jobs import (
    MAX_JOBS,
    Shard,
    WorkerPool,
    _work_shrink,
    _work_slice,
    campaign_group,
    campaign_plan,
    flow_source,
    merge_into,
    play_slice,
    slices,
)
from harness.chaos._runner import ScenarioRun, Target, wall_now
from harness.chaos._scenario import Deliver, InjectFault, Scenario, SetValue, Step
from harness.chaos._strategies import scenarios
from harness.chaos.oracles import Finding, Hit, judge, oracle_names, timeline_of
from harness.errors import BaselineFailure, RunBrokenError, UsageError
from harness.flow import Flow
from harness.ledger.records import CampaignRecord, FindingRecord

if TYPE_CHECKING:
    from harness.ledger import Ledger

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
    _: KW_ONLY
    command: str = ""
    flow: str = ""
    warnings: tuple[str, ...] = ()
    coverage: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def findings_for(self, mode: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.mode == mode)


@dataclass
class _ModeState:
    first: dict[str, tuple[Scenario, int, Hit | None]] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=dict)
    examples: int = 0
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
    ledger: Ledger,
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
    jobs: int = 1,
    shard: Shard | None = None,
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

    ``jobs`` > 1 plays the scenarios (and shrinks the findings) in that many
    worker processes, which load the flow again from its file
    (:func:`~harness.chaos._jobs.flow_source`); the result is the same as with
    ``jobs=1``.  ``shard`` plays only that slice of the campaign's scenarios
    and records it as one shard of the campaign group every shard shares, so
    ``harness gate`` judges the shards together.
    """
    source = _jobs_source(flow, jobs, world_factory)
    examples, seed, modes = _validate(examples, seed, modes)
    for name in faults:
        get_fault(name)
    pool = _worker_pool(jobs, source, seed, faults, passthrough, run_timeout, campaign_timeout)
    try:
        with (
            exit_guard(),
            Watchdog(run_timeout=run_timeout, campaign_timeout=campaign_timeout),
            pool if pool is not None else contextlib.nullcontext(),
        ):
            if pool is not None:
                # the workers start (and run their discovery) while this process runs its own
                pool.warm()
            return _run_campaign(
                flow, ledger=ledger, examples=examples, seed=seed, modes=modes, command=command,
                progress=progress, faults=faults, flow_ref=flow_ref, shrink=shrink,
                world_factory=world_factory, passthrough=passthrough, pool=pool, shard=shard,
            )
    except (AutomationHung, AutomationExited) as exc:
        raise RunBrokenError(f"{flow.name}: {exc}") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except Exception:
        raise
    except BaseException as exc:
        raise _broken_by(flow, exc) from None


def _jobs_source(flow: Flow, jobs: int, world_factory: Any) -> Any:
    """Check ``jobs``; the flow's source for worker processes when ``jobs`` > 1, else ``None``."""
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"--jobs must be an integer from 1 to {MAX_JOBS}, got {jobs!r}")
    if jobs == 1:
        return None
    if world_factory is not None:
        raise UsageError(
            "--jobs: a world_factory callable cannot be loaded in another process; "
            "set Flow(world='path/to/world.py:FACTORY') instead"
        )
    return flow_source(flow)  # an in-memory flow is a usage error before anything runs


def _worker_pool(
    jobs: int,
    source: Any,
    seed: int,
    faults: Sequence[str],
    passthrough: Sequence[str],
    run_timeout: float | None,
    campaign_timeout: float | None,
) -> WorkerPool | None:
    """The pool of ``jobs`` worker processes playing the flow from ``source``; ``None`` without one."""
    if source is None:
        return None
    return WorkerPool(
        jobs, source, seed=seed, faults=faults, passthrough=passthrough,
        run_timeout=run_timeout,
        deadline=(time.monotonic() + campaign_timeout) if campaign_timeout else None,
    )


def _broken_by(flow: Flow, exc: BaseException) -> RunBrokenError:
    """The error that breaks the campaign when the automation raised a non-Exception ``exc``."""
    where = location_of_traceback(exc.__traceback__)
    return RunBrokenError(
        f"{flow.name}: the automation raised {type(exc).__name__}({str(exc)[:200]!r}), a "
        "BaseException that is not an Exception"
        + (f", at {where}" if where else "")
        + "; the harness cannot treat it as the failure of one run, so the campaign is "
        "broken; derive the automation's errors from Exception"
    )


def _run_campaign(
    flow: Flow,
    *,
    ledger: Ledger,
    examples: int,
    seed: int,
    modes: Sequence[str],
    command: str = "",
    progress: Progress | None = None,
    faults: Sequence[str] = (),
    flow_ref: str | None = None,
    shrink: bool = True,
    world_factory: Any = None,
    passthrough: Sequence[str] = (),
    pool: WorkerPool | None = None,
    shard: Shard | None = None,
) -> CampaignResult:
    """:func:`run_campaign` without its guards (its arguments already validated there)."""
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
    plan, n_enumerated = campaign_plan(target.space, scenarios(target.space), examples, seed)
    indices = shard.indices(len(plan)) if shard is not None else range(len(plan))
    ref = flow_ref or _flow_ref(flow)
    campaign_ids: dict[str, str] = {}
    states: dict[str, _ModeState] = {}
    findings: list[Finding] = []
    versions = _campaign_versions(flow, seed, examples, faults, passthrough, shard)
    for mode in modes:
        cid = f"c-{uuid.uuid4().hex[:12]}"
        campaign_ids[mode] = cid
        label = f"harness check {flow.name} ({mode})" + (f" shard {shard}" if shard else "")
        ledger.start_campaign(
            CampaignRecord(
                id=cid, flow=flow.name, mode=mode, wall_started=wall_now(), seed=seed,
                examples=len(indices), command=command, versions=versions, label=label,
            )
        )
        state = states[mode] = _ModeState()
        status = "failed"
        try:
            _explore(
                target, plan, indices, n_enumerated, mode, seed, cid, ledger, state,
                progress, pool,
            )
            _record_findings(
                target, state, mode, seed, cid, ref, ledger, findings, shrink=shrink, pool=pool
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


def _campaign_versions(
    flow: Flow,
    seed: int,
    examples: int,
    faults: Sequence[str],
    passthrough: Sequence[str],
    shard: Shard | None,
) -> dict[str, str]:
    """The versions a campaign records; for a shard, also its campaign group and slice."""
    versions = _versions()
    if shard is not None:
        # what makes the shards of one campaign one campaign for `harness gate`
        versions["campaign_group"] = campaign_group(
            flow.name, seed=seed, examples=examples, faults=faults, passthrough=passthrough
        )
        versions["shard"] = str(shard)
    return versions


def _record_findings(
    target: Target,
    state: _ModeState,
    mode: str,
    seed: int,
    cid: str,
    ref: str,
    ledger: Ledger,
    findings: list[Finding],
    *,
    shrink: bool,
    pool: WorkerPool | None,
) -> None:
    """Shrink the first failure of each oracle in ``mode``, append them to ``findings``, record them."""
    firsts = [(o, state.first[o]) for o in oracle_names() if o in state.first]
    if not shrink:
        minimals = [scenario for _o, (scenario, _e, _h) in firsts]
    elif pool is not None:
        minimals = list(pool.map([(_work_shrink, (mode, o, sc)) for o, (sc, _e, _h) in firsts]))
    else:
        minimals = [_shrink(target, mode, o, sc) for o, (sc, _e, _h) in firsts]
    for (oracle, (_sc, example, _hit)), minimal in zip(firsts, minimals, strict=True):
        findings.append(_finding(target, minimal, mode, oracle, example, cid, ref, ledger, seed))
    ledger.write_findings(
        [_finding_record(f, target.flow, ref) for f in findings if f.mode == mode]
    )


def _warnings(target: Target) -> tuple[str, ...]:
    """What the user must know to read the findings: failures without any fault, stray threads."""
    threads = tuple(list(target.thread_warnings.values())[:3])
    if not target.baseline_failures:
        return threads
    n, total = len(target.baseline_failures), len(target.object_ids)
    first = min(target.baseline_failures)
    return (
        (f"without any fault the automation already failed for {n} of {total} "
        f"{target.noun}s (for example {target.noun} {first}, {target.object_ids[first]}: "
        f"{target.baseline_failures[first]}); those {target.noun}s cannot show what faults do"),
        *threads,
    )


def _explore(
    target: Target,
    plan: Sequence[Scenario],
    indices: range,
    n_enumerated: int,
    mode: str,
    seed: int,
    cid: str,
    ledger: Ledger,
    state: _ModeState,
    progress: Progress | None,
    pool: WorkerPool | None,
) -> None:
    """Play ``plan[i]`` for ``i`` in ``indices``, in this process or the pool's; merge in order.

    Recorded scenarios are written in example order whichever process played
    them, :data:`WRITE_BATCH` scenarios to a ledger transaction (a scenario's
    runs never split between two), so the ledger holds the same runs for any
    number of workers.
    """
    coverage = state.coverage = Coverage.of(target.space)
    # coverage first: the enumerated scenarios (every endpoint x fault kind, value target x
    # how, trigger fault once, as far as the budget allows), then Hypothesis's draws
    coverage.enumerated = len(range(indices.start, min(indices.stop, n_enumerated)))
    total = len(indices)
    items = [(i, plan[i]) for i in indices]
    first: dict[str, tuple[int, Scenario]] = {}

    def step() -> None:
        state.examples += 1
        if progress is not None:
            progress(mode, state.examples, total)

    writer = _BatchWriter(ledger)
    try:
        if pool is None:
            outcome = play_slice(
                target, mode, items, campaign_id=cid, seed=seed, write=writer.add, after=step,
            )
            merge_into(target, outcome, injected=state.injected, coverage=coverage, first=first)
        else:
            parts = slices(items, pool.jobs)
            results = pool.map([(_work_slice, (mode, cid, list(part))) for part in parts])
            for outcome in results:
                for records, inbox in outcome.batches:
                    writer.add(records, inbox)
                for _ in range(outcome.played):
                    step()
                merge_into(target, outcome, injected=state.injected, coverage=coverage, first=first)
    finally:
        # also when interrupted: the scenarios played so far are recorded
        writer.flush()
    for oracle, (example, scenario) in first.items():
        state.first[oracle] = (scenario, example, None)
    refused = _baseline_error(target)
    if refused is not None:
        raise BaselineFailure(refused)


#: scenarios whose runs go to the ledger in one transaction: a commit per scenario was a
#: tenth of a campaign's time (measured: benchmarks, check); a kill loses at most this many
WRITE_BATCH = 25


class _BatchWriter:
    """Writes scenarios' runs and inbox items :data:`WRITE_BATCH` scenarios at a time."""

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger
        self.runs: list[Any] = []
        self.items: list[Any] = []
        self.scenarios = 0

    def add(self, records: Sequence[Any], inbox: Sequence[Any]) -> None:
        self.runs.extend(records)
        self.items.extend(inbox)
        self.scenarios += 1
        if self.scenarios >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not (self.runs or self.items):
            return
        runs, items = self.runs, self.items
        self.runs, self.items, self.scenarios = [], [], 0
        self.ledger.write_runs(runs, inbox=items)


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


@dataclass(frozen=True)
class _Judged:
    """What one replay of a scenario showed: its classes and, when asked, its evidence."""

    classes: frozenset[str]
    #: first message per class, and the timeline: kept when the replay showed the class
    #: being shrunk, so the finding built from the minimal scenario need not replay it
    messages: Mapping[str, str] = field(default_factory=dict)
    timeline: tuple[Any, ...] | None = None


def _judged(target: Target) -> dict[tuple[str, str], _Judged]:
    cache: dict[tuple[str, str], _Judged] = target.__dict__.setdefault("_judged", {})
    return cache


def _classes(
    target: Target, scenario: Scenario, mode: str, *, keep: str | None = None
) -> frozenset[str]:
    """The oracle classes ``scenario`` shows in ``mode`` (memoised per target: shrinking revisits).

    When the replay shows ``keep``, its messages and timeline are kept with it.
    """
    cache = _judged(target)
    key = (scenario.to_json(), mode)
    found = cache.get(key)
    if found is None:
        run = target.run(scenario, mode)
        hits = judge(run)
        classes = frozenset(h.oracle for h in hits)
        if keep is not None and keep in classes:
            messages: dict[str, str] = {}
            for h in hits:
                messages.setdefault(h.oracle, h.message)
            found = _Judged(classes, messages, timeline_of(run))
        else:
            found = _Judged(classes)
        if len(cache) > 4096:
            cache.clear()
        cache[key] = found
    return found.classes


def _shows(target: Target, scenario: Scenario, mode: str, oracle: str) -> bool:
    return oracle in _classes(target, scenario, mode, keep=oracle)


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


def _ledger_arg(ledger: Ledger) -> str:
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
    ledger: Ledger,
    seed: int,
) -> Finding:
    judged = _judged(target).get((scenario.to_json(), mode))
    if judged is not None and judged.timeline is not None and oracle in judged.messages:
        # shrinking already replayed this very scenario (a fresh world, the same Target) and
        # kept what it showed: the same replay again would only cost its time
        message, timeline = judged.messages[oracle], judged.timeline
    else:
        run = target.run(scenario, mode)
        hits = [h for h in judge(run) if h.oracle == oracle]
        message = hits[0].message if hits else f"{oracle} (did not show again on the minimal run)"
        timeline = timeline_of(run)
    fid = f"{cid}-{oracle.replace('_', '-')}"
    return Finding(
        oracle=oracle,
        mode=mode,
        message=message,
        program=scenario.program(target.labels(), world=target.world_name),
        reproduce=f"harness replay {fid}{_ledger_arg(ledger)}",
        timeline=timeline,
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
