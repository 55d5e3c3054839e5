"""The catalogue of bad inputs: each row is one mistake a user makes and the exact error it must give.

A row writes its ``files`` into a fresh folder ``{d}``, runs ``harness ARGS``
there and expects exit status ``code`` and, as the last line of stderr,
``message`` (``{d}`` is the folder).  Every row also asserts that nothing was
written: no file appears or changes in ``{d}`` (the ledger named by ``{L}``
in particular), and no traceback is shown.  ``secret`` names a value the
output must never contain (a password in a ledger URL).

Rows marked ``xfail`` document a known gap the lead has routed to its room.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.triggers import trigger_names

__all__ = ["ROWS", "Row"]


@dataclass(frozen=True)
class Row:
    """One bad input and the one line of error it must produce."""

    id: str
    group: str
    args: tuple[str, ...]
    message: str
    files: tuple[tuple[str, str], ...] = ()
    code: int = 2
    secret: str | None = None
    xfail: str | None = None
    subprocess: bool = False
    prefix: bool = False  # message is the exact start of the line (the rest is the driver's text)
    ledger_ok: bool = False  # the ledger may be created, but no campaign may be left "running"
    extra: dict[str, str] = field(default_factory=dict)


OK_AUTOMATION = ("auto.py", "def handle(event):\n    return {'status': 'ok'}\n")
FLOW_HEAD = (
    "from harness import Contract, Effect, Field, Flow, Policy, RetryPolicy, WriteContract, get_trigger\n"
    "T = get_trigger('hubspot.deal.closedwon')\n"
)
EXAMPLE = (
    "{'eventId': 1001, 'subscriptionId': 2345, 'portalId': 62515, 'appId': 54321, "
    "'occurredAt': 1767225600000, 'subscriptionType': 'deal.propertyChange', 'attemptNumber': 0, "
    "'objectId': 1234567, 'propertyName': 'dealstage', 'propertyValue': 'closedwon', "
    "'changeSource': 'CRM_UI', 'sourceId': 'userId:1234'}"
)
STEP_HELP = (
    "expected step 'deliver' (obj, kind, late), 'fault' (system, endpoint, fault, params, times) "
    "or 'bad_value' (obj, target, name, how)"
)
# every registered trigger: the list grows as fakes bring their triggers
TRIGGERS = ", ".join(trigger_names())
FAULTS = (
    "bad_value, client_error, connection_reset, duplicate, execute_then_timeout, out_of_order, "
    "outage, rate_limited, redelivery, server_error, slow, stall"
)
URL_FIX = (
    "set --ledger URL or $HARNESS_LEDGER_URL to sqlite:///path/ledger.db or "
    "postgresql+psycopg://user:password@host/db"
)
E = "harness: error: "


def _flow(rid: str, body: str, message: str, **kw: object) -> Row:
    name = f"{rid}.py"
    return Row(
        rid, "flow declaration", ("check", "--flow", f"{{d}}/{name}", "--examples", "1", "--ledger", "{L}"),
        E + message.replace("{f}", f"{{d}}/{name}"), files=((name, FLOW_HEAD + body),), **kw,  # type: ignore[arg-type]
    )


def _scenario(rid: str, text: str, message: str, **kw: object) -> Row:
    name = f"{rid}.json"
    return Row(
        rid, "scenario file",
        ("replay", "--scenario", f"{{d}}/{name}", "--target", "{d}/auto.py:handle"),
        E + f"{{d}}/{name}: " + message, files=((name, text), OK_AUTOMATION), **kw,  # type: ignore[arg-type]
    )


def _gate(rid: str, text: str, message: str, **kw: object) -> Row:
    name = f"{rid}.toml"
    return Row(
        rid, "gate file", ("gate", "--config", f"{{d}}/{name}", "--ledger", "{L}"),
        E + f"{{d}}/{name}: " + message, files=((name, text),), **kw,  # type: ignore[arg-type]
    )


def _pilot(rid: str, text: str, message: str, **kw: object) -> Row:
    name = f"{rid}.toml"
    return Row(
        rid, "pilot file",
        ("report", "--pilot", f"{{d}}/{name}", "--ledger", "{L}", "--out", "{d}/out/r.html"),
        E + f"{{d}}/{name}: " + message, files=((name, text),), **kw,  # type: ignore[arg-type]
    )


def _check(rid: str, args: tuple[str, ...], message: str, files: tuple[tuple[str, str], ...] = (OK_AUTOMATION,), **kw: object) -> Row:
    return Row(rid, "cli", ("check", *args, "--ledger", "{L}"), E + message, files=files, **kw)  # type: ignore[arg-type]


def _out(rid: str, args: tuple[str, ...], message: str, files: tuple[tuple[str, str], ...] = (OK_AUTOMATION,), **kw: object) -> Row:
    return Row(rid, "output path", ("check", "{d}/auto.py:handle", *args, "--ledger", "{L}"), E + message, files=files, **kw)  # type: ignore[arg-type]


PILOT_OK_WINDOW = '[window]\nstart = 2026-09-01\ndays = 14\n'

ROWS: tuple[Row, ...] = (
    # ---- flow declarations (harness check --flow FILE) -----------------------------------
    _flow("flow_missing_automation", "flow = Flow(name='x', trigger=T)\n",
          "flow '{f}:flow': importing '{f}' raised TypeError: Flow.__init__() missing 1 required "
          "positional argument: 'automation'"),
    _flow("flow_automation_none", "flow = Flow(name='x', automation=None, trigger=T)\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow 'x': 'automation' must "
          "be a callable or 'path.py:function', got None"),
    _flow("flow_dedupe_raises", "def key(e):\n    raise KeyError('dealId')\n"
          "flow = Flow(name='x', automation='a.py:handle', trigger=T, dedupe_key=key)\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow 'x': 'dedupe_key' "
          f"raised KeyError: 'dealId' on the trigger's example event {EXAMPLE}; it must return a "
          "string for every valid event"),
    _flow("flow_dedupe_unknown_field", "flow = Flow(name='x', automation='a.py:handle', trigger=T, "
          "dedupe_key='deal:{dealId}')\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow 'x': 'dedupe_key' "
          f"raised KeyError: 'dealId' on the trigger's example event {EXAMPLE}; it must return a "
          "string for every valid event"),
    _flow("flow_dedupe_empty", "flow = Flow(name='x', automation='a.py:handle', trigger=T, "
          "dedupe_key=lambda e: '')\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow 'x': 'dedupe_key' "
          "returned '' for the trigger's example event; expected a non-empty string"),
    _flow("contract_unknown_type", "Field('email', 'emial')\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Field 'email': unknown type "
          "'emial' (did you mean 'email'?); expected one of bool, datetime, email, enum, id, int, "
          "money, number, str"),
    _flow("contract_bad_pattern", "Field('a', pattern='(')\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Field 'a': 'pattern' '(' is "
          "not a valid regular expression (missing ), unterminated subpattern at position 0)"),
    _flow("contract_duplicate_field", "Contract((Field('a'), Field('a')))\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Contract: field 'a' is "
          "declared twice"),
    _flow("contract_not_a_field", "Contract((Field('a'), 'b'))\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Contract: every field must "
          "be a harness.Field, got 'b'"),
    _flow("write_contract_bad_path", "WriteContract('stripe', 'POST', '(', Contract())\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: WriteContract stripe POST "
          "'(': invalid path pattern (missing ), unterminated subpattern at position 0)"),
    _flow("flow_criticality_typo", "flow = Flow(name='x', automation='a.py:handle', trigger=T, "
          "criticality='hihg')\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow 'x': 'criticality' "
          "must be one of low, normal, high, critical, got 'hihg' (did you mean 'high'?)"),
    _flow("flow_bad_name", "flow = Flow(name='deal won!', automation='a.py:handle', trigger=T)\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow: 'name' must be 1-100 "
          "letters, digits, '_', '-' or '.', got 'deal won!'"),
    _flow("flow_trigger_string", "flow = Flow(name='x', automation='a.py:handle', trigger='hubspot')\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow 'x': 'trigger' must be "
          "a harness.Trigger (see harness.triggers), got 'hubspot'"),
    _flow("flow_policy_dict", "flow = Flow(name='x', automation='a.py:handle', trigger=T, "
          "policy={'retries': 3})\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Flow 'x': 'policy' must be "
          "a harness.Policy"),
    _flow("effect_negative_count", "Effect('stripe', 'invoice', count=-1)\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: Effect stripe.invoice: "
          "'count' must be an integer >= 0, got -1"),
    _flow("retry_zero_attempts", "RetryPolicy(max_attempts=0)\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: RetryPolicy: 'max_attempts' "
          "must be an integer >= 1, got 0; use 1 for no retries"),
    _flow("retry_negative_delay", "RetryPolicy(base_delay=-1)\n",
          "flow '{f}:flow': importing '{f}' raised FlowDeclarationError: RetryPolicy: 'base_delay' "
          "must be a positive number, got -1; fix the value in the flow declaration"),
    _flow("flow_not_a_flow", "flow = 3\n",
          "flow '{f}:flow': expected a harness.Flow, got int; declare `flow = harness.Flow(...)` in "
          "that file"),
    _flow("flow_automation_missing_file",
          "flow = Flow(name='x', automation='/nonexistent/auto.py:handle', trigger=T)\n",
          "automation '/nonexistent/auto.py:handle': file '/nonexistent/auto.py' does not exist"),
    # ---- automations at fault at import: exit 2 ---------------------------------------
    _check("automation_raises_at_import", ("{d}/boom.py:handle",),
           "automation '{d}/boom.py:handle': importing '{d}/boom.py' raised RuntimeError: boom at import",
           files=(("boom.py", "raise RuntimeError('boom at import')\n"),)),
    _check("automation_syntax_error", ("{d}/syn.py:handle",),
           "automation '{d}/syn.py:handle': importing '{d}/syn.py' raised SyntaxError: expected ':' "
           "(syn.py, line 1)", files=(("syn.py", "def handle(e)\n    pass\n"),)),
    _check("automation_not_callable", ("{d}/three.py:handle",),
           "automation '{d}/three.py:handle': 'handle' is an int, not a callable",
           files=(("three.py", "handle = 3\n"),)),
    _check("automation_exits", ("{d}/bye.py:handle", "--examples", "1", "--seed", "1"),
           "the automation or its flow called sys.exit(3) while the harness was running it; an "
           "automation must return or raise, never exit the process",
           files=(("bye.py", "import sys\ndef handle(event):\n    sys.exit(3)\n"),), ledger_ok=True,
           code=3),
    # ---- CLI arguments -----------------------------------------------------------------
    _check("target_without_colon", ("nocolon",),
           "automation 'nocolon': expected 'path/to/file.py:function' or 'package.module:function'"),
    _check("target_missing_file", ("{d}/missing.py:handle",),
           "automation '{d}/missing.py:handle': file '{d}/missing.py' does not exist"),
    _check("target_function_typo", ("{d}/auto.py:handel",),
           "automation '{d}/auto.py:handel': '{d}/auto.py' has no attribute 'handel' (did you mean "
           "'handle'?)"),
    _check("target_bad_identifier", ("{d}/auto.py:1handle",),
           "automation '{d}/auto.py:1handle': '1handle' is not a valid function name"),
    _check("target_unknown_module", ("no_such_module_xyz:handle",),
           "automation 'no_such_module_xyz:handle': no module named 'no_such_module_xyz'"),
    _check("examples_zero", ("{d}/auto.py:handle", "--examples", "0"),
           "--examples must be an integer from 1 to 1,000,000, got 0"),
    _check("seed_negative", ("{d}/auto.py:handle", "--seed", "-1"),
           "--seed must be an integer from 0 to 2**63-1 (9223372036854775807), got -1"),
    _check("examples_huge", ("{d}/auto.py:handle", "--examples", "10000000000"),
           "--examples must be an integer from 1 to 1,000,000, got 10000000000"),
    _check("seed_past_64_bits", ("{d}/auto.py:handle", "--seed", "9223372036854775808"),
           "--seed must be an integer from 0 to 2**63-1 (9223372036854775807), got 9223372036854775808"),
    _check("timeout_negative", ("{d}/auto.py:handle", "--run-timeout", "-1"),
           "Invalid value for '--run-timeout': -1.0 is not in the range x>=0. (see 'harness check --help')"),
    # ---- output paths: checked before anything runs ---------------------------------------
    _out("json_into_a_missing_directory", ("--json", "{d}/nope/out.json"),
         "--json '{d}/nope/out.json': the directory '{d}/nope' does not exist; create it first "
         "(mkdir -p) or write elsewhere"),
    _out("json_onto_a_directory", ("--json", "{d}/sub"),
         "--json '{d}/sub' is a directory; give a file path inside it, e.g. '{d}/sub/out.json'",
         files=(OK_AUTOMATION, ("sub/keep", ""))),
    _out("json_under_a_file", ("--json", "{d}/auto.py/out.json"),
         "--json '{d}/auto.py/out.json': '{d}/auto.py' is not a directory"),
    _out("json_and_report_the_same_file", ("--json", "{d}/x.json", "--report", "{d}/x.json"),
         "--json and --report both name '{d}/x.json': the second would overwrite the first; give "
         "each its own file"),
    _out("report_unknown_format_in_check", ("--report", "{d}/r.txt"),
         "--report '{d}/r.txt': unknown report format '.txt'; expected a file ending in .csv, "
         ".htm, .html, .json, .xml"),
    _out("report_onto_a_directory_in_check", ("--report", "{d}/sub.html"),
         "--report '{d}/sub.html' is a directory; give a file path inside it, e.g. "
         "'{d}/sub.html/out.html'", files=(OK_AUTOMATION, ("sub.html/keep", ""))),
    Row("report_out_onto_a_directory", "output path", ("report", "--ledger", "{L}", "--out", "{d}/sub.html"),
        E + "--out '{d}/sub.html' is a directory; give a file path inside it, e.g. "
        "'{d}/sub.html/out.html'", files=(("sub.html/keep", ""),)),
    _check("target_and_flow", ("{d}/auto.py:handle", "--flow", "{d}/flow.py"),
           "give PATH.py:FUNCTION or --flow FILE, not both"),
    _check("nothing_to_check", (),
           "nothing to check: give PATH.py:FUNCTION (or package.module:function) or --flow FILE"),
    _check("fault_typo", ("{d}/auto.py:handle", "--faults", "timeout,stal"),
           f"unknown fault 'timeout'; known faults: {FAULTS}"),
    _check("trigger_typo", ("{d}/auto.py:handle", "--trigger", "hubspot.deal.closedwonn"),
           "unknown trigger 'hubspot.deal.closedwonn' (did you mean 'hubspot.deal.closedwon'?); "
           f"known triggers: {TRIGGERS}"),
    _check("mode_typo", ("{d}/auto.py:handle", "--mode", "bar"),
           "Invalid value for '--mode': 'bar' is not one of 'bare', 'both', 'orchestrated'. "
           "(see 'harness check --help')"),
    _check("option_typo", ("{d}/auto.py:handle", "--exampels", "3"),
           "No such option '--exampels'. Did you mean '--examples'? (see 'harness check --help')",
           subprocess=True),
    Row("command_typo", "cli", ("chek",), E + "No such command 'chek'. Did you mean 'check'? (see 'harness --help')", subprocess=True),
    Row("report_unknown_format", "cli", ("report", "--ledger", "{L}", "--out", "{d}/r.txt"),
        E + "--out '{d}/r.txt': unknown report format '.txt'; expected a file ending in .csv, .htm, "
        ".html, .json, .xml"),
    Row("report_since_word", "cli", ("report", "--ledger", "{L}", "--out", "{d}/r.html", "--since", "yesterday"),
        E + "--since 'yesterday': expected a duration such as 90d, 12w or 36h, or a date such as 2026-09-01"),
    Row("report_empty_window", "cli",
        ("report", "--ledger", "{L}", "--out", "{d}/r.html", "--since", "1d", "--until", "2d"),
        E + "--until '2d' is not after --since '1d': the window is empty"),
    Row("report_pilot_and_since", "cli",
        ("report", "--ledger", "{L}", "--out", "{d}/r.html", "--since", "90d", "--pilot", "{d}/p.toml"),
        E + "--pilot and --since/--until both set the window; the pilot file's [window] decides, so "
        "drop --since/--until"),
    Row("gate_since_unit", "cli", ("gate", "--config", "{d}/g.toml", "--since", "1x", "--ledger", "{L}"),
        E + "--since '1x': expected a number and a unit s, m, h, d or w, such as 1d or 12h"),
    Row("report_since_before_1970", "cli",
        ("report", "--ledger", "{L}", "--out", "{d}/r.html", "--since", "1000-01-01"),
        E + "--since '1000-01-01' is before 1970-01-01, where no ledger has runs; give a date from "
        "1970-01-01 on"),
    Row("report_since_huge", "cli",
        ("report", "--ledger", "{L}", "--out", "{d}/r.html", "--since", "99999999999999d"),
        E + "--since '99999999999999d' reaches back before 1970-01-01, where no ledger has runs; "
        "give at most ", prefix=True),
    Row("report_until_before_1970", "cli",
        ("report", "--ledger", "{L}", "--out", "{d}/r.html", "--until", "0900-01-01"),
        E + "--until '0900-01-01' is before 1970-01-01, where no ledger has runs; give a date from "
        "1970-01-01 on"),
    Row("gate_since_huge", "cli", ("gate", "--config", "{d}/g.toml", "--since", "99999999999999d", "--ledger", "{L}"),
        E + "--since '99999999999999d': longer than 100 years (36,500d), the most a window may be; "
        "nothing in a ledger is older"),
    Row("prune_older_than_huge", "cli", ("ledger", "prune", "--older-than", "99999999999999d", "--ledger", "{L}"),
        E + "Invalid value for '--older-than': '99999999999999d' is longer than 100 years (36,500d), "
        "the most a duration may be; nothing in a ledger is older (see 'harness ledger prune --help')"),
    Row("gate_step_summary_unwritable", "environment",
        ("gate", "--config", "{d}/g.toml", "--ledger", "{L}"),
        E + "cannot write $GITHUB_STEP_SUMMARY '{d}/nope/summary.md': No such file or directory; "
        "the gate was not judged (fix the variable or unset it)",
        code=3, extra={"GITHUB_STEP_SUMMARY": "{d}/nope/summary.md"},
        files=(("g.toml", "[flows.deal_won]\nmode = 'bare'\n"),)),
    Row("gate_campaign_and_since", "cli",
        ("gate", "--config", "{d}/g.toml", "--since", "1d", "--campaign", "c-1", "--ledger", "{L}"),
        E + "give --campaign or --since, not both"),
    Row("prune_bad_duration", "cli", ("ledger", "prune", "--older-than", "180x", "--ledger", "{L}"),
        E + "Invalid value for '--older-than': '180x' is not a duration: expected a number with a "
        "unit (s, m, h, d or w), e.g. 180d, 12h, 30m or 1d12h (see 'harness ledger prune --help')"),
    Row("replay_nothing", "cli", ("replay", "--ledger", "{L}"),
        E + "nothing to replay: give FINDING_ID or --scenario FILE.json"),
    Row("replay_unknown_finding_no_ledger", "cli", ("replay", "c-nope-silent-loss", "--ledger", "{L}"),
        E + "ledger {L}: no ledger file at '{d}/ledger.db' (nothing has been recorded there yet); "
        "pass --ledger URL or set $HARNESS_LEDGER_URL to the ledger you mean"),
    # ---- ledger URLs -------------------------------------------------------------------
    Row("ledger_unsupported_database", "ledger URL", ("ledger", "info", "--ledger", "mysql://ops:s3cret-pw@127.0.0.1/db"),
        E + f"ledger URL 'mysql://ops:***@127.0.0.1/db': unsupported database 'mysql'; the ledger "
        f"runs on SQLite or PostgreSQL: {URL_FIX}", secret="s3cret-pw"),
    Row("ledger_pg_no_database", "ledger URL", ("ledger", "info", "--ledger", "postgresql://ops:s3cret-pw@127.0.0.1/"),
        E + "ledger URL 'postgresql+psycopg://ops:***@127.0.0.1/' names no database; add one after "
        "the host, e.g. postgresql+psycopg://user@host:5432/harness", secret="s3cret-pw"),
    Row("ledger_query_password", "ledger URL", ("ledger", "info", "--ledger", "sqlite:///{d}/nope.db?password=s3cret-pw"),
        E + "ledger sqlite:///{d}/nope.db?password=***: no ledger file at '{d}/nope.db' (nothing "
        "has been recorded there yet); pass --ledger URL or set $HARNESS_LEDGER_URL to the ledger "
        "you mean", secret="s3cret-pw"),
    Row("ledger_not_a_url", "ledger URL", ("ledger", "info", "--ledger", "not a url"),
        E + "ledger URL 'not a url' is not a database URL (Could not parse SQLAlchemy URL from given "
        f"URL string); {URL_FIX}"),
    Row("ledger_missing_file", "ledger URL", ("ledger", "info", "--ledger", "sqlite:///{d}/nope/l.db"),
        E + "ledger sqlite:///{d}/nope/l.db: no ledger file at '{d}/nope/l.db' (nothing has been "
        "recorded there yet); pass --ledger URL or set $HARNESS_LEDGER_URL to the ledger you mean"),
    Row("ledger_pg_unreachable", "ledger URL", ("ledger", "info", "--ledger", "postgresql://ops:s3cret-pw@127.0.0.1:1/db"),
        E + "ledger postgresql+psycopg://ops:***@127.0.0.1:1/db: opening failed: connection failed:",
        secret="s3cret-pw", prefix=True),
    Row("ledger_path_under_a_file", "ledger URL",
        ("report", "--ledger", "sqlite:///{d}/afile/l.db", "--out", "{d}/r.html"),
        E + "ledger sqlite:///{d}/afile/l.db: no ledger file at '{d}/afile/l.db' (nothing has been "
        "recorded there yet); pass --ledger URL or set $HARNESS_LEDGER_URL to the ledger you mean",
        files=(("afile", "not a folder"),)),
    # ---- scenario files (harness replay --scenario) --------------------------------------
    _scenario("scenario_not_json", "{not json",
              "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    _scenario("scenario_array", "[1, 2]", "expected a JSON object with 'seed' and 'steps'"),
    _scenario("scenario_seed_string", '{"seed": "x", "steps": []}', "seed: expected an integer, got 'x'"),
    _scenario("scenario_seed_bool", '{"seed": true, "steps": []}', "seed: expected an integer, got True"),
    _scenario("scenario_steps_object", '{"seed": 1, "steps": {}}', "steps: expected a list of steps, got {}"),
    _scenario("scenario_step_number", '{"seed": 1, "steps": [3]}', "steps[0]: expected an object, got 3"),
    _scenario("scenario_unknown_step", '{"seed": 1, "steps": [{"step": "teleport"}]}',
              f"steps[0]: invalid step {{'step': 'teleport'}}: unknown step 'teleport'; {STEP_HELP}"),
    _scenario("scenario_fault_typo",
              '{"seed": 1, "steps": [{"step": "fault", "system": "stripe", "endpoint": "*", "fault": "stal"}]}',
              "steps[0]: invalid step {'step': 'fault', 'system': 'stripe', 'endpoint': '*', 'fault': "
              f"'stal'}}: unknown fault 'stal' (did you mean 'stall'?); known faults: {FAULTS}; {STEP_HELP}"),
    _scenario("scenario_negative_obj", '{"seed": 1, "steps": [{"step": "deliver", "obj": -1}]}',
              "steps[0]: invalid step {'step': 'deliver', 'obj': -1}: 'obj' must be an integer >= 0, "
              f"got -1; {STEP_HELP}"),
    _scenario("scenario_delivery_kind", '{"seed": 1, "steps": [{"step": "deliver", "obj": 0, "kind": "twice"}]}',
              "steps[0]: invalid step {'step': 'deliver', 'obj': 0, 'kind': 'twice'}: Deliver: 'kind' "
              "must be one of ('original', 'duplicate', 'redelivery'), got 'twice'; " + STEP_HELP),
    _scenario("scenario_value_how",
              '{"seed": 1, "steps": [{"step": "bad_value", "obj": 0, "target": "event", "name": "x", "how": "weird"}]}',
              "steps[0]: invalid step {'step': 'bad_value', 'obj': 0, 'target': 'event', 'name': 'x', "
              "'how': 'weird'}: SetValue: 'how' must be one of ('null', 'empty', 'absent', "
              f"'wrong_type', 'zero'), got 'weird'; {STEP_HELP}"),
    _scenario("scenario_missing_obj", '{"seed": 1, "steps": [{"step": "deliver"}]}',
              f"steps[0]: invalid step {{'step': 'deliver'}}: missing field 'obj'; {STEP_HELP}"),
    Row("scenario_missing_file", "scenario file",
        ("replay", "--scenario", "{d}/none.json", "--target", "{d}/auto.py:handle"),
        E + "{d}/none.json: cannot read the scenario file (No such file or directory)",
        files=(OK_AUTOMATION,)),
    # ---- gate files (harness gate --config) ---------------------------------------------
    _gate("gate_not_toml", "[flows.deal_won\nmin_examples = 1\n",
          "not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 16)"),
    Row("gate_missing_file", "gate file", ("gate", "--config", "{d}/none.toml", "--ledger", "{L}"),
        E + "{d}/none.toml: gate file not found"),
    _gate("gate_no_flow", "title = 'x'\n", "title: unknown key; valid: flows"),
    _gate("gate_empty", "", "the gate names no flow; add a [flows.NAME] table with thresholds, "
          "e.g. [flows.deal_won] min_examples = 50"),
    _gate("gate_threshold_typo", "[flows.deal_won]\nmin_exampels = 50\n",
          "flows.deal_won.min_exampels: unknown threshold (did you mean 'min_examples'?); valid: "
          "mode, min_examples, min_duplicate_prevention_success, max_duplicate_effects_escaped, "
          "max_manual_fallback_frequency, max_time_to_recovery_p90, max_runs_failed, max_failed_run_rate, max_findings"),
    _gate("gate_wrong_type", "[flows.deal_won]\nmin_examples = '50'\n",
          "flows.deal_won.min_examples: expected a whole number >= 0, got string '50'"),
    _gate("gate_fraction_percent", "[flows.deal_won]\nmin_duplicate_prevention_success = 99\n",
          "flows.deal_won.min_duplicate_prevention_success: expected a number from 0 to 1 (a "
          "fraction, 0.95 = 95%), got integer 99"),
    _gate("gate_mode_typo", "[flows.deal_won]\nmode = 'orchestrate'\n",
          "flows.deal_won.mode: expected one of 'bare', 'orchestrated', got string 'orchestrate' "
          "(did you mean 'orchestrated'?)"),
    _gate("gate_finding_class_typo", "[flows.deal_won.max_findings]\nsilent_los = 0\n",
          "flows.deal_won.max_findings.silent_los: unknown finding class (did you mean "
          "'silent_loss'?); valid: duplicate_effect, silent_loss, bad_value, unbounded_wait, "
          "logical_retry, transient_unrecovered, effect (an effect the flow declares), total "
          "(every class)"),
    _gate("gate_negative_count", "[flows.deal_won]\nmax_runs_failed = -1\n",
          "flows.deal_won.max_runs_failed: expected a whole number >= 0, got integer -1"),
    # ---- pilot files (harness report --pilot) --------------------------------------------
    _pilot("pilot_not_toml", "flow = \n",
           "not valid TOML: Invalid value (at line 1, column 8)"),
    _pilot("pilot_missing_flow", PILOT_OK_WINDOW,
           "flow: missing; name the flow the pilot judges, e.g. flow = \"deal_won\""),
    _pilot("pilot_key_typo", 'flwo = "deal_won"\n' + PILOT_OK_WINDOW,
           "flwo: unknown key (did you mean 'flow'?); expected one of flow, title, owner, runbook, "
           "window, scope, thresholds"),
    _pilot("pilot_flow_number", "flow = 3\n" + PILOT_OK_WINDOW,
           "flow: must be a non-empty string, got an integer: 3"),
    _pilot("pilot_no_window", 'flow = "deal_won"\n',
           "window: missing; add a [window] table (see 'harness report --help')"),
    _pilot("pilot_start_not_date", 'flow = "deal_won"\n[window]\nstart = "soon"\ndays = 14\n',
           "window.start: not a date: 'soon'; expected a date such as 2026-09-01 or 2026-09-01T08:00:00Z"),
    _pilot("pilot_end_before_start", 'flow = "deal_won"\n[window]\nstart = 2026-09-15\nend = 2026-09-01\n',
           "window.end: must be after window.start (2026-09-15T00:00:00+00:00), got 2026-09-01T00:00:00+00:00"),
    _pilot("pilot_end_and_days", 'flow = "deal_won"\n[window]\nstart = 2026-09-01\nend = 2026-09-15\ndays = 14\n',
           "window: give either 'end' or 'days', not both"),
    _pilot("pilot_mode_typo", 'flow = "deal_won"\n' + PILOT_OK_WINDOW + '[scope]\nmode = "orchestrate"\n',
           "scope.mode: unknown mode 'orchestrate' (did you mean 'orchestrated'?); expected one of "
           "bare, orchestrated, production"),
    _pilot("pilot_threshold_typo", 'flow = "deal_won"\n' + PILOT_OK_WINDOW + "[thresholds]\nmax_silent_loses = 0\n",
           "thresholds.max_silent_loses: unknown key (did you mean 'max_silent_losses'?); expected one "
           "of max_duplicate_effects_escaped, max_silent_losses, max_failed_run_rate, "
           "max_manual_fallback_frequency, max_inbox_past_due, max_person_hours_per_100_runs, "
           "max_flow_changes, max_ttr_p90_seconds, min_duplicate_prevention_success, "
           "min_runs_per_segment, expand_margin"),
    _pilot("pilot_rate_as_percent", 'flow = "deal_won"\n' + PILOT_OK_WINDOW + "[thresholds]\nmax_failed_run_rate = 5\n",
           "thresholds.max_failed_run_rate: is a fraction between 0 and 1, got 5 (write 5 % as 0.05)"),
    _pilot("pilot_sample_out_of_range", 'flow = "deal_won"\n' + PILOT_OK_WINDOW + "[scope]\nsample = 1.5\n",
           "scope.sample: is the share of traffic in (0, 1], got 1.5"),
    _pilot("pilot_whole_number", 'flow = "deal_won"\n' + PILOT_OK_WINDOW + "[thresholds]\nmax_flow_changes = 2.5\n",
           "thresholds.max_flow_changes: must be a whole number, got 2.5"),
)


@dataclass(frozen=True)
class AutomationRow:
    """An automation at fault: the harness survives it and reports it (a finding or a warning)."""

    id: str
    source: str
    codes: tuple[int, ...]
    shown: str  # a line the terminal must show, exactly
    xfail: str | None = None


UNFAKED = (
    "warning: without any fault the automation already failed for 5 of 5 deals (for example deal "
    "0, 10000000002: ConnectionError: harness refused a call to 'api.example.org': no fake system "
    "serves this host (GET https://api.example.org/v1/thing); add a fake for it or point the "
    "automation's base URL at a faked host); those deals cannot show what faults do"
)

AUTOMATION_ROWS: tuple[AutomationRow, ...] = (
    AutomationRow(
        "calls_an_unfaked_host",
        "import requests\n\ndef handle(event):\n"
        "    requests.get('https://api.example.org/v1/thing', timeout=5).raise_for_status()\n",
        (0, 1), UNFAKED,
    ),
    AutomationRow(
        "returns_unserialisable_values",
        "def handle(event):\n    return {'status': 'ok', 'when': object(), 'ids': {1, 2}, 'raw': b'\\xff'}\n",
        (0,), "bare: 2 scenarios, ",
    ),
    AutomationRow(
        "uses_httpx",
        "import httpx\n\ndef handle(event):\n"
        "    r = httpx.get(f\"https://api.hubapi.com/crm/v3/objects/deals/{event['objectId']}\",\n"
        "                  headers={'Authorization': 'Bearer pat-na1-x'}, timeout=5)\n"
        "    r.raise_for_status()\n    return {'status': 'ok'}\n",
        (0, 1), "orchestrated: 2 scenarios, ",
    ),
    AutomationRow(
        "spawns_a_thread",
        "import threading\n\nimport requests\n\n"
        "def _later(deal_id):\n"
        "    requests.get(f'https://api.hubapi.com/crm/v3/objects/deals/{deal_id}', timeout=5)\n\n"
        "def handle(event):\n"
        "    threading.Thread(target=_later, args=(event['objectId'],)).start()\n"
        "    return {'status': 'ok'}\n",
        (0, 1), "warning: the automation left a thread running after it returned",
    ),
)
