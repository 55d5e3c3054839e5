"""The vendors' documented example events the built-in triggers ship with (package data)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import InvalidValueError

EXAMPLES = Path(__file__).parent / "examples"


def example(name: str) -> Mapping[str, Any]:
    """The example event ``examples/<name>``; HubSpot's arrays give their first event."""
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    if isinstance(data, list):
        data = data[0]
    if not isinstance(data, dict):
        raise InvalidValueError(f"trigger example {name!r} is not a JSON object")
    return data
