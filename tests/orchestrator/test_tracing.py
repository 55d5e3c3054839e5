"""OpenTelemetry spans: one per run, attempt and call of a production run; none from campaigns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from _orch_fakes import Desk, fail_once
from _orch_support import make_flow, order
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness import (
    Policy,
    RetryPolicy,
    UsageError,
    WallClock,
    configure_tracing,
    load_flow,
    run_campaign,
)
from harness.ledger import Ledger
from harness.orchestrator import DurableOrchestrator, RunResult
from harness.systems import World
from harness.systems._stripe import Stripe

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
DEAL_WON = ROOT / "scenarios" / "deal_won" / "flow.py"  # a flow a campaign can generate events for


@pytest.fixture
def world() -> Iterator[World]:
    w = World([Stripe(), Desk()], clock=WallClock())
    with w.activate():
        yield w


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing(exporter)
    yield exporter
    configure_tracing(None)


def by_name(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def test_a_production_run_is_one_span_with_its_attempts_and_calls(
    sqlite_ledger: Ledger, world: World, spans: InMemorySpanExporter
) -> None:
    world.interceptors.append(fail_once("POST", "/v1/invoices", "status", status=503))
    flow = make_flow("bill", policy=Policy(retry=RetryPolicy(base_delay=0.01, max_delay=0.02)))
    result = DurableOrchestrator(flow, ledger=sqlite_ledger, budget=10.0).handle(order(3))
    assert isinstance(result, RunResult) and result.end_state == "succeeded"
    finished = spans.get_finished_spans()
    (run,) = by_name(finished, "harness.run")
    attempts = sorted(by_name(finished, "harness.attempt"), key=lambda s: int(s.attributes["harness.attempt"]))  # type: ignore[index, arg-type]
    calls = [s for s in finished if s.kind.name == "CLIENT"]
    assert run.name == "harness.run orders"
    assert run.attributes is not None
    assert run.attributes["harness.flow"] == "orders" and run.attributes["harness.run_id"] == result.run.id
    assert run.attributes["harness.end_state"] == "succeeded" and run.attributes["harness.attempts"] == 2
    assert [a.attributes["harness.attempt"] for a in attempts] == [1, 2]  # type: ignore[index]
    assert attempts[0].attributes["harness.error_class"] == "transient"  # type: ignore[index]
    assert attempts[0].status.status_code.name == "ERROR" and attempts[1].status.status_code.name == "UNSET"
    for span in (*attempts, *calls):
        assert span.parent is not None
        assert span.context.trace_id == run.context.trace_id
    assert all(a.parent.span_id == run.context.span_id for a in attempts)  # type: ignore[union-attr]
    failed = [c for c in calls if c.attributes["http.response.status_code"] == 503]  # type: ignore[index]
    (bad,) = failed
    assert bad.name == "POST /v1/invoices"
    assert dict(bad.attributes or {}).items() >= {
        "harness.flow": "orders",
        "harness.run_id": result.run.id,
        "harness.attempt": 1,
        "harness.system": "stripe",
        "http.request.method": "POST",
        "url.template": "/v1/invoices",
        "harness.outcome": "failed",
        "harness.error_class": "transient",
    }.items()
    assert bad.parent.span_id == attempts[0].context.span_id  # type: ignore[union-attr]
    assert bad.start_time is not None and bad.end_time is not None and bad.start_time <= bad.end_time
    # the second attempt's completed calls were answered from the journal, and say so
    assert any(c.attributes.get("harness.replayed") for c in calls if c.attributes["harness.attempt"] == 2)  # type: ignore[index, union-attr]
    # ids in paths become {id}; nothing of the event, the key or the query reaches a span
    templates = {c.attributes["url.template"] for c in calls}  # type: ignore[index]
    assert "/v1/customers" in templates
    text = json.dumps([dict(s.attributes or {}) for s in finished]) + " ".join(s.name for s in finished)
    for secret in (KEY, "buyer3@example.com", "cus_", "?"):
        assert secret not in text


def test_a_run_handed_to_a_person_is_an_error_span_with_a_redacted_reason(
    sqlite_ledger: Ledger, world: World, spans: InMemorySpanExporter
) -> None:
    world.interceptors.append(fail_once("POST", "/v1/customers", "status", status=400))
    result = DurableOrchestrator(make_flow("bill"), ledger=sqlite_ledger, budget=10.0).handle(order(4))
    assert isinstance(result, RunResult) and result.end_state == "manual"
    (run,) = by_name(spans.get_finished_spans(), "harness.run")
    assert run.status.status_code.name == "ERROR"
    assert run.attributes is not None and run.attributes["harness.error_class"] == "logical"
    assert KEY not in (run.status.description or "")


def test_campaigns_emit_no_span_even_with_an_exporter_in_the_environment(
    sqlite_ledger: Ledger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a collector is off the machine, and a campaign sends nothing off it
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    configure_tracing(None)
    run_campaign(load_flow(str(DEAL_WON)), ledger=sqlite_ledger, examples=3, seed=1, shrink=False)
    assert sqlite_ledger.info().runs > 0  # the campaign ran
    assert "harness.run" not in capsys.readouterr().out


def test_a_campaign_traces_only_when_asked_and_only_to_a_local_exporter(sqlite_ledger: Ledger) -> None:
    class Collector(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    with pytest.raises(UsageError, match="Collector may send spans off this machine"):
        configure_tracing(Collector(), campaigns=True)
    memory = InMemorySpanExporter()
    configure_tracing(memory, campaigns=True)
    try:
        run_campaign(
            load_flow(str(DEAL_WON)), ledger=sqlite_ledger, examples=2, seed=1, modes=("orchestrated",), shrink=False
        )
    finally:
        configure_tracing(None)
    runs = by_name(memory.get_finished_spans(), "harness.run")
    assert runs and all(s.attributes["harness.mode"] == "orchestrated" for s in runs)  # type: ignore[index]


def _python(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**clean, **env, "PYTHONPATH": str(HERE)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


_PRODUCTION_RUN = """
    import sys
    from _orch_fakes import Desk
    from _orch_support import make_flow, order
    from harness import WallClock
    from harness.ledger import Ledger
    from harness.orchestrator import DurableOrchestrator
    from harness.systems import World
    from harness.systems._stripe import Stripe

    with World([Stripe(), Desk()], clock=WallClock()).activate():
        result = DurableOrchestrator(make_flow("bill"), ledger=Ledger.open("sqlite:///l.db"), budget=10).handle(order(5))
    print("END", result.end_state, file=sys.stderr)
    print("SDK", "opentelemetry.sdk" in sys.modules, "API", "opentelemetry" in sys.modules, file=sys.stderr)
"""


def test_without_an_exporter_nothing_of_opentelemetry_is_imported(tmp_path: Path) -> None:
    done = _python(_PRODUCTION_RUN, {}, tmp_path)
    assert "END succeeded" in done.stderr, done.stderr
    assert "SDK False API False" in done.stderr


def test_otel_traces_exporter_console_prints_the_runs_spans(tmp_path: Path) -> None:
    done = _python(_PRODUCTION_RUN, {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "billing"}, tmp_path)
    assert "END succeeded" in done.stderr, done.stderr
    printed = done.stdout
    assert '"name": "harness.run orders"' in printed
    assert '"name": "POST /v1/invoices"' in printed
    assert '"service.name": "billing"' in printed
    assert KEY not in printed and "buyer5@example.com" not in printed


def test_an_unknown_exporter_is_refused_with_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.orchestrator._tracing import tracing_configured

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(UsageError, match="harness knows 'otlp', 'console' and 'none'"):
        tracing_configured()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not tracing_configured()
    configure_tracing(None)


def test_harness_serve_refuses_a_misconfigured_exporter_before_it_opens_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    monkeypatch.setenv("HARNESS_WEBHOOK_SECRET", "s")
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["serve", "--flow", str(ROOT / "tests" / "serve" / "_crash_flow.py")])
    finally:
        configure_tracing(None)
    assert code == 2
    assert "OTEL_TRACES_EXPORTER names 'zipkin'" in capsys.readouterr().err
    assert not (tmp_path / ".harness").exists()  # no ledger was opened
