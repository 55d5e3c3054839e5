"""``harness inbox``: the manual fallback queue, for the person who finishes what a run could not.

``list`` shows open items (``--status all`` for every item), oldest first, with
the ones past their due time marked; ``show ID`` prints an item's context: the
reason, the event, each attempt, the violated rules, the last request and
response (redacted), the partial effects already made and the runbook.
``retry ID --flow FILE`` re-runs the flow on the stored event (writes that
already succeeded are answered from the item's journal, not repeated);
``resolve ID --note TEXT`` records that a person finished it by hand;
``discard ID`` records that nothing is to be done.  Every action records who
(``--by``, default ``$USER``) and when, and closes the item's time-to-recovery
clock.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping
from typing import Any

import click

from harness._commands._options import flow_name_options, resolve_flow_name
from harness._terminal import safe
from harness.errors import UsageError

__all__ = ["COMMANDS"]

_LEDGER_HELP = "Ledger URL (default: $HARNESS_LEDGER_URL or sqlite:///.harness/ledger.db)."
_STATUSES = ("open", "resolved", "discarded", "retried", "all")


def _ledger_option(f: Any) -> Any:
    return click.option("--ledger", "ledger_url", metavar="URL", default=None, help=_LEDGER_HELP)(f)


def _by_option(f: Any) -> Any:
    return click.option(
        "--by",
        metavar="NAME",
        default=None,
        help="Who acts (default: $USER); recorded with the action.",
    )(f)


def _who(by: str | None) -> str:
    who = by if by is not None else os.environ.get("USER", "")
    if not who.strip():
        raise UsageError("say who acts: pass --by NAME (no $USER is set)")
    return who.strip()


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _action_time(ledger: Any, item: Any) -> tuple[float, float]:
    """(at, wall_at) of an action now, ``at`` in the clock of the item's run.

    For a run on the wall clock that is now; for a run on a virtual clock the
    real time since the item was created is added to its creation time, so
    the time to recovery stays a duration on the run's own timeline.
    """
    wall = time.time()
    try:
        clock = ledger.run(item.run_id).clock
    except Exception:
        clock = "wall"
    if clock == "wall":
        return wall, wall
    return item.created_at + max(0.0, wall - item.wall_created), wall


@click.group("inbox")
def inbox_group() -> None:
    """The manual fallback queue: list, show, retry, resolve or discard items."""


@inbox_group.command("list")
@_ledger_option
@flow_name_options("Only this flow's items.")
@click.option(
    "--status",
    type=click.Choice(_STATUSES),
    default="open",
    show_default=True,
    help="Which items to list.",
)
@click.option(
    "--campaigns",
    is_flag=True,
    help="Also list the items of campaign runs (harness check, pytest): tests, hidden by default.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(
    ledger_url: str | None,
    flow_file: str | None,
    flow_name: str | None,
    status: str,
    campaigns: bool,
    as_json: bool,
) -> None:
    """List inbox items, oldest first; '!' marks an open item past its due time, 'c' an item
    of a campaign run (a test, listed with --campaigns)."""
    from harness.ledger import Ledger

    flow_name = resolve_flow_name(flow_file, flow_name)
    wanted = None if status == "all" else status
    with Ledger.open(ledger_url) as ledger:
        items = ledger.inbox(flow=flow_name, status=wanted, campaigns=campaigns)
        if status == "open":
            # a retry killed before it wrote its run left these actionable
            items += [
                i for i in ledger.inbox(flow=flow_name, status="retried", campaigns=campaigns)
                if ledger.inbox_item_actionable(i)
            ]
        from_campaign = ledger.inbox_campaigns([i.run_id for i in items]) if campaigns else {}
        hidden = 0 if campaigns else ledger.hidden_campaign_items(flow=flow_name, status=wanted)
    now = time.time()
    if as_json:
        _echo(_items_json(items, now, from_campaign))
        return
    _echo_items(items, now, from_campaign, hidden, flow_name, status)


def _items_json(items: list[Any], now: float, from_campaign: dict[str, str]) -> str:
    """The listed items as a JSON array (``past_due`` computed at ``now``)."""
    return json.dumps(
        [
            {
                "id": i.id,
                "run_id": i.run_id,
                "flow": i.flow,
                "owner": i.owner,
                "status": i.status,
                "error_class": i.error_class,
                "segment": i.segment,
                "reason": i.reason,
                "wall_created": i.wall_created,
                "past_due": i.status == "open"
                and now - i.wall_created > i.due_at - i.created_at,
                "resolved_by": i.resolved_by,
                "resolution": i.resolution,
                "note": i.note,
                "campaign_id": from_campaign.get(i.run_id),
            }
            for i in items
        ],
        indent=2,
    )


def _echo_items(
    items: list[Any],
    now: float,
    from_campaign: dict[str, str],
    hidden: int,
    flow_name: str | None,
    status: str,
) -> None:
    """The listed items as a table, one line each, and how many are past due."""
    note = (
        f"; {hidden} item(s) of campaign runs hidden (tests: --campaigns lists them)" if hidden else ""
    )
    if not items:
        where = f" for flow {flow_name!r}" if flow_name else ""
        _echo(f"no {'' if status == 'all' else status + ' '}inbox items{where}{note}")
        return
    _echo(f"{'':1} {'ID':<24} {'FLOW':<20} {'STATUS':<9} {'AGE':>5} {'CLASS':<10} REASON")
    for i in items:
        due = i.due_at - i.created_at
        age = now - i.wall_created
        if i.run_id in from_campaign:
            mark = "c"  # a test's item: never "past due" work for a person
        else:
            mark = "!" if i.status == "open" and age > due else " "
        reason = " ".join(i.reason.split())
        if len(reason) > 70:
            reason = reason[:67] + "..."
        _echo(
            f"{mark} {i.id:<24} {i.flow[:20]:<20} {i.status:<9} {_age(age):>5} "
            f"{(i.error_class or '-'):<10} {reason}"
        )
    past = sum(
        1
        for i in items
        if i.status == "open"
        and i.run_id not in from_campaign
        and now - i.wall_created > i.due_at - i.created_at
    )
    _echo(f"{len(items)} item(s); {past} past due{note}")


def _block(title: str, body: str) -> str:
    indented = "\n".join("    " + line for line in body.splitlines()) if body else "    (none)"
    return f"{title}:\n{indented}"


def _render_call(data: Mapping[str, Any] | None) -> str:
    if not data:
        return ""
    lines = []
    if "method" in data:
        lines.append(f"{data.get('method')} {data.get('url')}")
    if "status" in data:
        lines.append(f"HTTP {data.get('status')}")
    for key, value in data.get("headers", []) or []:
        lines.append(f"{key}: {value}")
    if data.get("body"):
        lines.append("")
        lines.append(str(data["body"]))
    return "\n".join(lines)


@inbox_group.command("show")
@_ledger_option
@click.argument("item_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the item and its context as JSON.")
def show_command(ledger_url: str | None, item_id: str, as_json: bool) -> None:
    """Show one item with everything a person needs to finish it."""
    from harness.ledger import Ledger

    with Ledger.open(ledger_url) as ledger:
        item = ledger.inbox_item(item_id)
    if as_json:
        record = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        _echo(json.dumps({**record, "context": dict(item.context)}, indent=2, default=str))
        return
    out = _item_text(item)
    _echo("\n".join(out))


def _item_text(item: Any) -> list[str]:
    """An inbox item as a person reads it: what, why, the event, attempts, partial effects, runbook."""
    ctx = dict(item.context)
    out = [
        f"inbox item {item.id} ({item.status})",
        f"  flow      {item.flow}   owner {item.owner or '-'}   segment {item.segment}",
        f"  run       {item.run_id}",
        f"  created   {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(item.wall_created))} UTC",
        f"  class     {item.error_class or '-'}",
        f"  reason    {item.reason}",
    ]
    if item.status != "open":
        out.append(f"  closed    {item.resolution} by {item.resolved_by}: {item.note}")
    out.append(_block("event", json.dumps(ctx.get("event"), indent=2, default=str)))
    violations = ctx.get("violations") or []
    if violations:
        out.append(
            _block(
                "violated rules",
                "\n".join(f"{v['field']} = {v['value']!r}: expected {v['rule']}" for v in violations),
            )
        )
    attempts = ctx.get("attempts") or []
    out.append(
        _block(
            "attempts",
            "\n".join(
                f"#{a.get('number')}: {a.get('calls', 0)} calls"
                + (f", {a.get('replayed')} from the journal" if a.get("replayed") else "")
                + (f" -> {a.get('error_class')}: {a.get('error')}" if a.get("error") else " -> ok")
                for a in attempts
            ),
        )
    )
    effects = ctx.get("partial_effects") or []
    out.append(
        _block(
            "already done (partial effects: do not repeat these)",
            "\n".join(
                f"{e.get('system')}: {e.get('method')} {e.get('url')} -> {e.get('status')}"
                + (f" (id {e['id']})" if e.get("id") else "")
                for e in effects
            ),
        )
    )
    if ctx.get("last_request"):
        out.append(_block("last request", _render_call(ctx.get("last_request"))))
        last_call = ctx.get("last_call") or {}
        response = ctx.get("last_response")
        out.append(
            _block(
                "last response",
                _render_call(response)
                if response
                else f"no response: {last_call.get('error') or 'unknown'}",
            )
        )
    out.append(_block("runbook", str(ctx.get("runbook") or "")))
    return out


@inbox_group.command("retry")
@_ledger_option
@click.argument("item_id", metavar="ID")
@click.option(
    "--flow",
    "flow_spec",
    required=True,
    metavar="FILE",
    help="The flow declaration, e.g. scenarios/deal_won/flow.py (or 'file.py:name').",
)
@_by_option
@click.option("--note", default="", help="Why it is retried (recorded with the action).")
def retry_command(
    ledger_url: str | None, item_id: str, flow_spec: str, by: str | None, note: str
) -> int:
    """Re-run the flow on the item's stored event; exit 0 if the new run succeeded."""
    from harness._shared.wire import WallClock
    from harness.flow import load_flow
    from harness.ledger import Ledger
    from harness.orchestrator import Orchestrator

    who = _who(by)
    flow = load_flow(flow_spec)
    with Ledger.open(ledger_url) as ledger:
        item = ledger.inbox_item(item_id)
        if item.flow != flow.name:
            raise UsageError(
                f"inbox item {item_id} belongs to flow {item.flow!r}, but --flow {flow_spec!r} "
                f"declares {flow.name!r}; pass that flow's file"
            )
        if not ledger.inbox_item_actionable(item):
            raise UsageError(
                f"inbox item {item_id} is already {item.status} (by {item.resolved_by}); "
                "only open items can be retried"
            )
        # claim the item first (atomic in the ledger), so two people cannot retry it at once
        at, wall = _action_time(ledger, item)
        ledger.act_on_inbox_item(
            item_id, action="retry", by=who, note=note or "retried", at=at, wall_at=wall
        )
        orch = Orchestrator(flow, ledger=ledger, clock=WallClock(), mode="production")
        result = orch.retry_item(item)
    _echo(f"retried inbox item {item_id} as run {result.run.id}: {result.end_state}")
    if result.inbox_item is not None:
        _echo(
            f"the retry needs a person again: new inbox item {result.inbox_item.id} "
            f"({result.inbox_item.reason})"
        )
    return 0 if result.ok else 1


def _close(ledger_url: str | None, item_id: str, action: str, by: str | None, note: str) -> None:
    from harness.ledger import Ledger

    who = _who(by)
    with Ledger.open(ledger_url) as ledger:
        item = ledger.inbox_item(item_id)
        at, wall = _action_time(ledger, item)
        done = ledger.act_on_inbox_item(item_id, action=action, by=who, note=note, at=at, wall_at=wall)
    _echo(f"inbox item {done.id}: {done.status} by {done.resolved_by}")


@inbox_group.command("resolve")
@_ledger_option
@click.argument("item_id", metavar="ID")
@click.option("--note", required=True, help="What was done by hand (recorded).")
@_by_option
def resolve_command(ledger_url: str | None, item_id: str, note: str, by: str | None) -> None:
    """Record that a person finished the run by hand."""
    if not note.strip():
        raise UsageError("--note must say what was done, e.g. --note 'created invoice in Stripe'")
    _close(ledger_url, item_id, "resolve", by, note)


@inbox_group.command("discard")
@_ledger_option
@click.argument("item_id", metavar="ID")
@click.option("--note", default="", help="Why nothing is to be done (recorded).")
@_by_option
def discard_command(ledger_url: str | None, item_id: str, note: str, by: str | None) -> None:
    """Record that the item needs no action (a test event, a cancelled deal)."""
    _close(ledger_url, item_id, "discard", by, note)


COMMANDS: list[click.Command] = [inbox_group]


def _echo(text: str = "") -> None:
    # reasons, notes, events and responses come from automations, vendors and people:
    # none of it may drive the terminal (escape sequences, carriage returns)
    click.echo(safe(text))
