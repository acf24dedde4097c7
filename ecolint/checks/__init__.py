"""Checks: small functions from a module's facts to findings, one per rule code."""

from __future__ import annotations

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


# Registering the checks: each module adds its functions to CHECKS on import.
from ecolint.checks import batching, generation, precision, quantization  # noqa: E402,F401
from ecolint.checks import lifecycle, offload, vllm_engine  # noqa: E402,F401
from ecolint.checks import autograd, beam_search  # noqa: E402,F401
