"""Serve a World on 127.0.0.1 for clients the harness does not intercept yet (urllib, aiohttp).

Each request is handed to ``world.dispatch`` as if it had been sent to
``https://{host}`` (the vendor's own host), so the fake answers exactly as it
does for intercepted clients.  Only loopback: nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness._shared.wire import Request
from harness.systems import World


@contextlib.contextmanager
def serve(world: World, host: str) -> Iterator[str]:
    """``http://127.0.0.1:PORT``, answering as ``https://{host}`` of ``world``."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = tuple((k, v) for k, v in self.headers.items() if k.lower() != "host")
            response = world.dispatch(Request(self.command, f"https://{host}{self.path}", headers, body))
            self.send_response(response.status)
            for key, value in response.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
