"""The ASGI app of ``harness serve``: signed webhooks in, durable acceptance, 2xx, workers.

``POST /hooks/<flow name>`` verifies the signature of the flow's trigger
system (:mod:`harness.serve._signatures`), answers 401 and stores nothing
when it fails, parses the body (a JSON object is one event, a JSON array is
one event per element, as HubSpot batches them), accepts every event durably
in the ledger and only then answers ``202`` with the run ids.  The runs are
made by worker processes forked from the serving process (or worker threads
in it, or another dispatcher: :mod:`harness.serve._dispatch`).

``GET /healthz`` answers 200 when the ledger can be read (503 otherwise);
``GET /metrics`` is Prometheus text: ``harness_runs`` by flow and state
(accepted, running, waiting and the end states), ``harness_retries_waiting``,
``harness_inbox_open``, ``harness_deliveries_total`` by outcome and the
``harness_ack_seconds`` histogram (request received to answer sent).

The app is a plain Starlette application: it mounts inside another ASGI app
(``app.mount("/harness", create_app(...))``).  A mounted app gets no
lifespan events, so the workers also start on the first delivery.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.errors import UsageError
from harness.flow import Flow
from harness.ledger import Ledger
from harness.orchestrator import DEFAULT_LEASE, RateLimit, RateLimiter, default_rate_limits
from harness.serve._dispatch import Dispatcher, build_orchestrators, dispatcher_for
from harness.serve._signatures import Scheme, SignedRequest, scheme_for_system

__all__ = ["Server", "create_app"]

log = logging.getLogger("harness.serve")

_BODY_LIMIT = 5 * 1024 * 1024  # bytes; HubSpot batches at most 100 events, Stripe events are small


class _QueueCollector(Collector):
    """Reads the run queue at scrape time: the ledger is the truth, not this process's counters."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def collect(self) -> Iterable[GaugeMetricFamily]:
        runs = GaugeMetricFamily("harness_runs", "Accepted deliveries by flow and state", labels=["flow", "state"])
        waiting = GaugeMetricFamily("harness_retries_waiting", "Runs waiting for their next attempt", labels=["flow"])
        inbox = GaugeMetricFamily("harness_inbox_open", "Open inbox items", labels=["flow"])
        try:
            census = self.server.queue.census()
        except Exception as exc:  # a scrape must not crash; the healthz shows the ledger's state
            log.error("metrics: could not read the ledger: %s", exc)
            return []
        names = sorted(self.server.flows)
        for flow in names:
            for state in ("accepted", "running", "waiting", "succeeded", "suppressed", "manual", "failed"):
                runs.add_metric([flow, state], census.get((flow, state), 0))
            waiting.add_metric([flow], census.get((flow, "waiting"), 0))
            inbox.add_metric([flow], census.get((flow, "inbox_open"), 0))
        return [runs, waiting, inbox]


class Server:
    """The flows served, their orchestrators, the workers and the metrics of one app."""

    def __init__(
        self,
        flows: Sequence[Flow],
        *,
        ledger: Ledger,
        workers: int = 2,
        secrets: Mapping[str, str] | None = None,
        public_url: str | None = None,
        lease: float = DEFAULT_LEASE,
        poll: float = 0.5,
        rate_limits: Mapping[str, RateLimit] | None = None,
        worker_mode: str = "processes",
        dispatcher: Dispatcher | None = None,
        dispatch: Callable[[str, Sequence[str]], None] | None = None,
    ) -> None:
        if not flows:
            raise UsageError("harness serve: give at least one flow (--flow FILE)")
        missing = check_secrets(flows, secrets)
        if missing:
            raise UsageError(missing)
        seen: dict[str, Flow] = {}
        for flow in flows:
            if flow.name in seen and seen[flow.name] is not flow:
                raise UsageError(f"harness serve: two flows are named {flow.name!r}; each needs its own name (its URL is /hooks/<name>)")
            seen[flow.name] = flow
        self.ledger = ledger
        self.public_url = public_url.rstrip("/") if public_url else None
        limits = dict(default_rate_limits() if rate_limits is None else rate_limits)
        self.rate_limiter = RateLimiter(limits)  # one for every flow and worker of the process
        unique = list(seen.values())
        built = build_orchestrators(unique, ledger=ledger, lease=lease, rate_limiter=self.rate_limiter)
        self.orchestrators = {o.flow.name: o for o in built}
        self.flows = {name: o.flow for name, o in self.orchestrators.items()}
        self.queue = built[0].queue
        #: who runs the accepted runs (worker processes by default; see harness.serve._dispatch)
        self.workers: Dispatcher = dispatcher if dispatcher is not None else dispatcher_for(
            worker_mode, unique, built, ledger=ledger, workers=workers, lease=lease, poll=poll,
            rate_limits=limits,
        )
        #: a distributed engine's hook (``harness serve --engine``): it gets ``(flow, run ids)``
        #: after each acceptance and its workers run them; no worker of this process starts
        self.dispatch = dispatch
        self.schemes: dict[str, tuple[Scheme, bytes]] = {}
        import os

        env: Mapping[str, str] = secrets if secrets is not None else os.environ
        for name, flow in self.flows.items():
            scheme = scheme_for_system(flow.trigger.system)
            self.schemes[name] = (scheme, env.get(scheme.secret_env, "").encode())
        self.registry = CollectorRegistry()
        self.ack = Histogram(
            "harness_ack_seconds",
            "Seconds from a delivery's arrival to its answer",
            ["flow"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.deliveries = Counter(
            "harness_deliveries",
            "Webhook requests by flow and outcome",
            ["flow", "outcome"],
            registry=self.registry,
        )
        self.registry.register(_QueueCollector(self))
        self._started = False
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the workers (once; again after :meth:`stop`)."""
        with self._start_lock:
            if not self._started:
                if self.dispatch is None:
                    self.workers.start()
                self._started = True

    def stop(self) -> None:
        """Stop the workers after their current run (unfinished runs stay in the ledger)."""
        with self._start_lock:
            if self._started:
                if self.dispatch is None:
                    self.workers.stop()
                self._started = False

    def accept(self, name: str, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Accept ``events`` for flow ``name`` durably; the run ids (and the runs they attach to)."""
        orch = self.orchestrators[name]
        accepted = []
        for event in events:
            run_id, holder = orch.accept(event)
            accepted.append({"run_id": run_id, **({"attached_to": holder} if holder else {})})
        if self.dispatch is not None:
            self.dispatch(name, [a["run_id"] for a in accepted])
            return accepted
        self.workers.wake()
        return accepted


def check_secrets(flows: Sequence[Flow], secrets: Mapping[str, str] | None = None) -> str | None:
    """What is missing to verify the flows' webhooks (``None``: nothing), checked before
    anything is opened or written."""
    import os

    env = secrets if secrets is not None else os.environ
    for flow in flows:
        scheme = scheme_for_system(flow.trigger.system)
        if not env.get(scheme.secret_env, ""):
            return (
                f"harness serve: flow {flow.name!r} (trigger {flow.trigger.name}, system "
                f"{flow.trigger.system}) needs its webhook secret in ${scheme.secret_env} to "
                f"verify {scheme.header}; set it (the vendor shows it in the app or webhook "
                "settings)"
            )
    return None


def _events_of(body: bytes) -> list[Mapping[str, Any]] | str:
    """The events of a webhook body, or what is wrong with it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"the body is not JSON: {exc}"
    if isinstance(data, Mapping):
        return [data]
    if isinstance(data, list) and data and all(isinstance(e, Mapping) for e in data):
        return list(data)
    return "the body must be a JSON object (one event) or a non-empty array of objects"


def create_app(
    flows: Sequence[Flow],
    *,
    ledger: Ledger | None = None,
    workers: int = 2,
    secrets: Mapping[str, str] | None = None,
    public_url: str | None = None,
    lease: float = DEFAULT_LEASE,
    poll: float = 0.5,
    rate_limits: Mapping[str, RateLimit] | None = None,
    worker_mode: str = "processes",
    dispatcher: Dispatcher | None = None,
    dispatch: Callable[[str, Sequence[str]], None] | None = None,
) -> Starlette:
    """The ASGI app serving ``flows`` (see the module's description); ``app.state.harness`` is
    its :class:`Server`.

    ``ledger`` defaults to ``Ledger.open()`` (``$HARNESS_LEDGER_URL``); ``secrets``
    maps the schemes' variables (``HUBSPOT_CLIENT_SECRET``…) to secrets,
    default: the environment; ``public_url`` is the URL the vendor calls up to
    the mount point (HubSpot signs it; default: the URL of the request);
    ``rate_limits`` maps system names to :class:`~harness.orchestrator.RateLimit`
    (default: HubSpot 100 per 10 s, Stripe 25 per second), shared by every worker;
    ``workers`` is how many workers run the accepted runs: forked worker
    processes (``worker_mode="processes"``, the default, so the serving
    process only accepts) or threads in the serving process
    (``worker_mode="threads"``); ``dispatcher`` replaces both with another
    :class:`~harness.serve.Dispatcher`.  ``dispatch`` hands the accepted runs to
    a distributed engine instead, and no worker of this process starts
    (:class:`harness.serve._celery.CeleryDispatch`).
    """
    server = Server(
        flows,
        ledger=ledger if ledger is not None else Ledger.open(),
        workers=workers,
        secrets=secrets,
        public_url=public_url,
        lease=lease,
        poll=poll,
        rate_limits=rate_limits,
        worker_mode=worker_mode,
        dispatcher=dispatcher,
        dispatch=dispatch,
    )

    async def hook(request: Request) -> Response:
        return await _hook(server, request)

    async def healthz(request: Request) -> Response:
        return await _healthz(server)

    async def metrics(request: Request) -> Response:
        return await _metrics(server)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        server.start()
        try:
            yield
        finally:
            await run_in_threadpool(server.stop)

    app = Starlette(
        routes=[
            Route("/hooks/{name}", hook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.harness = server
    return app


async def _hook(server: Server, request: Request) -> Response:
    """``POST /hooks/{name}``: check a delivery's size and signature, store its events, answer 202."""
    started = time.perf_counter()
    name = str(request.path_params["name"])
    if name not in server.flows:
        return JSONResponse(
            {"error": f"no flow named {name!r} is served here; flows: {', '.join(sorted(server.flows))}"},
            status_code=404,
        )
    server.start()
    body = await request.body()
    if len(body) > _BODY_LIMIT:
        server.deliveries.labels(name, "too_large").inc()
        return JSONResponse({"error": f"body over {_BODY_LIMIT} bytes; nothing stored"}, status_code=413)
    scheme, secret = server.schemes[name]
    ok, reason = scheme.verify(secret, _signed_request(server, request, body), time.time())
    if not ok:
        server.deliveries.labels(name, "bad_signature").inc()
        log.warning("flow %s: refused a delivery: %s", name, reason)
        return JSONResponse({"error": f"signature check failed: {reason}; nothing stored"}, status_code=401)
    events = _events_of(body)
    if isinstance(events, str):
        server.deliveries.labels(name, "bad_request").inc()
        return JSONResponse({"error": f"{events}; nothing stored"}, status_code=400)
    try:
        accepted = await run_in_threadpool(server.accept, name, events)
    except Exception as exc:
        # not accepted: the vendor must redeliver, so never a 2xx here
        server.deliveries.labels(name, "not_stored").inc()
        log.error("flow %s: could not store a delivery: %s", name, exc)
        return JSONResponse({"error": f"could not store the delivery: {exc}"}, status_code=503)
    server.deliveries.labels(name, "accepted").inc()
    server.ack.labels(name).observe(time.perf_counter() - started)
    return JSONResponse({"accepted": accepted}, status_code=202)


def _signed_request(server: Server, request: Request, body: bytes) -> SignedRequest:
    """The request as the vendor signed it: at ``server.public_url`` when one is set."""
    url = str(request.url)
    if server.public_url is not None:
        path = request.url.path
        root = request.scope.get("root_path", "")
        tail = path[len(root):] if root and path.startswith(root) else path
        url = server.public_url + tail + (f"?{request.url.query}" if request.url.query else "")
    return SignedRequest(
        method=request.method,
        url=url,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )


async def _healthz(server: Server) -> Response:
    """``GET /healthz``: the ledger, flows, live workers and unfinished runs; 503 if the ledger fails."""
    try:
        census = await run_in_threadpool(server.queue.census)
    except Exception as exc:
        return JSONResponse({"status": "error", "ledger": server.ledger.url, "error": str(exc)}, status_code=503)
    return JSONResponse(
        {
            "status": "ok",
            "ledger": server.ledger.url,
            "flows": sorted(server.flows),
            "workers": server.workers.alive(),
            "unfinished": sum(n for (_, s), n in census.items() if s in ("accepted", "running", "waiting")),
        }
    )


async def _metrics(server: Server) -> Response:
    """``GET /metrics``: the server's Prometheus registry in the text format."""
    data = await run_in_threadpool(generate_latest, server.registry)
    return Response(data, media_type="text/plain; version=0.0.4; charset=utf-8")
