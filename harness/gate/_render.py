"""The gate's verdict as terminal text, GitHub Markdown and JUnit properties."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the result's methods call these; the type only names it
    from harness.gate._result import GateResult


def render_text(result: GateResult) -> str:
    """Plain text for a terminal: the verdict, each broken threshold, its findings."""
    lines = [f"harness gate {result.path}: {'PASSED' if result.passed else 'FAILED'}"]
    for m in result.measures:
        lines.append(
            f"  {m.flow} ({m.mode}): {m.campaigns} campaign(s), {m.examples} examples, "
            f"{m.accepted_runs} runs"
        )
    lines.extend(f"  note: {note}" for note in result.notes)
    broken = result.broken
    if broken:
        lines.append(f"{len(broken)} threshold(s) broken:")
        for c in broken:
            lines.append(f"  {c.sentence}")
            lines.extend(f"    reproduce: {line}" for line in c.reproduce)
    else:
        lines.append(f"all {len(result.checks)} threshold(s) met")
    return "\n".join(lines)


def render_markdown(result: GateResult) -> str:
    """GitHub-flavoured Markdown (for ``$GITHUB_STEP_SUMMARY``): a table of every check."""
    verdict = "passed" if result.passed else "failed"
    icon = ":white_check_mark:" if result.passed else ":x:"
    out = [f"### {icon} harness gate `{_md(result.path)}` {verdict}", ""]
    out.append("| flow | threshold | measured | limit | result |")
    out.append("| --- | --- | --- | --- | --- |")
    for c in result.checks:
        op = ">=" if c.threshold.startswith("min_") else "<="
        measured = "n/a" if c.measured is None else _fmt(c.measured, c.unit)
        out.append(
            f"| {_md(c.flow)} | `{_md(c.threshold)}` | {measured} | {op} "
            f"{_fmt(c.limit, c.unit)} | {'pass' if c.passed else '**FAIL**'} |"
        )
    repro = [(c, line) for c in result.broken for line in c.reproduce]
    if repro:
        out += ["", "Reproduce the findings:", "", "```sh"]
        out += [line for _, line in repro]
        out.append("```")
    return "\n".join(out) + "\n"


def junit_properties(result: GateResult) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for the JUnit XML ``<properties>`` of the test suite."""
    props = [
        ("harness_gate", "passed" if result.passed else "failed"),
        ("harness_gate_file", result.path),
    ]
    for c in result.checks:
        props.append(
            (
                f"harness_gate.{c.flow}.{c.threshold}",
                ("n/a" if c.measured is None else _fmt(c.measured, c.unit))
                + (" ok" if c.passed else " BROKEN"),
            )
        )
    return props


def _fmt(value: float, unit: str = "") -> str:
    text = f"{int(value)}" if float(value).is_integer() else f"{value:.3f}".rstrip("0")
    return f"{text}{unit}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
