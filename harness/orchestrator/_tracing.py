"""OpenTelemetry spans of production runs: one per run, per attempt and per call.

Spans are built when a run ends, from its events (which carry the wall time
of each attempt and call, and survive a crash: a recovered run's trace covers
every process that worked on it).  Each span carries the flow, the run id,
the attempt number, and for calls the system, the method, the URL's path
template (``/v1/customers/{id}``, from the redacted URL: never a query
string, an id or a secret), the status, the outcome, the error class and the
fault.  Error messages are redacted (:mod:`harness._shared.redact`).

Where spans go, decided once per process:

1. an exporter given to :func:`configure_tracing`;
2. else the application's global tracer provider, when the application has
   set one (``opentelemetry.trace.set_tracer_provider``);
3. else the standard environment: ``OTEL_TRACES_EXPORTER`` (``console``,
   ``otlp``; ``none`` turns spans off) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
   ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (OTLP over HTTP, the exporter's own
   variables apply); ``OTEL_SDK_DISABLED=true`` turns them off;
4. else nowhere, at the cost of one check per run: neither the OpenTelemetry
   API nor its SDK is imported.

Campaigns never emit spans through 2 or 3: a campaign must not send a byte
off the machine, and a collector is off the machine.  A campaign's runs are
traced only when asked explicitly, to an exporter that keeps them local
(``configure_tracing(exporter, campaigns=True)`` with the SDK's
``InMemorySpanExporter`` or ``ConsoleSpanExporter``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness._shared.redact import redact_text, redact_url
from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.ledger.records import EventRecord, RunRecord

__all__ = ["configure_tracing", "export_run", "tracing_configured"]

log = logging.getLogger("harness.orchestrator")

_NS = 1_000_000_000
_OFF = object()


class _Config:
    """Where spans go in this process (resolved lazily, again after a fork)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.tracer: Any = None  # an opentelemetry Tracer, or _OFF
        self.explicit: Any = None  # (tracer, campaigns) from configure_tracing
        self.campaigns = False


_CONFIG = _Config()


def _env_exporters() -> list[str]:
    """The exporters the standard OTEL variables ask for ([] for none)."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if names:
        return [] if names == ["none"] else [n for n in names if n != "none"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ["otlp"]
    return []


def _sdk_missing(what: str) -> UsageError:
    return UsageError(
        f"OpenTelemetry: {what} needs the OpenTelemetry SDK; install it with "
        "`pip install 'harness[otel]'` (or unset the OTEL_* variables)"
    )


def _tracer_from_env(names: list[str]) -> Any:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        raise _sdk_missing(f"OTEL_TRACES_EXPORTER={','.join(names)}") from None
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "harness")}))
    for name in names:
        exporter: Any
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            )
            if protocol.strip() != "http/protobuf":
                raise UsageError(
                    f"OpenTelemetry: OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported; "
                    "harness exports OTLP over HTTP: set it to 'http/protobuf'"
                )
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError:
                raise _sdk_missing("the OTLP exporter") from None
            exporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself
        else:
            raise UsageError(
                f"OpenTelemetry: OTEL_TRACES_EXPORTER names {name!r}; harness knows 'otlp', "
                "'console' and 'none'"
            )
        # exported from a thread of the SDK: a slow collector never slows a run
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider.get_tracer("harness")


def _resolve() -> Any:
    """The production tracer of this process (``_OFF`` when spans go nowhere)."""
    if _CONFIG.explicit is not None:
        return _CONFIG.explicit
    api = sys.modules.get("opentelemetry.trace")
    if api is not None and not isinstance(api.get_tracer_provider(), api.ProxyTracerProvider):
        return api.get_tracer("harness")  # the application configured OpenTelemetry itself
    names = _env_exporters()
    if not names:
        return _OFF
    return _tracer_from_env(names)


def _tracer(campaign: bool) -> Any:
    cfg = _CONFIG
    if campaign:
        return cfg.explicit if (cfg.explicit is not None and cfg.campaigns) else _OFF
    pid = os.getpid()
    if cfg.pid != pid:  # first use, or a forked child: its own exporter threads
        with cfg.lock:
            if cfg.pid != pid:
                try:
                    cfg.tracer = _resolve()
                except UsageError as exc:
                    log.error("%s; runs are not traced", exc)
                    cfg.tracer = _OFF
                cfg.pid = pid
    return cfg.tracer


def tracing_configured() -> bool:
    """Whether production runs in this process emit spans (raises what is misconfigured)."""
    with _CONFIG.lock:
        _CONFIG.tracer = _resolve()
        _CONFIG.pid = os.getpid()
        return _CONFIG.tracer is not _OFF


def configure_tracing(exporter: Any = None, *, campaigns: bool = False) -> None:
    """Send the spans of runs to ``exporter`` (an OpenTelemetry SDK ``SpanExporter``).

    ``None`` goes back to the default (the application's tracer provider, then
    the OTEL environment).  ``campaigns=True`` traces campaigns' runs too, and
    only to an exporter that keeps spans on this machine: the SDK's
    ``InMemorySpanExporter`` or ``ConsoleSpanExporter`` (anything else is a
    :class:`~harness.errors.UsageError`: a campaign sends nothing off the machine).
    """
    with _CONFIG.lock:
        _CONFIG.pid = None
        _CONFIG.campaigns = False
        if exporter is None:
            _CONFIG.explicit = None
            return
        try:
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        except ImportError:
            raise _sdk_missing("configure_tracing") from None
        local = isinstance(exporter, InMemorySpanExporter | ConsoleSpanExporter)
        if campaigns and not local:
            raise UsageError(
                f"configure_tracing(campaigns=True): {type(exporter).__name__} may send spans off "
                "this machine, and a campaign sends nothing off it; use InMemorySpanExporter or "
                "ConsoleSpanExporter, or trace production runs only (campaigns=False)"
            )
        provider = TracerProvider()
        # local exporters get every span at once (tests read them right after a run)
        if local:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider.add_span_processor(BatchSpanProcessor(exporter))
        _CONFIG.explicit = provider.get_tracer("harness")
        _CONFIG.campaigns = campaigns


# -- building the spans of one run ---------------------------------------------------


def _ns(seconds: float) -> int:
    return int(seconds * _NS)


def _path_template(method: str, url: str) -> str:
    from harness.systems import template_endpoint

    path = urlsplit(redact_url(url)).path or "/"
    return template_endpoint(method, path).partition(" ")[2]


def _attrs(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def export_run(record: RunRecord) -> None:
    """Emit the spans of a finished run, if spans go anywhere (see the module's description)."""
    tracer = _tracer(record.mode != "production")
    if tracer is _OFF:
        return
    try:
        _emit(tracer, record)
    except Exception as exc:  # tracing must never fail a run that succeeded
        log.error("could not export the spans of run %s: %s", record.id, exc)


def _emit(tracer: Any, record: RunRecord) -> None:
    """Build and end the spans of ``record``: its run, each attempt under it, each call under its attempt."""
    from opentelemetry import trace

    base = {"harness.flow": record.flow, "harness.run_id": record.id}
    end_wall = record.wall_ended if record.wall_ended is not None else record.wall_started
    run_span = _run_span(tracer, record, base)
    parent = trace.set_span_in_context(run_span)
    windows = _attempt_windows(record.events, end_wall)
    attempt_ctx, attempt_spans = _attempt_spans(tracer, windows, parent, base)
    _call_spans(tracer, record.events, attempt_ctx, parent, base)
    for span, ended in attempt_spans:
        span.end(end_time=_ns(ended))
    run_span.end(end_time=_ns(end_wall))


def _run_span(tracer: Any, record: RunRecord, base: Mapping[str, Any]) -> Any:
    """Start the run's span (an error status when the run ended manual or failed)."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    events: tuple[EventRecord, ...] = record.events
    run_span = tracer.start_span(
        f"harness.run {record.flow}",
        kind=SpanKind.CONSUMER,
        start_time=_ns(record.wall_started),
        attributes=_attrs(
            {
                **base,
                "harness.mode": record.mode,
                "harness.end_state": record.end_state,
                "harness.attempts": record.attempts,
                "harness.retries": record.retries,
                "harness.error_class": record.error_class,
                "harness.trigger_event_id": record.event_id,
                "harness.recovered": any(e.kind == "resumed" and e.detail.get("recovered") for e in events),
            }
        ),
    )
    if record.end_state in ("manual", "failed"):
        reason = str(record.detail.get("reason") or record.end_state)
        run_span.set_status(Status(StatusCode.ERROR, redact_text(reason)[:300]))
    return run_span


def _attempt_windows(
    events: tuple[EventRecord, ...], end_wall: float
) -> list[tuple[int, float, float, EventRecord | None]]:
    """The attempts as (number, began, ended, error event): each "attempt" event to the event that closed it."""
    attempts: list[tuple[int, float, float, EventRecord | None]] = []
    opened: tuple[int, float] | None = None
    error_of: dict[int, EventRecord] = {}
    for e in events:
        if e.kind == "attempt":
            if opened is not None:
                attempts.append((opened[0], opened[1], e.wall_at, error_of.get(opened[0])))
            opened = (int(e.detail.get("number", 0)), e.wall_at)
        elif e.kind == "error" and opened is not None and e.detail.get("attempt") is not None:
            error_of[int(e.detail["attempt"])] = e
            attempts.append((opened[0], opened[1], e.wall_at, e))
            opened = None
        elif e.kind in ("retry_scheduled", "end", "resumed") and opened is not None:
            attempts.append((opened[0], opened[1], e.wall_at, error_of.get(opened[0])))
            opened = None
    if opened is not None:
        attempts.append((opened[0], opened[1], end_wall, None))
    return attempts


def _attempt_spans(
    tracer: Any,
    windows: list[tuple[int, float, float, EventRecord | None]],
    parent: Any,
    base: Mapping[str, Any],
) -> tuple[dict[int, Any], list[tuple[Any, float]]]:
    """Start one span per attempt window under ``parent``; return each attempt's context and the spans with their end."""
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    attempt_ctx: dict[int, Any] = {}
    attempt_spans = []
    for number, began, ended, error in windows:
        span = tracer.start_span(
            "harness.attempt",
            context=parent,
            start_time=_ns(began),
            attributes=_attrs(
                {
                    **base,
                    "harness.attempt": number,
                    "harness.error_class": error.error_class if error is not None else None,
                    "http.response.status_code": error.status if error is not None else None,
                }
            ),
        )
        if error is not None:
            message = str(error.detail.get("message") or error.detail.get("type") or "error")
            span.set_status(Status(StatusCode.ERROR, redact_text(message)[:300]))
        attempt_ctx[number] = trace.set_span_in_context(span)
        attempt_spans.append((span, ended))
    return attempt_ctx, attempt_spans


def _call_spans(
    tracer: Any,
    events: tuple[EventRecord, ...],
    attempt_ctx: Mapping[int, Any],
    parent: Any,
    base: Mapping[str, Any],
) -> None:
    """Start and end one client span per "call" event, under its attempt's span (else the run's)."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    for e in events:
        if e.kind != "call":
            continue
        method = str(e.detail.get("method") or "GET")
        number = int(e.detail.get("attempt") or 0)
        latency = float(e.detail.get("latency") or 0.0)
        template = _path_template(method, str(e.detail.get("url") or ""))
        span = tracer.start_span(
            f"{method} {template}",
            context=attempt_ctx.get(number, parent),
            kind=SpanKind.CLIENT,
            start_time=_ns(e.wall_at - latency),
            attributes=_attrs(
                {
                    **base,
                    "harness.attempt": number,
                    "harness.system": e.system,
                    "http.request.method": method,
                    "url.template": template,
                    "http.response.status_code": e.status,
                    "harness.outcome": e.outcome,
                    "harness.error_class": e.error_class,
                    "harness.fault": e.fault,
                    "harness.replayed": bool(e.detail.get("replayed")) or None,
                    "error.type": e.detail.get("error"),
                }
            ),
        )
        if e.outcome not in (None, "ok"):
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=_ns(e.wall_at))
