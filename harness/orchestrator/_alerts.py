"""Alerts for critical flows: a run to the inbox, a breaker opening, a failure rate crossed.

Sinks come from :class:`~harness.policy.AlertPolicy`: ``log`` (a WARNING on
the ``harness.orchestrator`` logger), ``webhook:URL`` (a JSON POST whose
``text`` key makes it a valid Slack incoming-webhook message) and
``smtp://host:port/to@example.com`` (an email through :mod:`smtplib`;
``?from=addr`` sets the sender).  Webhook and email are sent with the
standard library, never with ``requests``, so that an alert leaves the
process even while a :class:`~harness.World` intercepts ``requests``.

The same alert (flow, kind, subject) is sent at most once per ``throttle``
seconds of the run's clock; throttled alerts are still recorded.  A sink that
fails does not fail the run: the failure is logged and recorded on the alert.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness._shared.redact import redact_text, redact_url
from harness._shared.wire import Clock, WallClock
from harness.errors import InvalidValueError
from harness.policy import AlertPolicy
from harness.systems import real_network

__all__ = ["Alert", "AlertOutcome", "Alerter", "recorded_sinks", "sink_for"]

log = logging.getLogger("harness.orchestrator")

SINK_TIMEOUT = 5.0  # seconds: an alert must never hold a run for long


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: ``kind`` is ``inbox``, ``breaker_open`` or ``failure_rate``."""

    kind: str
    flow: str
    text: str
    _: KW_ONLY
    subject: str = ""
    owner: str = ""
    criticality: str = "normal"
    run_id: str | None = None
    at: float = 0.0
    detail: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The webhook body: Slack-compatible ``text`` plus the structured fields."""
        return {
            "text": self.text,
            "kind": self.kind,
            "flow": self.flow,
            "owner": self.owner,
            "criticality": self.criticality,
            "run_id": self.run_id,
            "subject": self.subject,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What happened to an alert at one sink."""

    sink: str
    throttled: bool
    _: KW_ONLY
    error: str | None = None


Sink = Callable[[Alert], None]


def _log_sink(alert: Alert) -> None:
    log.warning(
        "ALERT %s flow=%s owner=%s run=%s: %s",
        alert.kind,
        alert.flow,
        alert.owner,
        alert.run_id,
        alert.text,
        extra={"flow": alert.flow, "owner": alert.owner, "run_id": alert.run_id, "alert": alert.kind},
    )


def _webhook_sink(url: str) -> Sink:
    def send(alert: Alert) -> None:
        body = json.dumps(alert.payload()).encode("utf-8")
        req = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        # the harness's own traffic: it passes a world's interception (the automation's never does)
        with real_network(), urllib.request.urlopen(req, timeout=SINK_TIMEOUT) as resp:
            if not 200 <= resp.status < 300:
                raise OSError(f"webhook answered HTTP {resp.status}")

    return send


def _smtp_sink(spec: str) -> Sink:
    parts = urlsplit(spec)
    host = parts.hostname or "localhost"
    port = parts.port or 25
    to = parts.path.lstrip("/")
    sender = parse_qs(parts.query).get("from", ["harness@localhost"])[0]
    if "@" not in to:
        raise InvalidValueError(f"alert sink {spec!r}: expected smtp://host:port/to@example.com")

    def send(alert: Alert) -> None:
        msg = EmailMessage()
        msg["Subject"] = f"[harness] {alert.kind}: {alert.flow}"
        msg["From"] = sender
        msg["To"] = to
        msg.set_content(alert.text + "\n\n" + json.dumps(alert.payload(), indent=2))
        with real_network(), smtplib.SMTP(host, port, timeout=SINK_TIMEOUT) as smtp:
            smtp.send_message(msg)

    return send


def sink_for(spec: str) -> Sink:
    """The sink callable for a sink spec of :class:`~harness.policy.AlertPolicy`."""
    if spec == "log":
        return _log_sink
    if spec.startswith("webhook:"):
        return _webhook_sink(spec[len("webhook:") :])
    if spec.startswith("smtp://"):
        return _smtp_sink(spec)
    raise InvalidValueError(
        f"unknown alert sink {spec!r}; expected 'log', 'webhook:URL' or 'smtp://host:port/to@addr'"
    )


def recorded_sinks(
    policy: AlertPolicy, *, into: list[tuple[str, Alert]]
) -> list[tuple[str, Sink]]:
    """One sink per spec of ``policy`` that appends ``(spec, alert)`` to ``into`` and sends nothing.

    Campaigns use these: a flow whose policy names a webhook or a mail server
    must not page anyone over fake data, yet what it would have sent is kept.
    """
    out: list[tuple[str, Sink]] = []
    for spec in policy.sinks:
        def record(alert: Alert, spec: str = spec) -> None:
            into.append((spec, alert))

        out.append((spec, record))
    return out


class Alerter:
    """Sends alerts to the policy's sinks with throttling; tracks the failure rate.

    ``sinks`` overrides the policy's sink specs with ``(name, callable)`` pairs
    (tests, or a team's own pager).
    """

    def __init__(
        self,
        policy: AlertPolicy | None = None,
        *,
        clock: Clock | None = None,
        sinks: Sequence[tuple[str, Sink]] | None = None,
    ) -> None:
        self.policy = policy if policy is not None else AlertPolicy()
        self.clock = clock if clock is not None else WallClock()
        if sinks is None:
            sinks = [(spec, sink_for(spec)) for spec in self.policy.sinks]
        self.sinks: list[tuple[str, Sink]] = list(sinks)
        self._last_sent: dict[tuple[str, str, str], float] = {}
        self._outcomes: dict[str, deque[bool]] = {}
        self._crossed: dict[str, bool] = {}
        self._lock = threading.Lock()
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> list[AlertOutcome]:
        """Deliver ``alert`` to every sink unless an identical one was sent within ``throttle``."""
        key = (alert.flow, alert.kind, alert.subject)
        now = self.clock.now()
        with self._lock:
            last = self._last_sent.get(key)
            throttled = last is not None and now - last < self.policy.throttle
            if not throttled:
                self._last_sent[key] = now
                self.sent.append(alert)
        outcomes: list[AlertOutcome] = []
        for name, sink in self.sinks:
            shown = redact_url(name[len("webhook:") :]) if name.startswith("webhook:") else name
            if name.startswith("smtp://"):
                shown = redact_url(name)
            if throttled:
                outcomes.append(AlertOutcome(shown, True))
                continue
            try:
                sink(alert)
            except Exception as exc:
                message = redact_text(f"{type(exc).__name__}: {exc}")[:300]
                log.error(
                    "alert sink %s failed for %s alert of flow %s: %s",
                    shown,
                    alert.kind,
                    alert.flow,
                    message,
                    extra={"flow": alert.flow, "run_id": alert.run_id, "alert": alert.kind},
                )
                outcomes.append(AlertOutcome(shown, False, error=message))
            else:
                outcomes.append(AlertOutcome(shown, False))
        return outcomes

    def record_end(self, flow: str, failed: bool) -> float | None:
        """Record a run's end; return the failure rate when it just crossed the threshold."""
        threshold = self.policy.failure_rate
        if threshold is None:
            return None
        window = max(1, self.policy.failure_window)
        with self._lock:
            outcomes = self._outcomes.setdefault(flow, deque(maxlen=window))
            outcomes.append(failed)
            if len(outcomes) < window:
                return None
            rate = sum(outcomes) / len(outcomes)
            was = self._crossed.get(flow, False)
            now_crossed = rate >= threshold
            self._crossed[flow] = now_crossed
            return rate if now_crossed and not was else None
