"""Spread a campaign over worker processes (``--jobs N``) or CI jobs (``--shard I/N``).

A campaign is a fixed *plan*: the list of scenarios :func:`campaign_plan`
draws from the seed (the coverage-first enumeration, then what Hypothesis
generates with the rest of the budget).  Hypothesis's generate phase does not
look at what the test did (a scenario never fails inside ``@given``: the
oracles judge it afterwards), so drawing the whole list first gives exactly
the scenarios a campaign played one by one; every scenario keeps its index
(its ``example`` number) whichever process plays it.

:func:`play_slice` plays some of the plan's scenarios in one process and
returns what they did (:class:`SliceOutcome`): the run records, the faults
injected, the coverage, the first scenario that showed each oracle class.
Merged in index order, the outcomes of any partition of the plan are the
outcome of playing it whole, so the result is the same for any ``--jobs``;
each class's finding is shrunk from its lowest-index scenario, and the
shrinker is deterministic, so the minimal program does not depend on which
process found it.

Worker processes are forked from a ``forkserver`` (``spawn`` where there is
none): a fresh interpreter, so no lock, thread or open connection of the
parent is inherited.  They load the flow again
from where it came from (:class:`FlowSource`: a flow file or
``PATH.py:FUNCTION``, with ``--world``); every scenario there is played through
the same :class:`~harness.chaos.Target`, so the interception that keeps every
byte on the machine is active in each worker exactly as in one process.  A
worker that cannot load the flow, dies or breaks a run ends the campaign with
:class:`~harness.errors.RunBrokenError`, never a partial result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.chaos._coverage import ENUMERATION_SHARE, Coverage, enumerated
from harness.chaos._records import run_records
from harness.chaos._runner import Target
from harness.chaos._scenario import Scenario
from harness.chaos.oracles import judge
from harness.errors import RunBrokenError, UsageError
from harness.flow import Flow

__all__ = [
    "FlowSource",
    "Shard",
    "SliceOutcome",
    "WorkerPool",
    "campaign_group",
    "campaign_plan",
    "flow_source",
    "parse_shard",
    "play_slice",
]

#: the most worker processes ``--jobs`` takes: more than any machine this runs on has cores
MAX_JOBS = 256
#: the most shards ``--shard`` takes (a CI matrix of more jobs is a typo)
MAX_SHARDS = 1000
#: slices per worker: enough that a slow slice does not leave the others idle
_SLICES_PER_WORKER = 4


# ---------------------------------------------------------------------------
# the plan


def campaign_plan(space: Any, strategy: Any, examples: int, seed: int) -> tuple[tuple[Scenario, ...], int]:
    """Every scenario of a campaign, in order, and how many of them the enumeration phase gave.

    Coverage first (:func:`~harness.chaos._coverage.enumerated`, at most
    :data:`ENUMERATION_SHARE` of ``examples``), then what Hypothesis draws
    from ``strategy`` with ``seed`` for the rest of the budget.
    """
    from hypothesis import given
    from hypothesis import seed as hypothesis_seed

    from harness.chaos._campaign import _explore_settings

    phase = enumerated(space, int(examples * ENUMERATION_SHARE))
    remaining = examples - len(phase)
    drawn: list[Scenario] = []
    if remaining > 0:

        @_explore_settings(remaining)
        @hypothesis_seed(seed)
        @given(strategy)
        def draw(scenario: Scenario) -> None:
            drawn.append(scenario)

        draw()
    return (*phase, *drawn), len(phase)


@contextlib.contextmanager
def scenario_random(seed: int, example: int) -> Iterator[None]:
    """Python's global ``random`` seeded from (campaign seed, example) while one scenario plays.

    An automation that jitters its own retries with ``random`` then behaves
    the same in every process; the caller's random state is put back after.
    """
    state = random.getstate()
    random.seed(f"{seed}:{example}")
    try:
        yield
    finally:
        random.setstate(state)


# ---------------------------------------------------------------------------
# one slice


@dataclass
class SliceOutcome:
    """What playing some scenarios of a plan did, ready to merge in index order.

    ``batches`` holds ``(records, inbox items)`` per recorded scenario when
    the slice was played away from the ledger (in a worker); ``first`` maps
    an oracle class to the lowest example that showed it and its scenario;
    ``refused`` and ``thread_warnings`` are what this slice added to the
    target's (see :class:`~harness.chaos.Target`).
    """

    played: int = 0
    batches: list[tuple[list[Any], list[Any]]] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)
    tried: dict[tuple[str, ...], int] = field(default_factory=dict)
    first: dict[str, tuple[int, Scenario]] = field(default_factory=dict)
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    thread_warnings: dict[str, str] = field(default_factory=dict)


Write = Callable[[list[Any], list[Any]], None]


def play_slice(
    target: Target,
    mode: str,
    items: Sequence[tuple[int, Scenario]],
    *,
    campaign_id: str,
    seed: int,
    write: Write | None = None,
    after: Callable[[], None] | None = None,
) -> SliceOutcome:
    """Play ``items`` (``(example, scenario)``) in ``mode``; judge each and keep what they did.

    ``write(records, inbox_items)`` receives each recorded scenario (the
    ledger, in one process); without it they are kept in ``batches``.  A
    scenario that called a host no fake serves is not recorded (the campaign
    ends in a usage error once every scenario has played).  ``after()`` runs
    after each scenario (progress).
    """
    from harness.chaos._campaign import _count_trigger_faults

    out = SliceOutcome()
    refused_before = dict(target.refused)
    threads_before = set(target.thread_warnings)
    coverage = Coverage.of(target.space)
    for example, scenario in items:
        out.played += 1
        with scenario_random(seed, example):
            run = target.run(scenario, mode, campaign_id=campaign_id, example=example)
        if target.note_refused(run.world.calls):
            if after is not None:
                after()
            continue
        records, inbox = run_records(run, campaign_id=campaign_id, example=example)
        if write is not None:
            write(records, inbox)  # one transaction per scenario: its runs and inbox items
        else:
            out.batches.append((list(records), list(inbox)))
        for kind, n in run.injected.items():
            out.injected[kind] = out.injected.get(kind, 0) + n
        _count_trigger_faults(scenario, out.injected)
        coverage.record(scenario, run)
        for hit in judge(run):
            if hit.oracle not in out.first:
                out.first[hit.oracle] = (example, scenario)
        if after is not None:
            after()
    out.tried = dict(coverage.tried)
    for host, (n, first) in target.refused.items():
        before = refused_before.get(host)
        if before is None:
            out.refused[host] = (n, first)
        elif n > before[0]:
            out.refused[host] = (n - before[0], first)
    out.thread_warnings = {k: v for k, v in target.thread_warnings.items() if k not in threads_before}
    # the target goes back to what it knew before: the slice's share reaches it (or the
    # parent's target) through merge_into, once, in index order
    target.refused.clear()
    target.refused.update(refused_before)
    for name in out.thread_warnings:
        del target.thread_warnings[name]
    return out


def merge_into(
    target: Target, outcome: SliceOutcome, *, injected: dict[str, int], coverage: Coverage,
    first: dict[str, tuple[int, Scenario]],
) -> None:
    """Add one slice's outcome to a campaign's totals (slices must come in index order)."""
    for kind, n in outcome.injected.items():
        injected[kind] = injected.get(kind, 0) + n
    for key, n in outcome.tried.items():
        coverage.tried[key] = coverage.tried.get(key, 0) + n
    for oracle, (example, scenario) in outcome.first.items():
        if oracle not in first or example < first[oracle][0]:
            first[oracle] = (example, scenario)
    for host, (n, where) in outcome.refused.items():
        count, known = target.refused.get(host, (0, where))
        target.refused[host] = (count + n, known)
    for name, warning in outcome.thread_warnings.items():
        target.thread_warnings.setdefault(name, warning)


# ---------------------------------------------------------------------------
# shards


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` (1-based) of ``count``: a contiguous range of the plan's examples."""

    index: int
    count: int

    def indices(self, total: int) -> range:
        """The examples of a ``total``-scenario plan this shard plays (shards tile the plan)."""
        return range((self.index - 1) * total // self.count, self.index * total // self.count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``; anything else is a :class:`~harness.errors.UsageError`."""
    match = _SHARD.match(text or "")
    if match is None:
        raise UsageError(
            f"--shard {text!r}: expected I/N, this job's slice I of N (1-based), such as 1/4; "
            "in a GitHub Actions matrix: --shard ${{ matrix.shard }}/4"
        )
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"--shard {text!r}: N must be from 1 to {MAX_SHARDS}, got {count}")
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: I must be from 1 to N ({count}), got {index}; shards count from 1")
    return Shard(index, count)


def campaign_group(
    flow: str, *, seed: int, examples: int, faults: Sequence[str] = (), passthrough: Sequence[str] = ()
) -> str:
    """The id every shard of one campaign shares: a hash of what defines the campaign's plan."""
    key = "\n".join([flow, str(seed), str(examples), ",".join(faults), ",".join(sorted(passthrough))])
    return "g-" + hashlib.sha256(key.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------
# where a worker loads the flow from


@dataclass(frozen=True)
class FlowSource:
    """How a fresh process loads a flow again.

    ``flow``: a ``"path/to/file.py:ATTR"`` for :func:`~harness.flow.load_flow`;
    else ``automation`` (``PATH.py:FUNCTION`` or ``package.module:function``)
    with ``trigger``.  ``world`` replaces the flow's own world when set.
    """

    name: str
    flow: str | None = None
    automation: str | None = None
    trigger: str | None = None
    world: str | None = None

    def load(self) -> Flow:
        from harness.flow import load_flow
        from harness.triggers import get_trigger

        if self.flow is not None:
            flow = load_flow(self.flow)
            if self.world is not None:
                flow = dataclasses.replace(flow, world=self.world)
        else:
            assert self.automation is not None and self.trigger is not None
            flow = Flow(
                name=self.name, automation=self.automation,
                trigger=get_trigger(self.trigger), world=self.world,
            )
        if flow.name != self.name:
            raise UsageError(
                f"the worker loaded flow {flow.name!r} from {self.flow or self.automation}, "
                f"expected {self.name!r}: the file changed while the campaign ran"
            )
        return flow

    def describe(self) -> str:
        return self.flow or f"{self.automation} --trigger {self.trigger}"


def flow_source(flow: Flow) -> FlowSource:
    """Where ``flow`` came from, for worker processes; a flow built in memory is a usage error."""
    world = flow.world_spec() if flow.world is not None else None
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not str(file).endswith(".py"):
            continue
        for attr, value in list(vars(module).items()):
            if not isinstance(value, Flow) or value.name != flow.name:
                continue
            if value is flow:
                return FlowSource(name=flow.name, flow=f"{file}:{attr}")
            if world is not None and dataclasses.replace(value, world=flow.world) == flow:
                return FlowSource(name=flow.name, flow=f"{file}:{attr}", world=world)
    if isinstance(flow.automation, str) and (flow.world is None or world is not None):
        default = Flow(name=flow.name, automation=flow.automation, trigger=flow.trigger, world=flow.world)
        if default == flow:
            return FlowSource(
                name=flow.name, automation=flow.automation, trigger=flow.trigger.name, world=world,
            )
    raise UsageError(
        f"flow {flow.name!r} was built in memory, so --jobs cannot load it in another process; "
        "declare it in a file (flow = Flow(...)) and pass the file (--flow FILE, or "
        "@pytest.mark.harness(flow='path/to/flow.py')), or check PATH.py:FUNCTION; "
        "a --world must be a PATH.py:FACTORY too"
    )


# ---------------------------------------------------------------------------
# the worker side (runs in the spawned processes)


@dataclass(frozen=True)
class _Job:
    source: FlowSource
    seed: int
    faults: tuple[str, ...]
    passthrough: tuple[str, ...]
    run_timeout: float | None


_TARGETS: dict[_Job, Target] = {}


def _target(job: _Job) -> Target:
    target = _TARGETS.get(job)
    if target is None:
        import harness.orchestrator  # noqa: F401  (as in one process: before any scenario)

        flow = job.source.load()
        target = _TARGETS[job] = Target(
            flow, seed=job.seed, faults=job.faults, passthrough=job.passthrough
        )
    return target


def _broken(exc: BaseException) -> str:
    from harness._watchdog import location_of_traceback

    where = location_of_traceback(exc.__traceback__)
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, Exception) or type(exc).__module__.startswith("harness"):
        return text
    return f"{type(exc).__name__}: {text}" + (f" at {where}" if where else "")


def _guarded(job: _Job, budget: float | None, fn: Callable[[Target], Any]) -> tuple[str, Any]:
    """Run ``fn`` on the worker's target under the watchdog; every failure becomes a message."""
    from harness._watchdog import Watchdog, exit_guard

    try:
        with exit_guard(), Watchdog(run_timeout=job.run_timeout, campaign_timeout=budget):
            # loading the flow and its discovery runs call the automation: guarded too
            return "ok", fn(_target(job))
    except BaseException as exc:  # reported to the parent, which breaks the run
        # exceptions cross the process boundary as text: a harness error with keyword-only
        # fields (AutomationExited) would not unpickle in the parent
        return "broken", _broken(exc)


def _work_warm(job: _Job, budget: float | None) -> tuple[str, Any]:
    return _guarded(job, budget, lambda t: None)


def _work_slice(
    job: _Job, budget: float | None, mode: str, cid: str, items: list[tuple[int, Scenario]]
) -> tuple[str, Any]:
    return _guarded(
        job, budget, lambda t: play_slice(t, mode, items, campaign_id=cid, seed=job.seed)
    )


def _work_shrink(
    job: _Job, budget: float | None, mode: str, oracle: str, scenario: Scenario
) -> tuple[str, Any]:
    from harness.chaos._campaign import _shrink

    return _guarded(job, budget, lambda t: _shrink(t, mode, oracle, scenario))


# ---------------------------------------------------------------------------
# the parent side


class WorkerPool:
    """``jobs`` spawned worker processes that play slices and shrink findings for one campaign."""

    def __init__(
        self, jobs: int, source: FlowSource, *, seed: int, faults: Sequence[str],
        passthrough: Sequence[str], run_timeout: float | None, deadline: float | None,
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.jobs = jobs
        self._job = _Job(source, seed, tuple(faults), tuple(passthrough), run_timeout or None)
        self._deadline = deadline
        # forkserver where there is one (Linux, macOS): a clean single-threaded server process
        # imports the harness once and forks each worker from it, so a worker does not pay the
        # imports again (about a second each on a loaded machine); spawn elsewhere (Windows)
        context: Any
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["harness.chaos._jobs", "harness.orchestrator"])
        else:
            context = multiprocessing.get_context("spawn")
        self._executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
        self._warming: list[Any] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self._executor.shutdown(wait=True)
        else:
            self.terminate()

    def terminate(self) -> None:
        """Stop every worker now (a broken or interrupted campaign must not leave them running)."""
        processes = list(getattr(self._executor, "_processes", {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            with contextlib.suppress(Exception):
                p.terminate()
        for p in processes:
            with contextlib.suppress(Exception):
                p.join(5)

    def warm(self) -> None:
        """Start the workers and their discovery runs now, while the caller does its own work.

        What a warm-up finds (a flow that does not load) is said by the first real task.
        """
        self._warming = [self._executor.submit(_work_warm, self._job, self._budget()) for _ in range(self.jobs)]

    def _died(self) -> RunBrokenError:
        return RunBrokenError(
            f"a worker process of --jobs {self.jobs} died mid-campaign while playing "
            f"{self._job.source.describe()}; the automation ended the process (a signal, a "
            "crash in native code, running out of memory), so the campaign has no verdict; "
            "rerun with --jobs 1 to see where"
        )

    def _budget(self) -> float | None:
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.001)

    def map(self, calls: Sequence[tuple[Callable[..., tuple[str, Any]], tuple[Any, ...]]]) -> Iterator[Any]:
        """Submit every call; yield their results in submission order as they become available."""
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        try:
            futures = [self._executor.submit(fn, self._job, self._budget(), *args) for fn, args in calls]
        except BrokenProcessPool:
            raise self._died() from None  # a worker died before (warming up, in a slice)
        for future in futures:
            # a short wait in a loop rather than result(): the campaign deadline is checked
            # between waits, and a KeyboardInterrupt is delivered at once
            while not future.done():
                wait([future], timeout=0.25, return_when=FIRST_COMPLETED)
                if self._deadline is not None and time.monotonic() > self._deadline + 5:
                    raise RunBrokenError(
                        "the campaign ran past its limit (--campaign-timeout) while its worker "
                        "processes were still playing; raise it or run fewer --examples"
                    )
            try:
                status, payload = future.result()
            except BrokenProcessPool:
                raise self._died() from None
            except Exception as exc:
                # a slice or its outcome that cannot cross the process boundary (pickling)
                raise RunBrokenError(
                    f"--jobs {self.jobs}: a worker's task failed outside the automation "
                    f"({type(exc).__name__}: {exc}); rerun with --jobs 1"
                ) from None
            if status != "ok":
                raise RunBrokenError(f"in a worker process (--jobs {self.jobs}): {payload}")
            yield payload


def slices(items: Sequence[Any], jobs: int) -> list[Sequence[Any]]:
    """``items`` cut into contiguous slices, a few per worker (the cut never changes a result)."""
    if not items:
        return []
    size = max(1, -(-len(items) // (jobs * _SLICES_PER_WORKER)))
    return [items[i : i + size] for i in range(0, len(items), size)]
