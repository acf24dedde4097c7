#!/usr/bin/env python
"""Whether a change to ecolint left its findings alone: the JSON report on some trees, saved and compared.

    python bench/same_findings.py save bench/_work/findings-before.json      # before the change
    python bench/same_findings.py compare bench/_work/findings-before.json   # after it: exit 1 on a difference

The trees default to the transformers package that ``speed.py`` unpacks and ``fixtures/``; ``--tree`` names
others. Each runs as ``ecolint check --no-config --no-cache --exit-zero --output-format json TREE`` (every
diagnostic, fixes included), with the report's file names made relative to the tree; ``--select ALL`` also
runs the rules that are off by default (a gate that skips files must not skip their findings either).
Only the standard library is used.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_TREES = [BENCH_DIR / "_work" / "transformers-5.23.0" / "transformers", REPO_ROOT / "fixtures"]
COMMAND = ["check", "--no-config", "--no-cache", "--exit-zero", "--output-format", "json"]


def ecolint() -> list[str]:
    launcher = Path(sys.executable).with_name("ecolint")
    return [str(launcher)] if launcher.exists() else [sys.executable, "-m", "ecolint"]


def report(tree: Path, select: str | None = None) -> list[dict]:
    chosen = ["--select", select] if select else []
    done = subprocess.run([*ecolint(), *COMMAND, *chosen, str(tree)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ecolint failed on {tree} (exit {done.returncode}): {done.stderr.strip()[:500]}")
    diagnostics = json.loads(done.stdout)
    for item in diagnostics:
        if item.get("filename"):
            item["filename"] = Path(item["filename"]).resolve().relative_to(tree.resolve()).as_posix()
    return sorted(diagnostics, key=lambda d: json.dumps(d, sort_keys=True))


def differences(before: list[dict], after: list[dict], limit: int = 10) -> list[str]:
    old = {json.dumps(d, sort_keys=True) for d in before}
    new = {json.dumps(d, sort_keys=True) for d in after}
    lines = [f"- {text}" for text in sorted(old - new)[:limit]] + [f"+ {text}" for text in sorted(new - old)[:limit]]
    if len(before) != len(after):
        lines.append(f"{len(before)} diagnostics before, {len(after)} after")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["save", "compare"])
    parser.add_argument("file", type=Path, help="the saved reports (JSON)")
    parser.add_argument("--tree", type=Path, action="append", help="a tree to lint (default: transformers, fixtures)")
    parser.add_argument("--select", help="the rules to run (ecolint's --select, e.g. ALL); default: the default rules")
    args = parser.parse_args()
    trees = args.tree or DEFAULT_TREES
    reports = {tree.name: report(tree, args.select) for tree in trees}
    if args.action == "save":
        args.file.parent.mkdir(parents=True, exist_ok=True)
        args.file.write_text(json.dumps(reports, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        print(", ".join(f"{name}: {len(found)} diagnostics" for name, found in reports.items()))
        return 0
    saved = json.loads(args.file.read_text(encoding="utf-8"))
    changed = False
    for name, found in reports.items():
        lines = differences(saved.get(name, []), found)
        changed |= bool(lines)
        print(f"{name}: {len(found)} diagnostics, " + ("DIFFERENT" if lines else "the same"))
        for line in lines:
            print(f"  {line[:300]}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
