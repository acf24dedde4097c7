"""Audit: a Markdown energy review for pull requests.

Laid out as the AUDIT protocol's report: Critical Issues (a measured energy waste above 30%),
Warnings (10-30%, and findings whose cost is not measured), Good Practices (what the code does
right, read from the same facts the checks use) and Recommended Changes (one entry per rule,
most energy first, with the code change and its expected impact).

Energy waste is read from the rule's measured penalty: a higher cost of the pattern (``+147%``
energy per token) counts as is; a saving of the fix (``-96%`` energy per request when batching)
counts as that share of the current energy wasted. The higher end of the measured range decides
the section, so a pattern measured at +40% to +404% is critical. Where the rule's penalty has a
group for its suggested change (``fix: true``: LLM101's threshold 0.0 against the default), the
expected impact quotes that group, not the cost against another baseline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter
from ecolint.rules import Rule, all_rules

CRITICAL_ABOVE = 30.0
WARNING_FROM = 10.0
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


# ---- energy figures of a diagnostic -------------------------------------------------------


@dataclass(frozen=True)
class Waste:
    low: float  # share of energy wasted, in percent, low end of the measured range
    high: float
    saving: bool  # measured as what the fix saves (negative change) rather than what the pattern costs


def waste(diagnostic: Diagnostic) -> Waste | None:
    """The measured energy waste of a finding, or None when its rule has no measurement."""
    penalty = diagnostic.penalty
    if penalty is None or not penalty.measured or not penalty.groups:
        return None
    lows, highs, saving = [], [], False
    groups = [group for group in penalty.groups if group.metric == "energy"]  # not peak memory
    groups = [group for group in groups if not group.fix] or groups
    if not groups:
        return None
    for group in groups:
        low, high = round(group.low, 1), round(group.high, 1)  # as the JSON output states them
        if high <= 0:  # a saving: -96% energy when fixed
            saving = True
            lows.append(-high)
            highs.append(-low)
        else:
            lows.append(max(low, 0.0))
            highs.append(high)
    return Waste(min(lows), max(highs), saving)


def section(diagnostic: Diagnostic) -> str:
    found = waste(diagnostic)
    if found is not None and found.high > CRITICAL_ABOVE:
        return "critical"
    return "warning"


def impact(rule: Rule | None, diagnostic: Diagnostic) -> str:
    found = waste(diagnostic)
    if rule is None:
        return "the file cannot be linted until this is fixed"
    if found is None:
        if rule.penalty is None:
            return f"not an energy measurement: {rule.summary.rstrip('.')}"
        note = " ".join(rule.penalty.note.split()).rstrip(".")
        return f"energy effect not measured yet{': ' + note if note else ''}"
    fixes = [group for group in rule.penalty.groups if group.fix] if rule.penalty else []
    if fixes:
        return "; ".join(_fix_impact(group) for group in fixes)
    text = rule.penalty_text()
    if found.saving:
        return f"up to {found.high:.0f}% less energy ({text})"
    return f"removes up to {found.high:.0f}% extra energy ({text})"


def _fix_impact(group) -> str:
    """What the rule's suggested change measured, per GPU, with the rows behind it and its risk."""
    rows = ", ".join(f"{pair.row.row_id}/{pair.baseline.row_id}" for pair in group.pairs)
    risk = f". {group.risk.rstrip('.')}" if group.risk else ""
    return f"{group.describe()} energy per token (rows {rows}; gross board energy){risk}"


# ---- good practices: found by the engine in the run's one pass (``Summary.practices``) ----


def use_instead(rule: Rule) -> tuple[list[str], str | None]:
    """What the rule's example says to write instead: its code blocks, or its one-line advice."""
    example = rule.docs.get("example", "")
    _, found, after = example.partition("Use instead")
    if not found:
        return [], None
    blocks = [block.rstrip() for block in re.findall(r"```(?:python)?\n(.*?)```", after, re.DOTALL)]
    if blocks:
        return blocks, None
    advice = " ".join(after.lstrip(":, ").split("\n\n")[0].split())
    return [], advice or None


def fix_diff(diagnostic: Diagnostic) -> str | None:
    """The fix as a unified diff of the lines it changes, when the fix and the source are at hand."""
    import difflib

    from ecolint.reporters.full import source_lines

    fix = diagnostic.fix
    if not fix or not fix.get("edits"):
        return None
    lines = source_lines(diagnostic)
    if lines is None:
        return None
    before = "\n".join(lines) + "\n"
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(location: dict) -> int | None:
        row, column = location["row"], location["column"]
        if not 1 <= row <= len(lines) + 1:
            return None
        return offsets[row - 1] + column - 1

    after = before
    for edit in sorted(fix["edits"], key=lambda e: (e["location"]["row"], e["location"]["column"]), reverse=True):
        start, end = offset(edit["location"]), offset(edit["end_location"])
        if start is None or end is None:
            return None
        after = after[:start] + (edit.get("content") or "") + after[end:]
    where = diagnostic.filename + (f" (cell {diagnostic.cell})" if diagnostic.cell is not None else "")
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), f"a/{where}", f"b/{where}",
                                     lineterm="", n=0))
    return "\n".join(diff) if diff else None


def _where(diagnostic: Diagnostic) -> str:
    if diagnostic.cell is not None:
        return f"`{diagnostic.filename}` cell {diagnostic.cell}, line {diagnostic.location.row}"
    return f"`{diagnostic.filename}:{diagnostic.location.row}`"


def _item(diagnostic: Diagnostic) -> str:
    return f"- **{diagnostic.code}** {_where(diagnostic)}: {diagnostic.message}"


def _priority(code: str, items: list[Diagnostic]) -> tuple:
    found = waste(items[0])
    rank = 0 if section(items[0]) == "critical" else (1 if found is not None else 2)
    return (rank, -(found.high if found else 0.0), SEVERITY_RANK.get(items[0].severity, 3), code)


def recommended_changes(diagnostics: list[Diagnostic]) -> list[str]:
    rules = all_rules()
    groups: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        groups.setdefault(diagnostic.code, []).append(diagnostic)
    lines: list[str] = []
    for number, code in enumerate(sorted(groups, key=lambda c: _priority(c, groups[c])), start=1):
        items = groups[code]
        rule = rules.get(code)
        title = (rule.fix_title or rule.summary).rstrip(".") if rule else "Make the file readable and parsable"
        places = ", ".join(_where(d) for d in items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
        lines.append(f"{number}. **{title}** ({code}{', ' + rule.name if rule else ''}; {places})")
        lines.append(f"   - Expected impact: {impact(rule, items[0])}.")
        fixable = [d for d in items if d.fix]
        if fixable:
            applicability = fixable[0].fix.get("applicability", "")
            lines.append(f"   - Automatic fix: {len(fixable)} of {len(items)} with `ecolint check --fix`"
                         f"{' --unsafe-fixes' if applicability == 'unsafe' else ''} ({applicability}).")
        change = next((diff for diff in map(fix_diff, fixable) if diff), None)
        blocks, advice = use_instead(rule) if rule is not None else ([], None)
        if change:
            lines += ["", "   ```diff", *[f"   {line}" for line in change.splitlines()], "   ```"]
        elif blocks:
            code = "\n# or:\n".join(blocks)
            lines += ["", "   ```python", *[f"   {line}".rstrip() for line in code.splitlines()], "   ```"]
        elif advice:
            lines.append(f"   - Change: {advice}")
        lines.append("")
    return lines


# ---- the report ---------------------------------------------------------------------------


def render_audit(diagnostics: list[Diagnostic], practices: Iterable, files_checked: int) -> str:
    critical = [d for d in diagnostics if section(d) == "critical"]
    warnings = [d for d in diagnostics if section(d) != "critical"]
    practices = list(practices)
    out = ["## Audit Results", ""]
    files = f"{files_checked} file{'s' if files_checked != 1 else ''}"
    out.append(f"ecolint audited {files}: {len(critical)} critical issue{'s' if len(critical) != 1 else ''}, "
               f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}, "
               f"{len(practices)} good practice{'s' if len(practices) != 1 else ''}. "
               "Figures are measured energy per token or per request from ecolint's shipped data.")
    out += ["", "### 🔴 Critical Issues", "", f"_Issues causing more than {CRITICAL_ABOVE:.0f}% energy waste._", ""]
    out += [_item(d) for d in critical] or ["None found."]
    out += ["", "### 🟡 Warnings", "",
            f"_Issues causing {WARNING_FROM:.0f}–{CRITICAL_ABOVE:.0f}% potential waste, and findings whose energy "
            "cost is not measured._", ""]
    out += [_item(d) + ("" if waste(d) else " _(energy not measured)_") for d in warnings] or ["None found."]
    out += ["", "### ✅ Good Practices", ""]
    out += [f"- `{p.where()}`: {p.text}" for p in practices] or ["None detected."]
    out += ["", "### Recommended Changes", ""]
    out += recommended_changes(diagnostics) or ["Nothing to change."]
    return "\n".join(out).rstrip() + "\n"


@reporter("audit")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    return render_audit(diagnostics, summary.practices, summary.files_checked).rstrip("\n")
