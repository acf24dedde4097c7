"""Helpers for the advisor tests: run the advisor commands in-process with separate stdout/stderr."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from ecolint.advisor.cli import COMMANDS


@click.group()
def _advisor() -> None:
    """The advisor commands alone, so these tests do not depend on the rest of the CLI."""


for _command in COMMANDS:
    _advisor.add_command(_command)


class Run:
    def __init__(self, result):
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.exception = result.exception

    def json(self) -> dict:
        return json.loads(self.stdout)


@pytest.fixture
def advisor():
    runner = CliRunner()

    def run(*args: str) -> Run:
        return Run(runner.invoke(_advisor, list(args)))

    return run
