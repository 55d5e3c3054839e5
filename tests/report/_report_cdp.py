"""A minimal headless-Chromium driver over the DevTools protocol, for the report tests.

Starts Debian's ``chromium`` on an ephemeral 127.0.0.1 DevTools port, opens a
page and records console errors, uncaught exceptions, log errors and every
network request, so a test can assert that a report is self-contained.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = os.environ.get("HARNESS_CHROMIUM", "/usr/bin/chromium")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def available() -> bool:
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


@dataclass
class PageReport:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    evaluated: Any = None


class Browser:
    """One Chromium process and one flattened page session."""

    def __init__(self, profile: Path, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                lines.put(line)

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + timeout
        url = None
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if "DevTools listening on " in line:
                url = line.split("DevTools listening on ", 1)[1].strip()
                break
        if url is None:
            self.close()
            raise RuntimeError("chromium did not open its DevTools port")
        assert url.startswith("ws://127.0.0.1:"), url
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self._id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)
        raise TimeoutError(method)

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.call(method, self.session, **params)

    def wait_for(self, method: str) -> dict[str, Any]:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("method") == method:
                return message
            self.events.append(message)
        raise TimeoutError(method)

    def open(self, url: str, *, width: int = 1200, height: int = 900, mobile: bool = False) -> None:
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.page(f"{domain}.enable")
        self.page(
            "Emulation.setDeviceMetricsOverride",
            width=width, height=height, deviceScaleFactor=1, mobile=mobile,
        )
        self.events.clear()
        self.page("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        # let late requests (fonts, images) show up before the page is judged
        self.page("Runtime.evaluate", expression="new Promise(r => setTimeout(r, 300))", awaitPromise=True)

    def report(self) -> PageReport:
        out = PageReport()
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.console_errors.append(json.dumps(params.get("args", []))[:500])
            elif method == "Runtime.exceptionThrown":
                out.console_errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.console_errors.append(params["entry"].get("text", "")[:500])
            elif method == "Network.requestWillBeSent":
                out.requests.append(params.get("request", {}).get("url", ""))
        return out

    def evaluate(self, expression: str) -> Any:
        result = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.page("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 16000), "scale": 1}
        data = self.page("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                with contextlib.suppress(Exception):
                    self.ws.send(json.dumps({"id": 10**6, "method": "Browser.close"}))
                self.ws.close()
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            # the process is gone: its stderr reaches EOF, the pump ends, the pipe is closed
            # (an open pipe is a ResourceWarning, an error in this suite)
            self._pump.join(timeout=10)
            if self.proc.stderr is not None:
                self.proc.stderr.close()


def element_shot(browser: Browser, selector: str, path: Path, *, height: int = 1400) -> Path:
    """A screenshot of the region starting at ``selector`` (for looking at one section)."""
    rect = browser.evaluate(
        f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
        " return [r.x, r.y + window.scrollY, r.width]; })()"
    )
    data = browser.page(
        "Page.captureScreenshot", format="png", captureBeyondViewport=True,
        clip={"x": 0, "y": rect[1], "width": 1200, "height": height, "scale": 1},
    )["data"]
    path.write_bytes(base64.b64decode(data))
    return path
