"""HTTP/1.1 on the wire, in memory: the bytes a fake connection reads and writes.

A client intercepted at the connection layer (``http.client``, urllib3,
aiohttp) writes a real HTTP/1.1 request into a fake socket or transport and
parses a real HTTP/1.1 response out of it, so everything above the socket (its
parser, its pool, its retries, its timeouts) runs as on a network.  This module
turns those request bytes into a :class:`~harness._shared.wire.Request` and a
:class:`~harness._shared.wire.Response` back into bytes.  It knows nothing of worlds.
"""

from __future__ import annotations

import http
from dataclasses import dataclass

from harness._shared.wire import Headers, Request, Response

__all__ = ["RequestParser", "response_bytes", "target_url"]

_NO_BODY_STATUSES = frozenset({204, 304})
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding"})
_REASONS: dict[int, bytes] = {}


def _reason(status: int) -> bytes:
    reason = _REASONS.get(status)
    if reason is None:
        try:
            reason = http.HTTPStatus(status).phrase.encode("ascii")
        except ValueError:
            reason = b"Unknown"
        _REASONS[status] = reason
    return reason


def response_bytes(response: Response, *, method: str) -> bytes:
    """``response`` as HTTP/1.1 bytes with an exact ``Content-Length``.

    A framing header the fake set itself is replaced: the harness frames the
    body it actually sends (a wrong length would hang or truncate the client).
    """
    body = b"" if method == "HEAD" or response.status in _NO_BODY_STATUSES else response.body
    out = [b"HTTP/1.1 %d %s\r\n" % (response.status, _reason(response.status))]
    for name, value in response.headers:
        if name.lower() in _HOP_HEADERS:
            continue
        out.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
    if response.status not in _NO_BODY_STATUSES:
        out.append(b"Content-Length: %d\r\n" % len(response.body if method == "HEAD" else body))
    out.append(b"\r\n")
    out.append(body)
    return b"".join(out)


def target_url(scheme: str, host: str, port: int | None, target: str, headers: Headers) -> str:
    """The absolute URL of a request line's ``target`` as the server sees it.

    An absolute target (a request through a proxy) is kept; otherwise the
    authority is the ``Host`` header when there is one, else the host and
    port the client connected to.
    """
    if "://" in target[:12]:
        return target
    authority = None
    for name, value in headers:
        if name.lower() == "host":
            authority = value.strip()
            break
    if not authority:
        default = 443 if scheme == "https" else 80
        authority = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{authority}{target if target.startswith('/') else '/' + target}"


@dataclass
class _Head:
    method: str
    target: str
    headers: Headers
    length: int | None
    chunked: bool


class RequestParser:
    """Incremental HTTP/1.1 request parser: feed bytes, take whole requests.

    Keeps unread bytes between requests, so a keep-alive connection carries
    any number of them.  ``Content-Length`` and ``chunked`` bodies are framed;
    a request with neither has no body (RFC 9112 section 6.3).
    """

    __slots__ = ("_buf", "_head")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._head: _Head | None = None

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> bool:
        """Whether bytes of an unfinished request are waiting."""
        return bool(self._buf) or self._head is not None

    def take(self) -> tuple[str, str, Headers, bytes] | None:
        """The next complete request as ``(method, target, headers, body)``, or ``None``."""
        if self._head is None:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return None
            head = bytes(self._buf[:end]).decode("latin-1")
            del self._buf[: end + 4]
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) < 2:
                raise ValueError(f"malformed HTTP request line {lines[0]!r}")
            headers: list[tuple[str, str]] = []
            length: int | None = None
            chunked = False
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    continue
                value = value.strip()
                lname = name.strip().lower()
                if lname == "content-length":
                    length = int(value)
                elif lname == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                headers.append((name.strip(), value))
            self._head = _Head(parts[0].upper(), parts[1], tuple(headers), length, chunked)
        head_ = self._head
        if head_.chunked:
            body = self._dechunk()
            if body is None:
                return None
        else:
            n = head_.length or 0
            if len(self._buf) < n:
                return None
            body = bytes(self._buf[:n])
            del self._buf[:n]
        self._head = None
        return head_.method, head_.target, head_.headers, body

    def _dechunk(self) -> bytes | None:
        pos = 0
        chunks: list[bytes] = []
        buf = self._buf
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip() or b"0", 16)
            start = eol + 2
            if size == 0:
                # trailers end with an empty line
                end = buf.find(b"\r\n", start)
                while end >= 0 and end != start:
                    start = end + 2
                    end = buf.find(b"\r\n", start)
                if end < 0:
                    return None
                del buf[: end + 2]
                return b"".join(chunks)
            if len(buf) < start + size + 2:
                return None
            chunks.append(bytes(buf[start : start + size]))
            pos = start + size + 2


def to_request(
    parsed: tuple[str, str, Headers, bytes],
    *,
    scheme: str,
    host: str,
    port: int | None,
    timeout: float | None,
    client: str,
) -> Request:
    """A parsed request as the harness's :class:`~harness._shared.wire.Request`."""
    method, target, headers, body = parsed
    return Request(
        method=method,
        url=target_url(scheme, host, port, target, headers),
        headers=headers,
        body=body,
        timeout=timeout,
        client=client,
    )
