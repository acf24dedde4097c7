"""Small helpers the checks share."""

from __future__ import annotations

from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.values import Value, ValueKind
from ecolint.checks import CheckContext
from ecolint.energy.model_size import ModelSize, resolve_model_size


def condition(value: Value) -> str:
    """`` (when --flag is on)`` for values only known at run time, else an empty string."""
    if value.kind == ValueKind.OPTION:
        return f" (when {value.flag} is on)"
    if value.kind == ValueKind.UNKNOWN and value.reason == "parameter":
        return " (when the parameter is true)"
    if value.kind in (ValueKind.UNKNOWN, ValueKind.CHOICE):
        return " (when that value is true)"
    return ""


def model_text(load: ModelLoad) -> str | None:
    if load.model_id is None:
        return None
    return load.model_id.text()


def model_size(ctx: CheckContext, load: ModelLoad) -> ModelSize | None:
    text = model_text(load)
    if not text:
        return None
    return resolve_model_size(text, ctx.base_dirs())


def number(value: Value) -> float | None:
    """A numeric value, reading a command-line option's default."""
    if value.kind == ValueKind.OPTION and isinstance(value.value, Value):
        return value.value.number()
    return value.number()
