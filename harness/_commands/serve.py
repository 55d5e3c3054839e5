"""``harness serve``: receive the flows' signed webhooks and run them durably.

``harness serve --flow flows/deal_won.py [--flow …] [--host 127.0.0.1]
[--port 8000] [--workers 2] [--worker-threads] [--ledger URL] [--public-url URL]
[--engine celery --broker URL]`` serves ``POST /hooks/<flow name>`` (signature
checked, delivery stored, then 202), ``GET /healthz`` and ``GET /metrics`` with
uvicorn.  Worker processes forked at start run the flows (``--worker-threads``:
threads in the serving process); runs that a previous process left unfinished
are resumed at start.  A missing webhook secret is a usage error naming the
variable to set.  ``--engine celery --broker URL`` runs no automation here:
each accepted run is sent to ``harness worker`` processes through Celery
(:mod:`harness.serve._celery`).
"""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]


@click.command("serve")
@click.option("--flow", "flow_specs", metavar="FILE", multiple=True, required=True,
              help="A flow file (path.py or path.py:name); repeat for more flows.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes running the flows (forked, so the serving process only "
                   "accepts deliveries).")
@click.option("--worker-threads", is_flag=True, default=False,
              help="Run the workers as threads in the serving process instead of processes.")
@click.option("--ledger", "ledger_url", metavar="URL", default=None,
              help="Ledger URL (default: $HARNESS_LEDGER_URL or sqlite:///.harness/ledger.db).")
@click.option("--public-url", metavar="URL", default=None,
              help="The URL vendors call, up to /hooks (HubSpot signs it; needed behind a proxy).")
@click.option("--lease", default=30.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds a run's lease lasts without a heartbeat; a dead worker's runs are "
                   "resumed after it.")
@click.option("--rate-limit", "rate_limits", metavar="SYSTEM=CALLS/SECONDS", multiple=True,
              help="Pace calls to a system, shared by all workers (default: hubspot=100/10, "
                   "stripe=25/1); repeat for more systems.")
@click.option("--engine", type=click.Choice(["embedded", "celery"]), default="embedded", show_default=True,
              help="Who runs the runs: worker threads here, or `harness worker` processes through "
                   "Celery (needs --broker and a PostgreSQL ledger shared with the workers).")
@click.option("--broker", metavar="URL", default=None,
              help="Celery broker for --engine celery: redis://127.0.0.1:6379/0 or amqp://...")
@click.option("--queue", "queue", metavar="NAME", default="harness", show_default=True,
              help="Prefix of the Celery queues (<NAME>.<flow>); the workers must use the same.")
def serve(
    flow_specs: tuple[str, ...],
    host: str,
    port: int,
    workers: int,
    worker_threads: bool,
    ledger_url: str | None,
    public_url: str | None,
    lease: float,
    rate_limits: tuple[str, ...],
    engine: str,
    broker: str | None,
    queue: str,
) -> int:
    """Serve the flows' webhooks: verify signatures, store each delivery, run it durably."""
    import uvicorn

    from harness.errors import UsageError
    from harness.flow import load_flow
    from harness.ledger import Ledger
    from harness.orchestrator import default_rate_limits, parse_rate_limit
    from harness.serve import check_secrets, create_app

    limits = default_rate_limits()
    limits.update(parse_rate_limit(text) for text in rate_limits)
    flows = [load_flow(spec) for spec in flow_specs]
    missing = check_secrets(flows)
    if missing:
        raise UsageError(missing)
    from harness.orchestrator import tracing_configured

    # a misconfigured OTEL_* variable is a usage error now, not a log line at the first run
    traced = tracing_configured()
    dispatch = None
    if engine == "celery":
        if broker is None:
            raise UsageError(
                "harness serve --engine celery: give the broker the workers read, e.g. "
                "--broker redis://127.0.0.1:6379/0"
            )
        from harness.serve import CeleryDispatch, check_broker

        check_broker(broker)
        dispatch = CeleryDispatch(broker, queue=queue)
    elif broker is not None:
        raise UsageError("harness serve: --broker is for --engine celery; add --engine celery or drop --broker")
    ledger = Ledger.open(ledger_url)
    mode = "threads" if worker_threads else "processes"
    app = create_app(
        flows, ledger=ledger, workers=workers, public_url=public_url, lease=lease,
        rate_limits=limits, worker_mode=mode, dispatch=dispatch,
    )
    runs_by = f"{workers} worker {mode}" if dispatch is None else f"runs sent to Celery at {broker}"
    click.echo(
        f"harness serve: {', '.join(f'/hooks/{f.name}' for f in flows)} on http://{host}:{port} "
        f"(ledger {ledger.url}, {runs_by}{', spans exported' if traced else ''})",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0


COMMANDS = [serve]
