"""Per-call cost of the interception, for each HTTP client the harness serves.

For each client, ``N`` GETs of one Stripe customer from the standard world
inside ``World.activate()``, and each call's time split three ways (CPU time
of the calling thread: the calls do no I/O, and on a shared machine the wall
clock would also count other processes):

* **fake**: inside ``World.dispatch`` (the fake Stripe and the world's
  bookkeeping: the work a campaign needs whatever the client);
* **interception**: inside the harness's connection-layer code around it,
  the fake excluded: the in-memory socket (parsing the request bytes the
  client wrote, encoding the response it reads), the patched connect, the
  httpx transport or the aiohttp transport (see
  :mod:`harness.systems._intercept`);
* **client**: everything else, the client library's own work (``requests``
  preparing the request, urllib3's pool, ``http.client``'s parser...), which
  the same call pays in production.

The split is measured by timers put around those entry points for the
measurement (their own cost, about a microsecond a call, lands in
"interception").  ``World.dispatch`` alone, and ``requests`` through the
``responses`` library (what the harness used before issue 14, answering above
urllib3, so no pool, no ``http.client`` parsing) are measured beside it, and
the creation of an ``httpx.Client`` per call outside and inside a world
(certificate loading).

Run: ``python -m benchmarks.intercept_cost [--calls N] [--repeats R] [--json FILE]``;
``python -m benchmarks --only intercept`` puts the same rows in the suite's table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import statistics
from collections.abc import Callable, Iterator
from time import thread_time
from typing import Any

# the calls do no I/O: the CPU time of this thread is their cost, and unlike the wall
# clock it leaves out the time other processes of a shared machine take; bound at import,
# so it is never a world's virtual time
_now = thread_time

STRIPE = "https://api.stripe.com"
HEADERS = {"Authorization": "Bearer sk_test_bench"}


class _Split:
    """Seconds spent in the fake and in the interception code, accumulated over calls."""

    def __init__(self) -> None:
        self.fake = 0.0
        self.harness = 0.0  # interception and fake together
        self._depth = 0

    def reset(self) -> None:
        self.fake = self.harness = 0.0

    def timed(self, fn: Callable[..., Any], *, fake: bool = False) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outer = self._depth == 0
            self._depth += 1
            start = _now()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = _now() - start
                self._depth -= 1
                if fake:
                    self.fake += spent
                if outer:
                    self.harness += spent

        return wrapper

    def timed_async(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            # nothing else runs on the loop meanwhile: the calls are made one at a time
            outer = self._depth == 0
            self._depth += 1
            start = _now()
            try:
                return await fn(*args, **kwargs)
            finally:
                spent = _now() - start
                self._depth -= 1
                if outer:
                    self.harness += spent

        return wrapper

    @contextlib.contextmanager
    def installed(self, world: Any) -> Iterator[None]:
        """Timers on the fake and on every interception entry point (inside ``world.activate()``)."""
        import http.client

        import httpx
        import urllib3.connection as u3

        from harness.systems import _intercept

        saved: list[tuple[Any, str, Any]] = []

        def wrap(owner: Any, name: str, *, is_async: bool = False) -> None:
            # the patched attribute in force now (the activation's), put back on exit
            current = owner.__dict__[name] if name in owner.__dict__ else getattr(owner, name)
            saved.append((owner, name, owner.__dict__.get(name)))
            setattr(owner, name, self.timed_async(current) if is_async else self.timed(current))

        world.dispatch = self.timed(world.dispatch, fake=True)
        for owner, name in (
            (_intercept.FakeSocket, "sendall"),
            (_intercept.FakeSocket, "makefile"),
            (http.client.HTTPConnection, "connect"),
            (http.client.HTTPSConnection, "connect"),
            (u3.HTTPConnection, "_new_conn"),
            (u3.HTTPSConnection, "connect"),
            (httpx.HTTPTransport, "handle_request"),
            (_intercept._AioTransport, "write"),
        ):
            wrap(owner, name)
        wrap(httpx.AsyncHTTPTransport, "handle_async_request", is_async=True)
        with contextlib.suppress(ImportError):
            import aiohttp

            wrap(aiohttp.TCPConnector, "_create_connection", is_async=True)
        try:
            yield
        finally:
            del world.dispatch
            for owner, name, old in reversed(saved):
                if old is None:
                    delattr(owner, name)
                else:
                    setattr(owner, name, old)


def _rounds(run_calls: Callable[[int], Any], calls: int, repeats: int) -> list[float]:
    """Microseconds per call in each of ``repeats`` rounds of ``calls`` calls."""
    run_calls(1)  # warm: imports, pools
    out = []
    for _ in range(repeats):
        start = _now()
        run_calls(calls)
        out.append((_now() - start) / calls * 1e6)
    return out


def _loop(fn: Callable[[], Any]) -> Callable[[int], None]:
    def run_calls(n: int) -> None:
        for _ in range(n):
            fn()

    return run_calls


def measure(calls: int, repeats: int) -> list[dict[str, Any]]:
    """One row per client: ``us_per_call`` (median), ``rounds``, and the split of a call."""
    import http.client
    import urllib.request

    import httpx
    import requests
    import urllib3

    from harness._aio import run
    from harness._shared.wire import Request
    from harness.systems import standard_world

    world = standard_world(1)
    with world.activate():
        cid = requests.post(f"{STRIPE}/v1/customers", headers=HEADERS, data={"email": "a@b.co"}).json()["id"]
    url = f"{STRIPE}/v1/customers/{cid}"
    session = requests.Session()
    pool = urllib3.PoolManager()
    hx = httpx.Client()
    wire = Request("GET", url, tuple(HEADERS.items()))

    def plain_http_client() -> None:
        conn = http.client.HTTPSConnection("api.stripe.com", timeout=5)
        conn.request("GET", f"/v1/customers/{cid}", headers=HEADERS)
        conn.getresponse().read()

    async def aio_batch(n: int) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as s:
            for _ in range(n):
                async with s.get(url, headers=HEADERS) as r:
                    await r.read()

    async def httpx_async_batch(n: int) -> None:
        async with httpx.AsyncClient() as c:
            for _ in range(n):
                await c.get(url, headers=HEADERS)

    def asynchronous(batch: Callable[[int], Any]) -> Callable[[int], None]:
        def run_calls(n: int) -> None:
            run(batch(n), world.clock)

        return run_calls

    cases: list[tuple[str, str, Callable[[int], None]]] = [
        ("requests.Session", "urllib3 connection",
         _loop(lambda: session.get(url, headers=HEADERS, timeout=5))),
        ("requests.get (a Session per call)", "urllib3 connection",
         _loop(lambda: requests.get(url, headers=HEADERS, timeout=5))),
        ("urllib3.PoolManager", "urllib3 connection", _loop(lambda: pool.request("GET", url, headers=HEADERS))),
        ("urllib.request.urlopen", "http.client connection", _loop(lambda: urllib.request.urlopen(
            urllib.request.Request(url, headers=HEADERS), timeout=5).read())),
        ("http.client.HTTPSConnection", "http.client connection", _loop(plain_http_client)),
        ("httpx.Client", "httpx transport", _loop(lambda: hx.get(url, headers=HEADERS))),
        ("httpx.get (a Client per call)", "httpx transport", _loop(lambda: httpx.get(url, headers=HEADERS))),
        ("httpx.AsyncClient", "httpx transport", asynchronous(httpx_async_batch)),
        ("aiohttp.ClientSession", "aiohttp connector", asynchronous(aio_batch)),
    ]
    rows: list[dict[str, Any]] = []
    split = _Split()
    with world.activate():
        rounds = _rounds(_loop(lambda: world.dispatch(wire)), calls, repeats)
        rows.append(_row("World.dispatch (the fake alone)", "no client", rounds))
        with split.installed(world):
            for name, layer, run_calls in cases:
                try:
                    run_calls(1)
                except ImportError:  # aiohttp is optional
                    continue
                split.reset()
                rounds = _rounds(run_calls, calls, repeats)
                done = calls * (repeats + 1)  # the warm-up call is timed by the split too
                rows.append(_row(name, layer, rounds, fake=split.fake / done * 1e6,
                                 interception=(split.harness - split.fake) / done * 1e6))

    # the previous interception of requests: the responses library, above urllib3
    import re

    import responses

    mocker = responses.RequestsMock(assert_all_requests_are_fired=False)

    def callback(prepared: Any) -> tuple[int, dict[str, str], bytes]:
        resp = world.dispatch(Request("GET", str(prepared.url), tuple(prepared.headers.items())))
        return resp.status, dict(resp.headers), resp.body

    mocker.add_callback("GET", re.compile(".*"), callback=callback)
    with mocker:
        rounds = _rounds(_loop(lambda: session.get(url, headers=HEADERS, timeout=5)), calls, repeats)
    rows.append(_row("requests.Session via responses (before)", "requests adapter", rounds))

    # an httpx.Client made per call: certificate loading with and without the interception
    few = max(calls // 10, 5)
    rows.append(_row("httpx.Client() creation, real", "ssl context",
                     _rounds(_loop(lambda: httpx.Client().close()), few, repeats)))
    with world.activate():
        rows.append(_row("httpx.Client() creation, in a world", "ssl context",
                         _rounds(_loop(lambda: httpx.Client().close()), few, repeats)))
    return rows


def _row(
    client: str, layer: str, rounds: list[float], *, fake: float | None = None,
    interception: float | None = None,
) -> dict[str, Any]:
    median = statistics.median(rounds)
    row: dict[str, Any] = {"client": client, "layer": layer, "us_per_call": median,
                           "best": min(rounds), "rounds": rounds}
    if fake is not None and interception is not None:
        row.update(fake_us=fake, interception_us=interception,
                   client_us=max(0.0, median - fake - interception))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round (default 300)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per client (default 5)")
    parser.add_argument("--json", dest="json_path", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.repeats < 1:
        parser.error("--calls and --repeats must be >= 1")
    asyncio.set_event_loop_policy(None)
    rows = measure(args.calls, args.repeats)
    print("| client | intercepted at | us per call (median) | client's own | interception | fake |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        parts = (
            f"{r['client_us']:.0f} | {r['interception_us']:.0f} | {r['fake_us']:.0f}"
            if "fake_us" in r else "- | - | -"
        )
        print(f"| {r['client']} | {r['layer']} | {r['us_per_call']:.0f} | {parts} |")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
