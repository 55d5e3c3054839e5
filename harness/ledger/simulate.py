"""A synthetic, clearly labelled history for a flow: see the 90-day report before real data.

:func:`simulate_history` writes ``days * runs_per_day`` runs ending at
``end_wall`` (default: now) into one campaign marked ``synthetic`` whose label
says so; every run is marked ``synthetic`` too, so a report can refuse or flag
it.  The history follows a fault model that changes over the weeks, so that
every chart of the report has something to show:

* a base rate of transient faults (timeouts, 429s, 5xx) on Stripe and Zendesk,
  mostly recovered by retries, and of logical faults (missing values), higher
  for new customers than for existing ones;
* a billing **outage week** (from 20% of the window): Stripe answers 503, many
  runs exhaust their retries and go to the inbox or fail;
* **duplicates** (6% of deliveries) whose side effects escape until dedupe is
  switched on (at 35% of the window; a ``flow_changes`` row), then are
  suppressed except for a rare claim that expired;
* a **contract change** (at 55%): HubSpot stops sending a property; logical
  errors rise for five days until the contract is updated (two
  ``flow_changes`` rows);
* inbox items resolved, discarded or retried by named people (Faker), some
  still open and past due at the end.

Rows are generated as tuples and inserted with ``executemany`` in chunks of
about :data:`CHUNK_RUNS` runs (one transaction each), so a million runs take
well under two minutes on SQLite.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from faker import Faker

from harness.errors import UsageError
from harness.ledger._codec import dumps
from harness.ledger.records import CampaignRecord, FlowChange
from harness.ledger.store import MODES, Ledger

__all__ = ["CHUNK_RUNS", "SYNTHETIC_LABEL", "simulate_history"]

DAY = 86400.0
#: runs per transaction: big enough to amortise the commit, small enough that
#: other writers are not blocked for long and memory stays flat
CHUNK_RUNS = 20_000
SYNTHETIC_LABEL = "SYNTHETIC history written by `harness simulate`: not real data"

_SEGMENTS = ("new customer", "existing customer")
_EMPTY = "{}"
_SYNTHETIC_DETAIL = dumps({"synthetic": True})


def _phases(days: int) -> dict[str, int]:
    return {
        "outage_start": int(days * 0.20),
        "outage_end": int(days * 0.20) + 7,
        "dedupe_on": int(days * 0.35),
        "contract_change": int(days * 0.55),
        "contract_fixed": int(days * 0.55) + 5,
        "code_change": int(days * 0.75),
    }


def simulate_history(
    ledger: Ledger,
    *,
    flow: str,
    days: int,
    runs_per_day: int,
    seed: int,
    end_wall: float | None = None,
    mode: str = "production",
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write a synthetic history and return its campaign id.

    ``mode`` is ``production`` (wall clock, the pilot's view), ``orchestrated``
    or ``bare`` (virtual clock; bare has no retries, no inbox, no dedupe).
    The content is a function of ``seed`` (ids differ between calls so that
    several histories can share a ledger).  ``progress(days_done, days)`` is
    called after each day.
    """
    _check_request(flow, days, runs_per_day, mode)
    end = time.time() if end_wall is None else float(end_wall)
    start = end - days * DAY
    rng = random.Random(seed)
    fake = Faker()
    fake.seed_instance(seed)
    people = [fake.name() for _ in range(4)]
    owner = fake.company_email()
    companies = [fake.company() for _ in range(200)]
    phases = _phases(days)

    tag = uuid.uuid4().hex[:8]
    campaign_id = f"sim-{flow[:24]}-{seed}-{tag}"
    _start_history(
        ledger, flow=flow, mode=mode, campaign_id=campaign_id, start=start, seed=seed,
        days=days, runs_per_day=runs_per_day, phases=phases, people=people,
    )
    gen = _Generator(
        rng=rng,
        flow=flow,
        mode=mode,
        campaign_id=campaign_id,
        run_prefix=f"s{tag}-",
        seed=seed,
        people=people,
        owner=owner,
        companies=companies,
        phases=phases,
        end=end,
    )
    _write_days(ledger, gen, rng, campaign_id, start, days, runs_per_day, progress)
    ledger.finish_campaign(campaign_id, status="completed", wall_ended=end)
    return campaign_id


def _check_request(flow: str, days: int, runs_per_day: int, mode: str) -> None:
    """A :class:`UsageError` naming the first bad argument, before anything is written."""
    if not flow or not flow.strip():
        raise UsageError("simulate: --flow must name a flow: ''")
    if days < 1:
        raise UsageError(f"simulate: --days must be >= 1: {days}")
    if runs_per_day < 1:
        raise UsageError(f"simulate: --runs-per-day must be >= 1: {runs_per_day}")
    if mode not in MODES:
        raise UsageError(f"simulate: --mode must be one of {', '.join(MODES)}: {mode!r}")


def _start_history(
    ledger: Ledger,
    *,
    flow: str,
    mode: str,
    campaign_id: str,
    start: float,
    seed: int,
    days: int,
    runs_per_day: int,
    phases: dict[str, int],
    people: list[str],
) -> None:
    """Record the synthetic campaign (labelled as such) and the flow changes its phases make."""
    ledger.start_campaign(
        CampaignRecord(
            id=campaign_id,
            flow=flow,
            mode=mode,
            wall_started=start,
            seed=seed,
            examples=days * runs_per_day,
            command=f"harness simulate --flow {flow} --days {days} --runs-per-day {runs_per_day} --seed {seed} --mode {mode}",
            versions={"generator": "harness.ledger.simulate", "model": "1"},
            status="running",
            synthetic=True,
            label=SYNTHETIC_LABEL,
        )
    )
    ledger.record_changes(
        [
            FlowChange(flow, start + phases["dedupe_on"] * DAY + 9 * 3600, "config",
                       "dedupe switched on (key: deal id)", by=people[0]),
            FlowChange(flow, start + phases["contract_change"] * DAY + 10 * 3600, "contract",
                       "HubSpot stopped sending deal property 'amount' for new pipelines", by=people[1]),
            FlowChange(flow, start + phases["contract_fixed"] * DAY + 15 * 3600, "contract",
                       "contract updated: amount read from line items", by=people[1]),
            FlowChange(flow, start + phases["code_change"] * DAY + 11 * 3600, "code",
                       "Zendesk ticket creation honours Retry-After", by=people[2]),
        ]
    )


def _write_days(
    ledger: Ledger,
    gen: _Generator,
    rng: random.Random,
    campaign_id: str,
    start: float,
    days: int,
    runs_per_day: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Draw every day's runs and write them in chunks of :data:`CHUNK_RUNS`."""
    run_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    inbox_rows: list[tuple[Any, ...]] = []
    n = 0
    # One writer thread: the driver releases the GIL while SQLite works on
    # its B-trees, so generating the next chunk overlaps writing this one.
    # At most one chunk is written at a time; its error surfaces at .result().
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harness-simulate") as pool:
        pending: Future[None] | None = None
        for day in range(days):
            day_start = start + day * DAY
            offsets = sorted(rng.random() * DAY for _ in range(runs_per_day))
            for offset in offsets:
                gen.run(n, day, day_start + offset, run_rows, event_rows, inbox_rows)
                n += 1
            if len(run_rows) >= CHUNK_RUNS or day == days - 1:
                if pending is not None:
                    pending.result()
                pending = pool.submit(
                    ledger.write_rows,
                    f"writing synthetic history (day {day + 1} of {days})",
                    run_rows,
                    event_rows,
                    inbox_rows,
                    {campaign_id},
                )
                run_rows, event_rows, inbox_rows = [], [], []
            if progress is not None:
                progress(day + 1, days)
        if pending is not None:
            pending.result()


class _Generator:
    """Draws one run at a time from the phase-dependent fault model."""

    def __init__(
        self,
        *,
        rng: random.Random,
        flow: str,
        mode: str,
        campaign_id: str,
        run_prefix: str,
        seed: int,
        people: list[str],
        owner: str,
        companies: list[str],
        phases: dict[str, int],
        end: float,
    ) -> None:
        self.rng = rng
        self.flow = flow
        self.mode = mode
        self.campaign_id = campaign_id
        # short run ids: every event row and two indexes repeat the run id
        self.run_prefix = run_prefix
        self.seed = seed
        self.people = people
        self.owner = owner
        self.companies = companies
        self.phases = phases
        self.end = end
        self.wall_clock = mode == "production"
        self.clock = "wall" if self.wall_clock else "virtual"
        self.retries = mode != "bare"
        # pre-serialised details: json per event would dominate the cost
        self.d_timeout = dumps({"type": "Timeout", "message": "read timed out after 10.0s"})
        self.d_503 = dumps({"type": "HTTPError", "message": "503 Service Unavailable"})
        self.d_429 = dumps({"type": "HTTPError", "message": "429 Too Many Requests"})
        self.d_missing = dumps({"type": "Violation", "message": "properties.amount is required"})
        self.d_email = dumps({"type": "Violation", "message": "properties.email is required"})
        self.d_end = {s: dumps({"end_state": s}) for s in ("succeeded", "suppressed", "manual", "failed")}
        self.d_retry = dumps({"delay": 2.0, "reason": "transient"})
        self.d_alert = dumps({"sink": "email", "kind": "run_failed", "throttled": False})
        self.v_amount = dumps({"field": "properties.amount", "value": None, "rule": "required"})
        self.v_email = dumps(
            {"field": "properties.email", "value": "", "rule": "required; an email address"}
        )

    def run(
        self,
        n: int,
        day: int,
        wall: float,
        run_rows: list[tuple[Any, ...]],
        event_rows: list[tuple[Any, ...]],
        inbox_rows: list[tuple[Any, ...]],
    ) -> None:
        """Draw run ``n`` of ``day`` starting at ``wall`` and append its rows.

        The draws happen in one fixed order (segment, deal, duplicate, error
        kind, retries, inbox), so the history is a function of the seed.
        """
        rng = self.rng
        rnd = rng.random
        # zero-padded so that ids sort in insertion order: every index on the
        # run id then grows at its right edge, SQLite's cheapest insert
        d = _Draw(run_id=f"{self.run_prefix}{n:07d}", wall=wall, base=wall if self.wall_clock else 0.0)
        segment = _SEGMENTS[0] if rnd() < 0.35 else _SEGMENTS[1]
        new = segment == _SEGMENTS[0]
        deal = rng.randrange(1, 10 * (n // 50 + 1))
        is_dup = rnd() < 0.06
        kind = ("duplicate" if rnd() < 0.7 else "redelivery") if is_dup else "original"
        d.event("delivery")
        dedupe_on = self.retries and day >= self.phases["dedupe_on"]
        if is_dup and dedupe_on and rnd() > 0.02:
            d.t += 0.01
            d.event("duplicate_suppressed", outcome="suppressed")
            d.end_state = "suppressed"
            d.error_class = "duplicate"
        else:
            d.dup_effects = 1 if is_dup else 0
            self._attempt(d, day, new, is_dup)
        d.t += 0.05
        if d.end_state == "failed" and self.retries and rnd() < 0.9:
            # most failures alert someone; the rest are the silent failures
            # the report must surface
            d.event("alert", error_class=d.error_class, outcome="sent", detail=self.d_alert)
        if d.inbox_reason is not None:
            self._inbox(d, segment, deal, inbox_rows)
        d.event("end", outcome=d.end_state, detail=self.d_end[d.end_state])
        event_rows.extend(d.events)
        t = d.t
        run_rows.append(
            (d.run_id, self.campaign_id, self.flow, self.mode, segment, self.seed, n, 1 if is_dup else 0,
             f"evt-{n}", f"deal:{deal}", f"{self.flow}:deal:{deal}", kind, is_dup, d.end_state,
             d.error_class, max(d.attempts, 1 if d.end_state != "suppressed" else 0), d.errors, d.calls,
             d.retries, d.base, d.base + t, d.first_error, d.recovered, wall, wall + t, self.clock,
             d.dup_effects, True, _SYNTHETIC_DETAIL)
        )

    def _attempt(self, d: _Draw, day: int, new: bool, is_dup: bool) -> None:
        """The run's attempts: a contract violation, a transient fault (and retries) or success."""
        p = self.phases
        rnd = self.rng.random
        outage = p["outage_start"] <= day < p["outage_end"]
        contract = p["contract_change"] <= day < p["contract_fixed"]
        logical_p = (0.03 if new else 0.005) + ((0.15 if new else 0.06) if contract else 0.0)
        transient_p = 0.35 if outage else (0.04 if day < p["code_change"] else 0.025)
        if rnd() < logical_p:
            self._violation(d, contract)
            return
        d.calls = 3
        d.attempts = 1
        d.event("attempt", step="create_invoice")
        d.t += 0.2
        d.event("call", "hubspot", "read_deal", status=200, outcome="ok")
        if rnd() < transient_p:
            self._transient(d, outage)
            if is_dup and d.end_state != "succeeded":
                d.dup_effects = 0
        else:
            d.t += 0.4
            d.event("call", "stripe", "create_invoice", status=200, outcome="ok")

    def _violation(self, d: _Draw, contract: bool) -> None:
        """A contract violation: never retried blindly, a person finishes it."""
        d.attempts = 1
        d.errors = 1
        d.calls = 1
        d.t += 0.3
        d.event("attempt", step="read_deal")
        d.event("call", "hubspot", "read_deal", status=200, outcome="ok")
        d.first_error = d.base + d.t
        d.error_class = "logical"
        d.event("contract_violation", "hubspot", "read_deal", "logical",
                detail=self.v_amount if contract else self.v_email)
        d.event("error", "hubspot", "read_deal", "logical",
                detail=self.d_missing if contract else self.d_email)
        if self.retries:
            d.end_state = "manual"
            d.inbox_reason = "contract violation: a required deal property is missing"
        else:
            d.end_state = "failed"
        d.dup_effects = 0  # it failed before any side effect

    def _transient(self, d: _Draw, outage: bool) -> None:
        """A transient fault on Stripe or Zendesk, then retries with backoff (or none when bare)."""
        rng = self.rng
        rnd = rng.random
        system = "stripe" if outage or rnd() < 0.6 else "zendesk"
        step = "create_invoice" if system == "stripe" else "create_ticket"
        fault, status, detail = (
            ("outage", 503, self.d_503) if outage
            else (("timeout_after", None, self.d_timeout) if rnd() < 0.5 else ("429", 429, self.d_429))
        )
        d.t += 0.5 if status else 10.0
        d.event("call", system, step, "transient", fault, status,
                "timeout" if status is None else "error")
        d.first_error = d.base + d.t
        d.error_class = "transient"
        d.errors = 1
        d.event("error", system, step, "transient", fault, status, detail=detail)
        if not self.retries:
            d.end_state = "failed"
            return
        # retries with backoff; an outage outlasts most retry budgets
        give_up = rnd() < (0.45 if outage else 0.06)
        wait = rng.lognormvariate(math.log(600 if outage else 20), 0.8)
        d.t += wait
        retries = 3 if give_up else 1 + int(rnd() * 2)
        d.retries = retries
        d.attempts += retries
        d.calls += retries
        d.errors += retries - 1 if give_up else 0
        d.event("retry_scheduled", system, step, "transient", detail=self.d_retry)
        d.event("call", system, step, None, None, 200 if not give_up else 503,
                "ok" if not give_up else "error")
        if give_up:
            d.end_state = "manual" if rnd() < 0.8 else "failed"
            if d.end_state == "manual":
                d.inbox_reason = f"{system} kept failing after {retries} retries"
        else:
            d.recovered = d.base + d.t

    def _inbox(self, d: _Draw, segment: str, deal: int, inbox_rows: list[tuple[Any, ...]]) -> None:
        """The run's inbox item, resolved by a person after a while (or still open)."""
        rng = self.rng
        rnd = rng.random
        wall, t = d.wall, d.t
        item_id = f"{d.run_id}-i"
        d.event("inbox_added", error_class=d.error_class, detail=_EMPTY)
        created = d.base + t
        due = created + 4 * 3600
        item_status = "open"
        resolved_at: float | None = None
        resolved_by: str | None = None
        resolution: str | None = None
        age = self.end - (wall + t)
        delay = rng.lognormvariate(math.log(2 * 3600), 1.0)
        if delay < age and rnd() > 0.05:
            r = rnd()
            resolution = "resolve" if r < 0.85 else ("retry" if r < 0.95 else "discard")
            item_status = {"resolve": "resolved", "retry": "retried", "discard": "discarded"}[resolution]
            resolved_by = self.people[rng.randrange(len(self.people))]
            resolved_at = created + delay
        company = self.companies[deal % len(self.companies)]
        inbox_rows.append(
            (item_id, d.run_id, self.flow, self.owner, d.inbox_reason, d.error_class, segment, item_status,
             created, wall + t, due, resolved_at, resolved_by, resolution,
             "" if resolution is None else "handled by hand",
             dumps({"company": company, "deal_id": str(deal), "synthetic": True,
                    "runbook": f"https://wiki.example.com/runbooks/{self.flow}"}))
        )
        if resolved_at is not None:
            d.events.append((d.run_id, d.seq + 1, "inbox_action", resolved_at,
                             wall + t + (resolved_at - created), None, None, d.error_class, None,
                             None, item_status, dumps({"action": resolution, "by": resolved_by})))


class _Draw:
    """One run being drawn: its clock (``t`` seconds in), its event rows and its outcome."""

    __slots__ = ("attempts", "base", "calls", "dup_effects", "end_state", "error_class", "errors",
                 "events", "first_error", "inbox_reason", "recovered", "retries", "run_id", "seq",
                 "t", "wall")

    def __init__(self, *, run_id: str, wall: float, base: float) -> None:
        self.run_id = run_id
        self.wall = wall
        self.base = base  # the run's clock at its start: the wall time, or 0 in virtual time
        self.t = 0.0
        self.seq = 0
        self.events: list[tuple[Any, ...]] = []
        self.end_state = "succeeded"
        self.error_class: str | None = None
        self.first_error: float | None = None
        self.recovered: float | None = None
        self.inbox_reason: str | None = None
        self.dup_effects: int | None = 0
        self.attempts = self.errors = self.retries = self.calls = 0

    def event(self, kind: str, system: Any = None, step: Any = None, error_class: Any = None,
              fault: Any = None, status: Any = None, outcome: Any = None, detail: str = _EMPTY) -> None:
        t = self.t
        self.events.append((self.run_id, self.seq, kind, self.base + t, self.wall + t, system, step,
                            error_class, fault, status, outcome, detail))
        self.seq += 1


