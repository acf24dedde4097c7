"""Audit: a Markdown energy review for pull requests.

Laid out as the AUDIT protocol's report: Critical Issues (a measured energy waste above 30%),
Warnings (10-30%, and findings whose cost is not measured), Good Practices (what the code does
right, read from the same facts the checks use) and Recommended Changes (one entry per rule,
most energy first, with the code change and its expected impact).

Energy waste is read from the rule's measured penalty: a higher cost of the pattern (``+147%``
energy per token) counts as is; a saving of the fix (``-96%`` energy per request when batching)
counts as that share of the current energy wasted. The higher end of the measured range decides
the section, so a pattern measured at +17% to +147% is critical.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter
from ecolint.rules import Rule, all_rules

CRITICAL_ABOVE = 30.0
WARNING_FROM = 10.0
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
# Text a file must contain before it is parsed for good practices.
PRACTICE_HINTS = re.compile(r"llm_int8_threshold|dtype|batch_size|padding|compile|load_in_4bit|use_cache")


# ---- energy figures of a diagnostic -------------------------------------------------------


@dataclass(frozen=True)
class Waste:
    low: float  # share of energy wasted, in percent, low end of the measured range
    high: float
    saving: bool  # measured as what the fix saves (negative change) rather than what the pattern costs


def waste(diagnostic: Diagnostic) -> Waste | None:
    """The measured energy waste of a finding, or None when its rule has no measurement."""
    penalty = diagnostic.penalty
    if not penalty or not penalty.get("measured") or not penalty.get("groups"):
        return None
    lows, highs, saving = [], [], False
    for group in penalty["groups"]:
        low, high = float(group["min_pct"]), float(group["max_pct"])
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
    text = rule.penalty_text()
    if found.saving:
        return f"up to {found.high:.0f}% less energy ({text})"
    return f"removes up to {found.high:.0f}% extra energy ({text})"


# ---- good practices -----------------------------------------------------------------------


@dataclass(frozen=True)
class Practice:
    filename: str
    row: int
    cell: int | None
    text: str

    def where(self) -> str:
        if self.cell is not None:
            return f"{self.filename}:cell {self.cell}:{self.row}"
        return f"{self.filename}:{self.row}"


def _number(value) -> float | None:
    if value is None:
        return None
    if value.kind == "option" and value.value is not None and hasattr(value.value, "number"):
        return value.value.number()
    return value.number()


def _symbol(value) -> str | None:
    if value is None:
        return None
    if value.kind == "symbol":
        return str(value.value)
    if value.kind == "const" and isinstance(value.value, str):
        return value.value
    if value.kind == "option" and value.value is not None and hasattr(value.value, "kind"):
        return _symbol(value.value)
    return None


HALF = {"torch.float16": "float16", "torch.half": "float16", "torch.bfloat16": "bfloat16",
        "float16": "float16", "bfloat16": "bfloat16", "fp16": "float16", "bf16": "bfloat16"}


def practices_in_source(source: str, filename: str, path: Path | None = None) -> list[tuple[int, str]]:
    """``(row, description)`` of the energy-wise choices a module makes."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from ecolint.analysis.facts import collect_facts
    from ecolint.energy.model_size import resolve_model_size

    if not PRACTICE_HINTS.search(source):
        return []
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        return []
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    facts = collect_facts(module)

    def row(node) -> int:
        try:
            return positions[node].start.line
        except KeyError:
            return 1

    found: list[tuple[int, str]] = []
    for config in facts.quant_configs:
        eight, threshold = config.entry("load_in_8bit"), config.entry("llm_int8_threshold")
        if eight and eight.value.maybe_true() and threshold and _number(threshold.value) == 0:
            found.append((row(threshold.key_node), "8-bit loading with `llm_int8_threshold=0.0` (pure INT8): "
                                                   "avoids the mixed-precision decomposition overhead"))
    bases = tuple(folder for folder in ((path.parent,) if path else ()) + (Path.cwd(),))
    for load in facts.model_loads:
        dtype = _symbol(load.dtype.value) if load.dtype else None
        quant = load.quant
        if dtype in HALF and not (quant and (quant.requests("load_in_8bit") or quant.requests("load_in_4bit"))):
            found.append((row(load.dtype.key_node), f"model loaded in half precision (`{HALF[dtype]}`)"))
        if quant and quant.entry("load_in_4bit") and quant.entry("load_in_4bit").value.provably_true():
            model = load.model_id.text() if load.model_id else None
            size = resolve_model_size(model, bases) if model else None
            if size is not None and size.params_b >= 6:
                found.append((row(load.site.node), f"4-bit loading of a {size.params_b:g}B model, large enough "
                                                   "for NF4 to save energy"))
    for creation in facts.pipelines:
        entry = creation.entries.get("batch_size")
        if entry and (_number(entry.value) or 0) > 1:
            found.append((row(entry.key_node), f"batched generation: pipeline batch_size={_number(entry.value):g}"))
    for generation in facts.generations:
        entry = generation.entries.get("batch_size")
        if entry and (_number(entry.value) or 0) > 1:
            found.append((row(entry.key_node), f"batched generation: batch_size={_number(entry.value):g}"))
        cache = generation.entries.get("use_cache")
        if cache and cache.value.provably_true():
            found.append((row(cache.key_node), "KV cache kept on for generation (`use_cache=True`)"))
    for loader in facts.dataloaders:
        size = _number(loader.batch_size) if loader.batch_size is not None else None
        if size and size > 1 and loader.batch_size_entry:
            found.append((row(loader.batch_size_entry.key_node), f"batched inputs: DataLoader batch_size={size:g}"))
    padded = _padded_calls(module, positions)
    if padded and facts.generations and not any(g.site.loops for g in facts.generations):
        found.append((padded[0], "batched generation: inputs tokenized together with padding"))
    if facts.uses_compile and facts.generations:
        found.append((1, "`torch.compile` used in a module that generates"))
    return sorted(set(found))


def _padded_calls(module, positions) -> list[int]:
    import libcst as cst

    rows = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "padding" and not (
                        isinstance(arg.value, cst.Name) and arg.value.value in ("False", "None")):
                    rows.append(positions[node].start.line)

    module.visit(Finder())
    return rows


def practices_in_file(path: Path, display: str) -> list[Practice]:
    from ecolint.engine import SourceError, decode_source
    from ecolint.notebooks import NotebookError, is_notebook, parse_notebook, read_text

    try:
        if is_notebook(path):
            notebook = parse_notebook(read_text(path))
            source, spans = notebook.virtual_source()
        else:
            source, spans = decode_source(path.read_bytes()), None
    except (OSError, SourceError, NotebookError):
        return []
    found = []
    for row, text in practices_in_source(source, display, path):
        cell = None
        if spans:
            for number, first, count in spans:
                if first <= row < first + max(count, 1):
                    cell, row = number, row - first + 1
                    break
        found.append(Practice(display, row, cell, text))
    return found


def audited_files(diagnostics: list[Diagnostic]) -> list[tuple[Path, str]]:
    """The files of this run: found again under the command's paths, plus those diagnostics name."""
    import click

    from ecolint.discovery import SOURCE_SUFFIXES, FileFinder
    from ecolint.runner import display_path

    files: dict[str, Path] = {}
    context = click.get_current_context(silent=True)
    paths = [p for p in (context.params.get("paths") or ()) if p != "-"] if context else []
    if context is not None and not paths and context.params.get("paths") == ():
        paths = ["."]
    if paths:
        root = Path.cwd()
        try:
            from ecolint.config import load_settings

            settings = load_settings(None, Path(paths[0]))
            root, exclude, extend, gitignore = settings.root, settings.exclude, settings.extend_exclude, \
                settings.respect_gitignore
        except Exception:  # the check command already reported configuration problems
            exclude, extend, gitignore = None, [], True
        finder = FileFinder(root, exclude, extend, gitignore, suffixes=(*SOURCE_SUFFIXES, ".ipynb"))
        for found in finder.find([Path(p) for p in paths]):
            if found.error is None:
                files.setdefault(display_path(found.path), found.path)
    for diagnostic in diagnostics:
        if diagnostic.filename not in ("-", "") and Path(diagnostic.filename).is_file():
            files.setdefault(diagnostic.filename, Path(diagnostic.filename))
    return [(path, display) for display, path in sorted(files.items())]


# ---- recommended changes ------------------------------------------------------------------


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


def render_audit(diagnostics: list[Diagnostic], practices: Iterable[Practice], files_checked: int) -> str:
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
    practices: list[Practice] = []
    for path, display in audited_files(diagnostics):
        practices.extend(practices_in_file(path, display))
    return render_audit(diagnostics, practices, summary.files_checked).rstrip("\n")
