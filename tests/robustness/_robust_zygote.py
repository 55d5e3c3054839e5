"""A campaign process that the crash test kills: imports once, then forks one campaign per command.

    python _robust_zygote.py FLOW_FILE

Reads commands on stdin, one per line: ``run LEDGER_URL SEED EXAMPLES``.  For
each it forks a child that runs :func:`harness.chaos.run_campaign` on the flow
(both modes) into the ledger and prints, on stdout:

* ``started <pid>`` as soon as it exists;
* ``opened`` once ``Ledger.open`` returned (the ledger file holds every table);
* ``campaign <id>`` after a campaign is recorded;
* ``committed <run id>`` for every run, only after ``Ledger.write_runs`` returned
  (so everything printed must be in the ledger, whatever happens next);
* ``finished`` when the campaign returned.

The parent waits for the child and prints ``ended <pid> <wait status>``.
Forking keeps the kill test fast: the imports (seconds on a busy machine) are
paid once, and every child is a real process killed by a real SIGKILL.
"""

from __future__ import annotations

import os
import sys
from typing import Any, cast

from harness.chaos import run_campaign
from harness.chaos._runner import Target
from harness.flow import load_flow
from harness.ledger import Ledger


def _say(line: str) -> None:
    # one write(2) per line: nothing buffered in the child can be lost or duplicated
    os.write(1, (line + "\n").encode())


class _Announcing:
    """The ledger, announcing each commit after it returned."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def start_campaign(self, campaign: Any) -> None:
        self._ledger.start_campaign(campaign)
        _say(f"campaign {campaign.id}")

    def write_runs(self, runs: Any, **kwargs: Any) -> None:
        self._ledger.write_runs(runs, **kwargs)
        _say("".join(f"committed {r.id}\n" for r in runs).rstrip("\n"))


def _child(flow: Any, url: str, seed: int, examples: int) -> None:
    _say(f"started {os.getpid()}")
    with Ledger.open(url) as ledger:
        _say("opened")
        run_campaign(flow, ledger=cast(Ledger, _Announcing(ledger)), examples=examples, seed=seed)
    _say("finished")


def main() -> int:
    flow = load_flow(sys.argv[1])
    Target(flow, seed=0)  # warm every lazy import and cache before forking
    _say("ready")
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] != "run" or len(parts) != 4:
            _say(f"bad command {line.strip()!r}")
            return 2
        url, seed, examples = parts[1], int(parts[2]), int(parts[3])
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(flow, url, seed, examples)
            except BaseException as exc:  # shown to the test, which fails on it
                _say(f"error {type(exc).__name__}: {exc}")
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        _say(f"ended {pid} {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
