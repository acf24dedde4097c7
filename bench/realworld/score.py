"""Score ecolint on the labelled real files: precision and recall per rule, file level and line level.

    python bench/realworld/score.py                 # default rules, table on stdout
    python bench/realworld/score.py --details       # every miss and every false finding
    python bench/realworld/score.py --json out.json
    python bench/realworld/score.py -- --select ALL # extra arguments for `ecolint check`
    python bench/realworld/score.py --no-scope      # lint test code too (test-paths = []) and count
                                                    # what the scope removes, per manifest and kind

Files come from bench/realworld/files/ (run fetch.py first); files that are not there are
counted and skipped. A reported line matches an expected one when both lie in the same statement
(for a compound statement, its header), or when the reported line is one of the expected
finding's alternative lines.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from manifest import Entry, load_manifest  # noqa: E402

DEFAULT_CODES = ("LLM101", "LLM102", "LLM103", "LLM104", "LLM105", "LLM106", "LLM107", "LLM108", "LLM201", "LLM202",
                 "LLM203", "LLM204", "LLM301", "LLM302", "LLM303")
# Rules labelled only in the entries that name them under ``checked`` (scored there and nowhere else).
CHECKED_CODES = ("LLM304", "LLM305", "LLM306", "LLM205", "LLM206", "LLM207", "LLM307")


def statement_spans(source: str) -> list[tuple[int, int]]:
    """(first, last) line of every simple statement and of every compound statement's header."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            header_end = max(node.lineno, body[0].lineno - 1)
            decorators = getattr(node, "decorator_list", [])
            start = min([node.lineno, *(d.lineno for d in decorators)])
            spans.append((start, header_end))
        else:
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def statement_of(spans: list[tuple[int, int]], line: int) -> tuple[int, int]:
    """The smallest span holding the line, or the line itself."""
    holding = [span for span in spans if span[0] <= line <= span[1]]
    return min(holding, key=lambda span: span[1] - span[0]) if holding else (line, line)


NO_SCOPE_CONFIG = "[tool.ecolint]\ntest-paths = []\n"


def run_ecolint(paths: list[Path], extra: list[str], source: Path | None = None,
                scope: bool = True) -> dict[str, list[dict]]:
    """ecolint's JSON findings per file (``source``: run the ecolint package found in that folder instead;
    ``scope=False``: lint test code like any other code, through a config file with ``test-paths = []``)."""
    launcher = ["-m", "ecolint"]
    if source is not None:
        launcher = ["-c", f"import sys; sys.path.insert(0, {str(source)!r}); from ecolint.cli import main; main()"]
    with tempfile.TemporaryDirectory() as folder:
        config = ["--no-config"]
        if not scope:
            config_file = Path(folder) / "pyproject.toml"
            config_file.write_text(NO_SCOPE_CONFIG, encoding="utf-8")
            config = ["--config", str(config_file)]
        command = [sys.executable, *launcher, "check", *config, "--no-cache", "--exit-zero",
                   "--output-format", "json", *extra, *map(str, paths)]
        # The labels judge each file by its own repository's pins, not by the transformers installed beside
        # the scorer: the installed-version fallback is switched off so scores do not depend on the environment.
        environment = {**os.environ, "ECOLINT_IGNORE_INSTALLED": "1"}
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        raise SystemExit(f"ecolint failed: {result.stderr.strip()}")
    found: dict[str, list[dict]] = defaultdict(list)
    for diagnostic in json.loads(result.stdout or "[]"):
        found[str(Path(diagnostic["filename"]).resolve())].append(diagnostic)
    return found


def score(entries: list[Entry], found: dict[str, list[dict]], codes: tuple[str, ...]) -> dict:
    file_counts = {code: Counter() for code in codes}
    line_counts = {code: Counter() for code in codes}
    details: list[str] = []
    for entry in entries:
        path = entry.local_path
        reported = [d for d in found.get(str(path.resolve()), []) if d["code"] in codes]
        source = path.read_text(encoding="utf-8", errors="replace")
        spans = statement_spans(source)
        for code in codes:
            if code in CHECKED_CODES and code not in entry.checked:
                continue  # not labelled for this file
            expected = [e for e in entry.expected if e.code == code]
            got = [d for d in reported if d["code"] == code]
            if expected and got:
                file_counts[code]["tp"] += 1
            elif got:
                file_counts[code]["fp"] += 1
                details.append(f"FP file {code} {entry.key} ({entry.kind})")
            elif expected:
                file_counts[code]["fn"] += 1
                details.append(f"FN file {code} {entry.key} ({entry.kind})")
            unmatched = list(got)
            for item in expected:
                targets = {statement_of(spans, line) for line in item.lines}
                match = next((d for d in unmatched
                              if statement_of(spans, d["location"]["row"]) in targets
                              or d["location"]["row"] in item.lines), None)
                if match is not None:
                    unmatched.remove(match)
                    line_counts[code]["tp"] += 1
                else:
                    line_counts[code]["fn"] += 1
                    details.append(f"FN line {code} {entry.key}:{item.line} {item.why}")
            for d in unmatched:
                line_counts[code]["fp"] += 1
                details.append(f"FP line {code} {entry.key}:{d['location']['row']} {d['message'][:110]}")
    return {"file": file_counts, "line": line_counts, "details": details}


def _identity(diagnostic: dict) -> tuple:
    location = diagnostic["location"]
    return diagnostic["code"], location["row"], location["column"], diagnostic["message"]


def labelled(entry: Entry, diagnostic: dict, spans: list[tuple[int, int]]) -> bool:
    """Whether an expected finding of the entry is at this diagnostic's statement (or alternative line)."""
    row = diagnostic["location"]["row"]
    for item in entry.expected:
        if item.code == diagnostic["code"] and (
            row in item.lines or statement_of(spans, row) in {statement_of(spans, line) for line in item.lines}
        ):
            return True
    return False


def scope_removed(entries: list[Entry], with_scope: dict[str, list[dict]], without_scope: dict[str, list[dict]],
                  codes: tuple[str, ...]) -> dict[tuple[str, str], Counter]:
    """Findings that scope off reports and scope on does not, per (group, rule), for the groups
    ``manifest <file>`` and ``kind <kind>``; ``(group, rule + " labelled")`` counts the removed
    findings that were labelled as expected (they should not be)."""
    removed: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for entry in entries:
        key = str(entry.local_path.resolve())
        kept = Counter(_identity(d) for d in with_scope.get(key, []))
        gone = [d for d in without_scope.get(key, []) if d["code"] in codes and not _take(kept, _identity(d))]
        if not gone:
            continue
        spans = statement_spans(entry.local_path.read_text(encoding="utf-8", errors="replace"))
        for diagnostic in gone:
            for group in (f"manifest {entry.source}", f"kind {entry.kind}"):
                removed[(group, "files")][entry.key] = 1
                removed[(group, "rules")][diagnostic["code"]] += 1
                if labelled(entry, diagnostic, spans):
                    removed[(group, "labelled")][diagnostic["code"]] += 1
    return removed


def _take(counter: Counter, item: tuple) -> bool:
    if counter[item] > 0:
        counter[item] -= 1
        return True
    return False


def scope_table(removed: dict[tuple[str, str], Counter]) -> list[str]:
    lines = ["### What the scope removes (findings with test-paths = [] minus with the defaults)", "",
             "| group | files | removed | by rule | labelled as expected |", "|---|---:|---:|---|---:|"]
    groups = sorted({group for group, _ in removed})
    for group in groups:
        rules = removed[(group, "rules")]
        by_rule = ", ".join(f"{code} {count}" for code, count in sorted(rules.items()))
        lines.append(f"| {group} | {len(removed[(group, 'files')])} | {sum(rules.values())} | {by_rule} | "
                     f"{sum(removed[(group, 'labelled')].values())} |")
    if not groups:
        lines.append("| (none) | 0 | 0 | - | 0 |")
    return lines + [""]


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def table(counts: dict[str, Counter], title: str) -> list[str]:
    lines = [f"### {title}", "", "| rule | TP | FP | FN | precision | recall |", "|---|---:|---:|---:|---:|---:|"]
    total = Counter()
    for code, counter in counts.items():
        total.update(counter)
        lines.append(_row(code, counter))
    lines.append(_row("**all**", total))
    return lines + [""]


def _row(label: str, counter: Counter) -> str:
    tp, fp, fn = counter["tp"], counter["fp"], counter["fn"]
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    show = lambda value: "-" if value is None else f"{value:.2f}"  # noqa: E731
    return f"| {label} | {tp} | {fp} | {fn} | {show(precision)} | {show(recall)} |"


def enabled_codes(extra: list[str]) -> frozenset[str]:
    """The rule codes a run with these ``ecolint check`` arguments reports: the default rules, or the
    selection the arguments make (a rule that is off is not scored, so its labels are not misses)."""
    from ecolint.config import check_selectors, select_codes

    chosen: dict[str, list[str]] = {"--select": [], "--extend-select": [], "--ignore": []}
    for flag, value in zip(extra, extra[1:]):
        if flag in chosen:
            chosen[flag] += check_selectors(value.split(","), flag)
    return select_codes(chosen["--select"] or None, chosen["--extend-select"], chosen["--ignore"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list every miss and false finding")
    parser.add_argument("--json", type=Path, help="write the counts and details as JSON")
    parser.add_argument("--kind", action="append", default=[], help="score only files of these kinds")
    parser.add_argument("--manifest", action="append", default=[],
                        help="score only the entries of these manifest files (e.g. scope.yaml)")
    parser.add_argument("--source", type=Path,
                        help="score the ecolint in this folder (e.g. a worktree of an older commit)")
    parser.add_argument("--no-scope", action="store_true",
                        help="lint test code too (test-paths = []), score that run, and count what the scope removes")
    parser.add_argument("extra", nargs="*", help="arguments for ecolint check (after --)")
    args = parser.parse_args(argv)
    entries = [e for e in load_manifest() if (not args.kind or e.kind in args.kind)
               and (not args.manifest or e.source in args.manifest)]
    present = [e for e in entries if e.local_path.exists()]
    repos = {e.repo for e in present}
    paths = [e.local_path for e in present]
    found = run_ecolint(paths, args.extra, args.source) if present else {}
    removed = {}
    if args.no_scope and present:
        with_scope = found
        found = run_ecolint(paths, args.extra, args.source, scope=False)
        removed = scope_removed(present, with_scope, found, DEFAULT_CODES)
    enabled = enabled_codes(args.extra)
    codes = tuple(code for code in (*DEFAULT_CODES, *CHECKED_CODES) if code in enabled)
    result = score(present, found, codes)
    expected_total = sum(len(e.expected) for e in present)
    print(f"{len(present)} files from {len(repos)} repositories ({len(entries) - len(present)} not fetched); "
          f"{expected_total} expected findings in {sum(bool(e.expected) for e in present)} files")
    print()
    print("\n".join(table(result["file"], "File level (a rule's finding in a file)")))
    print("\n".join(table(result["line"], "Line level (each finding at its statement)")))
    if args.no_scope:
        print("\n".join(scope_table(removed)))
    if args.details:
        print("\n".join(sorted(result["details"])))
    if args.json:
        args.json.write_text(json.dumps({
            "files": len(present), "repositories": len(repos),
            "file": {code: dict(c) for code, c in result["file"].items()},
            "line": {code: dict(c) for code, c in result["line"].items()},
            "details": result["details"],
            "scope_removed": {f"{group}: {part}": dict(counts) for (group, part), counts in removed.items()},
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
