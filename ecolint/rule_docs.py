"""A rule's documentation as Markdown: its page, its Example section and the README's rules table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ecolint.penalties import BASIS, PEAK_MEMORY, gpu_name

if TYPE_CHECKING:
    from ecolint.rules import Example, Rule

DOC_SECTIONS = (
    ("what_it_does", "What it does"),
    ("why_bad", "Why is this bad?"),
    ("example", "Example"),
    ("fix_safety", "Fix safety"),
)


def documentation(rule: Rule) -> str:
    """The rule's page (``ecolint rule CODE``, docs/rules/CODE.md)."""
    lines = [f"# {rule.name} ({rule.code})", "", rule.summary, ""]
    state = "on" if rule.default_enabled else "off (enable with --select or --extend-select)"
    fix = {"safe": "safe fix available", "unsafe": "unsafe fix available (--unsafe-fixes)"}.get(
        rule.fix_applicability, "no automatic fix"
    )
    lines += [f"Default: {state}. Severity: {rule.severity}. Fix: {fix}.", ""]
    for key, heading in DOC_SECTIONS:
        lines += [f"## {heading}", "", rule.docs.get(key, "").strip(), ""]
        if key == "why_bad":
            lines += penalty_lines(rule)
    for key, text in rule.docs.items():
        if key not in dict(DOC_SECTIONS):
            lines += [f"## {key.replace('_', ' ').capitalize()}", "", text.strip(), ""]
    if rule.options:
        lines += ["## Options", ""]
        lines += [f"- `{name}` (default `{value}`)" for name, value in rule.options.items()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def penalty_lines(rule: Rule) -> list[str]:
    """The table of measurement rows behind the rule's penalty."""
    if rule.penalty is None:
        return []
    if not rule.penalty.measured:
        return [f"Measured penalty: none yet. {rule.penalty.note}".rstrip(), ""]
    lines = [f"Measured penalty ({rule.penalty.unit}; {BASIS}, docs/data.md):", ""]
    lines.append("| case | row | baseline | GPU | model | batch | J/1k tok | baseline J/1k | change |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for group in rule.penalty.groups:
        for pair in group.pairs:
            row, base = pair.row, pair.baseline
            lines.append(
                f"| {group.label} | {row.row_id} | {base.row_id} | {gpu_name(row.gpu)} | "
                f"{row.model_id} | {row.batch_size} | {_figure(pair, pair.energy, row)} | "
                f"{_figure(pair, pair.baseline_energy, base)} | {pair.percent:+.1f}% |"
            )
    if any(_converted(pair.row) or _converted(pair.baseline) for group in rule.penalty.groups for pair in group.pairs):
        lines += ["", "\\* converted to gross: the source stated the energy with about 17 W of idle power "
                  "subtracted (stated value in brackets); gross = 1000 x power / throughput of the same row."]
    lines.append("")
    if rule.penalty.note:
        lines += [rule.penalty.note.strip(), ""]
    return lines


def _converted(row) -> bool:
    """True for a shipped row whose source subtracted idle power (converted to gross)."""
    from ecolint.energy.curation import curated_rows

    curated = curated_rows().get(row.row_id)
    return curated is not None and curated.measurement is row and curated.normalised


def _figure(pair, value: float, row) -> str:
    """A pair's figure in the table: energy per 1000 tokens, or peak memory for a memory group."""
    return f"{value:.1f} GB peak" if pair.metric == PEAK_MEMORY else _energy(value, row)


def _energy(gross: float, row) -> str:
    text = f"{gross:,.0f}" if gross >= 100 else f"{gross:.1f}"
    return f"{text}\\* ({row.energy_j_per_1k:g})" if _converted(row) else text


def example_markdown(examples: Iterable[Example]) -> str:
    """The Example section from the rule's tested examples: the reported code, then "Use instead"."""
    shown = [example for example in examples if example.shown]
    parts: list[str] = []
    for number, example in enumerate(example for example in shown if not example.valid):
        if number:
            parts.append(_lead("Also reported", example.note))
        elif example.note:
            parts.append(example.note[:1].upper() + example.note[1:] + ":")
        parts.append(_block(example.code))
    for number, example in enumerate(example for example in shown if example.valid):
        parts += [_lead("or" if number else "Use instead", example.note), _block(example.code)]
    return "\n\n".join(parts) + "\n" if parts else ""


def _lead(words: str, note: str) -> str:
    return f"{words}, {note}:" if note else f"{words}:"


def _block(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def rules_table(rules: Iterable[Rule], link: str = "docs/rules/") -> str:
    """The README's table of rules, the penalty column computed from each rule's rows."""
    lines = ["| code | name | default | fix | what it finds | measured penalty |", "|---|---|---|---|---|---|"]
    for rule in rules:
        fix = rule.fix_applicability if rule.fixable else "-"
        lines.append(
            f"| [{rule.code}]({link}{rule.code}.md) | {rule.name} | {'on' if rule.default_enabled else 'off'} "
            f"| {fix} | {rule.summary.rstrip('.')} | {rule.penalty_text()} |"
        )
    return "\n".join(lines) + "\n"
