"""flake8 plugin: ecolint's rules as flake8 ``LLM`` codes.

flake8 hands plugins an ``ast`` tree; ecolint's checks work on a libcst tree, so the checker
ignores the ``ast`` tree and lints the file's lines through the same engine as ``ecolint check``.
flake8 then applies its own ``--select``/``--ignore``/``--per-file-ignores`` and ``# noqa``.

ecolint reads ``# noqa`` comments itself too, so flake8's ``--disable-noqa`` does not bring back
LLM codes silenced by one.

Rules that are off by default in ecolint are added to flake8's default ignore list: a plain
``flake8`` run reports what ``ecolint check`` reports, and ``--select LLM`` or
``--extend-select LLM302`` turn them on, as ``ecolint check --select LLM`` does.

Options (command line or the ``[flake8]`` section of setup.cfg, tox.ini or .flake8):

``--eco-gpu NAME`` / ``eco-gpu = NAME``
    The deployment GPU, for the rules that compare a model with the GPU's memory.
``--eco-transformers-version VERSION`` / ``eco-transformers-version = VERSION``
    The transformers version to lint for (like ``--transformers-version``); default: the
    ``transformers-version`` of the config, else the project's pin, else the installed version.
``--eco-config PATH`` / ``eco-config = PATH``
    A pyproject.toml whose ``[tool.ecolint]`` table gives the rule options and the GPU. Without
    it, the nearest pyproject.toml with such a table above each file is used. Selection keys of
    that table are not read: flake8's own selection decides which codes are reported.

Installing ecolint must not slow down flake8 runs that have nothing for it: this module loads only
the configuration code and the rule files' triggers. A file the text prefilter rejects, or a run
whose ``--select`` cannot report an LLM code, never loads libcst, the engine or the energy data.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecolint import __version__
from ecolint.config import SETTINGS, ConfigError, find_config, load_settings
from ecolint.diagnostics import IO_ERROR, SYNTAX_ERROR
from ecolint.prefilter import could_match
from ecolint.rule_schema import rule_data

if TYPE_CHECKING:
    from ecolint.energy.dataset import GpuSpec
    from ecolint.engine import LintOptions

ENGINE_CODES = (SYNTAX_ERROR, IO_ERROR)  # flake8 reports unparsable files itself (E999, E902)
FLAKE8_SETTINGS = [setting for setting in SETTINGS if setting.flake8]  # offered as --eco-KEY / eco-KEY


@lru_cache(maxsize=64)
def _config_values(config_file: str | None) -> tuple[tuple, GpuSpec | None, str | None, str | None]:
    """Rule options, GPU, calibration file and transformers-version of one ``[tool.ecolint]`` table (none:
    the defaults)."""
    if config_file is None:
        return (), None, None, None
    settings = load_settings(Path(config_file), Path(config_file).parent)
    calibration = str(settings.calibration) if settings.calibration else None
    return settings.frozen_rule_options(), settings.gpu, calibration, settings.transformers_version


def _may_select_a_rule(select: list[str] | None, extend_select: list[str] | None) -> bool:
    """Whether flake8's selection can report one of the rules' codes (flake8 selects by code prefix).

    Without ``--select`` flake8 selects every plugin's codes; with it, only those it and
    ``--extend-select`` name."""
    if select is None:
        return True
    selectors = [selector.strip().upper() for selector in [*select, *(extend_select or [])] if selector.strip()]
    return any(code.startswith(selector) for code in rule_data() for selector in selectors)


@lru_cache(maxsize=1024)
def _nearest_config(folder: str) -> str | None:
    """The nearest pyproject.toml with a [tool.ecolint] table, looked up once per folder."""
    found = find_config(Path(folder))
    return str(found) if found else None


class EcolintChecker:
    """The flake8 checker: one instance per file."""

    name = "ecolint"
    version = __version__

    gpu: GpuSpec | None = None
    config_file: str | None = None
    transformers_version: str | None = None  # --eco-transformers-version (from its declaration in SETTINGS)
    selected: bool = True  # False when flake8's --select / --extend-select can report no LLM code

    def __init__(self, tree: Any, lines: list[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, parser: Any) -> None:
        for setting in FLAKE8_SETTINGS:  # --eco-gpu, from the gpu setting's declaration
            parser.add_option(f"--eco-{setting.key}", metavar=setting.metavar, default=None, parse_from_config=True,
                              help=f"ecolint: {setting.help[0].lower()}{setting.help[1:]}")
        parser.add_option(
            "--eco-config", metavar="PATH", default=None, parse_from_config=True,
            help="ecolint: read rule options and the GPU from this pyproject.toml "
                 "(default: the nearest one with a [tool.ecolint] table).",
        )
        parser.extend_default_ignore(sorted(code for code, data in rule_data().items() if not data["default"]))

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        for setting in FLAKE8_SETTINGS:
            value = getattr(options, f"eco_{setting.attribute}", None)
            try:
                parsed = setting.read(value, f"eco-{setting.key}", Path.cwd()) if value else None
                setattr(cls, setting.attribute, parsed)
            except ConfigError as error:
                raise ValueError(str(error)) from None
        config = getattr(options, "eco_config", None)
        if config:
            path = Path(config).resolve()
            if not path.is_file():
                raise ValueError(f"eco-config: no such file: {config}")
            cls.config_file = str(path)
        else:
            cls.config_file = None
        cls.selected = _may_select_a_rule(getattr(options, "select", None), getattr(options, "extend_select", None))

    def _options(self) -> LintOptions:
        from ecolint.engine import LintOptions

        config = self.config_file
        if config is None and self.filename not in ("stdin", "-"):
            config = _nearest_config(str(Path(self.filename).absolute().parent))
        rule_options, config_gpu, calibration, config_target = _config_values(config)
        # flake8 shows no fixes: they are not computed
        return LintOptions(frozenset(rule_data()), rule_options, self.gpu or config_gpu, calibration, fixes=False,
                           transformers_version=self.transformers_version or config_target)

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        source = "".join(self.lines)
        if not self.selected or not could_match(source, frozenset(rule_data())):
            return  # nothing to report: the engine and libcst are not even loaded
        from ecolint.workspace import SourceFile
        from ecolint.workspace.workspace import analyze_source

        path = None if self.filename in ("stdin", "-") else Path(self.filename)
        report = analyze_source(source, SourceFile(path, self.filename), self._options())
        for diagnostic in report["diagnostics"]:
            if diagnostic["code"] in ENGINE_CODES:
                continue  # libcst could not parse the file; flake8's own E999 says why
            location = diagnostic["location"]
            yield (location["row"], location["column"] - 1, f"{diagnostic['code']} {diagnostic['message']}",
                   type(self))
