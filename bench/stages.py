#!/usr/bin/env python
"""Where a cold run's CPU time goes, stage by stage, without a profiler's overhead.

Runs ``ecolint check --no-config --no-cache --exit-zero --quiet -j 1 TREE`` in this process with the
engine's stages wrapped in CPU-time counters (``time.process_time``; a stage's time includes the
stages it calls), then times CPython's parser alone on every file of the tree and, when ruff is
installed, ``ruff check --select ALL`` on the same tree, so the numbers come from one moment of the
machine. cProfile inflates code that makes many small calls (libcst's visitors); these counters do not.

Usage::

    python bench/stages.py                 # the transformers tree of speed.py
    python bench/stages.py path/to/tree --no-ruff
    python bench/stages.py --kept          # also: how many files the pre-pass keeps for libcst, per rule
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import importlib
import os
import resource
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

# (module, attribute, label): the stages timed, in the engine's order.
STAGES = [
    ("ecolint.engine", "matching_codes", "text prefilter (every call, the imported text's included)"),
    ("ecolint.engine", "could_match", "text prefilter (every call, the imported text's included)"),
    ("ecolint.engine", "_ImportedText.found", "project index: text of what a file imports"),
    ("ecolint.engine", "_parses", "CPython syntax check without a tree (E999 of files no rule parses)"),
    ("ecolint.engine", "_parse_python", "CPython parse (the pre-pass's tree; E999 details)"),
    ("ecolint.engine", "_summarize", "pre-pass walk of the CPython tree"),
    ("ecolint.generation_gate", "_walk", "pre-pass: generation gate's walk (files kept for LLM201/202/206/301)"),
    ("libcst", "parse_module", "libcst parse"),
    ("ecolint.analysis.facts", "collect_facts", "facts"),
    ("ecolint.engine", "run_checks", "checks"),
    ("ecolint.engine", "to_diagnostics", "diagnostics and fixes"),
]


def wrap(spent: Counter, calls: Counter, module: str, attribute: str, label: str) -> None:
    """Replace ``module.attribute`` (a dotted path inside the module) with a copy that counts its CPU time."""
    importlib.import_module(module)
    owner = sys.modules[module]
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    function = getattr(owner, name)

    @functools.wraps(function)
    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start
            calls[label] += 1

    setattr(owner, name, timed)


def record_kept(kept: dict[str, list[str]]) -> None:
    """Record in ``kept``, for each file the pre-pass summarizes, the rules it keeps for libcst
    (``ecolint.candidates.possible``'s answer)."""
    import ecolint.candidates as candidates
    import ecolint.engine as engine

    analyze, possible, current = engine._analyze, candidates.possible, {}

    @functools.wraps(analyze)
    def analyzing(source, filename, *args, **kwargs):
        current["file"] = filename
        return analyze(source, filename, *args, **kwargs)

    @functools.wraps(possible)
    def keeping(*args, **kwargs):
        found = possible(*args, **kwargs)
        kept[current["file"]] = list(found)
        return found

    engine._analyze, candidates.possible = analyzing, keeping


def print_kept(kept: dict[str, list[str]]) -> None:
    """Per rule, how many files the pre-pass keeps for it, and for it alone (the files only it sends to libcst)."""
    files = [codes for codes in kept.values() if codes]
    per_rule = Counter(code for codes in files for code in codes)
    alone = Counter(codes[0] for codes in files if len(codes) == 1)
    print(f"The pre-pass summarized {len(kept):,} files and kept {len(files):,} for libcst:")
    print()
    print("| rule | files kept | kept for it alone |")
    print("|---|---:|---:|")
    for code, count in sorted(per_rule.items(), key=lambda item: (-item[1], item[0])):
        print(f"| {code} | {count:,} | {alone[code]:,} |")


def ecolint_stages(tree: Path, kept: dict[str, list[str]] | None = None) -> tuple[float, Counter, Counter]:
    """The whole check's CPU time, and each stage's time and number of calls; with ``kept``, the rules the
    pre-pass keeps for each file (see :func:`record_kept`)."""
    spent, calls = Counter(), Counter()
    for module, attribute, label in STAGES:
        wrap(spent, calls, module, attribute, label)
    if kept is not None:
        record_kept(kept)
    from ecolint.cli import main

    start = time.process_time()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        try:
            main(["check", "--no-config", "--no-cache", "--exit-zero", "--quiet", "-j", "1", str(tree)],
                 standalone_mode=False)
        except SystemExit:
            pass
    return time.process_time() - start, spent, calls


def cpython_parse(tree: Path) -> float:
    """CPU seconds of ``ast.parse`` on every ``.py`` file of the tree (reading them not counted)."""
    texts = []
    for path in sorted(tree.rglob("*.py")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts.append(path.read_text(encoding="utf-8"))
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text in texts:
            with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
                ast.parse(text)
    return time.process_time() - start


def ruff_cpu(tree: Path) -> float | None:
    """CPU seconds (its threads included) of ``ruff check --select ALL`` on the tree, or None without ruff."""
    from speed import RUFF_COMMAND, expand, find_executable

    exe = find_executable("ruff")
    if exe is None:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(expand(RUFF_COMMAND, {"ruff": exe, "tree": str(tree)}), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", nargs="?", type=Path, help="default: the transformers package of speed.py")
    parser.add_argument("--no-ruff", action="store_true", help="do not time ruff")
    parser.add_argument("--kept", action="store_true",
                        help="also print, per rule, how many files the pre-pass keeps for libcst (and for it alone)")
    args = parser.parse_args(argv)
    if args.tree is not None and not args.tree.is_dir():
        parser.error(f"{args.tree}: not a directory")
    if args.tree is None:
        import speed

        args.tree = speed.fetch_transformers()
    kept: dict[str, list[str]] | None = {} if args.kept else None
    total, spent, calls = ecolint_stages(args.tree, kept)
    parse = cpython_parse(args.tree)
    ruff = None if args.no_ruff else ruff_cpu(args.tree)
    print(f"| stage (ecolint check -j 1, {args.tree.name}) | CPU s | calls | share |")
    print("|---|---:|---:|---:|")
    for label in dict.fromkeys(label for _, _, label in STAGES):  # a stage may wrap several functions
        print(f"| {label} | {spent[label]:.2f} | {calls[label]:,} | {spent[label] / total:.0%} |")
    print(f"| whole check | {total:.2f} | | 100% |")
    print()
    print(f"CPython's ast.parse alone on every file: {parse:.2f} s of CPU")
    if ruff is not None:
        print(f"ruff check --select ALL: {ruff:.2f} s of CPU; ecolint / ruff = {total / ruff:.2f}, "
              f"CPython's parse alone / ruff = {parse / ruff:.2f}")
    if kept is not None:
        print()
        print_kept(kept)
    return 0


if __name__ == "__main__":
    sys.exit(main())
