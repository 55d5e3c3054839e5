"""The orchestrator's HTTP hook: what happens to every call an unmodified automation makes.

Every supported client is hooked once per process
(:func:`~harness.orchestrator.install`, :mod:`harness.orchestrator._clients`):
urllib3's ``HTTPConnectionPool.urlopen`` (so ``requests``, urllib3 itself and
the SDKs on them: stripe, hubspot-api-client, zenpy), http.client's
``HTTPConnection.request``/``getresponse`` (so ``urllib.request`` and
slack_sdk's ``WebClient``), ``httpx.Client.send`` and
``httpx.AsyncClient.send``, and an aiohttp client middleware (so slack_sdk's
``AsyncWebClient``).  Each call is hooked once, at the outermost of those
layers it passes.  The wrapper looks up the current run in a
:class:`contextvars.ContextVar`; outside a run it calls the original
untouched.  Inside a run, :meth:`RunHook.decide` decides, the same for every
client, sync or async, in this order:

1. **deadlines**: past the attempt's or the run's deadline, the call is not
   made (:class:`~harness.orchestrator.AttemptDeadlineExceeded`, transient);
2. **default timeout**: a call without a read timeout gets the policy's
   (recorded as a ``timeout_defaulted`` event), and no call may wait past the
   attempt's deadline;
3. **write contract**: a write matching one of ``Flow.write_contracts`` whose
   body breaks the contract is not sent
   (:class:`~harness.orchestrator.ContractViolation`, logical);
4. **journal**: a call identical (method, URL, body) to one that succeeded in
   an earlier attempt of the same run is answered from the run's journal;
   a call identical to one already rejected with a logical error (4xx) in
   this run is answered with that rejection instead of being sent again
   (reads too: re-reading after a 400 or 404 only hammers the system);
5. **ambiguous-write guard**: a create matching one of the system's declared
   :class:`~harness.systems.CreateGuard` s, carrying its lookup key, that was
   sent before in this run without an answer is preceded by the guard's
   search for that key; a record found answers it;
6. **idempotency key**: a write to a system whose descriptor declares an
   :class:`~harness.systems.Idempotency` mechanism (a header such as
   ``Idempotency-Key``, or a query parameter), sent without a key, gets one
   derived from the run's dedupe key and the request (method, URL, body): the
   automation's own retry of an identical request reuses the key (only a
   different body gets a new one);
7. **unknown outcome**: a POST that got no answer after it was sent, on a
   system with neither idempotency keys nor a search-before-create guard, is
   never sent again in the run: an identical POST raises
   :class:`~harness.orchestrator.AmbiguousWrite` (logical: the run goes to
   the inbox with that write named), and the orchestrator does not retry an
   attempt that left one;
8. **circuit breaker**: while the system's circuit is open the call waits
   (a ``waiting`` event) and then probes;
9. the call is made; its outcome is recorded (a ``call`` event, with the
   fault the chaos boundary injected when there is one) and fed to the
   breaker.

Limits (documented, not hidden): the journal identifies a call by its exact
method, URL and body, so a body carrying a fresh timestamp or random id is
never answered from it; calls made from threads the automation starts itself
do not inherit the run (context variables do not cross into a thread pool)
and pass through unhooked; on a system without idempotency keys or a
search-before-create guard (a create without its lookup key, an update, any
generic REST API) a write whose response was lost after the server
acted cannot be told apart from one that never arrived, so a retry may repeat
it: such runs are the ones the inbox and the ``duplicate_effect`` oracle exist
for.  A client's own retries below the hook point (urllib3's ``Retry``, also
under ``requests``; httpx's connect retries) stay inside one hooked call: the
hook adds the idempotency key before them, so they re-send it, but a
``Retry`` that re-sends a keyless POST after a lost answer is not stopped by
the unknown-outcome rule (the ``duplicate_effect`` oracle reports it).  The
hook reads each response body whole to journal it (stored decoded, without
its framing headers); an httpx response opened with ``stream=True`` is not
read and journals no body.  http.client code that calls ``putrequest`` and
``endheaders`` itself, rather than ``request``, is not hooked; aiohttp is
hooked from 3.12 (client middlewares).  A guard's answer is the found record
in the create's envelope (Zendesk's ``{"ticket": ...}``) without the
create's side objects (its ``audit``): code that reads those fails loudly and
goes to the inbox.  Breaker and rate-limit waits use the run's clock: in async
code they are ``asyncio.sleep`` on the loop (other tasks run meanwhile).
Concurrent calls (``asyncio.gather``) are recorded as they complete: in a
campaign the fakes answer in the order requests were sent, so the timeline
follows it; in production overlapping calls are recorded in the order they
completed, each with its latency.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from harness._shared.redact import redact_url
from harness._shared.wire import Clock, Request, Response
from harness.flow import WriteContract
from harness.ledger.records import ErrorClass
from harness.orchestrator._breaker import BreakerChange, Breakers
from harness.orchestrator._classify import (
    TRANSIENT_STATUSES,
    AmbiguousWrite,
    AttemptDeadlineExceeded,
    CircuitOpen,
    ContractViolation,
    classify,
)
from harness.orchestrator._placeholders import (
    MissingField,
    missing_in_read,
    stand_in_violations,
    zero_money_violations,
)
from harness.policy import Policy
from harness.systems import (
    CreateGuard,
    SystemDescriptor,
    known_descriptor,
    last_call,
    system_of_host,
)

__all__ = [
    "CallRecord",
    "Decision",
    "RunHook",
    "Search",
    "Wait",
    "journal_key",
    "parse_body",
    "system_for_host",
]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})

def system_for_host(
    host: str,
    extra: Mapping[str, str] | None = None,
    descriptors: Sequence[SystemDescriptor] | None = None,
) -> str:
    """The system name for ``host``: ``extra`` first, then the first descriptor that serves it
    (its hosts, or the host of its ``base_url_env``; default: the descriptors of every
    loaded fake), else the host itself."""
    host = host.lower()
    if extra and host in extra:
        return extra[host]
    found = system_of_host(host, list(descriptors) if descriptors is not None else None)
    return found if found is not None else host


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP call of a run as the hook saw it (request and response unredacted in memory).

    ``outcome`` is the client's view: ``ok`` (2xx), ``failed`` (another status,
    or no answer to a read) or ``unknown`` (no answer to a write: it may have
    happened).  ``replayed`` is true when the journal (or the guard) answered.
    """

    attempt: int
    system: str
    method: str
    url: str
    status: int | None
    outcome: str
    error: str | None
    error_class: ErrorClass | None
    fault: str | None
    started_at: float
    latency: float
    replayed: bool
    request: Request
    response: Response | None

    @property
    def is_write(self) -> bool:
        return self.method not in _READS


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the hook decided before a call."""

    system: str
    key: str
    occurrence: int
    headers: tuple[tuple[str, str], ...]
    timeout: float | None
    replay: Response | None
    started_at: float
    request: Request
    #: query parameters added to the URL (an idempotency key some systems read there)
    query: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Wait:
    """A step of a decision: wait ``seconds`` on the run's clock, then go on."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Search:
    """A step of a decision: send ``request`` (a GET) with the client the call uses; send back its answer."""

    request: Request


#: what :meth:`RunHook.decide` yields while deciding (a wait, a guard's search) and returns (the plan)
Decision = Generator[Wait | Search, Response | None, "_Plan"]

Emit = Callable[..., None]


class RunHook:
    """The state of one run's calls across its attempts; driven by the client wrappers."""

    def __init__(
        self,
        *,
        run_id: str,
        idempotency_base: str,
        policy: Policy,
        write_contracts: tuple[WriteContract, ...],
        clock: Clock,
        breakers: Breakers,
        emit: Emit,
        on_breaker: Callable[[BreakerChange], None],
        system_of: Callable[[str], str],
        run_deadline: float,
        descriptor_of: Callable[[str], SystemDescriptor] = known_descriptor,
        subject_id: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.idempotency_base = idempotency_base
        self.policy = policy
        self.write_contracts = write_contracts
        self.clock = clock
        self.breakers = breakers
        self.emit = emit
        self.on_breaker = on_breaker
        self.system_of = system_of
        self.descriptor_of = descriptor_of
        self.run_deadline = run_deadline
        #: the id of the object the run's event is about (its reads show the subject)
        self.subject_id = subject_id
        self.attempt = 0
        self.attempt_deadline = run_deadline
        self.calls: list[CallRecord] = []
        self.journal: dict[str, list[Response]] = {}
        self.ambiguous: set[str] = set()
        self.waited: dict[str, float] = {}
        #: the hook's own error in this attempt (kept even if the automation swallows it)
        self.raised: BaseException | None = None
        #: writes of this attempt that failed transiently and were not redone successfully
        self.failed_writes: dict[str, CallRecord] = {}
        #: calls answered with a logical error (4xx) in this run, by journal key
        self.rejected: dict[str, Response] = {}
        #: POSTs of this run with no answer after sending, on a system that cannot dedupe them
        self.unsafe: dict[str, CallRecord] = {}
        self._cursor: dict[str, int] = {}
        #: fields the run's successful reads found empty or absent (the default data contract)
        self.missing: dict[str, MissingField] = {}
        self._lock = threading.RLock()

    # -- attempts ------------------------------------------------------------

    def start_attempt(self, number: int) -> None:
        with self._lock:
            self.attempt = number
            self.attempt_deadline = min(
                self.run_deadline, self.clock.now() + self.policy.timeouts.attempt
            )
            self.raised = None
            self.failed_writes = {}
            self._cursor = {}

    def seed_journal(self, entries: Mapping[str, list[Response]]) -> None:
        """Start with the successful calls of an earlier run (an inbox retry)."""
        with self._lock:
            for key, responses in entries.items():
                self.journal.setdefault(key, []).extend(responses)

    def _fail(self, exc: BaseException) -> BaseException:
        self.raised = exc
        return exc

    # -- before/after one call -------------------------------------------------

    def before(
        self,
        request: Request,
        *,
        search: Callable[[Request], Response] | None = None,
    ) -> _Plan:
        """:meth:`decide` driven to its plan in this thread: waits on the run's clock,
        guard searches through ``search`` (without one, no guard search is made)."""
        decision = self.decide(request, can_search=search is not None)
        answer: Response | None = None
        try:
            while True:
                step = decision.send(answer)
                if isinstance(step, Wait):
                    self.clock.sleep(step.seconds)
                    answer = None
                else:
                    assert search is not None
                    answer = search(step.request)
        except StopIteration as done:
            plan: _Plan = done.value
            return plan

    def decide(self, request: Request, *, can_search: bool = True) -> Decision:
        """Decide about ``request``: the one decision every client's hook shares.

        A generator, so that sync and async clients drive the same logic: it
        yields :class:`Wait` (a breaker's or a rate limit's wait: the driver
        sleeps, ``asyncio.sleep`` in async code so the event loop keeps
        running) and :class:`Search` (the search-before-create guard's GET:
        the driver sends it with the call's own client and sends the answer
        back) and returns the :class:`_Plan`.  Raises the hook's own errors;
        the plan may be a replay (no call is made).
        """
        now = self.clock.now()
        system = self.system_of(request.host)
        self._check_deadlines(now)
        method = request.method.upper()
        key = journal_key(method, request.url, request.body)

        # write contracts are checked before anything is sent or replayed
        if method not in _READS:
            self._check_write_contracts(system, method, request)
            self._hold_stand_ins(system, method, request)

        answered, occurrence = self._answer_from_run(system, key, now, request)
        if answered is not None:
            return answered

        descriptor = self.descriptor_of(system)
        if can_search and method not in _READS and key in self.ambiguous:
            guard = descriptor.guard_for(method, request.path)
            if guard is not None:
                found = yield from self._guard(system, guard, request)
                if found is not None:
                    return _Plan(system, key, occurrence, (), None, found, now, request)

        headers, query_key = self._idempotency(descriptor, method, key, request)
        new_timeout = self._timeout_for(system, method, request, now)

        yield from self._wait_for_breaker(system)
        started = self.clock.now()
        sent, query = _stamped(request, headers, query_key)
        return _Plan(system, key, occurrence, tuple(headers), new_timeout, None, started, sent, query)

    def _check_deadlines(self, now: float) -> None:
        """Raise :class:`AttemptDeadlineExceeded` when the run's or the attempt's deadline has passed."""
        if now >= self.run_deadline:
            raise self._fail(AttemptDeadlineExceeded("run", self.policy.timeouts.run))
        if now >= self.attempt_deadline:
            raise self._fail(AttemptDeadlineExceeded("attempt", self.policy.timeouts.attempt))

    def _check_write_contracts(self, system: str, method: str, request: Request) -> None:
        """Emit each violation of the flow's write contracts for this write and raise :class:`ContractViolation`."""
        for wc in self.write_contracts:
            if wc.system == system and wc.method == method and _path_matches(wc.path, request.path):
                violations = wc.contract.check(parse_body(request))
                if violations:
                    exc = ContractViolation(f"{system} {method} {request.path}", violations)
                    for v in violations:
                        self.emit(
                            "contract_violation",
                            system=system,
                            error_class="logical",
                            detail={
                                "where": "write",
                                "method": method,
                                "path": request.path,
                                "field": v.field,
                                "value": _jsonable(v.value),
                                "rule": v.rule,
                            },
                        )
                    raise self._fail(exc)

    def _answer_from_run(
        self, system: str, key: str, now: float, request: Request
    ) -> tuple[_Plan | None, int]:
        """A replay plan from this run (a refusal or a journaled answer) or ``None``, with the occurrence.

        Raises :class:`AmbiguousWrite` for a write that may have happened on a
        system that cannot dedupe it.
        """
        with self._lock:
            rejected = self.rejected.get(key)
            if rejected is not None:
                # the same request was refused as a logical error in this run: sending it
                # again cannot help (the automation's own retry loop would hammer)
                return _Plan(system, key, 0, (), None, rejected, now, request), 0
            unsafe = self.unsafe.get(key)
            if unsafe is not None:
                # it may have happened: sending it again may do it twice (a blind retry)
                raise self._fail(AmbiguousWrite(_describe(unsafe)))
            occurrence = self._cursor.get(key, 0)
            journaled = self.journal.get(key, [])
            if self.policy.journal and occurrence < len(journaled):
                self._cursor[key] = occurrence + 1
                return _Plan(system, key, occurrence, (), None, journaled[occurrence], now, request), occurrence
        return None, occurrence

    def _idempotency(
        self, descriptor: SystemDescriptor, method: str, key: str, request: Request
    ) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
        """The idempotency-key header to add and the query parameter to add (``None``: none), per the system."""
        headers: list[tuple[str, str]] = []
        idem = descriptor.idempotency
        key_value = ""
        if self.policy.idempotency_keys and idem is not None and method in idem.methods:
            # no occurrence counter: an identical request is the same operation, so the
            # automation's own retry of it must be answered by the vendor, not made twice
            digest = hashlib.sha256(f"{self.idempotency_base}\n{key}".encode()).hexdigest()[:40]
            key_value = f"harness-{digest}"
        if key_value and idem is not None and idem.header and request.header(idem.header) is None:
            headers.append((idem.header, key_value))
        query_key: tuple[str, str] | None = None
        if key_value and idem is not None and idem.query_param and idem.query_param not in dict(request.query):
            query_key = (idem.query_param, key_value)
        return headers, query_key

    def _timeout_for(self, system: str, method: str, request: Request, now: float) -> float | None:
        """:meth:`call_timeout` for the request, emitting ``timeout_defaulted`` when its client set none."""
        timeout = request.timeout
        new_timeout = self.call_timeout(timeout, now=now)
        if timeout is None:
            self.emit(
                "timeout_defaulted",
                system=system,
                detail={
                    "method": method,
                    "url": redact_url(request.url),
                    "timeout": self.policy.timeouts.call,
                },
            )
        return new_timeout

    def call_timeout(self, timeout: float | None, *, now: float | None = None) -> float | None:
        """The read timeout a call whose client set ``timeout`` must get, or ``None`` to keep it.

        No timeout gets the policy's call timeout; none may run past the
        attempt's or the run's deadline.
        """
        now = self.clock.now() if now is None else now
        new_timeout = self.policy.timeouts.call if timeout is None else None
        remaining = max(0.001, min(self.attempt_deadline, self.run_deadline) - now)
        effective = new_timeout if new_timeout is not None else timeout
        if effective is not None and effective > remaining:
            new_timeout = remaining
        return new_timeout

    def _hold_stand_ins(self, system: str, method: str, request: Request) -> None:
        """The default data contract (:mod:`._placeholders`): no stand-in for a missing value."""
        if not self.policy.hold_placeholders:
            return
        if any(
            wc.system == system and wc.method == method and _path_matches(wc.path, request.path)
            for wc in self.write_contracts
        ):
            return  # the flow's own contract for this write decides what is valid
        with self._lock:
            missing = list(self.missing.values())
        body = parse_body(request)
        stand_ins = stand_in_violations(body, missing)
        named = {v.field for v in stand_ins}
        violations = stand_ins + tuple(
            v for v in zero_money_violations(body, self.descriptor_of(system).money_fields) if v.field not in named
        )
        if not violations:
            return
        for v in violations:
            self.emit(
                "contract_violation",
                system=system,
                error_class="logical",
                detail={
                    "where": "write",
                    "method": method,
                    "path": request.path,
                    "field": v.field,
                    "value": _jsonable(v.value),
                    "rule": v.rule,
                    "default": "stand_in",
                },
            )
        raise self._fail(ContractViolation(f"{system} {method} {request.path}", violations))

    def _wait_for_breaker(self, system: str) -> Generator[Wait, Any, None]:
        breaker = self.breakers.get(system)
        wait = breaker.wait_time(self.clock.now())
        if wait > 0:
            waited = self.waited.get(system, 0.0)
            max_wait = self.breakers.policy.max_wait
            if waited + wait > max_wait:
                raise self._fail(CircuitOpen(system, waited))
            self.emit(
                "waiting",
                system=system,
                detail={"system": system, "seconds": round(wait, 3), "reason": "circuit open"},
            )
            yield Wait(wait)
            self.waited[system] = waited + wait
        change = breaker.before_call(self.clock.now())
        if change is not None:
            self.on_breaker(change)

    def _guard(
        self,
        system: str,
        guard: CreateGuard,
        request: Request,
    ) -> Generator[Search, Response | None, Response | None]:
        """Search-before-create: a create whose earlier attempt got no answer is looked up first."""
        key_text = _lookup_key(guard, request)
        if key_text is None:
            return None
        parts = urlsplit(request.url)
        # a base URL's path prefix (https://gw/support/api/v2/...) is kept for the search
        guard_path = guard.endpoint.partition(" ")[2]
        bare = guard_path[:-5] if guard_path.endswith(".json") else guard_path
        path = parts.path
        prefix = path[: len(path) - len(guard_path)] if path.endswith(guard_path) else (
            path[: len(path) - len(bare)] if path.endswith(bare) else ""
        )
        search_path, _, search_query = guard.search.replace("{key}", quote(key_text, safe="")).partition("?")
        search_url = urlunsplit((parts.scheme, parts.netloc, prefix + search_path, search_query, ""))
        started = self.clock.now()
        search_request = Request(
            "GET", search_url, _search_headers(request.headers), b"", request.timeout, request.client
        )
        answer = yield Search(search_request)
        assert answer is not None
        response = answer
        self._record(
            _Plan(
                system,
                journal_key("GET", search_url, b""),
                0,
                (),
                None,
                None,
                started,
                search_request,
            ),
            response,
            None,
            detail_extra={"guard": "search-before-create", "key": key_text},
        )
        if not 200 <= response.status < 300:
            return None
        try:
            found = _records_at(response.json(), guard.found_at)
        except ValueError:
            return None
        leaf = guard.key_field.rsplit(".", 1)[-1]
        matching = [r for r in found if isinstance(r, Mapping) and str(r.get(leaf, key_text)) == key_text]
        if not matching:
            return None
        body: Any = {guard.wrap: matching[0]} if guard.wrap else matching[0]
        return Response.of_json(201, body)

    def after(self, plan: _Plan, response: Response | None, error: BaseException | None) -> None:
        """Record the call's outcome (``response`` or ``error``) and feed the breaker."""
        self._record(plan, response, error)

    def _record(
        self,
        plan: _Plan,
        response: Response | None,
        error: BaseException | None,
        *,
        detail_extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one call: its :class:`CallRecord`, the run's state, a ``call`` event, and the breaker."""
        now = self.clock.now()
        replayed = plan.replay is not None
        method = plan.request.method.upper()
        is_write = method not in _READS
        fault = self._fault_of(plan, method, replayed)
        status, outcome, error_class = self._outcome(response, error, is_write)
        record = CallRecord(
            attempt=self.attempt,
            system=plan.system,
            method=method,
            url=plan.request.url,
            status=status,
            outcome=outcome,
            error=type(error).__name__ if error is not None else None,
            error_class=error_class,
            fault=fault,
            started_at=plan.started_at,
            latency=max(0.0, now - plan.started_at),
            replayed=replayed,
            request=plan.request,
            response=response,
        )
        self._remember(plan, record, response, error)
        detail = self._call_detail(plan, record, error, detail_extra)
        self.emit(
            "call",
            system=plan.system,
            status=status,
            outcome=outcome,
            fault=fault,
            error_class=error_class,
            detail=detail,
        )
        if replayed:
            return
        breaker = self.breakers.get(plan.system)
        change = breaker.record(now, transient_failure=error_class == "transient")
        if change is not None:
            self.on_breaker(change)

    def _fault_of(self, plan: _Plan, method: str, replayed: bool) -> str | None:
        """The world's fault label for this call, when the world logged this very call (else ``None``)."""
        world_call = last_call.get()
        # the world logged this very call (same context, started no earlier): use its label
        if (
            world_call is not None
            and not replayed
            and world_call.started_at >= plan.started_at
            and world_call.method == method
            and world_call.url == redact_url(plan.request.url)
        ):
            return world_call.fault
        return None

    def _outcome(
        self, response: Response | None, error: BaseException | None, is_write: bool
    ) -> tuple[int | None, str, ErrorClass | None]:
        """The call's status, outcome (``ok``, ``failed``, ``unknown``) and error class."""
        error_class: ErrorClass | None = None
        if response is not None:
            status: int | None = response.status
            outcome = "ok" if 200 <= response.status < 300 else "failed"
            if outcome == "failed":
                error_class = (
                    "transient"
                    if response.status in TRANSIENT_STATUSES or response.status >= 500
                    else "logical"
                )
        else:
            status = None
            outcome = "unknown" if is_write else "failed"
            error_class = classify(error, self.policy) if error is not None else "transient"
        return status, outcome, error_class

    def _remember(
        self, plan: _Plan, record: CallRecord, response: Response | None, error: BaseException | None
    ) -> None:
        """Add the call to the run's calls and update the journal, refusals, failed and unsafe writes."""
        replayed = record.replayed
        is_write = record.is_write
        with self._lock:
            self.calls.append(record)
            if record.outcome == "ok":
                self._remember_success(plan, record, response)
            elif record.error_class == "logical" and response is not None and not replayed:
                self.rejected[plan.key] = response
                if is_write and response.status != 409:  # 409: it exists already
                    self.failed_writes[plan.key] = record
            elif is_write and record.error_class == "transient":
                self.failed_writes[plan.key] = record
                if response is None:
                    self.ambiguous.add(plan.key)
                    if self._cannot_dedupe(plan, error):
                        self.unsafe[plan.key] = record

    def _remember_success(self, plan: _Plan, record: CallRecord, response: Response | None) -> None:
        """Journal a successful call, note the fields its read found missing, and clear its earlier failures."""
        is_write = record.is_write
        if not is_write and response is not None and self.policy.hold_placeholders:
            for m in missing_in_read(record.method, plan.request.url, response.body, self.subject_id):
                self.missing.setdefault(m.name, m)
        if not record.replayed:
            self.journal.setdefault(plan.key, []).append(response)  # type: ignore[arg-type]
            self._cursor[plan.key] = plan.occurrence + 1
        elif plan.replay is not None and plan.key not in self.journal:
            # a guard's answer becomes part of the journal like a real success
            self.journal[plan.key] = [plan.replay]
            self._cursor[plan.key] = plan.occurrence + 1
        self.ambiguous.discard(plan.key)
        self.unsafe.pop(plan.key, None)
        self.failed_writes.pop(plan.key, None)
        if is_write:
            # a later success of the same operation (same system, method, path
            # template) makes an earlier failed write good, even with another body
            for k, failed in list(self.failed_writes.items()):
                if self._same_operation(plan, failed):
                    del self.failed_writes[k]

    def _call_detail(
        self,
        plan: _Plan,
        record: CallRecord,
        error: BaseException | None,
        detail_extra: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The ``call`` event's detail: method, redacted URL, attempt, latency, and what was special."""
        detail: dict[str, Any] = {
            "method": record.method,
            "url": redact_url(plan.request.url),
            "attempt": self.attempt,
            "latency": round(record.latency, 6),
        }
        if record.replayed:
            detail["replayed"] = True
            if record.outcome != "ok":
                detail["refused"] = "an identical request was already rejected in this run; not re-sent"
        if plan.headers or plan.query:
            detail["idempotency_key"] = True
        if error is not None:
            detail["error"] = type(error).__name__
            detail["message"] = _redact_message(str(error))[:300]
        if detail_extra:
            detail.update(detail_extra)
        return detail

    def resend_safe(self, plan: _Plan) -> bool:
        """Whether the client's own retry (urllib3's ``Retry``, below the hook) may send the
        planned request again after a lost answer: anything but a POST, or a POST carrying a
        key the system honours.  A guarded create is not: its guard searches only before
        the hook's next send, never between a client's own tries."""
        request = plan.request
        return request.method.upper() != "POST" or self._keyed(plan)

    def _keyed(self, plan: _Plan) -> bool:
        """Whether the request carries an idempotency key its system honours (header or query)."""
        request = plan.request
        idem = self.descriptor_of(plan.system).idempotency
        if idem is None:
            return False
        if idem.header and request.header(idem.header) is not None:
            return True
        return bool(idem.query_param) and idem.query_param in dict(parse_qsl(urlsplit(request.url).query))

    def _cannot_dedupe(self, plan: _Plan, error: BaseException | None) -> bool:
        """Whether a write with no answer could not be sent again safely (see point 7).

        Safe: it carried an idempotency key the system honours (the descriptor's
        header or query parameter), or the system declares a search-before-create
        guard for it and the request carries the guard's lookup key.
        """
        request = plan.request
        if request.method.upper() != "POST" or plan.replay is not None:
            return False
        if error is not None and _never_connected(error):
            return False  # no connection was made: nothing was sent
        if self._keyed(plan):
            return False
        guard = self.descriptor_of(plan.system).guard_for(request.method.upper(), request.path)
        return guard is None or _lookup_key(guard, request) is None

    def _same_operation(self, a: CallRecord | _Plan, b: CallRecord) -> bool:
        """Same system, method and path template (ids templated by the system's id shapes)."""
        ra = a.request
        return (
            a.system == b.system
            and ra.method.upper() == b.method
            and self.descriptor_of(a.system).endpoint(ra.method, ra.path)
            == self.descriptor_of(b.system).endpoint(b.method, b.request.path)
        )


#: the clients' errors for a connection that was never made (so nothing was sent):
#: httpx, urllib3 (also under requests), aiohttp, and the stdlib's refusal
_NOT_CONNECTED = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "NewConnectionError",
        "ConnectTimeoutError",
        "NameResolutionError",
        "ClientConnectorError",
        "ClientConnectorDNSError",
        "ConnectionTimeoutError",
        "ConnectionRefusedError",
    }
)


def _never_connected(error: BaseException) -> bool:
    """Whether ``error`` says no connection was made, looking through the wrappers clients add
    (``requests.ConnectionError`` around urllib3's ``MaxRetryError``, ``URLError``)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if type(exc).__name__ in _NOT_CONNECTED:
            return True
        if type(exc).__name__ == "MaxRetryError":
            # urllib3 gave up after its own Retry: its last error says nothing of the
            # earlier tries, one of which may have been sent
            continue
        reason = getattr(exc, "reason", None)
        todo.extend(
            [exc.__cause__, exc.__context__, reason if isinstance(reason, BaseException) else None]
        )
        todo.extend(a for a in exc.args if isinstance(a, BaseException))
    return False


def _stamped(
    request: Request, headers: list[tuple[str, str]], query_key: tuple[str, str] | None
) -> tuple[Request, tuple[tuple[str, str], ...]]:
    """``request`` with ``headers`` added and ``query_key`` added to its URL, and the query added."""
    sent = request
    for name, value in headers:
        sent = sent.with_header(name, value)
    query: tuple[tuple[str, str], ...] = ()
    if query_key is not None:
        sent = _with_query(sent, *query_key)
        query = (query_key,)
    return sent, query


def _search_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """A write's headers minus those that describe its body or carry its key: the guard's GET."""
    dropped = ("content-type", "content-length", "idempotency-key", "transfer-encoding")
    return tuple((k, v) for k, v in headers if k.lower() not in dropped)


def _lookup_key(guard: CreateGuard, request: Request) -> str | None:
    """The value of ``guard``'s lookup key in ``request``'s JSON body, or ``None``."""
    try:
        value: Any = request.json()
        for part in guard.key_field.split("."):
            value = value[part]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _describe(record: CallRecord) -> str:
    return f"{record.method} {record.system} {redact_url(record.request.path)}"


def _redact_message(text: str) -> str:
    from harness.orchestrator._inbox import redact_message

    return redact_message(text)


def journal_key(method: str, url: str, body: bytes) -> str:
    """Identity of a request for the journal: method, URL and body."""
    h = hashlib.sha256()
    h.update(method.upper().encode())
    h.update(b"\n")
    h.update(url.encode())
    h.update(b"\n")
    h.update(body)
    return h.hexdigest()


def _path_matches(pattern: str, path: str) -> bool:
    # a base URL may carry a prefix (https://proxy/billing/v1/customers): match at the end
    return re.fullmatch(pattern, path) is not None or re.search(f"(?:{pattern})$", path) is not None


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _set_nested(target: dict[str, Any], key: str, value: str) -> None:
    # form encoding with nested keys: metadata[deal_id]=1 -> {"metadata": {"deal_id": "1"}}
    parts = [p for p in re.split(r"[\[\]]+", key) if p != ""] or [key]
    cur = target
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def parse_body(request: Request) -> Mapping[str, Any]:
    """The body as a mapping: JSON, or form fields nested by their ``a[b]`` keys."""
    if not request.body:
        return {}
    ctype = (request.header("Content-Type") or "").lower()
    text = request.body.decode("utf-8", errors="replace")
    if "json" in ctype or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return data if isinstance(data, Mapping) else {"<body>": data}
    result: dict[str, Any] = {}
    for k, v in parse_qsl(text, keep_blank_values=True):
        _set_nested(result, k, v)
    return result


def _records_at(body: Any, at: str) -> list[Any]:
    """The values at dotted ``at`` (``[]`` marks a list, e.g. ``"tickets[]"``) in ``body``."""
    nodes = [body]
    for part in [p for p in at.split(".") if p]:
        many = part.endswith("[]")
        name = part[:-2] if many else part
        nxt: list[Any] = []
        for node in nodes:
            child = node.get(name) if isinstance(node, Mapping) and name else node
            if many and isinstance(child, list):
                nxt.extend(child)
            elif not many and child is not None:
                nxt.append(child)
        nodes = nxt
    return nodes


def _with_query(request: Request, name: str, value: str) -> Request:
    """``request`` with ``name=value`` added to its URL's query."""
    parts = urlsplit(request.url)
    query = f"{parts.query}&{urlencode({name: value})}" if parts.query else urlencode({name: value})
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return Request(request.method, url, request.headers, request.body, request.timeout, request.client)
