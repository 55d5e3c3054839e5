"""The production path: ``harness serve`` receives signed webhooks and runs flows durably.

``create_app(flows)`` is an ASGI app (Starlette): ``POST /hooks/<flow name>``
verifies the vendor's signature, stores each delivery in the ledger before
answering 2xx, and worker processes forked from the serving process (or
worker threads in it, or another dispatcher) run the flows
(:class:`harness.orchestrator.DurableOrchestrator`); ``GET /healthz`` and
``GET /metrics`` (Prometheus) watch it.  ``sign`` makes the headers a vendor
would send, for tests and load tools.
"""

from harness.serve._app import Server, check_secrets, create_app
from harness.serve._celery import CeleryDispatch, CeleryWorker, check_broker
from harness.serve._dispatch import Dispatcher, WorkerProcesses, WorkerThreads
from harness.serve._signatures import SCHEMES, Scheme, SignedRequest, scheme_for_system, sign

__all__ = [
    "SCHEMES",
    "CeleryDispatch",
    "CeleryWorker",
    "Dispatcher",
    "Scheme",
    "Server",
    "SignedRequest",
    "WorkerProcesses",
    "WorkerThreads",
    "check_broker",
    "check_secrets",
    "create_app",
    "scheme_for_system",
    "sign",
]
