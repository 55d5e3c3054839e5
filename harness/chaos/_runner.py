"""Play one scenario against a fresh world of fakes, in bare or orchestrated mode.

A :class:`Target` is a flow bound to a seed: it owns the handler, the object
ids of the seeded world, what the automation reads for each object, and a
cache of reference runs (the same objects delivered once each, no faults, in
a fresh world from the same seed).  :meth:`Target.run` plays a
:class:`~harness.chaos.Scenario` and returns a :class:`ScenarioRun` that the
oracles judge: the world (its ``calls`` and ``writes`` logs are the ground
truth), one :class:`DeliveryResult` per delivery and the reference.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any

from harness._aio import call as call_automation
from harness._shared.redact import redact_text
from harness._shared.wire import VirtualClock, real_time
from harness._watchdog import run_limit
from harness.chaos._effects import is_primary
from harness.chaos._faults import TransportInjector, endpoint_in, get_fault
from harness.chaos._scenario import Deliver, InjectFault, Scenario, SetValue, Step
from harness.chaos._strategies import ScenarioSpace
from harness.chaos._ticks import Ticker
from harness.chaos._time import virtual_time
from harness.chaos._values import (
    RecordBreak,
    RecordBreaker,
    break_path,
    record_fields,
)
from harness.errors import InvalidValueError, UsageError
from harness.flow import Flow, check_declarations
from harness.systems import Call, World, Write, passthrough_endpoints

if TYPE_CHECKING:
    from harness.ledger.records import EndState

__all__ = ["DeliveryResult", "Reference", "ScenarioRun", "Target", "wall_now"]

#: how many of the world's objects scenarios deliver
MAX_OBJECTS = 5
#: the label the world puts on a call to a host no fake serves
UNFAKED = "unfaked_host"



@contextlib.contextmanager
def _quiet_unconfigured_logging() -> Iterator[None]:
    """Inside scenarios, drop log records that would reach Python's last-resort stderr handler.

    An automation that logs a warning per retry would otherwise print
    thousands of lines during a campaign; handlers the user configured still
    receive everything.
    """
    previous = logging.lastResort
    logging.lastResort = logging.NullHandler()
    try:
        yield
    finally:
        logging.lastResort = previous


def wall_now() -> float:
    """Real epoch seconds, also inside a scenario's virtual time."""
    return real_time()


@dataclass
class DeliveryResult:
    """What one delivery did: its event, its outcome as the automation reported it."""

    index: int
    step: Deliver
    tag: str
    object_key: str
    event: dict[str, Any]
    delivery_kind: str
    is_duplicate: bool
    segment: str
    started_at: float
    ended_at: float
    wall_started: float
    wall_ended: float
    _: KW_ONLY
    value: Any = None
    error: BaseException | None = None
    ok: bool = True
    end_state: EndState = "succeeded"
    run: Any = None  # the orchestrator's RunRecord in orchestrated mode
    inbox_item: Any = None

    @property
    def explicit_failure(self) -> bool:
        """The automation raised or reported failure (or the orchestrator ended it failed)."""
        return self.end_state == "failed" or self.error is not None or not self.ok


@dataclass(frozen=True)
class Reference:
    """The same objects delivered once each without faults: what the effects should be."""

    creates: Mapping[str, Mapping[tuple[str, str], int]]  # primary creates (see _effects)
    writes: Mapping[str, tuple[Write, ...]]
    calls: Mapping[str, tuple[Call, ...]]
    ok: Mapping[str, bool]


@dataclass
class ScenarioRun:
    """A finished scenario in one mode, ready for the oracles."""

    scenario: Scenario
    mode: str
    flow: Flow
    world: World
    clock: VirtualClock
    deliveries: list[DeliveryResult]
    reference: Reference
    injected: dict[str, int]
    _: KW_ONLY
    inbox: list[Any] = field(default_factory=list)

    def tags_of(self, object_key: str) -> set[str]:
        return {d.tag for d in self.deliveries if d.object_key == object_key}

    def delivery_by_tag(self) -> dict[str, DeliveryResult]:
        return {d.tag: d for d in self.deliveries}


class Target:
    """A flow bound to a world seed: the context every scenario of a campaign shares."""

    def __init__(
        self,
        flow: Flow,
        *,
        seed: int,
        world_factory: Callable[[int, VirtualClock], World] | None = None,
        faults: Sequence[str] = (),
        max_deliveries: int = 3,
        max_faults: int = 3,
        passthrough: Sequence[str] = (),
    ) -> None:
        self.flow = flow
        self.seed = seed
        self._passthrough = (*flow.passthrough, *passthrough)
        self.handler = flow.handler()
        self._world_factory = world_factory or _flow_world(flow) or _standard_world
        #: the first line of a printed scenario: which world, from which seed
        self.world_name = flow.world_name()
        self._references: dict[tuple[int, ...], Reference] = {}
        self._segments: dict[int, str] = {}
        self._pool: dict[str, tuple[World, Any]] = {}
        self.noun = _noun(flow)
        self.values: dict[tuple[int, str, str], Any] = {}
        #: objects the automation fails for without any fault (object index -> why)
        self.baseline_failures: dict[int, str] = {}
        #: alerts the orchestrator raised in campaigns: (sink spec, alert), recorded, never sent
        self.alerts_sent: list[tuple[str, Any]] = []
        #: threads the automation left running after a delivery (name -> warning)
        self.thread_warnings: dict[str, str] = {}
        #: hosts no fake serves that the automation called (host -> calls, first call)
        self.refused: dict[str, tuple[int, str]] = {}
        self.space, self.object_ids, self.reads = self._discover(faults, max_deliveries, max_faults)

    # -- worlds and events -------------------------------------------------------

    def new_world(self, role: str = "fresh") -> tuple[World, VirtualClock]:
        """A world as the seed makes it, with a new clock at the origin.

        Worlds are built once per ``role`` and put back to their seeded state
        (a snapshot restore, far cheaper than seeding again) for each later
        use; a world handed out for a role is valid until that role's next
        use.  ``"fresh"`` always builds a new world.
        """
        clock = VirtualClock()
        if self.flow.reset is not None:
            self._reset()
        pooled = self._pool.get(role)
        if pooled is not None:
            world, snap = pooled
            world.restore(snap)
            world.clock = clock
            world.interceptors.clear()
            world.tag = None
            return world, clock
        world = self._world_factory(self.seed, clock)
        if self._passthrough:
            world.passthrough = (*world.passthrough, *passthrough_endpoints(self._passthrough))
        if role != "fresh":
            # a world with systems that cannot be restored is built anew each time
            with contextlib.suppress(AttributeError, TypeError):
                self._pool[role] = (world, world.snapshot())
        return world, clock

    def note_refused(self, calls: Iterable[Call]) -> int:
        """Remember the calls the world refused (no fake serves their host); how many there were."""
        n = 0
        for call in calls:
            if call.fault != UNFAKED:
                continue
            n += 1
            count, first = self.refused.get(call.system, (0, f"{call.method} {call.url}"))
            self.refused[call.system] = (count + 1, first)
        return n

    def _reset(self) -> None:
        """The flow's reset hook: state outside HTTP goes back to its start with the world."""
        assert self.flow.reset is not None
        try:
            self.flow.reset()
        except Exception as exc:
            raise UsageError(
                f"flow {self.flow.name!r}: its reset hook raised {type(exc).__name__}: {exc}; "
                "reset must put the automation's own state back without failing"
            ) from None

    def _objects(self, world: World) -> list[str]:
        trigger = self.flow.trigger
        if trigger.objects is None:
            raise InvalidValueError(f"trigger {trigger.name!r} cannot list the world's objects")
        return [str(o) for o in trigger.objects(world)]

    def _ticker(self, world: World, clock: VirtualClock) -> Ticker | None:
        """Ticks for a schedule trigger (``None`` for a webhook): see :mod:`harness.chaos._ticks`."""
        schedule = self.flow.trigger.schedule
        if schedule is None:
            return None
        return Ticker(schedule, world, clock, self.object_ids, self.seed)

    def make_event(self, world: World, obj: int, n: int) -> dict[str, Any]:
        """Object ``obj``'s event number ``n`` (0: the original), the same in every world."""
        trigger = self.flow.trigger
        if trigger.make_event is None:
            raise InvalidValueError(f"trigger {trigger.name!r} cannot make events")
        rng = random.Random(f"{self.seed}:{obj}:{n}")
        return dict(trigger.make_event(world, self.object_ids[obj], rng))

    # -- discovery --------------------------------------------------------------------

    def _discover(
        self, faults: Sequence[str], max_deliveries: int, max_faults: int
    ) -> tuple[ScenarioSpace, list[str], dict[int, dict[str, str]]]:
        """Deliver each object once without faults to learn what the automation calls and reads."""
        world, clock = self.new_world()
        # a typo in a declared effect or write contract fails here, before any scenario runs
        check_declarations(self.flow, world)
        # scenarios draw from the first few objects: enough to interleave deliveries and
        # mix segments, few enough that reference runs are shared between scenarios
        object_ids = self._objects(world)[:MAX_OBJECTS]
        if not object_ids:
            raise UsageError(
                f"trigger {self.flow.trigger.name!r} found no objects in the world of seed "
                f"{self.seed}; a scenario needs at least one object to deliver"
            )
        self.object_ids = object_ids
        endpoints: dict[tuple[str, str], None] = {}
        targets: dict[tuple[str, str], None] = {}
        reads: dict[int, dict[str, str]] = {}
        trigger = self.flow.trigger
        defining = frozenset(trigger.defining)
        for f in trigger.contract.fields:
            if not any(f.name == d or f.name.startswith(d + ".") for d in defining):
                targets[("event", f.name)] = None
        ticker = self._ticker(world, clock)
        with world.activate(), virtual_time(clock), _quiet_unconfigured_logging():
            for i in range(len(object_ids)):
                event = ticker.original(i) if ticker else self.make_event(world, i, 0)
                tag = f"discover{i}"
                with world.tagged(tag):
                    try:
                        value = self._invoke(copy.deepcopy(event), tag, clock)
                        if not self.flow.result(value):
                            self.baseline_failures[i] = redact_text(f"returned {value!r}")[:300]
                    except Exception as exc:
                        self.baseline_failures[i] = redact_text(f"{type(exc).__name__}: {exc}")[:300]
                # records the automation made itself are not the world's: their ids differ
                # from one scenario to the next, so only records it read are targets
                made = {(w.system, w.object_id) for w in world.writes if w.action == "create"}
                self.note_refused(c for c in world.calls if c.tag == tag)
                for call in world.calls:
                    if call.tag != tag or call.fault == UNFAKED:
                        continue
                    endpoint = endpoint_in(world, call.system, call.method, call.request.path)
                    endpoints[(call.system, endpoint)] = None
                    if call.method != "GET" or call.response is None:
                        continue
                    descriptor = world.descriptor(call.system)
                    for kind, rid, name, val in record_fields(descriptor, endpoint, call.response):
                        if (call.system, rid) in made:
                            continue
                        if ticker is not None and not ticker.breakable(i, rid, name):
                            continue
                        target = f"{call.system}.{kind}"
                        # the first record of a kind read for this object is the one broken
                        if reads.setdefault(i, {}).setdefault(target, rid) != rid:
                            continue
                        targets[(target, name)] = None
                        self.values[(i, target, name)] = val
        space = ScenarioSpace(
            seed=self.seed,
            objects=len(object_ids),
            endpoints=tuple(endpoints),
            value_targets=tuple(targets),
            noun=self.noun,
            faults=tuple(faults),
            max_deliveries=max_deliveries,
            max_faults=max_faults,
            ticks=trigger.schedule is not None,
        )
        return space, object_ids, reads

    # -- the reference ----------------------------------------------------------------

    def labels(self) -> dict[int, str]:
        """Object index -> the object's id in the world (for printed programs)."""
        return {i: f"{self.flow.trigger.system} {self.noun} {oid}" for i, oid in enumerate(self.object_ids)}

    def object_key(self, event: Mapping[str, Any], obj: int) -> str:
        schedule = self.flow.trigger.schedule
        if schedule is not None:
            # a tick is judged by the object that changed before it, not by the tick
            return str(schedule.key(self.object_ids[obj]))
        try:
            return str(self.flow.trigger.object_key(event))
        except Exception:
            # a broken event still belongs to the object it was made for
            return f"{self.noun}:{self.object_ids[obj]}"

    def segment(self, obj: int) -> str:
        if obj not in self._segments:
            world, clock = self.new_world("reference")
            with world.activate(), virtual_time(clock), world.tagged("segment"), _quiet_unconfigured_logging():
                event = (
                    dict(self.flow.trigger.example)
                    if self.flow.trigger.schedule is not None
                    else self.make_event(world, obj, 0)
                )
                self._segments[obj] = self.flow.segment_for(event)
        return self._segments[obj]

    def reference(self, objects: Sequence[int]) -> Reference:
        """The reference run for ``objects`` in this order (cached)."""
        key = tuple(objects)
        cached = self._references.get(key)
        if cached is not None:
            return cached
        world, clock = self.new_world("reference")
        ok: dict[str, bool] = {}
        keys: dict[str, str] = {}
        ticker = self._ticker(world, clock)
        with world.activate(), virtual_time(clock), _quiet_unconfigured_logging():
            events = [] if ticker else [self.make_event(world, obj, 0) for obj in key]
            for pos, obj in enumerate(key):
                event = ticker.original(obj) if ticker else events[pos]
                okey = self.object_key(event, obj)
                tag = f"ref:{obj}"
                keys[tag] = okey
                with world.tagged(tag):
                    try:
                        value = self._invoke(copy.deepcopy(event), tag, clock)
                        ok[okey] = bool(self.flow.result(value))
                    except Exception:
                        ok[okey] = False
        creates: dict[str, dict[tuple[str, str], int]] = {k: {} for k in keys.values()}
        writes: dict[str, list[Write]] = {k: [] for k in keys.values()}
        calls: dict[str, list[Call]] = {k: [] for k in keys.values()}
        for w in world.writes:
            wkey = keys.get(w.tag or "")
            if wkey is None:
                continue
            writes[wkey].append(w)
            if is_primary(w):
                counts = creates[wkey]
                counts[(w.system, w.kind)] = counts.get((w.system, w.kind), 0) + 1
        for c in world.calls:
            ckey = keys.get(c.tag or "")
            if ckey is not None:
                calls[ckey].append(c)
        ref = Reference(
            creates=creates,
            writes={k: tuple(v) for k, v in writes.items()},
            calls={k: tuple(v) for k, v in calls.items()},
            ok=ok,
        )
        if len(self._references) > 512:
            self._references.clear()
        self._references[key] = ref
        return ref

    # -- one scenario -----------------------------------------------------------------

    def run(
        self,
        scenario: Scenario,
        mode: str,
        *,
        campaign_id: str | None = None,
        example: int | None = None,
        ledger: Any = None,
    ) -> ScenarioRun:
        """Play ``scenario`` in ``mode`` (``bare`` or ``orchestrated``) in a fresh world.

        The world is this target's pooled ``"run"`` world put back to its
        seeded state: the returned :class:`ScenarioRun` (its ``world``) is valid
        until the next call of :meth:`run` on this target.  Objects and steps
        naming an object the world does not have are skipped.
        """
        order = self._delivery_order(scenario)
        # the reference delivers the same objects in index order: scenarios over the
        # same objects share it (records a world makes once, such as a support desk's agent
        # user on the first ticket, may then sit on another object: the oracles
        # compare totals for that)
        reference = self.reference(sorted(order))
        segments = {obj: self.segment(obj) for obj in order}
        world, clock = self.new_world("run")
        injector = TransportInjector(clock, world)
        breaker = RecordBreaker(
            world.descriptor, lambda system, method, path: endpoint_in(world, system, method, path)
        )
        results: list[DeliveryResult] = []
        inbox: list[Any] = []
        orchestrator = None
        if mode == "orchestrated":
            orchestrator = self._orchestrator(clock, ledger, inbox, world)
        ticker = self._ticker(world, clock)
        with world.activate(), virtual_time(clock), _quiet_unconfigured_logging():
            canonical = {} if ticker else {obj: self.make_event(world, obj, 0) for obj in order}
            world.interceptors.append(injector)
            # the record breaker sits under the injector: a fault answered before the
            # fake carries no record, a record that came back is broken on its way out
            world.interceptors.append(breaker)
            last: dict[int, dict[str, Any]] = {}
            made: dict[int, int] = {}
            event_breaks: dict[int, list[SetValue]] = {}
            seen_objects: set[int] = set()
            earliest: int | None = None
            for step in scenario.steps:
                if self._arm(step, injector, breaker, event_breaks):
                    continue
                assert isinstance(step, Deliver)  # _arm took every other kind of step
                event = (
                    _tick_for(ticker, step)
                    if ticker
                    else self._event_for(world, step, canonical, last, made)
                )
                # a broken event still belongs to the object it was made for, also when the
                # broken field is the object key itself
                okey = self.object_key(event, step.obj)
                earliest = _break_event(event, step, event_breaks.get(step.obj, ()), earliest)
                kind = step.kind if step.kind != "original" else ("reordered" if step.late else "original")
                is_dup = step.obj in seen_objects
                seen_objects.add(step.obj)
                tag = f"d{len(results)}"
                results.append(
                    self._deliver(
                        segments, world, clock, step, tag, event, kind, is_dup, orchestrator,
                        campaign_id=campaign_id, example=example, index=len(results), okey=okey,
                    )
                )
        return ScenarioRun(
            scenario=scenario,
            mode=mode,
            flow=self.flow,
            world=world,
            clock=clock,
            deliveries=results,
            reference=reference,
            injected=dict(injector.injected),
            inbox=inbox,
        )

    def _delivery_order(self, scenario: Scenario) -> list[int]:
        """The objects ``scenario`` delivers that this world has, in order of first delivery."""
        order: list[int] = []
        for d in scenario.deliveries:
            if d.obj < len(self.object_ids) and d.obj not in order:
                order.append(d.obj)
        return order

    def _arm(
        self,
        step: Step,
        injector: TransportInjector,
        breaker: RecordBreaker,
        event_breaks: dict[int, list[SetValue]],
    ) -> bool:
        """Arm a fault step or keep a value break; True unless ``step`` delivers an object the world has."""
        if isinstance(step, InjectFault):
            injector.arm(
                get_fault(step.fault), step.system, step.endpoint, dict(step.params), step.times
            )
            return True
        if isinstance(step, SetValue):
            if step.obj >= len(self.object_ids):
                return True
            if step.target == "event":
                event_breaks.setdefault(step.obj, []).append(step)
            else:
                self._break_record(breaker, step)
            return True
        return step.obj >= len(self.object_ids)

    def _event_for(
        self,
        world: World,
        step: Deliver,
        canonical: dict[int, dict[str, Any]],
        last: dict[int, dict[str, Any]],
        made: dict[int, int],
    ) -> dict[str, Any]:
        attempt_field = self.flow.trigger.attempt_field
        # a vendor whose retries keep the event id (Stripe) redelivers the same event
        same_event = step.kind == "duplicate" or (
            step.kind == "redelivery" and self.flow.trigger.redelivery_keeps_id
        )
        if same_event:
            event = copy.deepcopy(last.get(step.obj, canonical[step.obj]))
            if attempt_field is not None:
                previous = event.get(attempt_field)
                event[attempt_field] = (previous if isinstance(previous, int) else 0) + 1
        elif step.kind == "redelivery":
            made[step.obj] = made.get(step.obj, 0) + 1
            event = self.make_event(world, step.obj, made[step.obj])
        else:
            event = copy.deepcopy(canonical[step.obj])
        last[step.obj] = copy.deepcopy(event)
        return event

    def _break_record(self, breaker: RecordBreaker, step: SetValue) -> None:
        """Arm a bad value on the record object ``step.obj``'s run read of ``step.target``."""
        target = step.target if "." in step.target else f"{self.flow.trigger.system}.{step.target}"
        record_id = self.reads.get(step.obj, {}).get(target)
        if record_id is None:
            return
        system, _, kind = target.partition(".")
        breaker.arm(RecordBreak(system=system, kind=kind, record_id=record_id, name=step.name, how=step.how))

    def _orchestrator(self, clock: VirtualClock, ledger: Any, inbox: list[Any], world: World) -> Any:
        from harness.orchestrator import MemoryDedupe, Orchestrator

        def sink(run: Any, item: Any) -> None:
            inbox.append((run, item))

        from harness.orchestrator import Alerter, recorded_sinks

        # a campaign runs on fake data: its alerts go to a recorded sink, never to the
        # policy's real webhook or mail server
        alerts = Alerter(
            self.flow.policy.alerts, clock=clock,
            sinks=recorded_sinks(self.flow.policy.alerts, into=self.alerts_sent),
        )
        return Orchestrator(
            self.flow,
            ledger=ledger,
            clock=clock,
            rng=random.Random(self.seed),
            dedupe=MemoryDedupe(),
            sink=sink,
            alerts=alerts,
            # the world's own systems first: the orchestrator asks their descriptors
            # which host is which system, which take idempotency keys, which have guards
            systems=[world.descriptor(s.name) for s in world.systems],
        )

    def _invoke(self, event: dict[str, Any], tag: str, clock: VirtualClock) -> Any:
        """Call the automation outside a delivery (discovery, reference runs), reaping its threads."""
        before = set(threading.enumerate())
        try:
            with run_limit(f"the automation (delivery {tag})"):
                return call_automation(self.handler, event, clock)
        finally:
            self._reap_threads(before, tag)

    def _reap_threads(self, before: set[threading.Thread], tag: str) -> None:
        """Wait for threads the automation started and left running, while its world is active.

        A thread that outlives its run would make calls into a later scenario's
        world, or, once the campaign ends and the interception is gone, into the
        real network.  So each one is joined here (its calls stay attributed to
        this delivery) and named in a warning; one still alive after
        :data:`THREAD_GRACE` seconds is named as such.
        """
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        for thread in left:
            thread.join(THREAD_GRACE)
            still = " and it was still running after the grace period" if thread.is_alive() else ""
            self.thread_warnings.setdefault(
                thread.name,
                f"the automation left a thread running after it returned ({thread.name!r}, in "
                f"delivery {tag}){still}; the harness waited for it so its calls stay in this "
                "run, but in production nobody waits: join your threads before returning",
            )

    def _deliver(
        self,
        segments: Mapping[int, str],
        world: World,
        clock: VirtualClock,
        step: Deliver,
        tag: str,
        event: dict[str, Any],
        kind: str,
        is_dup: bool,
        orchestrator: Any,
        *,
        campaign_id: str | None,
        example: int | None,
        index: int,
        okey: str,
    ) -> DeliveryResult:
        result = DeliveryResult(
            index=index, step=step, tag=tag, object_key=okey, event=copy.deepcopy(event),
            delivery_kind=kind, is_duplicate=is_dup, segment=segments.get(step.obj, "unknown"),
            started_at=clock.now(), ended_at=clock.now(), wall_started=wall_now(), wall_ended=0.0,
        )
        before = set(threading.enumerate())
        with world.tagged(tag), run_limit(f"the automation (delivery {tag})"):
            if orchestrator is None:
                try:
                    result.value = call_automation(self.handler, event, clock)
                    result.ok = bool(self.flow.result(result.value))
                    result.end_state = "succeeded" if result.ok else "failed"
                except (Exception, SystemExit) as exc:
                    result.error = exc
                    result.ok = False
                    result.end_state = "failed"
            else:
                from harness.orchestrator import DeliveryInfo

                info = DeliveryInfo(
                    campaign_id=campaign_id, seed=self.seed, example=example, delivery=index,
                    delivery_kind=kind, is_duplicate=is_dup, segment=result.segment, tag=tag,
                )
                rr = orchestrator.handle(event, delivery=info)
                result.run = rr.run
                result.inbox_item = rr.inbox_item
                result.value = rr.value
                result.error = rr.error
                result.end_state = rr.end_state
                result.ok = rr.end_state in ("succeeded", "suppressed")
            self._reap_threads(before, tag)
        result.ended_at = clock.now()
        result.wall_ended = wall_now()
        return result


#: seconds (wall) the harness waits for a thread the automation left running
THREAD_GRACE = 5.0


def _break_event(
    event: dict[str, Any], step: Deliver, breaks: Iterable[SetValue], earliest: int | None
) -> int | None:
    """Break ``event``'s fields as ``breaks`` say and make it late if ``step`` is; the new earliest time."""
    for brk in breaks:
        # a nested field is broken where it lives, never as a top-level "a.b" key
        break_path(event, brk.name, brk.how)
    if step.late and earliest is not None and isinstance(event.get("occurredAt"), int):
        # happened a minute before anything delivered so far, arrives now
        event["occurredAt"] = earliest - 60_000
    if isinstance(event.get("occurredAt"), int):
        occ = int(event["occurredAt"])
        earliest = occ if earliest is None else min(earliest, occ)
    return earliest


def _tick_for(ticker: Ticker, step: Deliver) -> dict[str, Any]:
    if step.kind == "duplicate":
        return ticker.double(step.obj)
    if step.kind == "redelivery":
        return ticker.overlapping(step.obj)
    return ticker.original(step.obj, late=step.late)


def _noun(flow: Flow) -> str:
    if flow.trigger.noun:
        return flow.trigger.noun
    parts = flow.trigger.name.split(".")
    return parts[1] if len(parts) > 2 else "obj"


def _flow_world(flow: Flow) -> Callable[[int, VirtualClock], World] | None:
    """The flow's own world factory, adapted to a campaign's clock (``None``: none declared)."""
    factory = flow.world_factory()
    if factory is None:
        return None
    spec = flow.world_spec() or flow.world_name()

    def build(seed: int, clock: VirtualClock) -> World:
        try:
            world = factory(seed)
        except Exception as exc:
            raise UsageError(
                f"world {spec!r}: FACTORY({seed}) raised {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(world, World):
            raise UsageError(
                f"world {spec!r}: FACTORY(seed) must return a harness.systems.World, got "
                f"{type(world).__name__}; build one with standard_world(seed) and World.add, "
                "or World([...])"
            )
        # the campaign's virtual clock drives every fake of the world
        world.clock = clock
        return world

    return build


def _standard_world(seed: int, clock: VirtualClock) -> World:
    from harness.systems import standard_world

    world: World = standard_world(seed, clock=clock)
    return world


