"""What users would pick instead of the harness, each running the same three-call automation.

Variants of workload 1 (``run_variant``): ``bare`` (the automation called
directly), ``tenacity`` (each call wrapped in ``tenacity.retry``, the usual
way), ``dbos`` (DBOS Transact: a workflow of three steps, SQLite system
database, the deal's key as workflow id), ``prefect`` (a Prefect flow of three
tasks against Prefect's local ephemeral API server on 127.0.0.1) and
``orchestrated`` (the harness's :class:`~harness.orchestrator.Orchestrator`
with a SQLite ledger: dedupe claim and every run written at once).  Every
variant retries only transient errors, up to 5 attempts per call (per run for
the orchestrator, which journals the calls already done), and none of them
spends wall time in backoff: the waits are zero or, for the orchestrator,
on a virtual clock.  Each variant sees the same :class:`~benchmarks.workloads.MockedApis`.

Workload 2's baseline is :func:`handwritten_fault_test`: the Hypothesis +
``responses`` property test a careful engineer writes by hand for the same
automation.

DBOS and Prefect run in a child process (``python -m benchmarks.baselines``)
so that their global state, logging set-up and background threads never touch
the parent; the child prints one JSON line.  Neither reaches the network:
DBOS uses a SQLite file in a temporary directory; Prefect's ephemeral server
binds to 127.0.0.1, analytics and telemetry are off.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from benchmarks.workloads import (
    Effects,
    MockedApis,
    create_customer,
    create_ticket,
    events,
    get_deal,
    three_call,
)

__all__ = [
    "CHILD_VARIANTS",
    "VARIANTS",
    "Session",
    "Unavailable",
    "VariantRun",
    "handwritten_fault_test",
    "run_variant",
    "run_variant_in_child",
]

VARIANTS = ("bare", "tenacity", "orchestrated", "dbos", "prefect")
#: variants run in a child process (heavy global state)
CHILD_VARIANTS = ("dbos", "prefect")
MAX_ATTEMPTS = 5


class Unavailable(Exception):
    """A variant cannot run here (not installed, cannot start offline); the message says why."""


@dataclass(frozen=True)
class VariantRun:
    """One timed pass of a variant over ``n`` won deals."""

    variant: str
    n: int
    fault_rate: float
    seconds: float
    succeeded: int
    effects: Effects


def _transient(exc: BaseException) -> bool:
    """The retry predicate every variant uses: connection errors, timeouts, 5xx, 429."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


# -- in-process variants -------------------------------------------------------------


def _bare(evts: Sequence[Mapping[str, Any]]) -> int:
    ok = 0
    for e in evts:
        try:
            three_call(e)
            ok += 1
        except requests.RequestException:
            pass
    return ok


def _tenacity_steps() -> Callable[[Mapping[str, Any]], Any]:
    import tenacity

    retry = tenacity.retry(
        stop=tenacity.stop_after_attempt(MAX_ATTEMPTS),
        wait=tenacity.wait_random_exponential(multiplier=1, max=60),
        retry=tenacity.retry_if_exception(_transient),
        sleep=lambda _s: None,  # no wall time in backoff, as for every variant
        reraise=True,
    )
    t_get, t_customer, t_ticket = retry(get_deal), retry(create_customer), retry(create_ticket)

    def automation(event: Mapping[str, Any]) -> Any:
        deal_id = str(event["objectId"])
        props = t_get(deal_id)
        return t_ticket(deal_id, props, t_customer(deal_id, props))

    return automation


def _loop(automation: Callable[[Mapping[str, Any]], Any], evts: Sequence[Mapping[str, Any]]) -> int:
    ok = 0
    for e in evts:
        try:
            automation(e)
            ok += 1
        except requests.RequestException:
            pass
    return ok


class _Orchestrated:
    """The harness's orchestrator with a durable SQLite ledger in a temporary directory."""

    def __init__(self) -> None:
        import random

        from harness import VirtualClock
        from harness.flow import Flow
        from harness.ledger import Ledger
        from harness.orchestrator import Orchestrator
        from harness.policy import Policy, RetryPolicy
        from harness.triggers import get_trigger

        self._tmp = tempfile.TemporaryDirectory(prefix="harness-bench-")
        self.ledger = Ledger.open(f"sqlite:///{Path(self._tmp.name) / 'ledger.db'}")
        flow = Flow(
            name="bench_three_call",
            automation=three_call,
            trigger=get_trigger("hubspot.deal.closedwon"),
            dedupe_key="deal:{objectId}",
            policy=Policy(retry=RetryPolicy(max_attempts=MAX_ATTEMPTS)),
        )
        self.orch = Orchestrator(
            flow, ledger=self.ledger, clock=VirtualClock(), rng=random.Random(0)
        )

    def __call__(self, evts: Sequence[Mapping[str, Any]]) -> int:
        return sum(1 for e in evts if self.orch.handle(e).end_state == "succeeded")

    def recorded(self) -> int:
        return int(self.ledger.info().runs)

    def close(self) -> None:
        self.ledger.close()
        self._tmp.cleanup()


# -- DBOS -------------------------------------------------------------------------------

_DBOS_WORKFLOW: Any = None


def _dbos_setup(directory: Path) -> Callable[[Mapping[str, Any]], Any]:
    global _DBOS_WORKFLOW
    try:
        from dbos import DBOS, SetWorkflowID
    except ImportError as exc:
        raise Unavailable(f"dbos is not installed ({exc}); pip install -e '.[bench]'") from None
    os.environ.setdefault("DBOS__CLOUD", "false")
    DBOS(
        config={
            "name": "harness_bench",
            "system_database_url": f"sqlite:///{directory / 'dbos.sqlite'}",
            "log_level": "WARNING",
            "enable_otlp": False,
        }
    )
    if _DBOS_WORKFLOW is None:
        step = DBOS.step(
            retries_allowed=True, interval_seconds=0.0, max_attempts=MAX_ATTEMPTS, backoff_rate=1.0,
            should_retry=_transient,
        )
        s_get, s_customer, s_ticket = step(get_deal), step(create_customer), step(create_ticket)

        @DBOS.workflow()
        def bench_three_call(event: dict[str, Any]) -> int:
            deal_id = str(event["objectId"])
            props = s_get(deal_id)
            return s_ticket(deal_id, props, s_customer(deal_id, props))

        _DBOS_WORKFLOW = bench_three_call
    DBOS.launch()
    workflow = _DBOS_WORKFLOW

    def automation(event: Mapping[str, Any]) -> Any:
        # the deal's key as workflow id: DBOS's way to run a deal's workflow once
        with SetWorkflowID(f"deal-{event['objectId']}"):
            return workflow(dict(event))

    return automation


def _dbos_teardown() -> None:
    from dbos import DBOS

    DBOS.destroy(destroy_registry=False)


# -- Prefect --------------------------------------------------------------------------------


def _prefect_env(home: Path) -> None:
    """Prefect offline: ephemeral local API, no analytics, nothing in ~/.prefect."""
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
            # the server runs its migrations at start; on a busy 2-core machine that can pass 20 s
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "150",
        }
    )


def _prefect_setup(directory: Path) -> Callable[[Mapping[str, Any]], Any]:
    _prefect_env(directory)
    try:
        from prefect import flow, task
    except ImportError as exc:
        raise Unavailable(
            f"prefect is not installed ({exc}); pip install -e '.[bench-prefect]' "
            "(kept out of 'bench': ~75 packages and python-dateutil<3)"
        ) from None

    def retry_condition(_task: Any, _run: Any, state: Any) -> bool:
        try:
            state.result()
        except Exception as exc:
            return _transient(exc)
        return False

    opts: dict[str, Any] = {
        "retries": MAX_ATTEMPTS - 1,
        "retry_delay_seconds": 0,
        "retry_condition_fn": retry_condition,
        "persist_result": False,
    }
    t_get = task(get_deal, **opts)
    t_customer = task(create_customer, **opts)
    t_ticket = task(create_ticket, **opts)

    @flow(name="bench-three-call", persist_result=False, log_prints=False)
    def bench_three_call(event: dict[str, Any]) -> int:
        deal_id = str(event["objectId"])
        props = t_get(deal_id)
        return int(t_ticket(deal_id, props, t_customer(deal_id, props)))

    def automation(event: Mapping[str, Any]) -> Any:
        return bench_three_call(dict(event))

    return automation


# -- entry points --------------------------------------------------------------------------


class Session:
    """One variant set up once (imports, DBOS launch, Prefect's server, the ledger file).

    :meth:`run_pass` times ``n`` new won deals (a deal seen before would be
    suppressed as a duplicate by the orchestrator and DBOS).  Use as a context
    manager, or call :meth:`close`.  Raises :class:`Unavailable` when the
    variant cannot run here.
    """

    def __init__(self, variant: str, *, warmup: int = 3, seed: int = 0) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        self.variant = variant
        self._tmp = tempfile.TemporaryDirectory(prefix=f"harness-bench-{variant}-")
        directory = Path(self._tmp.name)
        self._teardown: Callable[[], None] = lambda: None
        self._orchestrated: _Orchestrated | None = None
        self._runner: Callable[[Sequence[Mapping[str, Any]]], int]
        self._next = 1
        try:
            if variant == "bare":
                self._runner = _bare
            elif variant == "orchestrated":
                self._orchestrated = _Orchestrated()
                self._runner = self._orchestrated
                self._teardown = self._orchestrated.close
            else:
                if variant == "tenacity":
                    automation = _tenacity_steps()
                elif variant == "dbos":
                    automation = _dbos_setup(directory)
                    self._teardown = _dbos_teardown
                else:
                    automation = _prefect_setup(directory)
                self._runner = lambda evts: _loop(automation, evts)
            if warmup:
                with MockedApis(fault_rate=0.0, seed=seed).active():
                    self._runner(events(warmup, start=self._next))
                self._next += warmup
        except BaseException:
            self.close()
            raise

    def run_pass(self, n: int, *, fault_rate: float, seed: int) -> VariantRun:
        timed = events(n, start=self._next)
        self._next += n
        apis = MockedApis(fault_rate=fault_rate, seed=seed)
        with apis.active():
            start = time.perf_counter()
            ok = self._runner(timed)
            seconds = time.perf_counter() - start
        return VariantRun(self.variant, n, fault_rate, seconds, ok, apis.effects())

    def check(self) -> None:
        """The orchestrated variant must have recorded every run it handled."""
        if self._orchestrated is not None and self._orchestrated.recorded() < self._next - 1:
            raise RuntimeError(
                f"orchestrated: {self._orchestrated.recorded()} runs in the ledger, "
                f"expected {self._next - 1}"
            )

    def close(self) -> None:
        try:
            self._teardown()
        finally:
            self._teardown = lambda: None
            self._tmp.cleanup()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_variant(
    variant: str,
    n: int,
    *,
    fault_rates: Sequence[float] = (0.0,),
    repeats: int = 1,
    seed: int = 0,
    warmup: int = 3,
) -> list[VariantRun]:
    """Time ``variant`` over ``n`` won deals per pass, ``repeats`` passes per fault rate.

    One set-up and ``warmup`` untimed deals come first (see :class:`Session`).
    """
    with Session(variant, warmup=warmup, seed=seed) as session:
        out = [
            session.run_pass(n, fault_rate=rate, seed=seed + r)
            for r in range(repeats)
            for rate in fault_rates
        ]
        session.check()
        return out


def run_variant_in_child(
    variant: str,
    n: int,
    *,
    fault_rates: Sequence[float] = (0.0,),
    repeats: int = 1,
    seed: int = 0,
    warmup: int = 3,
    python: str | None = None,
    timeout: float = 400.0,
) -> list[VariantRun]:
    """:func:`run_variant` in a child process (DBOS, Prefect); :class:`Unavailable` on failure.

    ``python`` is the interpreter to use (a separate venv holding Prefect, say).
    """
    root = Path(__file__).resolve().parent.parent
    cmd = [
        python or sys.executable, "-m", "benchmarks.baselines", variant,
        "--n", str(n), "--repeats", str(repeats), "--seed", str(seed), "--warmup", str(warmup),
    ]
    for rate in fault_rates:
        cmd += ["--fault-rate", str(rate)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run(
            cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise Unavailable(f"no Python interpreter at {cmd[0]}") from None
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{variant} did not finish within {timeout:.0f} s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise Unavailable(f"{variant} child exited {proc.returncode}: {tail[:200]}")
    data = json.loads(lines[-1])
    if "unavailable" in data:
        raise Unavailable(str(data["unavailable"]))
    return [
        VariantRun(
            variant=d["variant"], n=d["n"], fault_rate=d["fault_rate"], seconds=d["seconds"],
            succeeded=d["succeeded"], effects=Effects(**d["effects"]),
        )
        for d in data["runs"]
    ]


# -- workload 2's baseline: the hand-written fault test ---------------------------------------


def handwritten_fault_test(
    examples: int, *, seed: int = 0, counts: dict[str, int] | None = None,
    cpu: list[float] | None = None,
) -> tuple[float, int]:
    """Run the hand-written Hypothesis + ``responses`` fault test for ``examples`` examples.

    What a careful engineer writes for :func:`~benchmarks.workloads.three_call`:
    draws the deal's fields, one fault per call (none, 503, 429, timeout,
    connection reset) and whether the webhook is delivered twice; mocks the
    three endpoints with ``responses``; runs the automation; checks that no
    deal got two customers or two tickets and that a reported success left a
    ticket.  Violations are counted instead of asserted, so every example runs
    (an assertion would stop at the first and shrink).  Returns
    ``(seconds, violations)``; ``counts``, when given, gets the ``deliveries``
    (calls of the automation) and HTTP ``calls`` the test made; ``cpu``, when
    given, gets the CPU seconds of the test appended.
    """
    import re

    import responses
    from hypothesis import given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from benchmarks.workloads import HUBSPOT, STRIPE, ZENDESK

    fault = st.sampled_from([None, None, 503, 429, "timeout", "reset"])
    violations = 0

    @hseed(seed)
    @settings(max_examples=examples, deadline=None, database=None)
    @given(
        deal_id=st.integers(min_value=1, max_value=10**10),
        dealname=st.text(min_size=1, max_size=60),
        amount=st.decimals(min_value=0, max_value=10**6, places=2).map(str),
        currency=st.sampled_from(["usd", "eur", "gbp"]),
        faults=st.lists(fault, min_size=3, max_size=6),
        twice=st.booleans(),
    )
    def test_three_call(
        deal_id: int, dealname: str, amount: str, currency: str, faults: list[Any], twice: bool
    ) -> None:
        nonlocal violations
        plan = list(faults)
        customers: list[str] = []
        tickets: list[str] = []

        def inject() -> tuple[int, dict[str, str], str] | None:
            f = plan.pop(0) if plan else None
            if f == "timeout":
                raise requests.exceptions.ReadTimeout("read timed out")
            if f == "reset":
                raise requests.exceptions.ConnectionError("connection reset by peer")
            if f is not None:
                return int(f), {"Retry-After": "1"}, '{"error":"unavailable"}'
            return None

        def deal(req: Any) -> tuple[int, dict[str, str], str]:
            props = {"dealname": dealname, "amount": amount, "deal_currency_code": currency}
            return inject() or (200, {}, json.dumps({"id": str(deal_id), "properties": props}))

        def customer(req: Any) -> tuple[int, dict[str, str], str]:
            bad = inject()
            if bad:
                return bad
            customers.append(req.body)
            return 200, {}, json.dumps({"id": f"cus_{len(customers)}", "object": "customer"})

        def ticket(req: Any) -> tuple[int, dict[str, str], str]:
            bad = inject()
            if bad:
                return bad
            tickets.append(req.body)
            return 201, {}, json.dumps({"ticket": {"id": len(tickets), "status": "new"}})

        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.add_callback("GET", re.compile(re.escape(HUBSPOT) + r"/crm/v3/.*"), callback=deal)
            rsps.add_callback("POST", f"{STRIPE}/v1/customers", callback=customer)
            rsps.add_callback("POST", f"{ZENDESK}/api/v2/tickets.json", callback=ticket)
            event = {"objectId": deal_id, "propertyName": "dealstage", "propertyValue": "closedwon"}
            results: list[dict[str, Any] | None] = []
            for _ in range(2 if twice else 1):
                try:
                    results.append(three_call(event))
                except requests.RequestException:
                    results.append(None)
            if counts is not None:
                counts["deliveries"] = counts.get("deliveries", 0) + len(results)
                counts["calls"] = counts.get("calls", 0) + len(rsps.calls)
        if len(customers) > 1 or len(tickets) > 1:
            violations += 1
        if any(r is not None for r in results) and not tickets:
            violations += 1

    start, start_cpu = time.perf_counter(), time.process_time()
    test_three_call()
    seconds = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    return seconds, violations


def _child(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run one benchmark variant; print one JSON line")
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--fault-rate", type=float, action="append", dest="fault_rates")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        runs = run_variant(
            args.variant, args.n, fault_rates=args.fault_rates or (0.0,), repeats=args.repeats,
            seed=args.seed, warmup=args.warmup,
        )
    except Unavailable as exc:
        print(json.dumps({"unavailable": str(exc)}))
        return 0
    except Exception as exc:  # the parent shows it as "not available: <reason>"
        print(json.dumps({"unavailable": f"{type(exc).__name__}: {str(exc)[:300]}"}))
        return 0
    print(json.dumps({"runs": [asdict(r) for r in runs]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child())
