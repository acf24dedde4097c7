"""Write each rule fixture's .expected file from ecolint's current output (snapshot style).

One line per diagnostic, ``row:col: CODE message``; the message includes the penalty text. A
fixture's first line may hold options: ``# ecolint-args: --gpu a800``. Name codes or fixture
files to update only those; ``--check`` lists the stale files instead of writing them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from click.testing import CliRunner

from ecolint.cli import main as cli

# The expected files pin messages that must not depend on the transformers installed beside the script (as the
# tests run them, tests/conftest.py): the installed-version fallback is off.
os.environ.setdefault("ECOLINT_IGNORE_INSTALLED", "1")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def fixture_args(path: Path) -> list[str]:
    """The options on a fixture's ``# ecolint-args:`` first line."""
    lines = path.read_text(encoding="utf-8").splitlines() or [""]
    match = re.match(r"#\s*ecolint-args:\s*(.*)", lines[0])
    return match.group(1).split() if match else []


def diagnostic_line(item: dict) -> str:
    return f"{item['location']['row']}:{item['location']['column']}: {item['code']} {item['message']}"


def lint_fixture(case: Path) -> tuple[list[str], int]:
    """The ``row:col: CODE message`` lines ecolint gives for a fixture, and its exit code."""
    args = ["check", "--no-config", "--no-cache", "--select", case.parent.name, "--output-format", "json"]
    result = CliRunner().invoke(cli, [*args, *fixture_args(case), str(case)], catch_exceptions=False)
    return [diagnostic_line(item) for item in json.loads(result.stdout)], result.exit_code


def cases(fixtures: Path, names: list[str]) -> list[Path]:
    """The fixtures named (codes such as LLM101, or files), or all of them."""
    found = sorted(fixtures.glob("LLM*/*.py"))
    if not names:
        return found
    wanted = {Path(name).resolve() for name in names if name.endswith(".py")}
    return [case for case in found if case.parent.name in names or case.resolve() in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="rule codes or fixture files (default: all)")
    parser.add_argument("--check", action="store_true", help="list stale .expected files; write nothing")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="the fixtures folder")
    options = parser.parse_args(argv)
    stale = []
    for case in cases(options.fixtures, options.names):
        lines, _ = lint_fixture(case)
        text = "".join(f"{line}\n" for line in lines)
        expected = case.with_suffix(".expected")
        if not expected.is_file() or expected.read_text(encoding="utf-8") != text:
            stale.append(expected)
            if not options.check:
                expected.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if options.check else 'wrote'}: {path}")
    return 1 if options.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
