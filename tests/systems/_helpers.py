"""Shared helpers for the fake-systems tests: fixtures on disk, shape checks, raw calls."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from harness._shared.wire import Request, Response
from harness.systems import World

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
STRIPE_KEY = "sk_test_51Hxxxxxxxxxxxxxxxxxxxxxxxx"
STRIPE_AUTH = ("Authorization", f"Bearer {STRIPE_KEY}")
HUBSPOT_AUTH = ("Authorization", "Bearer pat-na1-11111111-2222-3333-4444-555555555555")
ZENDESK_AUTH = (
    "Authorization",
    "Basic " + base64.b64encode(b"ops@acme.example/token:abcdef123456").decode(),
)


def load(vendor: str, name: str) -> Any:
    """A documented sample payload from ``fixtures/<vendor>/<name>.json``."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text())


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_shape(actual: Any, documented: Any, path: str = "$") -> None:
    """``actual`` has every key of ``documented`` with a compatible JSON type, recursively.

    ``null`` on either side matches anything (documented samples show nullable
    fields as null); lists are compared element-wise on their first element.
    """
    if actual is None or documented is None:
        return
    assert _kind(actual) == _kind(documented), (
        f"{path}: fake has {_kind(actual)} {actual!r:.60}, documented {_kind(documented)} "
        f"{documented!r:.60}"
    )
    if isinstance(documented, Mapping):
        missing = sorted(set(documented) - set(actual))
        assert not missing, f"{path}: fake lacks documented keys {missing}"
        for key, value in documented.items():
            assert_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(documented, list) and documented and actual:
        assert_shape(actual[0], documented[0], f"{path}[0]")


def call(
    world: World,
    method: str,
    url: str,
    *,
    auth: tuple[str, str] | None = None,
    form: Mapping[str, Any] | list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Dispatch one request straight to the world (no HTTP client: fast, for contract tests)."""
    hdrs: list[tuple[str, str]] = []
    if auth is not None:
        hdrs.append(auth)
    data = b""
    if form is not None:
        data = urlencode(form).encode()
        hdrs.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif json_body is not None:
        data = json.dumps(json_body).encode()
        hdrs.append(("Content-Type", "application/json"))
    elif body is not None:
        data = body
    hdrs.extend((headers or {}).items())
    return world.dispatch(Request(method, url, tuple(hdrs), data))
