"""A ledger writer run as a separate process by the crash and concurrency tests.

    python _writer.py URL PREFIX --runs N --events E --batch B [--go FILE] [--claims K]

Writes ``N`` runs (``0`` = forever) named ``PREFIX-<n>`` with ``E`` events each
into campaign ``crash`` in batches of ``B`` through ``Ledger.write_runs``; after
each commit it prints ``committed <run id>`` for every run of the batch (so a
parent that kills it knows what must be in the ledger).  With ``--go`` it
prints ``ready`` and waits for FILE to exist before writing; with
``--claims`` it also claims the shared dedupe keys ``key-0..K-1`` and prints
``won <key>`` for each one it wins.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from harness.ledger import CampaignRecord, EventRecord, Ledger, RunRecord


def make_run(run_id: str, n_events: int) -> RunRecord:
    now = time.time()
    events = tuple(
        EventRecord(
            seq=i,
            kind="call" if 0 < i < n_events - 1 else ("delivery" if i == 0 else "end"),
            at=float(i),
            wall_at=now,
            system="stripe",
            detail={"i": i, "pad": "x" * 200},
        )
        for i in range(n_events)
    )
    return RunRecord(
        id=run_id, flow="crash_flow", mode="orchestrated", end_state="succeeded",
        started_at=0.0, ended_at=float(n_events), wall_started=now, wall_ended=now,
        campaign_id="crash", events=events,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("prefix")
    parser.add_argument("--runs", type=int, default=0)
    parser.add_argument("--events", type=int, default=6)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--go")
    parser.add_argument("--claims", type=int, default=0)
    args = parser.parse_args()
    with Ledger.open(args.url) as ledger:
        ledger.start_campaign(
            CampaignRecord(id="crash", flow="crash_flow", mode="orchestrated", wall_started=time.time())
        )
        if args.go:
            print("ready", flush=True)
            while not Path(args.go).exists():
                time.sleep(0.01)
        counter = itertools.count() if args.runs == 0 else iter(range(args.runs))
        batch: list[RunRecord] = []
        claimed = 0
        for n in counter:
            batch.append(make_run(f"{args.prefix}-{n}", args.events))
            if len(batch) == args.batch:
                ledger.write_runs(batch)
                sys.stdout.write("".join(f"committed {r.id}\n" for r in batch))
                sys.stdout.flush()
                batch = []
                if claimed < args.claims:
                    key = f"key-{claimed}"
                    if ledger.claim_dedupe("crash_flow", key, args.prefix, wall_now=time.time(), ttl=None) is None:
                        print(f"won {key}", flush=True)
                    claimed += 1
        if batch:
            ledger.write_runs(batch)
            sys.stdout.write("".join(f"committed {r.id}\n" for r in batch))
        while claimed < args.claims:
            key = f"key-{claimed}"
            if ledger.claim_dedupe("crash_flow", key, args.prefix, wall_now=time.time(), ttl=None) is None:
                print(f"won {key}", flush=True)
            claimed += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
