"""A flow's own world: declared systems the harness does not bundle, used by check, replay and the engines."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness._shared.wire import Request, Response
from harness.chaos._scenario import Deliver, InjectFault, Scenario
from harness.chaos._values import RecordBreak, RecordBreaker, break_path
from harness.cli import main
from harness.flow import Flow
from harness.systems import (
    Idempotency,
    RecordStore,
    Resource,
    SystemDescriptor,
    World,
    standard_world,
)
from harness.systems._world import CallContext
from harness.triggers import get_trigger

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "invoice_sync"
AUTOMATION = f"{EXAMPLE / 'automation.py'}:handle"
WORLD = f"{EXAMPLE / 'books.py'}:books_world"


def _reproduce_lines(out: str) -> list[str]:
    return [line.split("reproduce: ", 1)[1].strip() for line in out.splitlines() if "reproduce: harness replay" in line]


@pytest.mark.parametrize("how", ["--world", "--flow"])
def test_replay_of_a_finding_made_in_a_custom_world_reproduces_it(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    target = (
        [AUTOMATION, "--world", WORLD] if how == "--world" else ["--flow", str(EXAMPLE / "flow.py")]
    )
    code = main(["check", *target, "--examples", "40", "--seed", "3", "--mode", "bare", "--ledger", ledger])
    out = capsys.readouterr().out
    assert code == 1, out
    # the printed scenario names the world the campaign ran in
    assert "world = books_world(seed=3)" in out
    lines = _reproduce_lines(out)
    assert lines, out
    for line in lines:
        argv = shlex.split(line)
        assert argv[0] == "harness"
        assert main(argv[1:]) == 1, capsys.readouterr().out
        replayed = capsys.readouterr().out
        assert "still fails" in replayed and "world = books_world(seed=3)" in replayed


def _books_flow(world: Callable[[int], World] | str) -> Flow:
    return Flow(name="books", automation=AUTOMATION, trigger=get_trigger("hubspot.deal.closedwon"), world=world)


def test_injected_errors_take_the_declared_systems_shape() -> None:
    from harness.chaos import replay

    flow = _books_flow(WORLD)
    scenario = Scenario(
        seed=3,
        steps=(InjectFault("books", "POST /api/2.0/Invoices", "client_error", (("kind", "rejected"),), 1),
               Deliver(0, "original", False)),
    )
    run, hits = replay(flow, scenario, mode="bare")
    refused = [c for c in run.world.calls if c.system == "books" and c.fault == "client_error"]
    assert refused and refused[0].status == 422  # the store's declared 'declined' status
    assert refused[0].response is not None
    assert json.loads(refused[0].response.body)["error"]["code"] == "validation_failed"
    assert "logical_retry" in {h.oracle for h in hits}


def _keyed_world(idempotency: Idempotency) -> Callable[[int], World]:
    def factory(seed: int) -> World:
        world = standard_world(seed)
        books = SystemDescriptor(name="books", hosts=("books.example.internal",), idempotency=idempotency)
        from scenarios_books import INVOICES

        world.add(RecordStore("books", [INVOICES], descriptor=books, seed=seed))
        return world

    return factory


@pytest.mark.parametrize(
    "idempotency", [Idempotency(header="Idempotency-Key"), Idempotency(query_param="requestid")],
    ids=["header", "query"],
)
def test_the_orchestrator_sends_keys_to_every_system_declaring_idempotency(
    idempotency: Idempotency, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from harness.chaos import replay

    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.setdefault("scenarios_books", __import__("books"))
    flow = _books_flow(_keyed_world(idempotency))
    run, _ = replay(flow, Scenario(seed=3, steps=(Deliver(0, "original", False),)), mode="orchestrated")
    posts = [c for c in run.world.calls if c.system == "books" and c.method == "POST"]
    assert posts, [c.url for c in run.world.calls]
    for c in posts:
        if idempotency.header:
            assert (c.request.header("Idempotency-Key") or "").startswith("harness-")
        else:
            assert "requestid=harness-" in c.url


def test_a_record_store_speaks_form_where_envelopes_and_nested_routes() -> None:
    import requests

    store = RecordStore(
        "ship",
        [Resource("shipment", "/v1/customers/{customer_id}/shipments", envelope="Shipments",
                  required=("reference",), fields={"reference": "str", "weight": "float", "express": "bool"})],
        extra_hosts=("ship.example.internal",),
    )
    world = World([store])
    base = "https://ship.example.internal/v1/customers/c1/shipments"
    with world.activate():
        made = requests.post(base, data={"reference": "deal-1", "weight": "2.5", "express": "true"}, timeout=5)
        assert made.status_code == 201, made.text
        assert made.json()["weight"] == 2.5 and made.json()["express"] is True
        assert made.json()["customer_id"] == "c1"
        requests.post(base.replace("c1", "c2"), data={"reference": "deal-2"}, timeout=5)
        found = requests.get(base, params={"where": 'reference=="deal-1" AND express==true'}, timeout=5).json()
        assert [s["reference"] for s in found["Shipments"]] == ["deal-1"]
        assert requests.get(base, params={"where": 'reference=="deal-2"'}, timeout=5).json()["Shipments"] == []
        other = f"{base}/{made.json()['id']}".replace("c1", "c2")
        assert requests.get(other, timeout=5).status_code == 404
        bad = requests.get(base, params={"where": "reference ~ 1"}, timeout=5)
        assert bad.status_code == 400 and "expected FIELD==" in bad.json()["error"]["message"]
    described = store.describe()
    assert described.endpoint("GET", "/v1/customers/shi_1/shipments/shi_1").endswith("/{id}")
    assert described.rejected_field({"error": {"details": [{"field": "reference"}]}}) == "reference"


_JSON = st.recursive(
    st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.text("abcxyz", min_size=1, max_size=3), inner, min_size=1, max_size=3),
    ),
    max_leaves=12,
)


def _paths(node: object, prefix: str = "") -> list[str]:
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{prefix}.{k}" if prefix else k
            out += [p, *_paths(v, p)]
    elif isinstance(node, list):
        for i, v in enumerate(node):
            p = f"{prefix}.{i}" if prefix else str(i)
            out += [p, *_paths(v, p)]
    return out


def _without(node: object, path: list[str]) -> object:
    """``node`` with the field at ``path`` replaced by a marker (to compare everything else)."""
    import copy

    copied = copy.deepcopy(node)
    cur: object = copied
    for part in path[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]  # type: ignore[index]
    last = path[-1]
    if isinstance(cur, list):
        cur[int(last)] = "<field>"
    else:
        cur[last] = "<field>"  # type: ignore[index]
    return copied


@given(
    st.dictionaries(st.text("abcxyz", min_size=1, max_size=3), _JSON, min_size=1, max_size=4),
    st.data(),
    st.sampled_from(["null", "empty", "zero", "wrong_type", "absent"]),
)
def test_a_bad_value_on_a_dotted_path_changes_exactly_that_nested_field(event: dict, data: st.DataObject, how: str) -> None:
    import copy

    paths = _paths(event)
    path = data.draw(st.sampled_from(paths))
    broken = copy.deepcopy(event)
    assert break_path(broken, path, how)
    parts = path.split(".")
    # no top-level key named after the dotted path appears
    assert path not in broken or "." not in path
    if how == "absent":
        expected = copy.deepcopy(event)
        parent: object = expected
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]  # type: ignore[index]
        if isinstance(parent, list):
            parent[int(parts[-1])] = None  # a list keeps its length
        else:
            del parent[parts[-1]]  # type: ignore[attr-defined]
        assert broken == expected
        return
    assert _without(event, parts) == _without(broken, parts)


def test_a_bad_value_reaches_a_field_inside_a_list_of_a_record() -> None:
    descriptor = RecordStore(
        "books", [Resource("invoice", "/api/invoices", fields={"lines": "list"})], extra_hosts=("b.internal",)
    ).describe()
    breaker = RecordBreaker(lambda _s: descriptor, lambda _s, m, p: descriptor.endpoint(m, p))
    breaker.arm(RecordBreak(system="books", kind="invoice", record_id="inv_1", name="lines.0.price", how="null"))
    body = {"id": "inv_1", "lines": [{"price": 10, "sku": "a"}, {"price": 20, "sku": "b"}]}
    request = Request("GET", "https://b.internal/api/invoices/inv_1")
    answer = breaker(request, CallContext(system="books", tag=None, started_at=0.0),
                     lambda _r: Response.of_json(200, body))
    assert answer.json()["lines"] == [{"price": None, "sku": "a"}, {"price": 20, "sku": "b"}]


def _unlabelled_invoices(run: object) -> list[tuple[str, str]]:
    """A flow's own oracle: every Books invoice must carry a contact name (only for its flow)."""
    if getattr(getattr(run, "flow", None), "name", "") != "books-oracle":
        return []
    world = run.world  # type: ignore[attr-defined]
    return [
        (f"invoice:{r['id']}", f"invoice {r['id']} has no contact name")
        for r in world.system("books").records()["invoice"]
        if not r.get("ContactName")
    ]


def test_a_registered_oracle_is_judged_and_known_to_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness import _oracle_registry, register_oracle
    from harness.chaos import replay
    from harness.errors import UsageError
    from harness.gate import parse_gate
    from harness.oracles import oracle_names

    # the registry is per process: this test's oracle leaves with the test
    monkeypatch.setattr(_oracle_registry, "_REGISTRY", dict(_oracle_registry._REGISTRY))
    register_oracle("unlabelled_invoice", _unlabelled_invoices, description="an invoice without a name")
    register_oracle("unlabelled_invoice", _unlabelled_invoices)  # the same one again: harmless
    with pytest.raises(UsageError, match="already registered"):
        register_oracle("unlabelled_invoice", lambda run: [])
    with pytest.raises(UsageError, match="a built-in one"):
        register_oracle("silent_loss", lambda run: [])
    assert oracle_names()[-1] == "unlabelled_invoice"
    flow = Flow(name="books-oracle", automation=AUTOMATION, trigger=get_trigger("hubspot.deal.closedwon"),
                world=WORLD)
    scenario = Scenario(seed=3, steps=(Deliver(0, "original", False),))
    _, hits = replay(flow, scenario, mode="bare")
    # the seeded contacts all have names: the oracle stays quiet on a correct run
    assert "unlabelled_invoice" not in {h.oracle for h in hits}
    broken = Scenario(seed=3, steps=(Deliver(0, "original", False),))
    run, _ = replay(flow, broken, mode="bare")
    books = run.world.system("books")
    record = books.records()["invoice"][0]
    books.seed_record("invoice", record["id"], {**record, "ContactName": ""})
    from harness.oracles import judge

    assert [h.oracle for h in judge(run) if h.oracle == "unlabelled_invoice"] == ["unlabelled_invoice"]
    gate = parse_gate({"flows": {"books-oracle": {"max_findings": {"unlabelled_invoice": 0}}}})
    assert gate.flow("books-oracle").max_findings == {"unlabelled_invoice": 0}


def test_the_readme_declaration_of_an_unbundled_system_runs_as_printed() -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("the whole declaration:")
    block = text[text.index("```python\n", start) + len("```python\n") : text.index("```\n", start + 30)]
    assert len([line for line in block.splitlines() if line.strip()]) <= 30
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    world = namespace["books_world"](3)  # type: ignore[operator]
    assert isinstance(world, World)
    described = world.descriptor("books")
    assert described.idempotency is not None and described.idempotency.header == "Idempotency-Key"
    assert described.serves("books.example.internal")
    assert described.endpoint("GET", "/api/2.0/Invoices/INV-7") == "GET /api/2.0/Invoices/{id}"


GUARDED_AUTOMATION = '''
import requests

def handle(event):
    resp = requests.post("https://books.example.internal/api/2.0/Invoices", timeout=5,
                         json={"Reference": f"deal-{event['objectId']}", "ContactEmail": "a@b.co",
                               "Total": 10.0, "CurrencyCode": "USD"})
    resp.raise_for_status()
    return {"status": "ok", "invoice": resp.json()["id"]}
'''


def test_the_orchestrator_applies_a_declared_systems_create_guard(tmp_path: Path) -> None:
    from harness.chaos import replay
    from harness.systems import CreateGuard

    guard = CreateGuard(
        endpoint="POST /api/2.0/Invoices",
        key_field="Reference",
        search='/api/2.0/Invoices?where=Reference=="{key}"',
        found_at="Invoices[]",
    )
    descriptor = SystemDescriptor(name="books", hosts=("books.example.internal",), guards=(guard,))

    def world(seed: int) -> World:
        w = standard_world(seed)
        w.add(RecordStore("books", [Resource(
            "invoice", "/api/2.0/Invoices", envelope="Invoices",
            fields={"Reference": "str", "ContactEmail": "email", "Total": "float", "CurrencyCode": "str"},
        )], descriptor=descriptor, seed=seed))
        return w

    auto = tmp_path / "guarded.py"
    auto.write_text(GUARDED_AUTOMATION)
    flow = Flow(name="guarded", automation=f"{auto}:handle", trigger=get_trigger("hubspot.deal.closedwon"),
                world=world)
    scenario = Scenario(seed=3, steps=(
        InjectFault("books", "POST /api/2.0/Invoices", "execute_then_timeout", (), 1),
        Deliver(0, "original", False),
    ))
    bare, _ = replay(flow, scenario, mode="bare")
    assert len(bare.world.system("books").records()["invoice"]) == 1  # the lost answer: it acted
    run, hits = replay(flow, scenario, mode="orchestrated")
    searches = [c for c in run.world.calls if c.system == "books" and c.method == "GET"]
    assert searches and "where=" in searches[0].url  # the guard's search, before the create is re-sent
    assert len(run.world.system("books").records()["invoice"]) == 1
    assert run.deliveries[0].end_state == "succeeded"
    assert "duplicate_effect" not in {h.oracle for h in hits}


def test_value_faults_never_target_a_triggers_defining_fields() -> None:
    from harness.chaos._runner import Target

    trigger = get_trigger("hubspot.deal.closedwon")
    flow = Flow(name="books", automation=AUTOMATION, trigger=trigger, world=WORLD)
    target = Target(flow, seed=3)
    event_fields = {name for where, name in target.space.value_targets if where == "event"}
    assert event_fields and not event_fields & set(trigger.defining)
    # records the automation reads are targets too, named system.kind
    assert {where for where, _ in target.space.value_targets} >= {"hubspot.deals", "hubspot.contacts"}


def test_hosts_map_to_systems_through_descriptors_and_base_url_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.orchestrator import system_for_host

    books = SystemDescriptor(name="books", hosts=("*.books.example",), base_url_env="BOOKS_BASE_URL")
    monkeypatch.setenv("BOOKS_BASE_URL", "https://gw.internal:8443/books")
    assert system_for_host("eu.books.example", None, [books]) == "books"
    assert system_for_host("gw.internal", None, [books]) == "books"
    assert system_for_host("elsewhere.example", None, [books]) == "elsewhere.example"
    # the bundled fakes are known without a world, through their descriptors
    assert system_for_host("api.stripe.com") == "stripe"
    assert system_for_host("acme.zendesk.com") == "zendesk"
