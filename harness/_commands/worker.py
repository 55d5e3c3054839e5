"""``harness worker``: run the flows' queued runs on this machine, dispatched through Celery.

``harness worker --flow flows/deal_won.py [--flow …] --ledger postgresql://…
--broker redis://127.0.0.1:6379/0 [--threads 4] [--queue harness]`` is a
Celery worker for the runs ``harness serve --engine celery`` accepts into the
same ledger.  Start as many as the load needs, on any machine that reaches
the ledger and the broker.  The rate limits per system are shared by every
worker through Redis (the broker, or ``--rate-store``).  SIGTERM stops it after
its current runs; a killed worker's runs are resumed by another after their
lease.  A bad broker URL, a broker that does not answer or Celery not
installed is a usage error (exit 2).
"""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]


@click.command("worker")
@click.option("--flow", "flow_specs", metavar="FILE", multiple=True, required=True,
              help="A flow file (path.py or path.py:name); repeat for more flows.")
@click.option("--ledger", "ledger_url", metavar="URL", default=None,
              help="The ledger `harness serve` accepts into (default: $HARNESS_LEDGER_URL); "
                   "PostgreSQL when workers run on several machines.")
@click.option("--broker", metavar="URL", required=True,
              help="Celery broker: redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Runs this worker makes at once.")
@click.option("--queue", "queue", metavar="NAME", default="harness", show_default=True,
              help="Prefix of the Celery queues (<NAME>.<flow>), as given to `harness serve`.")
@click.option("--lease", default=30.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds a run's lease lasts without a heartbeat; also how long a run may "
                   "wait for its message before a worker's sweep takes it.")
@click.option("--rate-limit", "rate_limits", metavar="SYSTEM=CALLS/SECONDS", multiple=True,
              help="Pace calls to a system, shared by all workers (default: hubspot=100/10, "
                   "stripe=25/1); repeat for more systems.")
@click.option("--rate-store", metavar="URL", default=None,
              help="Redis holding the shared rate-limit buckets (default: the broker when it is "
                   "Redis; with RabbitMQ each worker keeps its own buckets unless this is given).")
def worker(
    flow_specs: tuple[str, ...],
    ledger_url: str | None,
    broker: str,
    threads: int,
    queue: str,
    lease: float,
    rate_limits: tuple[str, ...],
    rate_store: str | None,
) -> int:
    """Run the flows' runs that `harness serve --engine celery` accepts, through Celery."""
    import sys

    from harness.flow import load_flow
    from harness.ledger import Ledger
    from harness.orchestrator import RateLimiter, default_rate_limits, parse_rate_limit
    from harness.serve import CeleryWorker, check_broker

    check_broker(broker)
    limits = default_rate_limits()
    limits.update(parse_rate_limit(text) for text in rate_limits)
    flows = [load_flow(spec) for spec in flow_specs]
    store = rate_store if rate_store is not None else (
        broker if broker.startswith(("redis://", "rediss://")) else None
    )
    limiter: RateLimiter
    if store is not None:
        from harness.orchestrator import RedisRateLimiter

        limiter = RedisRateLimiter(store, limits, namespace=queue)
        shared = f"rate limits shared through {store}"
    else:
        limiter = RateLimiter(limits)
        shared = "rate limits per process (give --rate-store redis://... to share them)"
    ledger = Ledger.open(ledger_url)

    def ready() -> None:
        # a line a supervisor (or a test) can wait for: the worker consumes its queues now
        print(f"harness worker: ready ({', '.join(f.name for f in flows)}; ledger {ledger.url}; "
              f"{threads} threads; {shared})", flush=True)
        sys.stdout.flush()

    CeleryWorker(
        flows, ledger=ledger, broker=broker, threads=threads, lease=lease, queue=queue,
        rate_limiter=limiter, on_ready=ready,
    ).start()
    return 0


COMMANDS = [worker]
