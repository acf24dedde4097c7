"""The library versions a project pins: transformers, bitsandbytes, torch and vllm.

Read from the files nearest to a linted file, walking up its folders: ``requirements*.txt``,
``pyproject.toml`` (PEP 621 dependencies and optional groups, Poetry's tables), ``setup.cfg``,
``setup.py``, ``Pipfile``, ``poetry.lock`` and ``uv.lock``. For each library the nearest folder
that names it wins; within a folder the lowest version any file there allows is kept, since the
code must work with every version the project accepts. The libraries installed next to ecolint
are never looked at. Results are cached per folder (``clear_cache`` forgets them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("transformers", "bitsandbytes", "torch", "vllm")
UNKNOWN = "unknown"
MAX_LEVELS = 40
# The first transformers release whose from_pretrained accepts ``dtype=`` (older ones reject it).
DTYPE_KEYWORD_SINCE = (4, 56)

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(\(?[^;#]*\)?)")
_CLAUSE = re.compile(r"(===|==|~=|>=|<=|!=|>|<|\^|~)?\s*v?([0-9][0-9A-Za-z.*+!-]*)")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")
_LOCK_PACKAGE = re.compile(r'^\[\[package\]\]\s*$', re.MULTILINE)
_TOML_STRING = re.compile(r'^\s*(name|version)\s*=\s*"([^"]*)"', re.MULTILINE)
_QUOTED = re.compile(r"""(['"])([A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*(?:[<>=!~^][^'"]*)?)\1""")


def parse_release(text: str) -> tuple[int, ...] | None:
    """``4.44.2`` -> (4, 44, 2); pre-release and local parts are dropped; None when there is no number."""
    match = _RELEASE.match(text.strip().lstrip("v"))
    return tuple(int(part) for part in match.group().split(".")) if match else None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One library's pin: the lowest version the project allows (None when only an upper bound or
    nothing is given), the requirement as written, and the file it was read from."""

    package: str
    minimum: tuple[int, ...] | None
    spec: str
    source: str

    @property
    def version(self) -> str:
        return ".".join(map(str, self.minimum)) if self.minimum else UNKNOWN

    def describe(self) -> str:
        """``transformers>=4.40 (requirements.txt)``, for messages."""
        return f"{self.package}{self.spec or ''} ({Path(self.source).name})"


@dataclass(frozen=True)
class ProjectVersions:
    """The pins found for a folder, and every pin file that was read (for cache invalidation)."""

    pins: tuple[Pin, ...] = ()
    files: tuple[str, ...] = field(default=())

    def pin(self, package: str) -> Pin | None:
        return next((pin for pin in self.pins if pin.package == package), None)

    def version(self, package: str) -> str:
        """The lowest version the project allows, as text, or ``"unknown"``."""
        pin = self.pin(package)
        return pin.version if pin is not None else UNKNOWN

    def minimum(self, package: str) -> tuple[int, ...] | None:
        pin = self.pin(package)
        return pin.minimum if pin is not None else None

    def at_least(self, package: str, release: tuple[int, ...]) -> bool:
        """Every version the project allows is ``release`` or newer (False when unknown)."""
        minimum = self.minimum(package)
        return minimum is not None and minimum >= release

    def dtype_keyword(self) -> str:
        """The spelling of from_pretrained's dtype keyword every allowed transformers accepts."""
        return "dtype" if self.at_least("transformers", DTYPE_KEYWORD_SINCE) else "torch_dtype"

    def key(self) -> tuple:
        """A hashable summary, for cache keys."""
        return tuple((pin.package, pin.spec, pin.source) for pin in self.pins)


NO_PINS = ProjectVersions()


def minimum_allowed(spec: str) -> tuple[int, ...] | None:
    """The lowest version a requirement's clauses allow (``>=4.40,<5`` -> (4, 40)); None when unbounded below."""
    lowest = None
    for clause in re.split(r"[,|]|\s+", spec.strip().strip("()")):
        match = _CLAUSE.fullmatch(clause.strip())
        if match is None:
            continue
        operator, version = match.group(1) or "==", match.group(2)
        if operator in ("<", "<=", "!="):
            continue
        release = parse_release(version.replace("*", "0"))
        if release is not None and (lowest is None or release > lowest):
            lowest = release  # several lower bounds: all must hold, so the highest is the real minimum
    return lowest


def _requirement(line: str) -> tuple[str, str] | None:
    """``transformers[torch]>=4.40 ; python_version>'3'`` -> ("transformers", ">=4.40")."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    match = _REQUIREMENT.match(line)
    if match is None:
        return None
    return _normal(match.group(1)), match.group(3).strip()


def _requirements(lines, source: str) -> list[Pin]:
    pins = []
    for line in lines:
        found = _requirement(line)
        if found and found[0] in PACKAGES:
            pins.append(Pin(found[0], minimum_allowed(found[1]), found[1], source))
    return pins


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _toml(text: str) -> dict:
    from ecolint.config import toml_data  # parsed once: the settings have read the same pyproject.toml

    try:
        loaded = toml_data(text)
    except (ValueError, TypeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _from_pyproject(text: str, source: str) -> list[Pin]:
    data = _toml(text)
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    lines: list[str] = []
    lines += [item for item in project.get("dependencies", []) if isinstance(item, str)]
    for group in (project.get("optional-dependencies") or {}).values():
        lines += [item for item in group if isinstance(item, str)] if isinstance(group, list) else []
    for group in (data.get("dependency-groups") or {}).values():
        lines += [item for item in group if isinstance(item, str)] if isinstance(group, list) else []
    pins = _requirements(lines, source)
    poetry = (data.get("tool") or {}).get("poetry") if isinstance(data.get("tool"), dict) else None
    if isinstance(poetry, dict):
        tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        groups = (poetry.get("group") or {}).values()
        tables += [group.get("dependencies") for group in groups if isinstance(group, dict)]
        for table in tables:
            pins += _from_table(table, source)
    return pins


def _from_table(table, source: str) -> list[Pin]:
    """Poetry's and Pipfile's ``name = "spec"`` / ``name = {version = "spec"}`` tables."""
    pins = []
    for name, value in (table or {}).items() if isinstance(table, dict) else ():
        package = _normal(name)
        if package not in PACKAGES:
            continue
        spec = value.get("version") if isinstance(value, dict) else value
        if isinstance(spec, str):
            spec = "" if spec.strip() == "*" else spec.strip()
            pins.append(Pin(package, minimum_allowed(spec), spec, source))
    return pins


def _from_setup_cfg(text: str, source: str) -> list[Pin]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    lines: list[str] = []
    if parser.has_option("options", "install_requires"):
        lines += parser.get("options", "install_requires").splitlines()
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            lines += value.splitlines()
    return _requirements(lines, source)


def _from_setup_py(text: str, source: str) -> list[Pin]:
    """Requirement strings written in setup.py (``"transformers>=4.40"``), found as quoted text."""
    return _requirements([match.group(2) for match in _QUOTED.finditer(text)], source)


def _from_lock(text: str, source: str) -> list[Pin]:
    """poetry.lock and uv.lock: each ``[[package]]`` with its exact ``name`` and ``version``."""
    pins = []
    for block in _LOCK_PACKAGE.split(text)[1:]:
        block = block.split("\n[", 1)[0]
        fields = dict(_TOML_STRING.findall(block))
        package = _normal(fields.get("name", ""))
        if package in PACKAGES and fields.get("version"):
            pins.append(Pin(package, parse_release(fields["version"]), f"=={fields['version']}", source))
    return pins


def _pins_in(path: Path) -> list[Pin]:
    text = _read(path)
    if text is None:
        return []
    name, source = path.name, str(path)
    if name == "pyproject.toml":
        return _from_pyproject(text, source)
    if name == "setup.cfg":
        return _from_setup_cfg(text, source)
    if name == "setup.py":
        return _from_setup_py(text, source)
    if name == "Pipfile":
        data = _toml(text)
        return _from_table(data.get("packages"), source) + _from_table(data.get("dev-packages"), source)
    if name in ("poetry.lock", "uv.lock"):
        return _from_lock(text, source)
    return _requirements(text.splitlines(), source)


FIXED_NAMES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "poetry.lock", "uv.lock")


def pin_files(folder: Path) -> list[Path]:
    """The pin files of one folder, in a fixed order."""
    found = [folder / name for name in FIXED_NAMES if (folder / name).is_file()]
    try:
        found += sorted(path for path in folder.glob("requirements*.txt") if path.is_file())
    except OSError:
        pass
    return found


def _lowest(pins: list[Pin]) -> Pin:
    """Of one package's pins in one folder, the one allowing the lowest version (unknown lowest of all)."""
    return min(pins, key=lambda pin: (pin.minimum is not None, pin.minimum or ()))


_FOLDERS: dict[Path, tuple[tuple[Pin, ...], tuple[str, ...]]] = {}
_RESULTS: dict[Path, ProjectVersions] = {}


def _folder_pins(folder: Path) -> tuple[tuple[Pin, ...], tuple[str, ...]]:
    known = _FOLDERS.get(folder)
    if known is None:
        files = pin_files(folder)
        by_package: dict[str, list[Pin]] = {}
        for path in files:
            for pin in _pins_in(path):
                by_package.setdefault(pin.package, []).append(pin)
        pins = tuple(_lowest(found) for _, found in sorted(by_package.items()))
        known = _FOLDERS[folder] = (pins, tuple(str(path) for path in files))
    return known


def project_versions(folder: Path | None) -> ProjectVersions:
    """The pins that apply to the files of ``folder`` (the nearest pin for each library)."""
    if folder is None:
        return NO_PINS
    try:
        folder = folder.absolute()
    except OSError:
        return NO_PINS
    cached = _RESULTS.get(folder)
    if cached is not None:
        return cached
    pins: dict[str, Pin] = {}
    files: list[str] = []
    current = folder
    for _ in range(MAX_LEVELS):
        found, read = _folder_pins(current)
        for pin in found:
            pins.setdefault(pin.package, pin)
        files += read  # all of them: one that names no library now may name one later
        if len(pins) == len(PACKAGES) or (current / ".git").exists() or current.parent == current:
            break
        current = current.parent
    result = _RESULTS[folder] = ProjectVersions(tuple(pins[name] for name in PACKAGES if name in pins),
                                                tuple(dict.fromkeys(files)))
    return result


SETTING_SOURCE = "the transformers-version setting"
INSTALLED_SOURCE = "installed where ecolint runs"


def installed_version(package: str) -> str | None:
    """The version of ``package`` installed in the environment ecolint runs in, from its metadata (the
    package is not imported); flake8 and pre-commit hooks run inside the project's environment. None
    when ``ECOLINT_IGNORE_INSTALLED`` is set (output that does not depend on the environment)."""
    import os

    from ecolint.installed import installed_version as lookup

    if os.environ.get("ECOLINT_IGNORE_INSTALLED"):
        return None

    try:
        return lookup(package)
    except Exception:  # broken metadata
        return None


def parse_target_version(value, where: str) -> str:
    """``"5.2"`` (a version of transformers to lint for); a clear error for anything else."""
    text = str(value).strip() if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""
    if not text or parse_release(text) is None or not re.fullmatch(r"v?\d+(\.\d+)*", text):
        from ecolint.config import ConfigError

        raise ConfigError(f"{where} must be a version number such as 5.2 or 4.57")
    return text.lstrip("v")


def with_transformers_target(versions: ProjectVersions, target: str | None) -> ProjectVersions:
    """The transformers version that decides version-dependent advice: the target given in the settings
    (like Ruff's target-version), else the project's pin, else the version installed where ecolint runs."""
    if target:
        pin = Pin("transformers", parse_release(target), f"=={target}", SETTING_SOURCE)
    elif versions.pin("transformers") is not None:
        return versions
    else:
        installed = installed_version("transformers")
        release = parse_release(installed) if installed else None
        if release is None:
            return versions
        pin = Pin("transformers", release, f"=={'.'.join(map(str, release))}", INSTALLED_SOURCE)
    others = tuple(found for found in versions.pins if found.package != "transformers")
    return ProjectVersions((*others, pin), versions.files)


def versions_for_file(path: Path | None) -> ProjectVersions:
    return project_versions(path.parent if path is not None else None)


def clear_cache() -> None:
    _FOLDERS.clear()
    _RESULTS.clear()
