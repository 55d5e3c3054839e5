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
    if not flow or not flow.strip():
        raise UsageError("simulate: --flow must name a flow: ''")
    if days < 1:
        raise UsageError(f"simulate: --days must be >= 1: {days}")
    if runs_per_day < 1:
        raise UsageError(f"simulate: --runs-per-day must be >= 1: {runs_per_day}")
    if mode not in MODES:
        raise UsageError(f"simulate: --mode must be one of {', '.join(MODES)}: {mode!r}")
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
                       "dedupe switched on (key: deal id)", people[0]),
            FlowChange(flow, start + phases["contract_change"] * DAY + 10 * 3600, "contract",
                       "HubSpot stopped sending deal property 'amount' for new pipelines", people[1]),
            FlowChange(flow, start + phases["contract_fixed"] * DAY + 15 * 3600, "contract",
                       "contract updated: amount read from line items", people[1]),
            FlowChange(flow, start + phases["code_change"] * DAY + 11 * 3600, "code",
                       "Zendesk ticket creation honours Retry-After", people[2]),
        ]
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
    ledger.finish_campaign(campaign_id, status="completed", wall_ended=end)
    return campaign_id


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
        rng = self.rng
        p = self.phases
        rnd = rng.random
        # zero-padded so that ids sort in insertion order: every index on the
        # run id then grows at its right edge, SQLite's cheapest insert
        run_id = f"{self.run_prefix}{n:07d}"
        segment = _SEGMENTS[0] if rnd() < 0.35 else _SEGMENTS[1]
        new = segment == _SEGMENTS[0]
        deal = rng.randrange(1, 10 * (n // 50 + 1))
        base = wall if self.wall_clock else 0.0
        t = 0.0
        seq = 0
        events: list[tuple[Any, ...]] = []

        def event(kind: str, system: Any = None, step: Any = None, error_class: Any = None,
                  fault: Any = None, status: Any = None, outcome: Any = None, detail: str = _EMPTY) -> None:
            nonlocal seq
            events.append((run_id, seq, kind, base + t, wall + t, system, step, error_class,
                           fault, status, outcome, detail))
            seq += 1

        # duplicates
        is_dup = rnd() < 0.06
        kind = ("duplicate" if rnd() < 0.7 else "redelivery") if is_dup else "original"
        event("delivery")
        dedupe_on = self.retries and day >= p["dedupe_on"]
        dup_effects: int | None = 0
        end_state = "succeeded"
        error_class: str | None = None
        first_error: float | None = None
        recovered: float | None = None
        attempts = errors = retries = calls = 0
        inbox_reason: str | None = None
        if is_dup and dedupe_on and rnd() > 0.02:
            t += 0.01
            event("duplicate_suppressed", outcome="suppressed")
            end_state = "suppressed"
            error_class = "duplicate"
        else:
            dup_effects = 1 if is_dup else 0
            outage = p["outage_start"] <= day < p["outage_end"]
            contract = p["contract_change"] <= day < p["contract_fixed"]
            logical_p = (0.03 if new else 0.005) + ((0.15 if new else 0.06) if contract else 0.0)
            transient_p = 0.35 if outage else (0.04 if day < p["code_change"] else 0.025)
            if rnd() < logical_p:
                # a contract violation: never retried blindly, a person finishes it
                attempts = 1
                errors = 1
                calls = 1
                t += 0.3
                event("attempt", step="read_deal")
                event("call", "hubspot", "read_deal", status=200, outcome="ok")
                first_error = base + t
                error_class = "logical"
                event("contract_violation", "hubspot", "read_deal", "logical",
                      detail=self.v_amount if contract else self.v_email)
                event("error", "hubspot", "read_deal", "logical",
                      detail=self.d_missing if contract else self.d_email)
                if self.retries:
                    end_state = "manual"
                    inbox_reason = "contract violation: a required deal property is missing"
                else:
                    end_state = "failed"
                dup_effects = 0  # it failed before any side effect
            else:
                calls = 3
                attempts = 1
                event("attempt", step="create_invoice")
                t += 0.2
                event("call", "hubspot", "read_deal", status=200, outcome="ok")
                if rnd() < transient_p:
                    system = "stripe" if outage or rnd() < 0.6 else "zendesk"
                    step = "create_invoice" if system == "stripe" else "create_ticket"
                    fault, status, detail = (
                        ("outage", 503, self.d_503) if outage
                        else (("timeout_after", None, self.d_timeout) if rnd() < 0.5 else ("429", 429, self.d_429))
                    )
                    t += 0.5 if status else 10.0
                    event("call", system, step, "transient", fault, status,
                          "timeout" if status is None else "error")
                    first_error = base + t
                    error_class = "transient"
                    errors = 1
                    event("error", system, step, "transient", fault, status, detail=detail)
                    if not self.retries:
                        end_state = "failed"
                    else:
                        # retries with backoff; an outage outlasts most retry budgets
                        give_up = rnd() < (0.45 if outage else 0.06)
                        wait = rng.lognormvariate(math.log(600 if outage else 20), 0.8)
                        t += wait
                        retries = 3 if give_up else 1 + int(rnd() * 2)
                        attempts += retries
                        calls += retries
                        errors += retries - 1 if give_up else 0
                        event("retry_scheduled", system, step, "transient", detail=self.d_retry)
                        event("call", system, step, None, None, 200 if not give_up else 503,
                              "ok" if not give_up else "error")
                        if give_up:
                            end_state = "manual" if rnd() < 0.8 else "failed"
                            if end_state == "manual":
                                inbox_reason = f"{system} kept failing after {retries} retries"
                        else:
                            recovered = base + t
                    if is_dup and end_state != "succeeded":
                        dup_effects = 0
                else:
                    t += 0.4
                    event("call", "stripe", "create_invoice", status=200, outcome="ok")
        t += 0.05
        if end_state == "failed" and self.retries and rnd() < 0.9:
            # most failures alert someone; the rest are the silent failures
            # the report must surface
            event("alert", error_class=error_class, outcome="sent", detail=self.d_alert)
        if inbox_reason is not None:
            item_id = f"{run_id}-i"
            event("inbox_added", error_class=error_class, detail=_EMPTY)
            created = base + t
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
                (item_id, run_id, self.flow, self.owner, inbox_reason, error_class, segment, item_status,
                 created, wall + t, due, resolved_at, resolved_by, resolution,
                 "" if resolution is None else "handled by hand",
                 dumps({"company": company, "deal_id": str(deal), "synthetic": True,
                        "runbook": f"https://wiki.example.com/runbooks/{self.flow}"}))
            )
            if resolved_at is not None:
                events.append((run_id, seq + 1, "inbox_action", resolved_at,
                               wall + t + (resolved_at - created), None, None, error_class, None,
                               None, item_status, dumps({"action": resolution, "by": resolved_by})))
        event("end", outcome=end_state, detail=self.d_end[end_state])
        event_rows.extend(events)
        run_rows.append(
            (run_id, self.campaign_id, self.flow, self.mode, segment, self.seed, n, 1 if is_dup else 0,
             f"evt-{n}", f"deal:{deal}", f"{self.flow}:deal:{deal}", kind, is_dup, end_state,
             error_class, max(attempts, 1 if end_state != "suppressed" else 0), errors, calls,
             retries, base, base + t, first_error, recovered, wall, wall + t, self.clock,
             dup_effects, True, _SYNTHETIC_DETAIL)
        )
