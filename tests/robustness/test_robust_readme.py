"""The README section on what the harness withstands is rendered from the tests' own figures.

``tests/robustness/README_SECTION.md`` must equal :func:`render_section`: the
number of catalogue rows, kills, fuzzed properties and examples are read from
the tests themselves, so the text cannot drift from them.  Regenerate with
``HARNESS_WRITE_README_SECTION=1 pytest tests/robustness/test_robust_readme.py``.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import _robust_figures as figures
import test_robust_environment
import test_robust_events
import test_robust_fuzz
import test_robust_hostile
import test_robust_inbox_kill
import test_robust_isolation
import test_robust_redaction
import test_robust_xdist as xd
from _robust_catalogue import AUTOMATION_ROWS, ROWS, AutomationRow, Row

from harness.chaos._campaign import WRITE_BATCH

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
import _crash  # the serve crash campaign's own figures

SECTION = Path(__file__).with_name("README_SECTION.md")


def render_section() -> str:
    groups = Counter(row.group for row in ROWS)
    everything: list[Row | AutomationRow] = [*ROWS, *AUTOMATION_ROWS]
    known_gaps = [r for r in everything if r.xfail]
    fuzzed = sorted(n for n in dir(test_robust_fuzz) if n.startswith("test_"))
    isolation_cases = 3 * 2 + 1  # (succeeds, raises, KeyboardInterrupt) x (bare, orchestrated) + a campaign
    assert len([n for n in dir(test_robust_isolation) if n.startswith("test_")]) == 2
    by_group = ", ".join(f"{n} {g}" for g, n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0])))
    gaps = "".join(f"\n  - known gap (test marked xfail): `{r.id}`: {r.xfail}" for r in known_gaps)
    broken_rows = len([r for r in ROWS if r.code == 3])
    hostile = len(test_robust_hostile.HOSTILE) + 2  # + the campaign limit alone + the plugin
    values = len(test_robust_events.HOSTILE_VALUES)
    shapes = len(test_robust_redaction.SHAPES)
    environment = len([n for n in dir(test_robust_environment) if n.startswith("test_")]) + 1
    return f"""## What the harness withstands

Figures from its own tests (`tests/robustness/`), rendered by
`tests/robustness/test_robust_readme.py` so they cannot drift from them.

- **Bad input, {len(ROWS) + len(AUTOMATION_ROWS)} cases.** {len(ROWS)} bad inputs ({by_group})
  each give exactly one asserted line `harness: error: ...`, exit status 2 (3 for the {broken_rows} where
  the automation or the environment broke the run), no traceback, are found before anything
  runs (every output path included) and leave every file as it was (no ledger, report or half-written file appears). Secrets in a
  ledger URL are shown as `***`. {len(AUTOMATION_ROWS)} automations at fault (a call to a host no fake
  serves, values that cannot be serialised, httpx instead of requests, a thread left running)
  are survived and reported (the unfaked host as exit status 2 naming it, before anything is
  recorded), except where a known gap is listed; none reaches the network.{gaps}
- **Fuzzing, {len(fuzzed) * figures.FUZZ_EXAMPLES} generated inputs.** {len(fuzzed)} Hypothesis properties x
  {figures.FUZZ_EXAMPLES} examples over the scenario, gate and pilot loaders and the trigger's data
  contract: every input parses or gives one `ConfigError` naming the file and key.
- **SIGKILL, {figures.KILLS} kills, 0 committed runs lost.** A campaign process is killed {figures.KILLS}
  times at random moments (starting, recording the campaign, writing runs); after every
  kill, once a child has announced the ledger open (a known state, never a guess from the
  file's existence), SQLite's integrity check passes, every run whose commit returned is there with all
  its events and every manual run has its inbox item. The same ledger then completes a
  campaign, and `harness gate --campaign` reports a killed campaign as incomplete. This
  holds for runs once written: a campaign writes its scenarios' runs {WRITE_BATCH} scenarios to a
  transaction (and what it played when interrupted), so a kill loses at most the batch
  under way, whole scenarios, never a committed run; production runs are written before
  they start (next item).
- **`harness serve` SIGKILLed {_crash.CI_KILLS} times, 0 accepted deliveries lost.** The serving process is
  killed at states read from the ledger (a delivery accepted but not started, a write in
  flight, a run waiting in backoff) while signed deliveries, duplicates and redeliveries
  arrive and a loopback Stripe fails transiently; after the restarts every delivery that got
  its 202 ends succeeded, suppressed as a true duplicate or in the inbox, and every order has
  exactly one customer and one invoice item (`tests/serve/test_crash.py`; a
  {_crash.SOAK_KILLS}-kill soak runs with `HARNESS_CRASH_SOAK=1`).
- **Concurrent writers, {xd.TESTS * figures.WRITER_THREADS * xd.RUNS_EACH} runs, 0 lost.** Two pytest-xdist workers run {xd.TESTS} tests,
  each with {figures.WRITER_THREADS} threads writing runs into one SQLite ledger and racing for {xd.KEYS} dedupe
  keys: every run is stored with all its events and every key has exactly one owner.
- **PostgreSQL connections dropped.** `pg_terminate_backend` kills the ledger's backends
  mid-campaign: the campaign recovers or stops with one `LedgerError` (password hidden), and
  no committed run is lost.
- **Hostile automations, {hostile} cases.** A busy loop, a loop waiting for `time.time()` to pass a
  deadline under virtual time, a blocked `threading.Event().wait()`, a loop that swallows every
  exception, `os._exit(0)` (even imported before the harness ran), a `BaseException` of its own
  and a campaign past its limit each end with exit status 3 and one line naming the
  automation's file:line (`--run-timeout`, `--campaign-timeout`, `--harness-run-timeout`):
  0 only for a completed campaign without findings, 1 only for findings.
- **Events as delivered, {values} hostile values x 2 databases.** Lone surrogates, NUL bytes and
  2,000-character dedupe keys on SQLite and PostgreSQL: the automation runs, the run and its
  inbox item are recorded with the event exactly as delivered, and duplicates stay duplicates.
  An automation that changes its event is retried with, and the inbox stores, the event as
  delivered.
- **Inbox retry killed, {test_robust_inbox_kill.ROUNDS} SIGKILLs.** `harness inbox retry` is killed while its automation runs
  (a known state): the item is listed again and `retry` or `resolve` takes it.
- **Secrets, {figures.SECRET_EXAMPLES} generated tokens, {shapes} shapes x {figures.REDACTION_EXAMPLES} positions.** A token passed through an
  environment variable, a Bearer header, an API-key header, basic auth and a query string
  (echoed back inside an error message) never appears in the ledger, the terminal, the JSON or
  the HTML; one redaction module removes URL credentials and secret query parameters,
  connection strings, `password=` pairs, bearer and basic credentials, AWS keys, JWTs, Slack,
  GitHub, Stripe and HubSpot tokens and webhook URL paths in any position, and none reaches
  the inbox or `ledger export` either; a ledger URL's `?password=` is shown as `***`.
- **Environment, {environment} cases.** A full disk while `--json` or `--report` is written and
  corrupted ledger pages exit 3 with one line and no partial file; terminal escapes from an
  automation reach neither stderr nor `inbox list/show`; `ledger export` defuses formula
  cells; a flow's webhook and mail alerts never leave a campaign (recorded instead).
- **Isolation, {isolation_cases} cases.** After a scenario that succeeds, raises or is interrupted by
  `KeyboardInterrupt` (and after an interrupted campaign, marked `interrupted`), no patched
  clock, active HTTP mock, environment or `sys.path` change and no thread is left behind.
- **No network.** A suite-wide guard (`tests/conftest.py`) refuses any connection outside
  127.0.0.0/8 and ::1 and fails the test that tried, even when the error was caught.
"""


def test_the_readme_section_matches_the_tests() -> None:
    text = render_section()
    if os.environ.get("HARNESS_WRITE_README_SECTION"):
        SECTION.write_text(text)
    assert SECTION.read_text() == text, (
        "README_SECTION.md is out of date: rerun with HARNESS_WRITE_README_SECTION=1"
    )


def test_the_catalogue_is_big_enough_and_mostly_green() -> None:
    assert len(ROWS) >= 40
    assert len({r.id for r in ROWS}) == len(ROWS)
    assert len([r for r in ROWS if r.xfail]) <= 5
    assert figures.KILLS >= 50
