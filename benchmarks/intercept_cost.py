"""Per-call cost of the interception, for each HTTP client the harness serves.

For each client, ``N`` GETs of one Stripe customer from the standard world
inside ``World.activate()``: the wall time per call minus nothing (the fake's
own work is included, and measured apart as ``World.dispatch`` directly).
``requests`` through the ``responses`` library (what the harness used before
issue 14, answering above urllib3) is measured beside it, and the creation of
an ``httpx.Client`` per call with and without the interception (certificate
loading).

Run: ``python -m benchmarks.intercept_cost [--calls N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

STRIPE = "https://api.stripe.com"
HEADERS = {"Authorization": "Bearer sk_test_bench"}


def _time_per_call(fn: Callable[[], Any], calls: int, repeats: int) -> tuple[float, float]:
    """Median and best microseconds per call over ``repeats`` rounds of ``calls`` calls."""
    fn()  # warm: imports, pools
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(rounds), min(rounds)


def measure(calls: int, repeats: int) -> list[dict[str, Any]]:
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

    cases: list[tuple[str, Callable[[], Any], str]] = [
        ("World.dispatch (the fake alone)", lambda: world.dispatch(wire), "no client"),
        ("requests.Session", lambda: session.get(url, headers=HEADERS, timeout=5), "urllib3 connection"),
        ("requests.get (a Session per call)", lambda: requests.get(url, headers=HEADERS, timeout=5),
         "urllib3 connection"),
        ("urllib3.PoolManager", lambda: pool.request("GET", url, headers=HEADERS), "urllib3 connection"),
        ("urllib.request.urlopen", lambda: urllib.request.urlopen(
            urllib.request.Request(url, headers=HEADERS), timeout=5).read(), "http.client connection"),
        ("http.client.HTTPSConnection", plain_http_client, "http.client connection"),
        ("httpx.Client", lambda: hx.get(url, headers=HEADERS), "httpx transport"),
        ("httpx.get (a Client per call)", lambda: httpx.get(url, headers=HEADERS), "httpx transport"),
    ]
    rows: list[dict[str, Any]] = []
    with world.activate():
        for name, fn, layer in cases:
            median, best = _time_per_call(fn, calls, repeats)
            rows.append({"client": name, "layer": layer, "us_per_call": median, "best": best})
        for name, batch, layer in (
            ("httpx.AsyncClient", httpx_async_batch, "httpx transport"),
            ("aiohttp.ClientSession", aio_batch, "aiohttp connector"),
        ):
            try:
                run(batch(1), world.clock)
            except ImportError:
                continue
            rounds = []
            for _ in range(repeats):
                start = time.perf_counter()
                run(batch(calls), world.clock)
                rounds.append((time.perf_counter() - start) / calls * 1e6)
            rows.append({"client": name, "layer": layer, "us_per_call": statistics.median(rounds),
                         "best": min(rounds)})

    # the previous interception of requests: the responses library, above urllib3
    import re

    import responses

    mocker = responses.RequestsMock(assert_all_requests_are_fired=False)

    def callback(prepared: Any) -> tuple[int, dict[str, str], bytes]:
        resp = world.dispatch(Request("GET", str(prepared.url), tuple(prepared.headers.items())))
        return resp.status, dict(resp.headers), resp.body

    mocker.add_callback("GET", re.compile(".*"), callback=callback)
    with mocker:
        median, best = _time_per_call(lambda: session.get(url, headers=HEADERS, timeout=5), calls, repeats)
    rows.append({"client": "requests.Session via responses (before)", "layer": "requests adapter",
                 "us_per_call": median, "best": best})

    # an httpx.Client made per call: certificate loading with and without the interception
    median_out, best_out = _time_per_call(lambda: httpx.Client().close(), max(calls // 10, 5), repeats)
    with world.activate():
        median_in, best_in = _time_per_call(lambda: httpx.Client().close(), max(calls // 10, 5), repeats)
    rows.append({"client": "httpx.Client() creation, real", "layer": "ssl context",
                 "us_per_call": median_out, "best": best_out})
    rows.append({"client": "httpx.Client() creation, in a world", "layer": "ssl context",
                 "us_per_call": median_in, "best": best_in})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)
    asyncio.set_event_loop_policy(None)
    rows = measure(args.calls, args.repeats)
    print("| client | intercepted at | us per call (median) | best |")
    print("| --- | --- | ---: | ---: |")
    for r in rows:
        print(f"| {r['client']} | {r['layer']} | {r['us_per_call']:.0f} | {r['best']:.0f} |")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
