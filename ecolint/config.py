"""Settings from ``[tool.ecolint]`` in pyproject.toml, merged with the command line."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, make_dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecolint.codes import is_legacy, modernize, warn_legacy
from ecolint.diagnostics import IO_ERROR, SYNTAX_ERROR

# The rule files (PyYAML), the GPU table and the rules with their penalties are loaded only when a
# run needs them: ``ecolint --version`` and the advisor commands never read them.
if TYPE_CHECKING:
    from ecolint.energy.dataset import GpuSpec

# Test code (gitignore-style patterns): the inference-energy rules do not apply there, and fixes leave it alone.
DEFAULT_TEST_PATHS = ("tests/", "test/", "testing/", "test_*.py", "*_test.py", "conftest.py")
ENGINE_CODES = (SYNTAX_ERROR, IO_ERROR)
# The batch size batching fixes (LLM201, LLM202) write: the batch of the measured rows.
DEFAULT_FIX_BATCH_SIZE = 8
DEFAULT_MAX_FILE_SIZE = 4 << 20  # bytes; larger files are reported (E902) and not analyzed
_SIZE = re.compile(r"\s*(\d+)\s*([kmg]i?b?|b)?\s*", re.IGNORECASE)


class ConfigError(Exception):
    """A configuration or command-line value ecolint cannot use; the message is one line."""


Parser = Callable[[Any, str, str, Path], Any]  # (value, where, key, folder) -> the setting's value


@dataclass(frozen=True)
class Setting:
    """One setting, declared once: the ``[tool.ecolint]`` key, the ``ecolint check`` option (``--key``) and the
    flake8 option (``--eco-key``) are derived from it.

    ``parse(value, where, key, folder)`` checks a value from the config file (``where`` is the file's name)
    or the command line (``where`` is None) and turns it into the setting's value; paths are relative to
    ``folder`` (the config file's folder, or the current directory)."""

    key: str
    type: Any
    parse: Parser
    help: str
    default: Callable[[], Any]
    command_line: str | None = None  # "value", "flag" (on when given), "codes" (repeatable, comma-separated)
    flake8: bool = False
    metavar: str | None = None
    click_type: Any = None  # a click parameter type for the option (click.Path(...)), when it needs one

    @property
    def attribute(self) -> str:
        return self.key.replace("-", "_")

    @property
    def option(self) -> str:
        return f"--{self.key}"

    def read(self, value: Any, where: str | None, folder: Path) -> Any:
        return self.parse(value, where, self.key, folder)


def label(where: str | None, key: str) -> str:
    """How an error names a setting: ``pyproject.toml: max-file-size``, or ``--max-file-size``."""
    return f"--{key}" if where is None else f"{where}: {key}"


def _strings(value: Any, where: str | None, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{label(where, key)} must be a list of strings")
    return list(value)


def _selectors(value: Any, where: str | None, key: str, folder: Path) -> list[str]:
    return check_selectors(_strings(value, where, key), where or f"--{key}")


def _patterns(value: Any, where: str | None, key: str, folder: Path) -> list[str]:
    return _strings(value, where, key)


def _per_file_ignores(value: Any, where: str | None, key: str, folder: Path) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{label(where, key)} must be a table of pattern = [codes]")
    return {pattern: check_selectors(codes if isinstance(codes, list) else [codes], f"{where} {key}")
            for pattern, codes in value.items()}


def _flag(value: Any, where: str | None, key: str, folder: Path) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{label(where, key)} must be true or false")
    return value


def _path(value: Any, where: str | None, key: str, folder: Path) -> Path:
    return (folder / str(value)).resolve()


def _gpu(value: Any, where: str | None, key: str, folder: Path) -> GpuSpec:
    return parse_gpu(str(value), where or f"--{key}")


def _size(value: Any, where: str | None, key: str, folder: Path) -> int:
    return parse_size(value, label(where, key))


def _batch_size(value: Any, where: str | None, key: str, folder: Path) -> int:
    return parse_batch_size(value, label(where, key))


def _target_version(value: Any, where: str | None, key: str, folder: Path) -> str:
    from ecolint.project_versions import parse_target_version

    return parse_target_version(value, label(where, key))


def _rule_options(value: Any, where: str | None, key: str, folder: Path) -> dict[str, dict[str, Any]]:
    return parse_rule_options(value, where or f"--{key}")


SETTINGS = (
    Setting("select", list, _selectors, "Only these rule codes or prefixes (comma-separated, ALL).", lambda: None,
            command_line="codes", metavar="CODES"),
    Setting("extend-select", list, _selectors, "Add these codes to the selection.", list,
            command_line="codes", metavar="CODES"),
    Setting("ignore", list, _selectors, "Turn these codes off.", list, command_line="codes", metavar="CODES"),
    Setting("per-file-ignores", dict, _per_file_ignores, "Codes turned off in files matching a pattern.", dict),
    Setting("test-paths", list, _patterns, "Test code (gitignore-style patterns): the rules do not apply there.",
            lambda: list(DEFAULT_TEST_PATHS)),
    Setting("exclude", list, _patterns, "Paths not linted (replaces the default exclusions).", lambda: None),
    Setting("extend-exclude", list, _patterns, "Paths not linted, besides the default exclusions.", list),
    Setting("respect-gitignore", bool, _flag, "Skip files that .gitignore ignores.", lambda: True),
    Setting("force-exclude", bool, _flag, "Apply exclusions to paths named on the command line too.", lambda: False,
            command_line="flag"),
    Setting("gpu", "GpuSpec", _gpu, "The deployment GPU (for LLM103/LLM107), e.g. rtx4090d, a800, h100.",
            lambda: None, command_line="value", flake8=True, metavar="NAME"),
    Setting("options", dict, _rule_options, "Rule options: [tool.ecolint.options.LLM102] max-params-b = 3.", dict),
    Setting("fixable", list, _selectors, "Only these codes are fixed.", lambda: None),
    Setting("unfixable", list, _selectors, "These codes are never fixed.", list),
    Setting("unsafe-fixes", bool, _flag, "Also apply and show unsafe fixes.", lambda: False),
    Setting("calibration", Path, _path, "Penalties from this `ecolint calibrate` file (measured on your GPU).",
            lambda: None, command_line="value", metavar="FILE", click_type="file"),
    Setting("cache-dir", Path, _path, "Where to keep the cache (default .ecolint_cache).", lambda: None,
            command_line="value", click_type="folder"),
    Setting("max-file-size", int, _size,
            "Skip (and report) larger files, e.g. 4MB, 512KB; 0: no limit (default 4MB).",
            lambda: DEFAULT_MAX_FILE_SIZE, command_line="value", metavar="SIZE"),
    Setting("fix-batch-size", int, _batch_size,
            "The batch size the batching fixes (LLM201, LLM202) write (default 8, the measured rows).",
            lambda: DEFAULT_FIX_BATCH_SIZE, command_line="value", metavar="N"),
    Setting("transformers-version", str, _target_version,
            "The transformers version to lint for, e.g. 5.2 (default: the project's pin, else the version installed "
            "where ecolint runs).", lambda: None, command_line="value", flake8=True, metavar="VERSION"),
)
SETTING = {setting.key: setting for setting in SETTINGS}
KNOWN_KEYS = frozenset(SETTING)


class _SettingsMethods:
    def enabled_codes(self) -> frozenset[str]:
        return select_codes(self.select, self.extend_select, self.ignore)

    def frozen_rule_options(self) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
        """The per-rule options in the hashable, ordered form ``LintOptions`` keeps."""
        return tuple(sorted((code, tuple(sorted(values.items()))) for code, values in self.options.items()))


# Everything a run needs to know, after the config file and the command line are merged: the project's
# root, the config file read (if any), and one field per declared setting.
Settings = make_dataclass(
    "Settings",
    [("root", Path), ("config_file", "Path | None", field(default=None)),
     *((setting.attribute, setting.type, field(default_factory=setting.default)) for setting in SETTINGS)],
    bases=(_SettingsMethods,),
    namespace={"__module__": __name__,
               "__doc__": "Everything a run needs to know, after the config file and the command line are merged."},
)


def _all_codes() -> list[str]:
    from ecolint.rule_schema import rule_data

    return [*rule_data(), *ENGINE_CODES]


def check_selectors(selectors: list[str], where: str) -> list[str]:
    """Upper-case code prefixes; an unknown one is an error that names it."""
    codes = _all_codes()
    checked = []
    for raw in selectors:
        selector = str(raw).strip().upper()
        if not selector:
            continue
        if is_legacy(selector):
            warn_legacy(selector, where)
            selector = modernize(selector)
        if selector != "ALL" and not any(code.startswith(selector) for code in codes):
            from difflib import get_close_matches  # for the error only

            close = get_close_matches(selector, codes, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown rule selector {raw!r} in {where}{hint}")
        checked.append(selector)
    return checked


def selector_matches(code: str, selectors) -> bool:
    """Whether a code is named by one of the selectors (a code prefix, or ALL)."""
    return any(selector == "ALL" or code.startswith(selector) for selector in selectors)


def select_codes(select: list[str] | None, extend_select: list[str], ignore: list[str]) -> frozenset[str]:
    """Enabled codes: ``select`` (or the defaults) plus ``extend-select``, minus ``ignore``.

    As in Ruff, the most specific matching selector decides: ``--select LLM1 --ignore LLM101``
    turns off only LLM101, and ``--ignore LLM2 --extend-select LLM201`` keeps LLM201. ``E999`` and
    ``E902`` (files that cannot be parsed or read) stay on unless ignored by name.
    """
    from ecolint.rule_schema import rule_data

    enabled = set()
    for code in ENGINE_CODES:
        if not any(selector != "ALL" and code.startswith(selector) for selector in ignore):
            enabled.add(code)
    for code, data in rule_data().items():  # the rule files' data: no penalties needed to choose codes
        decision = _most_specific(code, [*(select or []), *extend_select], ignore)
        if decision is None:
            decision = bool(data["default"]) if select is None else False
        if decision:
            enabled.add(code)
    return frozenset(enabled)


def _most_specific(code: str, enabling: list[str], disabling: list[str]) -> bool | None:
    best_length, decision = -1, None
    for selectors, value in ((enabling, True), (disabling, False)):
        for selector in selectors:
            if selector == "ALL" or code.startswith(selector):
                length = 0 if selector == "ALL" else len(selector)
                if length > best_length or (length == best_length and not value):
                    best_length, decision = length, value
    return decision


def _tomllib():
    """The TOML reader, loaded when a pyproject.toml is found (about 3 ms)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


@lru_cache(maxsize=16)
def toml_data(text: str) -> dict[str, Any]:
    """A TOML text parsed, once per process: the settings and the library pins read the same pyproject.toml.
    Raises the reader's ``TOMLDecodeError``; the callers only read the data."""
    return _tomllib().loads(text)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.ecolint] table, from ``start`` upwards."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
                data = toml_data(text)
            except (OSError, UnicodeDecodeError):
                continue
            except _tomllib().TOMLDecodeError:
                if "tool.ecolint" in text:
                    return candidate  # loading it reports the syntax error
                continue
            if "ecolint" in data.get("tool", {}):
                return candidate
    return None


def load_table(path: Path) -> dict[str, Any]:
    try:
        data = toml_data(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    except (_tomllib().TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    table = data.get("tool", {}).get("ecolint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.ecolint] must be a table")
    return table


def settings_from_table(table: dict[str, Any], root: Path, where: str) -> Settings:
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        from difflib import get_close_matches  # for the error only

        hints = [get_close_matches(key, sorted(KNOWN_KEYS), n=1) for key in unknown]
        named = ", ".join(
            f"{key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "") for key, hint in zip(unknown, hints)
        )
        raise ConfigError(f"{where}: unknown key {named} in [tool.ecolint]")
    settings = Settings(root=root)
    for setting in SETTINGS:
        if setting.key in table:
            setattr(settings, setting.attribute, setting.read(table[setting.key], where, root))
    return settings


def parse_batch_size(value: Any, where: str) -> int:
    """A batch size of at least 2 (``fix-batch-size``): a batch of one would batch nothing."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        raise ConfigError(f"{where} must be a whole number of at least 2")
    return value


def parse_size(value: Any, where: str) -> int:
    """A size in bytes from ``4194304``, ``"4MB"``, ``"512 KiB"`` or ``"1g"`` (0: no limit)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{where} must be a size such as 4MB, 512KB or a number of bytes (0: no limit)")
    unit = (match.group(2) or "b")[0].lower()
    return int(match.group(1)) << {"b": 0, "k": 10, "m": 20, "g": 30}[unit]


def parse_gpu(name: str, where: str) -> GpuSpec:
    from ecolint.energy.dataset import UnknownGpuError, resolve_gpu

    try:
        return resolve_gpu(name)
    except UnknownGpuError as error:
        raise ConfigError(f"{where}: {error}") from None


def parse_rule_options(value: Any, where: str) -> dict[str, dict[str, Any]]:
    """``[tool.ecolint.options.LLM102] max-params-b = 3`` -> {"LLM102": {"max_params_b": 3}}."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: options must be a table of rule code = {{option = value}}")
    from ecolint.rules import all_rules

    rules = all_rules()
    parsed: dict[str, dict[str, Any]] = {}
    for code, options in value.items():
        rule = rules.get(str(code).upper())
        if rule is None:
            raise ConfigError(f"{where}: options for unknown rule {code!r}")
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: options.{code} must be a table")
        for name, option_value in options.items():
            key = name.replace("-", "_")
            if key not in rule.options:
                valid = ", ".join(option.replace("_", "-") for option in rule.options) or "none"
                raise ConfigError(f"{where}: unknown option {name!r} for {rule.code} (valid: {valid})")
            default = rule.options[key]
            if isinstance(default, (int, float)) and (
                not isinstance(option_value, (int, float)) or isinstance(option_value, bool)
            ):
                raise ConfigError(f"{where}: option {name!r} of {rule.code} must be a number")
            parsed.setdefault(rule.code, {})[key] = option_value
    return parsed


def load_settings(config_file: Path | None, search_from: Path, use_config: bool = True) -> Settings:
    """Settings from an explicit file, the nearest pyproject.toml, or the defaults."""
    if not use_config:
        return Settings(root=Path.cwd())
    if config_file is None:
        config_file = find_config(search_from)
    if config_file is None:
        return Settings(root=Path.cwd())
    config_file = config_file.resolve()
    table = load_table(config_file)
    settings = settings_from_table(table, config_file.parent, str(config_file.name))
    settings.config_file = config_file
    return settings
