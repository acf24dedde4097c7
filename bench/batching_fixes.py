#!/usr/bin/env python
"""How many LLM201/LLM202 findings of a tree get a batching fix, why the others get none, and whether
every fixed file parses and is a fixed point (fixing it again changes nothing).

    python bench/batching_fixes.py bench/realworld/files      # after bench/realworld/fetch.py
    python bench/batching_fixes.py TREE --gpu h100 --fix-batch-size 16

Each finding is counted by the shape of its call (``pipeline``, ``vllm``, ``generate``, ``helper``,
... for LLM201; the pipeline or ``DataLoader`` for LLM202), each refusal by its reason.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

import ecolint.checks  # noqa: F401  (registers the fixers)
from ecolint.analysis.facts import collect_facts
from ecolint.config import DEFAULT_FIX_BATCH_SIZE, parse_gpu, select_codes
from ecolint.engine import LintOptions, fix_settings, run_checks
from ecolint.fixes import fix_source
from ecolint.fixes.context import FixContext, NoFix
from ecolint.fixes.registry import FIXERS, check_edits, parses

CODES = ["LLM201", "LLM202"]


def shape(finding) -> str:
    subject = finding.subject
    if finding.code == "LLM201":
        return subject.kind
    return "DataLoader" if subject.loader is not None else "pipeline"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--gpu")
    parser.add_argument("--fix-batch-size", type=int, default=DEFAULT_FIX_BATCH_SIZE)
    args = parser.parse_args(argv)
    gpu = parse_gpu(args.gpu, "--gpu") if args.gpu else None
    options = LintOptions(select_codes(CODES, [], []), gpu=gpu, fix_batch_size=args.fix_batch_size)
    found, fixed, reasons = Counter(), Counter(), Counter()
    broken, files = [], 0
    for path in sorted(args.tree.rglob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
            module = cst.parse_module(source)
        except (UnicodeDecodeError, cst.ParserSyntaxError, RecursionError):
            continue
        findings = run_checks(collect_facts(module), source, path, options, CODES)
        if not findings:
            continue
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        ctx = FixContext(module, source, positions, settings=fix_settings(options, path))
        for finding in findings:
            key = (finding.code, shape(finding))
            found[key] += 1
            try:
                check_edits(ctx, FIXERS[finding.code](ctx, finding).edits)
                fixed[key] += 1
            except NoFix as error:
                reasons[(*key, str(error))] += 1
        result = fix_source(source, path.name, options, True)
        if result.fixed:
            files += 1
            again = fix_source(result.source, path.name, options, True)
            if not result.converged or not parses(result.source) or again.source != result.source:
                broken.append(str(path))
    print(f"{sum(found.values())} findings, {sum(fixed.values())} with a fix; {files} files fixed")
    for key in sorted(found):
        print(f"  {key[0]} {key[1]}: {found[key]} found, {fixed[key]} with a fix")
    print("no fix, by reason:")
    for (code, kind, reason), count in reasons.most_common():
        print(f"  {count:3}  {code} {kind}: {reason}")
    print("fixed files that do not parse or are not a fixed point:", ", ".join(broken) or "none")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
