"""``harness triggers``: every registered trigger with its system, object key and data contract.

``harness triggers`` prints one block per trigger (name, system, what starts
it, the object key, the event id field, whether a redelivery keeps that id,
the defining fields and the contract's fields with their rules);
``harness triggers --json`` prints the same as a JSON list.  ``NAME`` shows
only the triggers whose name starts with it.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from typing import Any

import click

from harness.errors import UsageError

__all__ = ["COMMANDS", "describe_trigger"]


def _object_key(trigger: Any) -> str:
    """How a trigger names the object an event is about, in words."""
    if trigger.schedule is not None:
        return f"{trigger.noun or 'obj'}:<id of the object changed before the tick>"
    path = getattr(trigger.object_key, "path", None)
    if isinstance(path, str):
        return f"{getattr(trigger.object_key, 'noun', trigger.noun)}:<{path}>"
    try:
        return str(trigger.object_key(trigger.example))
    except Exception:
        return getattr(trigger.object_key, "__name__", "") or inspect.getsource(trigger.object_key).strip()


def describe_trigger(trigger: Any) -> dict[str, Any]:
    """A trigger as plain data (the shape of ``harness triggers --json``)."""
    out: dict[str, Any] = {
        "name": trigger.name,
        "system": trigger.system,
        "description": trigger.description,
        "kind": "schedule" if trigger.schedule is not None else "webhook",
        "object_key": _object_key(trigger),
        "event_id_field": trigger.event_id_field or None,
        "attempt_field": trigger.attempt_field,
        "redelivery_keeps_id": trigger.redelivery_keeps_id,
        "defining": list(trigger.defining),
        "contract": [
            {"field": f.name, "type": f.type, "required": f.required, "rule": f.rule(),
             "meaning": f.meaning}
            for f in trigger.contract.fields
        ],
    }
    if trigger.schedule is not None:
        out["every_seconds"] = trigger.schedule.every
    return out


@click.command("triggers")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the triggers as a JSON list.")
def triggers_command(name: str | None, as_json: bool) -> None:
    """List the triggers --trigger accepts, with their object key and data contract."""
    from harness.triggers import all_triggers, trigger_names

    chosen = [t for t in all_triggers() if not name or t.name.startswith(name)]
    if not chosen:
        raise UsageError(f"no trigger name starts with {name!r}; known triggers: {', '.join(trigger_names())}")
    described = [describe_trigger(t) for t in chosen]
    _emit(json.dumps(described, indent=2) if as_json else "\n\n".join(_block(d) for d in described))


def _block(d: dict[str, Any]) -> str:
    lines = [f"{d['name']}  ({d['system']}, {d['kind']})"]
    if d["description"]:
        lines.append(f"  {d['description']}")
    if d["kind"] == "schedule":
        lines.append(f"  every:       {d['every_seconds']:g} s")
    lines.append(f"  object key:  {d['object_key']}")
    if d["event_id_field"]:
        keeps = "keeps it" if d["redelivery_keeps_id"] else "gets a new one"
        lines.append(f"  event id:    {d['event_id_field']} (a redelivery {keeps})")
    if d["defining"]:
        lines.append(f"  defining:    {', '.join(d['defining'])}")
    lines.append("  contract:")
    width = max((len(f["field"]) for f in d["contract"]), default=0)
    for f in d["contract"]:
        meaning = f"  ({f['meaning']})" if f["meaning"] else ""
        lines.append(f"    {f['field']:<{width}}  {f['rule']}{meaning}")
    return "\n".join(lines)


def _emit(text: str) -> None:
    """Print ``text``; a reader that stops early (``| head``) is not an error."""
    try:
        click.echo(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # the rest has nowhere to go: send it to /dev/null so the exit flush is quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


COMMANDS: list[click.Command] = [triggers_command]
