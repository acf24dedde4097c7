"""No import runs up a floor: the layers of docs/architecture.md, read from every import in ecolint/.

A module may import modules of its own floor and of the floors below it, at the top of the file or
inside a function (a lazy import is still a dependency). A new module must be given a floor here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cli_helpers import ROOT

PACKAGE = ROOT / "ecolint"

# Lowest first. A name stands for the module and, unless it ends in "=", every module below it.
FLOORS = [
    ("base", ["ecolint=", "ecolint.codes", "ecolint.diagnostics", "ecolint.rule_schema", "ecolint.penalties",
              "ecolint.rule_calibration", "ecolint.rule_docs", "ecolint.rules", "ecolint.prefilter",
              "ecolint.candidates", "ecolint.candidate_loads", "ecolint.pretrained_classes",
              "ecolint.generation_gate", "ecolint.regex_anchors",
              "ecolint.config", "ecolint.discovery", "ecolint.noqa", "ecolint.ipython_lines", "ecolint.progress",
              "ecolint.project_versions", "ecolint.hashing", "ecolint.advice", "ecolint.package_files",
              "ecolint.installed",
              "ecolint.energy.*"]),
    ("analysis", ["ecolint.analysis"]),
    # the modules of ecolint/fixes/ are fix machinery, but for the fix engine and the fix loop named below
    ("fix machinery", ["ecolint.fixes.*"]),
    ("rules", ["ecolint.checks"]),
    ("engine", ["ecolint.engine"]),
    ("fix engine", ["ecolint.fixes=", "ecolint.fixes.apply"]),
    ("workspace", ["ecolint.workspace", "ecolint.notebooks"]),
    ("reporters", ["ecolint.reporters"]),
    ("fix loop", ["ecolint.fixes.files", "ecolint.fixes.writer", "ecolint.fixes.command"]),
    ("front ends", ["ecolint.cli", "ecolint.__main__", "ecolint.flake8_plugin", "ecolint.lsp",
                    "ecolint.advisor", "ecolint.measure", "ecolint.energy="]),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def floor_of(module: str) -> int | None:
    """The floor of a module: the most specific name in FLOORS that covers it."""
    best, floor = -1, None
    for level, (_, names) in enumerate(FLOORS):
        for name in names:
            if name.endswith("="):
                covers = module == name[:-1]
            elif name.endswith(".*"):
                covers = module.startswith(name[:-1])
            else:
                covers = module == name or module.startswith(name + ".")
            if covers and len(name) > best:
                best, floor = len(name), level
    return floor


def imports_of(module: str, path: Path) -> list[tuple[str, int]]:
    """The ecolint modules ``module`` imports, anywhere in the file, with their line numbers."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.split(".")[0] == "ecolint"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            if base.split(".")[0] != "ecolint":
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule if submodule in MODULES else base, node.lineno))
    return found


def test_every_module_has_a_floor():
    assert sorted(module for module in MODULES if floor_of(module) is None) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_a_floor(module):
    own = floor_of(module)
    upward = [f"line {line}: {target} ({FLOORS[floor_of(target)][0]})"
              for target, line in sorted(set(imports_of(module, MODULES[module])))
              if floor_of(target) is not None and floor_of(target) > own]
    assert upward == [], f"{module} ({FLOORS[own][0]}) imports from above"


def test_a_rule_module_imports_no_other_rule_module():
    rule_modules = {name for name in MODULES if name.startswith("ecolint.checks.")
                    and not name.rpartition(".")[2].startswith("_")}
    crossing = sorted(f"{module} -> {target}" for module in rule_modules
                      for target, _ in imports_of(module, MODULES[module]) if target in rule_modules - {module})
    assert crossing == []


def test_the_floor_test_sees_an_upward_import(tmp_path):
    """The analysis layer importing the engine is caught (the test reads what the file says)."""
    path = tmp_path / "ecolint" / "analysis" / "probe.py"
    path.parent.mkdir(parents=True)
    path.write_text("def late():\n    from ecolint.engine import analyze_text\n", encoding="utf-8")
    [(target, line)] = imports_of("ecolint.analysis.probe", path)
    assert (target, line) == ("ecolint.engine", 2) and floor_of(target) > floor_of("ecolint.analysis.probe")
