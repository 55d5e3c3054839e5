"""The default error taxonomy for requests, httpx, stdlib and the harness's own errors."""

from __future__ import annotations

import email.utils

import httpx
import pytest
import requests

from harness import Policy
from harness._shared.wire import ConnectionReset, Timeout
from harness.flow import Violation
from harness.orchestrator import (
    CircuitOpen,
    ContractViolation,
    classify,
    parse_retry_after,
    retry_after,
)


def http_error(status: int, headers: dict[str, str] | None = None) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return requests.HTTPError(f"{status} error", response=response)


def httpx_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://api.stripe.com/v1/invoices")
    return httpx.HTTPStatusError("x", request=request, response=httpx.Response(status, request=request))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (requests.ReadTimeout("t"), "transient"),
        (requests.ConnectTimeout("t"), "transient"),
        (requests.ConnectionError("reset"), "transient"),
        (requests.exceptions.ChunkedEncodingError("cut"), "transient"),
        (requests.exceptions.MissingSchema("no scheme"), "logical"),
        (http_error(500), "transient"),
        (http_error(502), "transient"),
        (http_error(503), "transient"),
        (http_error(429), "transient"),
        (http_error(408), "transient"),
        (http_error(400), "logical"),
        (http_error(401), "logical"),
        (http_error(402), "logical"),
        (http_error(404), "logical"),
        (http_error(409), "logical"),
        (http_error(422), "logical"),
        (httpx.ReadTimeout("t"), "transient"),
        (httpx.ConnectError("refused"), "transient"),
        (httpx.RemoteProtocolError("eof"), "transient"),
        (httpx_error(504), "transient"),
        (httpx_error(403), "logical"),
        (TimeoutError(), "transient"),
        (ConnectionResetError(), "transient"),
        (Timeout("t", executed=True), "transient"),
        (ConnectionReset("r"), "transient"),
        (CircuitOpen("stripe", 30.0), "transient"),
        (ContractViolation("trigger", (Violation("email", None, "required"),)), "logical"),
        (KeyError("properties"), "unknown"),
        (ValueError("bad"), "unknown"),
    ],
)
def test_default_taxonomy(exc: BaseException, expected: str) -> None:
    assert classify(exc, Policy()) == expected


def test_wrapped_errors_are_classified_by_their_cause() -> None:
    class SyncFailed(Exception):
        pass

    def bill() -> None:
        try:
            raise requests.ReadTimeout("stalled")
        except requests.ReadTimeout as inner:
            raise SyncFailed("could not bill") from inner

    with pytest.raises(SyncFailed) as caught:
        bill()
    assert classify(caught.value, Policy()) == "transient"


def test_flow_rules_come_before_the_defaults() -> None:
    policy = Policy(classify=[(lambda e: getattr(getattr(e, "response", None), "status_code", 0) == 409, "transient")])
    assert classify(http_error(409), policy) == "transient"
    assert classify(http_error(400), policy) == "logical"


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert retry_after(http_error(429, {"Retry-After": "12"})) == 12.0
    assert retry_after(http_error(503)) is None
    now = 1_767_225_600.0
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(90.0)
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5") == 0.0


def _urllib3_errors() -> list[tuple[BaseException, str]]:
    from urllib3.exceptions import (
        MaxRetryError,
        NewConnectionError,
        ProtocolError,
        ReadTimeoutError,
    )

    return [
        (ReadTimeoutError(None, "/v1/customers", "Read timed out."), "transient"),  # type: ignore[arg-type]
        (NewConnectionError(None, "refused"), "transient"),  # type: ignore[arg-type]
        (ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")), "transient"),
        (MaxRetryError(None, "/v1/customers", "too many 503 error responses"), "transient"),  # type: ignore[arg-type]
    ]


def _aiohttp_errors() -> list[tuple[BaseException, str]]:
    import aiohttp
    from yarl import URL

    info = aiohttp.RequestInfo(URL("https://api.stripe.com/v1/customers"), "POST", {}, URL("https://api.stripe.com"))  # type: ignore[arg-type]
    return [
        (aiohttp.ServerDisconnectedError(), "transient"),
        (aiohttp.ClientPayloadError("truncated"), "transient"),
        (aiohttp.ClientResponseError(info, (), status=503), "transient"),
        (aiohttp.ClientResponseError(info, (), status=422), "logical"),
    ]


def _urllib_errors() -> list[tuple[BaseException, str]]:
    import urllib.error
    from email.message import Message

    return [
        (urllib.error.HTTPError("https://slack.com/api/chat.postMessage", 503, "x", Message(), None), "transient"),
        (urllib.error.HTTPError("https://slack.com/api/chat.postMessage", 400, "x", Message(), None), "logical"),
    ]


@pytest.mark.parametrize(("exc", "expected"), [*_urllib3_errors(), *_aiohttp_errors(), *_urllib_errors()])
def test_urllib3_aiohttp_and_urllib_errors_are_classified_like_their_network_failures(
    exc: BaseException, expected: str
) -> None:
    assert classify(exc, Policy()) == expected
