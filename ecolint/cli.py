"""The ``ecolint`` command line."""

from __future__ import annotations

import importlib

import click

from ecolint import __version__

# Modules that contribute sub-commands: each exposes ``COMMANDS``, a list of click commands.
COMMAND_MODULES = (
    "ecolint.advisor.cli",
    "ecolint.measure.cli",
)


class DefaultToCheck(click.Group):
    """A group where ``ecolint PATHS`` and ``ecolint --fix PATHS`` mean ``ecolint check ...``."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToCheck, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecolint")
def main() -> None:
    """Find and fix energy-wasting patterns in code that runs large language models."""


def _register_command_modules() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and name.startswith(error.name):
                continue  # that part of ecolint is not installed
            raise
        for command in module.COMMANDS:
            main.add_command(command)


_register_command_modules()
