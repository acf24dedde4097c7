#!/usr/bin/env python
"""Whether the pre-pass drops a rule that would report: a check of the gate itself, on any tree, without a
saved baseline.

Runs ``ecolint check --select ALL -j 1`` in this process with the pre-pass's answer
(``ecolint.candidates.possible``) recorded for each file but not applied, so that every rule the text
prefilter lets through is analyzed. A rule that reports on a file must be one the pre-pass kept there; and
wherever the collector records a model load, a quantization config or a vLLM engine, the load test
(``ecolint.candidate_loads.load_names``) must have said the file may make one. Each failure is printed;
the exit status is 1 when there is one. ``bench/same_findings.py`` compares whole runs with a saved one;
this needs no earlier run, and also checks the loads of files on which nothing is reported.

Usage::

    python bench/gate_check.py                               # the transformers tree of speed.py
    python bench/gate_check.py fixtures bench/realworld/files
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))


@dataclass
class FileRecord:
    kept: list[str]  # the rules the pre-pass keeps
    loads: set[str]  # what the load test answers
    reported: set[str] = field(default_factory=set)  # the rules that report, the gate left open
    recorded: bool = False  # the collector records a load, a quantization config or a vLLM engine


def record(files: dict[str, FileRecord]) -> None:
    """Wrap the engine so that the pre-pass answers but keeps every rule, and note what the analysis finds."""
    import ecolint.candidates as candidates
    import ecolint.engine as engine
    from ecolint.candidate_loads import load_names
    from ecolint.checks.model_loaded_per_request import vllm_engine_loads

    analyze, possible, run_checks = engine._analyze, candidates.possible, engine.run_checks
    current: dict[str, str | None] = {"file": None}

    @functools.wraps(analyze)
    def analyzing(source, filename, *args, **kwargs):
        current["file"] = filename
        try:
            return analyze(source, filename, *args, **kwargs)
        finally:
            current["file"] = None

    @functools.wraps(possible)
    def answering(codes, summary, imported="", *args, **kwargs):
        files[current["file"]] = FileRecord(list(possible(codes, summary, imported, *args, **kwargs)),
                                            load_names(summary.loads, summary.called, imported))
        return list(codes)

    @functools.wraps(run_checks)
    def checking(facts, *args, **kwargs):  # the facts of the file itself (the project index's are not checked)
        found = run_checks(facts, *args, **kwargs)
        entry = files.get(current["file"])
        if entry is not None:
            entry.reported |= {finding.code for finding in found}
            entry.recorded = bool(facts.model_loads or facts.quant_configs or (
                facts.collector is not None and vllm_engine_loads(facts.collector)))
        return found

    engine._analyze, candidates.possible, engine.run_checks = analyzing, answering, checking


def failures(files: dict[str, FileRecord]) -> list[str]:
    found = []
    for name, entry in sorted(files.items()):
        dropped = sorted(entry.reported - set(entry.kept))
        if dropped:
            found.append(f"{name}: the pre-pass drops {', '.join(dropped)}, which report")
        if entry.recorded and not entry.loads:
            found.append(f"{name}: the collector records a load the pre-pass's load test does not see")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, help="default: the transformers package of speed.py")
    args = parser.parse_args(argv)
    for tree in args.trees:
        if not tree.exists():
            parser.error(f"{tree}: no such file or directory")
    if not args.trees:
        import speed

        args.trees = [speed.fetch_transformers()]
    files: dict[str, FileRecord] = {}
    record(files)
    from ecolint.cli import main as ecolint

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), contextlib.suppress(SystemExit):
        ecolint(["check", "--no-config", "--no-cache", "--exit-zero", "--quiet", "-j", "1", "--select", "ALL",
                 *map(str, args.trees)], standalone_mode=False)
    found = failures(files)
    for line in found:
        print(line)
    kept = sum(1 for entry in files.values() if entry.kept)
    reporting = sum(1 for entry in files.values() if entry.reported)
    loading = sum(1 for entry in files.values() if entry.recorded)
    print(f"{len(files):,} files through the pre-pass: it keeps {kept:,}; rules report on {reporting:,}, the "
          f"collector records loads on {loading:,}; {len(found)} failure(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
