"""Shared helpers: run the real command line in-process and read its output."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from ecolint.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<column>\d+): (?P<code>[A-Z]+\d+) ")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def found(self) -> list[str]:
        """``row:column: CODE`` for every diagnostic line of concise output."""
        return [f"{m['row']}:{m['column']}: {m['code']}" for m in map(LINE.match, self.stdout.splitlines()) if m]


def run_cli(*args: str, stdin: str | bytes | None = None) -> Result:
    runner = CliRunner()
    outcome = runner.invoke(main, list(args), input=stdin, catch_exceptions=False)
    return Result(outcome.exit_code, outcome.stdout, outcome.stderr)
