"""The suite-wide loopback guard (tests/conftest.py) refuses every address outside 127.0.0.0/8 and ::1."""

from __future__ import annotations

import socket

import pytest
import requests


@pytest.mark.parametrize(
    "address",
    [("192.0.2.1", 80), ("10.0.0.1", 5432), ("::ffff:192.0.2.1", 443), ("api.stripe.com", 443)],
    ids=["public", "private", "mapped-v6", "hostname"],
)
def test_a_non_loopback_connect_is_refused_and_recorded(address: tuple[str, int], network_violations: list[str]) -> None:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError, match="network guard"):
        sock.connect(address)
    with pytest.raises(ConnectionRefusedError, match="network guard"):
        socket.create_connection(address, timeout=1)
    assert len(network_violations) == 2
    network_violations.clear()


def test_a_swallowed_refusal_still_fails_the_test(network_violations: list[str]) -> None:
    # requests turns the refusal into its own ConnectionError, which an automation may catch
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://192.0.2.1/", timeout=1)
    assert network_violations and "192.0.2.1" in network_violations[0]
    network_violations.clear()  # else the guard fails this test at teardown, as it should


def test_loopback_connections_go_through(network_violations: list[str]) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        with socket.create_connection(("localhost", port), timeout=2):
            pass
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.2", port)) in (0, 111)  # 127.0.0.0/8, refused by the OS at most
    assert network_violations == []
