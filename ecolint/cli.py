"""The ``ecolint`` command line."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from ecolint import __version__
from ecolint.config import SETTINGS, ConfigError, Settings, check_selectors, load_settings
from ecolint.diagnostics import Diagnostic
from ecolint.reporters import MACHINE_FORMATS, REPORTERS, Summary

# Linting a file that no rule can match loads neither libcst, the rules' penalties, the energy data
# nor the advisor: heavy modules are imported inside the commands and functions that need them.

# Sub-commands that live in other modules, imported only when used: linting never pays for them.
# Each module exposes ``COMMANDS``, a list of click commands.
LAZY_COMMANDS = {
    "estimate": "ecolint.advisor.cli",
    "optimize": "ecolint.advisor.cli",
    "compare": "ecolint.advisor.cli",
    "diagnose": "ecolint.advisor.cli",
    "data": "ecolint.advisor.cli",
    "measure": "ecolint.measure.cli",
    "calibrate": "ecolint.measure.cli",
}
EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def fail(message: str) -> "NoReturn":  # noqa: F821
    click.echo(f"ecolint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


class EcolintGroup(click.Group):
    """``ecolint PATHS`` means ``ecolint check PATHS``; errors are one line on stderr, exit 2."""

    def list_commands(self, ctx):
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        if name not in self.commands and name in LAZY_COMMANDS:
            module = importlib.import_module(LAZY_COMMANDS[name])
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(name)

    def parse_args(self, ctx, args):
        known = (*self.commands, *LAZY_COMMANDS, "--help", "-h", "--version")
        if not args or args[0] not in known:
            mistyped = _mistyped_command(args[0], self.list_commands(ctx)) if args else None
            if mistyped:
                raise click.UsageError(f"unknown command {args[0]!r} (did you mean {mistyped!r}?)", ctx)
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            super().main(args, prog_name or "ecolint", complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help() if error.ctx else str(error))
            sys.exit(EXIT_ERROR)
        except click.ClickException as error:
            fail(error.format_message())
        except click.exceptions.Abort:
            click.echo("ecolint: aborted", err=True)
            sys.exit(130)
        except ConfigError as error:
            fail(str(error))
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(EXIT_ERROR)
        except Exception as error:
            from ecolint.rule_schema import RuleError

            if isinstance(error, RuleError):  # a broken rule file
                fail(str(error))
            fail(f"internal error: {type(error).__name__}: {error} (please report this)")  # a bug: one line
        sys.exit(EXIT_CLEAN)


def _mistyped_command(word: str, commands: list[str]) -> str | None:
    """The command ``word`` was probably meant to be, when it is no path and looks like a command name."""
    if word.startswith("-") or not word.replace("-", "").replace("_", "").isalnum() or Path(word).exists():
        return None  # an option, a path with a dot or a slash, or a file that is there: not a command
    from difflib import get_close_matches

    close = get_close_matches(word.lower(), commands, n=1, cutoff=0.6)
    return close[0] if close else None


@click.group(cls=EcolintGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecolint")
def main() -> None:
    """Find and fix energy-wasting patterns in code that runs large language models."""


def _selectors(values: tuple[str, ...], flag: str) -> list[str]:
    items = [item for value in values for item in value.split(",")]
    return check_selectors(items, flag)


CLICK_TYPES = {"file": click.Path(dir_okay=False), "folder": click.Path(file_okay=False)}


def setting_options(function):
    """The options of the settings that the command line can give (``--max-file-size``, ``--gpu``, ...), each
    derived from its declaration in ``ecolint.config.SETTINGS``."""
    for setting in reversed([setting for setting in SETTINGS if setting.command_line]):
        if setting.command_line == "codes":
            option = click.option(setting.option, multiple=True, metavar=setting.metavar, help=setting.help)
        elif setting.command_line == "flag":
            option = click.option(setting.option, is_flag=True, help=setting.help)
        else:
            option = click.option(setting.option, metavar=setting.metavar, type=CLICK_TYPES.get(setting.click_type),
                                  help=setting.help)
        function = option(function)
    return function


def build_settings(paths: tuple[str, ...], config: str | None, no_config: bool, given: dict,
                   stdin_filename: str | None = None) -> Settings:
    """Settings from the nearest pyproject.toml (or ``--config``), then the command line (``given``: the
    values of the setting options, by attribute name)."""
    if config is not None and no_config:
        raise ConfigError("--config and --no-config cannot be used together")
    anchor = Path(stdin_filename) if stdin_filename else Path(next((p for p in paths if p != "-"), "."))
    anchor = anchor if anchor.exists() else Path.cwd()
    settings = load_settings(Path(config) if config else None, anchor, use_config=not no_config)
    select, extend_select, ignore = given.get("select"), given.get("extend_select"), given.get("ignore")
    if select:  # as in Ruff, a command-line selection starts afresh: the config's ignores no longer apply
        settings.select = _selectors(select, "--select")
        settings.extend_select, settings.ignore = [], []
    if extend_select:
        settings.extend_select = [*settings.extend_select, *_selectors(extend_select, "--extend-select")]
    if ignore:
        settings.ignore = [*settings.ignore, *_selectors(ignore, "--ignore")]
    for setting in SETTINGS:
        value = given.get(setting.attribute)
        if setting.command_line == "flag" and value:
            setattr(settings, setting.attribute, True)
        elif setting.command_line == "value" and value is not None:
            setattr(settings, setting.attribute, setting.read(value, None, Path.cwd()))
    return settings


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@setting_options
@click.option("--config", type=click.Path(dir_okay=False), help="Read settings from this pyproject.toml.")
@click.option("--no-config", is_flag=True, help="Ignore configuration files.")
@click.option(
    "--output-format",
    type=click.Choice(sorted(REPORTERS)),
    default="concise",
    show_default=True,
    help="How diagnostics are printed.",
)
@click.option(
    "--statistics", "show_statistics", is_flag=True, help="Count diagnostics per rule instead of listing them."
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when diagnostics are found.")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only, no summary.")
@click.option("--stdin-filename", metavar="PATH", help="The file name to report for source read from stdin (-).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: one per CPU).")
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes (with '-', print the fixed source).")
@click.option(
    "--unsafe-fixes/--no-unsafe-fixes",
    default=None,
    help="Also apply and show unsafe fixes (default: the unsafe-fixes setting).",
)
@click.option("--diff", "show_diff", is_flag=True, help="Print a diff of what --fix would change; write nothing.")
@click.option("--show-fixes", is_flag=True, help="List the fixes that were applied.")
def check(
    paths,
    config,
    no_config,
    output_format,
    show_statistics,
    exit_zero,
    quiet,
    stdin_filename,
    no_cache,
    jobs,
    fix,
    unsafe_fixes,
    show_diff,
    show_fixes,
    **given,
):
    """Lint PATHS (files or directories; default '.'; '-' reads stdin)."""
    paths = paths or (".",)
    settings = build_settings(paths, config, no_config, given, stdin_filename)
    if fix or show_diff:
        from ecolint.fixes.command import fix_command

        sys.exit(
            fix_command(
                paths,
                settings,
                unsafe_fixes=unsafe_fixes,
                diff=show_diff,
                show_fixes=show_fixes,
                stdin_filename=stdin_filename,
                use_cache=not no_cache,
                jobs=jobs,
                output_format=output_format,
                show_statistics=show_statistics,
                quiet=quiet,
                exit_zero=exit_zero,
                emit=emit,
            )
        )
    progress = progress_display(output_format, quiet)
    try:
        result = lint_paths(paths, settings, stdin_filename, use_cache=not no_cache, jobs=jobs,
                            practices=output_format == "audit", progress=progress)
    finally:
        if progress is not None:
            progress.close()
    diagnostics = result.diagnostics
    unsafe_fixable = 0
    if any(diagnostic.fix is not None for diagnostic in diagnostics):  # the fix policy loads the fixers
        from ecolint.fixes.command import policy_for, show_available

        unsafe_fixable = show_available(diagnostics, policy_for(settings, unsafe_fixes))
    summary = Summary(files_checked=result.files_checked, quiet=quiet, unsafe_fixable=unsafe_fixable,
                      practices=result.practices)
    emit(diagnostics, summary, output_format, show_statistics)
    sys.exit(EXIT_FOUND if diagnostics and not exit_zero else EXIT_CLEAN)


def lint_paths(paths, settings: Settings, stdin_filename: str | None, use_cache: bool, jobs: int | None,
               practices: bool = False, progress=None):
    """Lint through the workspace: the run's diagnostics, sorted, with its practices and counts.

    ``progress(done, total)``, when given, is called as files are done."""
    from ecolint.workspace import Workspace

    workspace = Workspace(settings, use_cache=use_cache, jobs=jobs, practices=practices)
    return workspace.lint(paths, stdin_filename, progress=progress)


def progress_display(output_format: str, quiet: bool, stream=None):
    """The progress line of a long run, on a terminal only; None when there is nothing to show it on."""
    from ecolint.progress import ProgressLine, wants_progress

    stream = sys.stderr if stream is None else stream
    if quiet or output_format in MACHINE_FORMATS or not wants_progress(stream):
        return None
    return ProgressLine(stream)


def emit(diagnostics: list[Diagnostic], summary: Summary, output_format: str, show_statistics: bool) -> None:
    if show_statistics:
        from ecolint.reporters.concise import render_statistics, statistics

        if output_format == "json":
            import json

            click.echo(json.dumps(statistics(diagnostics), indent=2))
        elif diagnostics:
            click.echo(render_statistics(diagnostics))
        return
    text = REPORTERS[output_format](diagnostics, summary)
    if text:
        click.echo(text)


@main.command("rule")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the rule as JSON.")
def rule_command(code, as_json):
    """Print the documentation of rule CODE (e.g. LLM101, or its name)."""
    from ecolint.rules import all_rules

    rules = all_rules()
    wanted = code.strip()
    rule = rules.get(wanted.upper()) or next((r for r in rules.values() if r.name == wanted.lower()), None)
    if rule is None:
        raise ConfigError(f"unknown rule {code!r}; run 'ecolint rules' for the list")
    if as_json:
        import json

        click.echo(json.dumps(rule.to_dict(), indent=2))
    else:
        click.echo(rule.documentation().rstrip())


@main.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
def rules_command(as_json):
    """List every rule: code, name, default state and fix availability."""
    from ecolint.rules import all_rules

    rules = list(all_rules().values())
    if as_json:
        import json

        click.echo(json.dumps([rule.to_dict() for rule in rules], indent=2))
        return
    click.echo(f"{'code':<8}{'name':<36}{'default':<9}{'fix':<8}summary")
    for rule in rules:
        state = "on" if rule.default_enabled else "off"
        fix = rule.fix_applicability if rule.fixable else "-"
        click.echo(f"{rule.code:<8}{rule.name:<36}{state:<9}{fix:<8}{rule.summary}")


@main.command("clean")
@click.option("--config", type=click.Path(dir_okay=False), help="Read settings from this pyproject.toml.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="The cache folder to remove.")
def clean_command(config, cache_dir):
    """Remove the cache folder (.ecolint_cache)."""
    from ecolint.workspace import cache_folder
    from ecolint.workspace.cache import clear_cache

    settings = load_settings(Path(config) if config else None, Path.cwd())
    folder = Path(cache_dir) if cache_dir else cache_folder(settings)
    removed = clear_cache(folder)
    click.echo(f"Removed {folder}" if removed else f"No cache at {folder}")


@main.command("lsp")
def lsp_command():
    """Run the language server on stdin/stdout (for editors; needs 'ecolint[lsp]')."""
    try:
        from ecolint.lsp.server import serve
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in ("pygls", "lsprotocol"):
            fail("the language server needs pygls: pip install 'ecolint[lsp]'")
        raise
    serve()
