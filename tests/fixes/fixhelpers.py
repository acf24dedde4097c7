"""Shared helpers for the fix tests: the codemod pairs and how each one is run."""

from __future__ import annotations

import re
from pathlib import Path

from ecolint.config import select_codes
from ecolint.engine import LintOptions
from ecolint.workspace.sources import decode_source
from ecolint.fixes import FixResult, fix_source

ROOT = Path(__file__).resolve().parents[2]
FIXES = ROOT / "fixtures" / "fixes"
PAIRS = sorted(FIXES.glob("LLM*/*.in.py"))
_ARGS = re.compile(rb"#\s*ecolint-args:\s*(.*?)\s*$", re.MULTILINE)


def output_of(case: Path) -> Path:
    return case.with_name(case.name.replace(".in.py", ".out.py"))


def case_args(case: Path) -> list[str]:
    """The command-line arguments a pair is run with (its ``# ecolint-args:`` line)."""
    match = _ARGS.search(case.read_bytes().split(b"\n", 2)[0] if b"ecolint-args" in case.read_bytes()[:200] else b"")
    return match.group(1).decode().split() if match else []


def case_options(args: list[str]) -> tuple[LintOptions, bool]:
    codes: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--select":
            codes.extend(args[index + 1].split(","))
    return LintOptions(select_codes(codes or None, [], [])), "--unsafe-fixes" in args


def read_text(path: Path) -> str:
    return decode_source(path.read_bytes())


def fix_case_text(text: str, args: list[str], filename: str = "case.py") -> FixResult:
    options, unsafe = case_options(args)
    return fix_source(text, filename, options, unsafe)
