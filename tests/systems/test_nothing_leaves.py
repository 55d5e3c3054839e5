"""Inside ``World.activate()`` no client reaches a host no fake serves: a loopback server gets 0 bytes.

Each test points one client at a real server on 127.0.0.1 while a world is
active, then (after the block) connects once itself with a marker.  The
server records every connection it accepted and the bytes of each; the
marker's connection must be the only one it ever saw.  Passthrough endpoints
are the one exception, and they must be named.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import urllib3

from harness.errors import UsageError
from harness.systems import World, standard_world

MARKER = b"MARKER\r\n"


class LoopbackServer:
    """A TCP server on 127.0.0.1 that answers HTTP 200 and records what it received."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.marker_seen = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            with conn:
                conn.settimeout(10)
                while b"\r\n\r\n" not in data and MARKER not in data:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
                if MARKER not in data:
                    body = b"ok"
                    with pytest_suppress():
                        conn.sendall(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" + body
                        )
            self.received.append(data)
            if MARKER in data:
                self.marker_seen.set()

    def finish(self) -> list[bytes]:
        """Everything received before the marker (which is sent now, from outside any world)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(MARKER)
        assert self.marker_seen.wait(10), "the loopback server never saw the marker"
        self.sock.close()
        return [d for d in self.received if MARKER not in d]


class pytest_suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    yield srv
    srv.sock.close()


def _requests(url: str) -> None:
    requests.post(url, json={"secret": "x"}, timeout=5)


def _requests_session_with_retry(url: str) -> None:
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    s = requests.Session()
    s.mount("http://", HTTPAdapter(max_retries=Retry(total=3, backoff_factor=0)))
    s.get(url, timeout=5)


def _urllib3(url: str) -> None:
    urllib3.PoolManager().request("POST", url, body=b"secret", timeout=5)


def _urllib3_retry(url: str) -> None:
    urllib3.PoolManager(retries=urllib3.Retry(total=3, backoff_factor=0)).request("GET", url)


def _urllib_request(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=b"secret"), timeout=5)


def _http_client(url: str) -> None:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", "/x", body=b"secret")
    conn.getresponse()


def _httpx(url: str) -> None:
    httpx.post(url, content=b"secret")


def _httpx_retries(url: str) -> None:
    with httpx.Client(transport=httpx.HTTPTransport(retries=2)) as c:
        c.get(url)


def _httpx_async(url: str) -> None:
    async def go() -> None:
        async with httpx.AsyncClient() as c:
            await c.post(url, content=b"secret")

    asyncio.run(go())


def _aiohttp(url: str) -> None:
    aiohttp = pytest.importorskip("aiohttp")

    async def go() -> None:
        async with aiohttp.ClientSession() as s, s.post(url, data=b"secret") as r:
            await r.read()

    asyncio.run(go())


def _raw_socket(url: str) -> None:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"secret")


def _raw_socket_connect_ex(url: str) -> None:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) != 0:
            raise ConnectionRefusedError("connect_ex refused")
        s.sendall(b"secret")


CLIENTS: dict[str, Callable[[str], None]] = {
    "requests": _requests,
    "requests+Retry": _requests_session_with_retry,
    "urllib3": _urllib3,
    "urllib3+Retry": _urllib3_retry,
    "urllib.request": _urllib_request,
    "http.client": _http_client,
    "httpx": _httpx,
    "httpx+retries": _httpx_retries,
    "httpx async": _httpx_async,
    "aiohttp": _aiohttp,
    "socket": _raw_socket,
    "socket.connect_ex": _raw_socket_connect_ex,
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_loopback_server_receives_zero_bytes_from_every_client(
    server: LoopbackServer, client: str
) -> None:
    world = standard_world(1)
    url = f"http://127.0.0.1:{server.port}/x"
    # each client raises its own connection error (its type is checked below), hence Exception
    with world.activate(), pytest.raises(Exception) as raised:  # noqa: PT011
        CLIENTS[client](url)
    assert server.finish() == [], f"{client} reached the loopback server"
    # the automation saw a connection error of its own client...
    text = repr(raised.value) + str(raised.value.__cause__ or "") + str(raised.value.__context__ or "")
    assert "refused" in text.lower() or "Max retries" in text, text
    # ...and the world reported the refusal, with where it was going
    refused = [c for c in world.calls if c.fault == "unfaked_host"]
    assert refused, world.calls
    assert all(c.status is None and not c.executed for c in refused)
    assert all(str(server.port) in c.url for c in refused)


def test_a_named_passthrough_reaches_the_real_endpoint(server: LoopbackServer) -> None:
    world = World(passthrough=[f"127.0.0.1:{server.port}"])
    with world.activate():
        resp = requests.post(f"http://127.0.0.1:{server.port}/x", data=b"payload", timeout=5)
    assert resp.status_code == 200
    received = server.finish()
    assert len(received) == 1 and received[0].startswith(b"POST /x HTTP/1.1")
    assert [c for c in world.calls if c.fault == "unfaked_host"] == []


def test_passthrough_is_per_endpoint_never_implied(server: LoopbackServer) -> None:
    """Naming one port lets nothing else through, not even the same host on another port."""
    world = World(passthrough=["127.0.0.1:1"])
    with world.activate(), pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/x", timeout=5)
    assert server.finish() == []


def test_passthrough_given_to_activate_and_localhost_admits_loopback(server: LoopbackServer) -> None:
    world = World()
    with (
        world.activate(passthrough=[f"localhost:{server.port}"]),
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as s,
    ):
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
    assert len(server.finish()) == 1


@pytest.mark.parametrize("spec", ["localhost", "127.0.0.1:", ":5432", "db:port", "db:70000"])
def test_a_malformed_passthrough_is_a_usage_error_naming_it(spec: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT"):
        World(passthrough=[spec])


def test_sockets_outside_the_internet_families_are_untouched() -> None:
    world = World()
    with world.activate():
        a, b = socket.socketpair()
        with a, b:
            a.sendall(b"local")
            assert b.recv(5) == b"local"
    assert world.calls == []


def test_everything_is_restored_after_the_block() -> None:
    before = (
        socket.socket.connect, http.client.HTTPConnection.connect,
        urllib3.connection.HTTPConnection._new_conn, httpx.HTTPTransport.handle_request,
    )
    with World().activate():
        pass
    after = (
        socket.socket.connect, http.client.HTTPConnection.connect,
        urllib3.connection.HTTPConnection._new_conn, httpx.HTTPTransport.handle_request,
    )
    assert before == after


def test_a_pooled_connection_serves_the_world_active_when_it_is_used() -> None:
    """A module-level Session keeps its keep-alive connection across scenarios."""
    session = requests.Session()
    url = "https://api.stripe.com/v1/customers"
    auth = {"Authorization": "Bearer sk_test_pool"}
    first, second = standard_world(1), standard_world(1)
    with first.activate():
        session.post(url, headers=auth, data={"email": "a@b.co"}, timeout=5)
    with second.activate():
        listed = session.get(url, headers=auth, timeout=5).json()
    assert len(first.calls) == 1 and len(second.calls) == 1
    assert listed["data"] == []  # the second world's state, not the first's


def test_a_pooled_fake_connection_reused_after_the_block_is_reset_never_sent(
    server: LoopbackServer,
) -> None:
    pool = urllib3.HTTPConnectionPool("127.0.0.1", server.port, maxsize=1, retries=False)
    with World().activate(), pytest.raises(urllib3.exceptions.ProtocolError):
        pool.request("GET", "/x")
    conn = pool._get_conn()
    # outside any world the fake connection reports itself dropped, so the pool reconnects
    assert not conn.is_connected
    pool._put_conn(conn)
    assert server.finish() == []
