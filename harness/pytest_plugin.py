"""The harness's pytest plugin: bad-day campaigns as tests, and the CI reliability gate.

Loaded for every pytest run through the ``pytest11`` entry point, so it stays
thin: the chaos, ledger, report and gate rooms are imported only when used,
and it does nothing (no file, no ledger, only the seed in the header) unless a
``--harness-*`` option is given or a test uses the marker or a ``harness_*``
fixture.

Options (group ``harness``)::

    --harness-gate FILE      judge the session's campaigns against a gate file
    --harness-seed N|last    the session seed (default: random; shown in the header)
    --harness-examples N     examples per campaign for every marked test
    --harness-jobs N         play each campaign in N worker processes (same result for any N)
    --harness-ledger URL     the ledger campaigns write to (default: $HARNESS_LEDGER_URL
                             or sqlite:///.harness/ledger.db)
    --harness-report FILE    write a report of the session's campaigns (.html .json .csv .xml)

Marker::

    @pytest.mark.harness(flow="scenarios/deal_won/flow.py", examples=50, mode="both")
    def test_deal_won(harness_campaign):
        assert harness_campaign.examples["orchestrated"] == 50

A marked test runs one campaign of ``flow`` (a :class:`harness.Flow` or a
``path/to/flow.py``, relative to the rootdir or the test file) and hands its
:class:`~harness.chaos.CampaignResult` to the ``harness_campaign`` fixture.
Its findings are always reported (JUnit properties and the terminal
summary).  With ``--harness-gate`` the test also fails when its findings
exceed the gate's ``max_findings`` for its flow; the other thresholds
(duplicate prevention, manual fallbacks, time to recovery, examples) are
judged once for the whole session, from the ledger, after every test and
every xdist worker finished, over exactly the campaigns of this session.

When the gate is judged (on the xdist controller, or the single process) the
run fails (exit 1) if a threshold is broken, the terminal summary gets a
``harness gate`` section naming each broken threshold with its measured value
and the findings' reproduce lines, the JUnit XML (``--junitxml``) gets the
suite properties ``harness_gate`` (passed/failed), ``harness_seed`` and one
``harness_gate.FLOW.THRESHOLD`` per check, and when ``$GITHUB_STEP_SUMMARY`` is
set a Markdown table is appended to that file.  Every marked test also adds
``harness_seed``, ``harness_campaigns``, ``harness_findings`` and one
``harness_finding`` per finding to its own JUnit properties, and the findings
are listed in a ``harness findings`` summary section.

Seeds: the session seed is printed in the header and stored in
``.harness/last-seed`` under the rootdir when a campaign ran
(``--harness-seed last`` reuses it).  Each test's campaign seed is derived
from the session seed and the test's node id, so a test keeps its campaign
when others are added, and xdist workers agree with a serial run.
"""

from __future__ import annotations

import argparse
import os
import random
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

# Nothing of the harness is imported here, only inside the hooks and fixtures that
# use it: pytest loads this plugin (an entry point) in every session of a project
# that installed the harness, and `import harness` alone costs about a second
# (the fakes, the triggers); the chaos room adds Hypothesis, the ledger SQLAlchemy,
# the report pandas.  A session that never uses the plugin pays none of it.
if TYPE_CHECKING:
    from harness.chaos import CampaignResult
    from harness.flow import Flow
    from harness.gate import Gate, GateResult
    from harness.ledger import Ledger
    from harness.systems import World

__all__ = [
    "harness_campaign",
    "harness_ledger",
    "harness_run",
    "harness_seed",
    "harness_world",
]

_MODES: dict[str, tuple[str, ...]] = {
    "bare": ("bare",),
    "orchestrated": ("orchestrated",),
    "both": ("bare", "orchestrated"),
}
_MARKER_ARGS = ("flow", "examples", "mode", "world")
_DEFAULT_EXAMPLES = 100
_LAST_SEED = Path(".harness") / "last-seed"
_WORKER_KEY = "harness_campaigns"
_REPORT_SUFFIXES = (".html", ".json", ".csv", ".xml")
_MARKER_DOC = (
    "harness(*, flow, examples=None, mode='both', world=None): run a bad-day campaign of `flow` "
    "(a harness.Flow or 'path/to/flow.py'; mode 'bare', 'orchestrated' or 'both'; world a "
    "FACTORY(seed) or 'path.py:FACTORY' replacing the flow's world) and give "
    "its CampaignResult to the `harness_campaign` fixture; with --harness-gate the test fails "
    "when its findings exceed the gate's max_findings for the flow."
)


# ---------------------------------------------------------------------------
# options and configuration


def _fail(message: str) -> NoReturn:
    """Fail the current test with ``message`` alone: no traceback, no chained exception."""
    # no __tracebackhide__ here: with every frame hidden pytest adds a note about hidden frames
    raise pytest.fail.Exception(message, pytrace=False) from None


def _seed_option(value: str) -> int | str:
    if value == "last":
        return value
    try:
        seed = int(value)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0 or 'last', got {value!r}")
    return seed


def _examples_option(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return n


def _jobs_option(value: str) -> int:
    from harness.chaos import MAX_JOBS

    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {MAX_JOBS}, got {value!r}")
    return n


def _seconds_option(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {value!r}")
    return seconds


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "harness: bad-day campaigns and the CI reliability gate")
    group.addoption(
        "--harness-gate",
        metavar="FILE",
        default=None,
        help="judge this session's campaigns against the gate file (TOML); fail the run when a "
        "threshold is broken",
    )
    group.addoption(
        "--harness-seed",
        metavar="N|last",
        type=_seed_option,
        default=None,
        help="session seed for every campaign (default: random); 'last' reuses the previous one",
    )
    group.addoption(
        "--harness-examples",
        metavar="N",
        type=_examples_option,
        default=None,
        help="examples per campaign for every marked test (overrides the marker's examples=)",
    )
    group.addoption(
        "--harness-jobs",
        metavar="N",
        type=_jobs_option,
        default=1,
        help="play each campaign's scenarios in N worker processes (default 1); the result is "
        "the same for any N; the flow must come from a file",
    )
    group.addoption(
        "--harness-ledger",
        metavar="URL",
        default=None,
        help="ledger URL campaigns write to (default: $HARNESS_LEDGER_URL or "
        "sqlite:///.harness/ledger.db)",
    )
    group.addoption(
        "--harness-run-timeout",
        metavar="SECONDS",
        type=_seconds_option,
        default=None,
        help="wall-clock limit on one call of the automation (default 60, 0: none); past it "
        "the test fails naming the file:line the automation was stuck on",
    )
    group.addoption(
        "--harness-campaign-timeout",
        metavar="SECONDS",
        type=_seconds_option,
        default=None,
        help="wall-clock limit on one campaign (default 3600, 0: none)",
    )
    group.addoption(
        "--harness-report",
        metavar="FILE",
        default=None,
        help="write a report of this session's campaigns; format from the suffix "
        "(.html .json .csv .xml)",
    )


@dataclass
class _State:
    """Per-process plugin state (controller, worker or a plain run)."""

    config: pytest.Config
    seed: int
    session_id: str
    is_worker: bool
    gate: Gate | None = None
    examples: int | None = None
    ledger_url: str | None = None
    report: Path | None = None
    campaigns: list[str] = field(default_factory=list)
    worker_campaigns: list[str] = field(default_factory=list)
    findings: list[tuple[str, str]] = field(default_factory=list)  # (nodeid, line)
    result: GateResult | None = None
    error: str | None = None
    _ledger: Ledger | None = None

    @property
    def active(self) -> bool:
        """True when this session asked for anything of the harness."""
        return bool(self.campaigns or self.worker_campaigns or self.gate or self.report)

    def ledger(self) -> Ledger:
        """The session's ledger, opened on first use (one connection pool per process)."""
        __tracebackhide__ = True
        if self._ledger is None:
            from harness.errors import HarnessError
            from harness.ledger import Ledger

            try:
                self._ledger = Ledger.open(self.ledger_url)
            except HarnessError as exc:
                _fail(f"harness: {exc}")
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def record(self, result: CampaignResult) -> None:
        self.campaigns.extend(result.campaign_ids.values())
        if self.is_worker:
            # the controller reads this when the worker finishes (pytest_testnodedown)
            self.config.workeroutput[_WORKER_KEY] = list(self.campaigns)  # type: ignore[attr-defined]


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_DOC)
    workerinput: Mapping[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and "harness_seed" in workerinput:
        seed = int(workerinput["harness_seed"])
        session_id = str(workerinput["harness_session"])
    else:
        seed = _resolve_seed(config, config.getoption("harness_seed"))
        session_id = uuid.uuid4().hex[:12]
    state = _State(
        config=config,
        seed=seed,
        session_id=session_id,
        is_worker=workerinput is not None,
        examples=config.getoption("harness_examples"),
        ledger_url=config.getoption("harness_ledger"),
    )
    gate_path = config.getoption("harness_gate")
    if gate_path is not None:
        from harness.errors import ConfigError
        from harness.gate import load_gate

        try:
            state.gate = load_gate(gate_path)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    report = config.getoption("harness_report")
    if report is not None:
        state.report = Path(report)
        if state.report.is_dir():
            raise pytest.UsageError(
                f"--harness-report {report}: is a directory; give a file such as harness.html"
            )
        if state.report.suffix.lower() not in _REPORT_SUFFIXES:
            raise pytest.UsageError(
                f"--harness-report {report}: unknown format {state.report.suffix or '(none)'!r}; "
                f"name the file with one of {', '.join(_REPORT_SUFFIXES)}"
            )
    config.stash[_STATE] = state
    if not state.is_worker:
        config.pluginmanager.register(_Findings(state), "harness-findings")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(state), "harness-xdist")


def _resolve_seed(config: pytest.Config, option: int | str | None) -> int:
    if isinstance(option, int):
        return option
    if option == "last":
        path = config.rootpath / _LAST_SEED
        try:
            return int(path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            raise pytest.UsageError(
                f"--harness-seed last: no previous seed in {path}; run once without "
                "--harness-seed or give a number"
            ) from None
    return random.SystemRandom().randrange(2**32)


class _XdistHooks:
    """Registered only when pytest-xdist is installed: share the seed, gather campaign ids."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["harness_seed"] = self.state.seed
        node.workerinput["harness_session"] = self.state.session_id

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        self.state.worker_campaigns.extend(output.get(_WORKER_KEY, ()))


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = _state(config)
    parts = [f"harness: seed {state.seed} (repeat with --harness-seed {state.seed})"]
    if state.gate is not None:
        parts.append(f"gate {state.gate.path}")
    if state.ledger_url is not None:
        from harness._shared.redact import redact_url

        parts.append(f"ledger {redact_url(state.ledger_url)}")
    return [", ".join(parts)]


# ---------------------------------------------------------------------------
# the marker


@dataclass(frozen=True)
class _MarkerSpec:
    flow: Any  # a Flow or a path string
    examples: int | None
    mode: str
    world: Any = None  # a factory or 'path.py:FACTORY' overriding the flow's world


def _marker_spec(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], *, where: str = "@pytest.mark.harness"
) -> _MarkerSpec:
    """Validate the marker's (or ``harness_run``'s) arguments: keyword-only, known, typed."""
    from harness.errors import did_you_mean

    if args:
        raise _MarkerError(
            f"{where} takes keyword arguments only (flow=..., examples=..., mode=...), got "
            f"positional {', '.join(repr(a) for a in args)}"
        )
    for name in kwargs:
        if name not in _MARKER_ARGS:
            raise _MarkerError(
                f"{where}: unknown argument {name!r}{did_you_mean(name, _MARKER_ARGS)}; valid: "
                f"{', '.join(_MARKER_ARGS)}"
            )
    flow = kwargs.get("flow")
    if flow is None:
        raise _MarkerError(
            f"{where}: 'flow' is required: a harness.Flow or 'path/to/flow.py', e.g. "
            "flow='scenarios/deal_won/flow.py'"
        )
    examples = kwargs.get("examples")
    if examples is not None and (
        isinstance(examples, bool) or not isinstance(examples, int) or examples < 1
    ):
        raise _MarkerError(f"{where}: 'examples' must be a whole number >= 1, got {examples!r}")
    mode = kwargs.get("mode", "both")
    if mode not in _MODES:
        raise _MarkerError(
            f"{where}: 'mode' must be one of {', '.join(map(repr, _MODES))}, got {mode!r}"
            f"{did_you_mean(str(mode), _MODES)}"
        )
    world = kwargs.get("world")
    if world is not None and not (callable(world) or (isinstance(world, str) and ":" in world)):
        raise _MarkerError(
            f"{where}: 'world' must be a factory FACTORY(seed) -> World or 'path/to/file.py:FACTORY', "
            f"got {world!r}"
        )
    return _MarkerSpec(flow=flow, examples=examples, mode=mode, world=world)


class _MarkerError(Exception):
    pass


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # a marked test runs its campaign even when it does not name the fixture
    for item in items:
        if item.get_closest_marker("harness") is not None:
            names = getattr(item, "fixturenames", None)
            if isinstance(names, list) and "harness_campaign" not in names:
                names.append("harness_campaign")


# ---------------------------------------------------------------------------
# fixtures


def _load_flow(spec: Any, node: pytest.Item, config: pytest.Config) -> Flow:
    __tracebackhide__ = True
    from harness.errors import UsageError
    from harness.flow import Flow, load_flow

    if isinstance(spec, Flow):
        return spec
    if not isinstance(spec, str):
        _fail(
            f"'flow' must be a harness.Flow or 'path/to/flow.py', got "
            f"{spec!r}"
        )
    target = spec
    path_part, sep, attr = spec.rpartition(":") if ".py:" in spec else (spec, "", "")
    if path_part.endswith(".py") and not Path(path_part).is_absolute():
        for base in (config.rootpath, node.path.parent):
            if (base / path_part).is_file():
                target = f"{base / path_part}{sep}{attr}"
                break
    try:
        return load_flow(target)
    except UsageError as exc:
        _fail(str(exc))


def _test_seed(session_seed: int, nodeid: str) -> int:
    return zlib.crc32(f"{session_seed}:{nodeid}".encode()) & 0xFFFFFFFF


@pytest.fixture(scope="session")
def harness_ledger(pytestconfig: pytest.Config) -> Ledger:
    """The session's ledger (``--harness-ledger``), opened on first use, closed at the end."""
    return _state(pytestconfig).ledger()


@pytest.fixture
def harness_seed(request: pytest.FixtureRequest) -> int:
    """This test's seed: derived from the session seed (``--harness-seed``) and the node id."""
    return _test_seed(_state(request.config).seed, request.node.nodeid)


@pytest.fixture
def harness_world(request: pytest.FixtureRequest, harness_seed: int) -> Iterator[World]:
    """The test's fake world, seeded, with HTTP routed to it.

    The world of the test's ``@pytest.mark.harness`` (its ``world=``, else its
    flow's ``world``); the standard world (HubSpot, Stripe, Zendesk) without one.
    """
    __tracebackhide__ = True
    from harness.errors import UsageError
    from harness.flow import load_callable
    from harness.systems import World, standard_world

    factory: Any = None
    marker = request.node.get_closest_marker("harness")
    if marker is not None:
        try:
            spec = _marker_spec(marker.args, marker.kwargs)
        except _MarkerError as exc:
            _fail(str(exc))
        factory = spec.world
        if factory is None:
            factory = _load_flow(spec.flow, request.node, request.config).world
    try:
        world = load_callable(factory, what="world")(harness_seed) if factory else standard_world(harness_seed)
    except UsageError as exc:
        _fail(str(exc))
    if not isinstance(world, World):
        _fail(f"world {factory!r}: FACTORY(seed) must return a harness.systems.World, got {type(world).__name__}")
    with world.activate():
        yield world


@pytest.fixture
def harness_run(
    request: pytest.FixtureRequest, harness_seed: int
) -> Callable[..., CampaignResult]:
    """Run a campaign: ``harness_run(flow, *, examples=None, mode="both", world=None) -> CampaignResult``.

    ``flow`` is a :class:`harness.Flow` or ``"path/to/flow.py"``.  The
    campaign writes to the session's ledger and counts for the session's gate;
    ``--harness-examples`` overrides ``examples`` (default 100).
    """
    state = _state(request.config)
    calls = [0]

    def run(
        flow: Any, *, examples: int | None = None, mode: str = "both", world: Any = None
    ) -> CampaignResult:
        __tracebackhide__ = True
        import dataclasses

        from harness.errors import HarnessError

        spec = _validated(flow=flow, examples=examples, mode=mode, world=world)
        loaded = _load_flow(spec.flow, request.node, request.config)
        if spec.world is not None:
            loaded = dataclasses.replace(loaded, world=spec.world)
        if state.gate is not None:
            from harness.errors import ConfigError

            try:
                state.gate.flow(loaded.name)  # an unknown flow fails before the campaign runs
            except ConfigError as exc:
                _fail(str(exc))
        n = state.examples or spec.examples or _DEFAULT_EXAMPLES
        # a second campaign in the same test gets its own seed
        seed = harness_seed if calls[0] == 0 else _test_seed(harness_seed, str(calls[0]))
        calls[0] += 1
        command = (
            f"pytest {request.node.nodeid} --harness-seed {state.seed}  "
            f"# harness session {state.session_id}"
        )
        from harness._watchdog import DEFAULT_CAMPAIGN_TIMEOUT, DEFAULT_RUN_TIMEOUT
        from harness.chaos import run_campaign

        run_timeout = request.config.getoption("harness_run_timeout")
        campaign_timeout = request.config.getoption("harness_campaign_timeout")
        try:
            result = run_campaign(
                loaded,
                ledger=state.ledger(),
                examples=n,
                seed=seed,
                modes=_MODES[spec.mode],
                command=command,
                run_timeout=DEFAULT_RUN_TIMEOUT if run_timeout is None else run_timeout,
                campaign_timeout=DEFAULT_CAMPAIGN_TIMEOUT if campaign_timeout is None else campaign_timeout,
                jobs=request.config.getoption("harness_jobs"),
            )
        except HarnessError as exc:
            # the limits are this plugin's options here, not harness check's
            text = str(exc).replace("(--run-timeout)", "(--harness-run-timeout)")
            text = text.replace("--jobs", "--harness-jobs")
            _fail("harness: " + text.replace("(--campaign-timeout)", "(--harness-campaign-timeout)"))
        state.record(result)
        _attach(request.node, loaded.name, result)
        return result

    return run


def _validated(**kwargs: Any) -> _MarkerSpec:
    __tracebackhide__ = True
    try:
        return _marker_spec((), kwargs, where="harness_run")
    except _MarkerError as exc:
        _fail(str(exc))


_RESULT = pytest.StashKey[list[tuple[str, Any]]]()


def _attach(node: pytest.Item, flow: str, result: CampaignResult) -> None:
    """Always report a campaign's findings: JUnit properties and the terminal summary."""
    node.stash.setdefault(_RESULT, []).append((flow, result))
    node.user_properties.append(("harness_seed", result.seed))
    node.user_properties.append(
        ("harness_campaigns", " ".join(f"{m}={c}" for m, c in result.campaign_ids.items()))
    )
    node.user_properties.append(("harness_findings", len(result.findings)))
    for f in result.findings:
        node.user_properties.append(
            ("harness_finding", f"{f.oracle} [{f.mode}] {f.message} | reproduce: {f.reproduce}")
        )


@pytest.fixture
def harness_campaign(
    request: pytest.FixtureRequest, harness_run: Callable[..., CampaignResult]
) -> CampaignResult:
    """The campaign of the test's ``@pytest.mark.harness(flow=..., examples=..., mode=...)``."""
    __tracebackhide__ = True
    marker = request.node.get_closest_marker("harness")
    if marker is None:
        _fail(
            "the harness_campaign fixture needs @pytest.mark.harness(flow=...) on the test "
            "(or call the harness_run fixture)"
        )
    try:
        spec = _marker_spec(marker.args, marker.kwargs)
    except _MarkerError as exc:
        _fail(str(exc))
    return harness_run(spec.flow, examples=spec.examples, mode=spec.mode, world=spec.world)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    results = item.stash.get(_RESULT, None)
    gate = _state(item.config).gate
    if results and gate is not None:
        broken = _findings_over_gate(gate, results)
        if broken:
            head = f"findings of this test's campaign exceed the gate {gate.path}:"
            _fail("\n".join([head, *broken]))
    return result


def _findings_over_gate(gate: Gate, results: list[tuple[str, Any]]) -> list[str]:
    """The test's own check: its findings against ``max_findings`` of its flow's gate."""
    from harness.errors import ConfigError
    from harness.gate import FlowGate, Gate, evaluate

    lines: list[str] = []
    for name, result in results:
        try:
            fg = gate.flow(name)
        except ConfigError as exc:
            lines.append(str(exc))
            continue
        only_findings = FlowGate(flow=name, mode=fg.mode, max_findings=fg.max_findings)
        single = Gate(path=gate.path, flows={name: only_findings})
        checked = evaluate(single, {name: []}, {name: result.findings}, {name: 1})
        for c in checked.broken:
            lines.append(c.sentence)
            lines.extend(f"  reproduce: {r}" for r in c.reproduce)
    return lines


# ---------------------------------------------------------------------------
# the session: gate, report, summary


class _Findings:
    """Registered on the controller (or a plain run): collect every test's findings lines."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # the teardown report carries every property the test recorded; under xdist the
        # controller receives the workers' reports here
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == "harness_finding":
                self.state.findings.append((report.nodeid, str(value)))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    if state.is_worker:
        state.close()
        return
    ids = list(dict.fromkeys([*state.campaigns, *state.worker_campaigns]))
    if ids:
        _store_last_seed(session.config, state.seed)
    try:
        if state.gate is not None:
            _evaluate(session, state, ids)
        if state.report is not None and ids:
            from harness.report import write_report

            write_report(state.ledger(), state.report, campaign_ids=ids)
    except (Exception, pytest.fail.Exception) as exc:
        # never silent: the run fails and the summary says why (a ledger that cannot be
        # opened arrives as the Failed outcome the fixtures use)
        name = "" if isinstance(exc, pytest.fail.Exception) else f"{type(exc).__name__}: "
        state.error = f"{name}{exc}"
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        state.close()


def _evaluate(session: pytest.Session, state: _State, ids: list[str]) -> None:
    from harness.gate import evaluate, evaluate_ledger

    assert state.gate is not None
    result: GateResult
    if ids:
        result = evaluate_ledger(state.gate, state.ledger(), ids)
    else:
        result = evaluate(state.gate, {}, {}, {})
    state.result = result
    if not result.passed and session.exitstatus in (
        pytest.ExitCode.OK,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _junit(session.config, [*result.junit_properties(), ("harness_seed", str(state.seed))])
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(result.render_markdown())
            fh.write(f"\nSeed {state.seed}: repeat with `--harness-seed {state.seed}`.\n")


def _junit(config: pytest.Config, props: list[tuple[str, str]]) -> None:
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - older pytest
        xml = getattr(config, "_xml", None)
    else:
        xml = config.stash.get(xml_key, None)
    if xml is not None:
        for name, value in props:
            xml.add_global_property(name, value)


def _store_last_seed(config: pytest.Config, seed: int) -> None:
    path = config.rootpath / _LAST_SEED
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{seed}\n", encoding="utf-8")
    except OSError:
        pass  # --harness-seed last will say there is no previous seed


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.is_worker or not state.active:
        return
    tr = terminalreporter
    if state.findings:
        tr.write_sep("-", "harness findings")
        for nodeid, line in state.findings:
            tr.write_line(f"{nodeid}: {line}")
    if state.result is not None:
        ok = state.result.passed
        tr.write_sep("=", f"harness gate {'passed' if ok else 'FAILED'}", green=ok, red=not ok)
        for line in state.result.render_text().splitlines()[1:]:
            tr.write_line(line)
        tr.write_line(f"seed {state.seed}: repeat with --harness-seed {state.seed}")
    if state.error is not None:
        tr.write_sep("=", "harness: ERROR", red=True)
        what = "the gate could not be evaluated" if state.result is None else "no report"
        tr.write_line(f"{what}: {state.error}")
    elif state.report is not None and (state.campaigns or state.worker_campaigns):
        tr.write_line(f"harness report: {state.report}")
