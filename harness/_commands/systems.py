"""``harness systems``: the systems a world fakes, with what each descriptor declares.

Without options it lists the bundled fakes (the default world); ``--flow FILE``
or ``--world PATH.py:FACTORY`` list the systems that flow's world declares, so a
user sees which hosts are faked before a campaign refuses a call.
"""

from __future__ import annotations

import json
from typing import Any

import click

from harness.errors import UsageError

__all__ = ["COMMANDS"]


def _describe(system: Any, world: Any) -> dict[str, Any]:
    d = world.descriptor(system.name)
    idem = d.idempotency
    return {
        "name": system.name,
        "fake": type(system).__name__,
        "hosts": _hosts(system, d),
        "base_url_env": d.base_url_env,
        "record_kinds": [str(k) for k in getattr(system, "kinds", ())],
        "encoding": d.encoding,
        "idempotency": None if idem is None else (
            f"header {idem.header}" if idem.header else f"query parameter {idem.query_param}"
        ),
        "guards": [g.endpoint for g in d.guards],
        "record_shapes": [s.endpoint for s in d.records],
        "docs": d.docs,
    }


def _hosts(system: Any, descriptor: Any) -> list[str]:
    """The descriptor's hosts, then the ones configured on the fake (base URLs, extra hosts)."""
    out = dict.fromkeys(str(h) for h in descriptor.hosts)
    for rule in getattr(system, "host_rules", ()):
        port = f":{rule.port}" if rule.port is not None else ""
        out.setdefault(f"{rule.host}{port}{rule.prefix}", None)
    return list(out)


@click.command("systems")
@click.option("--flow", "flow_file", metavar="FILE", default=None,
              help="List the systems of the world the Flow declared in FILE runs against.")
@click.option("--world", "world_spec", metavar="PATH.py:FACTORY", default=None,
              help="List the systems of the world FACTORY(seed) returns.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def systems_command(flow_file: str | None, world_spec: str | None, as_json: bool) -> None:
    """List the systems a world fakes: hosts, record kinds, idempotency and guards.

    Default: the bundled fakes, every one of them in the default world.
    """
    from harness.flow import load_callable, load_flow
    from harness.systems import standard_world

    if flow_file and world_spec:
        raise UsageError("give --flow FILE or --world PATH.py:FACTORY, not both")
    source = "the bundled fakes (the default world)"
    factory: Any = standard_world
    if world_spec:
        factory = load_callable(world_spec, what="world")
        source = f"the world of {world_spec}"
    elif flow_file:
        flow = load_flow(flow_file)
        factory = flow.world_factory() or standard_world
        source = f"the world of flow {flow.name!r} ({flow.world_spec() or 'the default world'})"
    try:
        world = factory(1)
    except Exception as exc:
        raise UsageError(f"{source}: the world factory raised {type(exc).__name__}: {exc}") from None
    if not hasattr(world, "systems"):
        raise UsageError(f"{source}: the factory returned {type(world).__name__}, not a harness World")
    rows = [_describe(s, world) for s in world.systems]
    if as_json:
        click.echo(json.dumps({"source": source, "systems": rows}, indent=2))
        return
    click.echo(f"{len(rows)} systems in {source}:")
    for r in rows:
        click.echo(f"  {r['name']:<12} {', '.join(r['hosts']) or '(hosts from configuration)'}")
        click.echo(f"  {'':<12} records: {', '.join(r['record_kinds']) or 'none'}")
        extras = []
        if r["idempotency"]:
            extras.append(f"idempotency: {r['idempotency']}")
        if r["guards"]:
            extras.append(f"search-before-create: {', '.join(r['guards'])}")
        if r["base_url_env"]:
            extras.append(f"base URL from ${r['base_url_env']}")
        if extras:
            click.echo(f"  {'':<12} {'; '.join(extras)}")
    click.echo("Any other host is refused during a campaign and reported; declare a fake for it "
               "(see the README's 'Check your own automation').")


COMMANDS: list[click.Command] = [systems_command]
