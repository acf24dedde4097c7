"""Checks: one module per rule, named after the rule (``generate_per_item_loop`` for LLM201), holding its
check (``@check``), the analysis only it uses, and its fixer (``@fixer``) if it has one.

Every module of this package is imported when the package is, which registers its check and fixer;
modules whose name starts with ``_`` are helpers shared by several rules, not rules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecolint.analysis.facts import ModuleFacts
from ecolint.diagnostics import Finding
from ecolint.energy.dataset import GpuSpec
from ecolint.project_versions import NO_PINS, ProjectVersions
from ecolint.rules import Rule


@dataclass(eq=False)
class CheckContext:
    """Everything a check may read: the facts, the rules with options, the deployment GPU, the pins."""

    facts: ModuleFacts
    source: str
    path: Path | None
    rules: dict[str, Rule]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    gpu: GpuSpec | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    versions: ProjectVersions = NO_PINS  # the project's pinned library versions

    def option(self, code: str, name: str) -> Any:
        return self.options.get(code, {}).get(name, self.rules[code].options.get(name))

    def shared(self, name: str, compute: Callable[[ModuleFacts], Any]) -> Any:
        """An analysis several rules report from, computed once per module: ``ctx.shared("batching", batching)``."""
        if name not in self.memo:
            self.memo[name] = compute(self.facts)
        return self.memo[name]

    def base_dirs(self) -> tuple[Path, ...]:
        dirs = [Path.cwd()]
        if self.path is not None:
            dirs.insert(0, self.path.parent)
        return tuple(dirs)


Check = Callable[[CheckContext], Iterable[Finding]]
CHECKS: dict[str, Check] = {}


def check(code: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[code] = function
        return function

    return register


def rule_modules() -> list[str]:
    """The rule modules of this package, by name (helpers, named ``_...``, left out)."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def _register_all() -> None:
    """Import every rule module: each adds its check to CHECKS (and its fixer to fixes.registry.FIXERS)."""
    for name in rule_modules():
        importlib.import_module(f"{__name__}.{name}")


_register_all()
