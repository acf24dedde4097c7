"""Small helpers several rule modules share: run-time conditions in messages, exclusive values, model sizes."""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.models import model_text
from ecolint.analysis.scopes import code_of
from ecolint.analysis.values import Value, ValueKind
from ecolint.checks import CheckContext
from ecolint.energy.model_size import ModelSize, resolve_model_size


def condition(value: Value) -> str:
    """`` (when --flag is on)`` for values only known at run time, else an empty string."""
    if value.kind == ValueKind.OPTION:
        return f" (when {value.flag} is on)"
    if value.kind == ValueKind.UNKNOWN and value.reason == "parameter":
        return " (when the parameter is true)"
    if value.kind == ValueKind.CHOICE and value.branches:  # set inside an ``if``: that value, or nothing
        set_values = [option for option in value.options
                      if not (option.kind == ValueKind.CONST and option.value is None)]
        if len(set_values) == 1 and set_values[0].kind == ValueKind.OPTION:
            return condition(set_values[0])
        return " (when the branch that sets it runs)"
    if value.kind in (ValueKind.UNKNOWN, ValueKind.CHOICE):
        return " (when that value is true)"
    return ""


def both_condition(first: Value, second: Value) -> str:
    """`` (when --a and --b are both on)`` when either value is only known at run time."""
    parts = [condition(value)[len(" (when "):-len(" is on)")] if value.kind == ValueKind.OPTION else None
             for value in (first, second)]
    if not condition(first) and not condition(second):
        return ""
    if all(parts):
        return f" (when {parts[0]} and {parts[1]} are both on)"
    if all(value.kind == ValueKind.UNKNOWN and value.reason == "parameter" for value in (first, second)):
        return " (when both parameters are true)"
    return " (when both values are true)"


def mutually_exclusive(first: Value, second: Value, guards: list[frozenset[str]] = ()) -> bool:
    """Never both true: ``x == 8`` and ``x == 4``, two options of one argparse exclusive group, two dict
    changes in different branches of one ``if``, or two values that an ``if a and b: raise`` rules out."""
    if first.kind == second.kind == ValueKind.OPTION and first.group and first.group == second.group:
        return True
    if first.exclusive_with(second):
        return True
    texts = {code_of(value.node) if value.node is not None else None for value in (first, second)}
    if None not in texts and any(texts <= guard for guard in guards):
        return True
    tests = [_equality(value.node) for value in (first, second)]
    if None in tests:
        return False
    (left_a, right_a), (left_b, right_b) = tests
    return left_a == left_b and not right_a & right_b


def _equality(node: cst.CSTNode | None) -> tuple[str, frozenset[str]] | None:
    """``x == "nf4"``, ``x in ("nf4", "fp4")`` or ``x == "nf4" or x == "fp4"``: (x, the literals)."""
    if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
        parts = [_equality(node.left), _equality(node.right)]
        if None in parts or parts[0][0] != parts[1][0]:
            return None
        return parts[0][0], parts[0][1] | parts[1][1]
    if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
        return None
    target = node.comparisons[0]
    literals = (cst.Integer, cst.SimpleString, cst.Float)
    if isinstance(target.operator, cst.Equal) and isinstance(target.comparator, literals):
        values = [target.comparator]
    elif isinstance(target.operator, cst.In) and isinstance(target.comparator, (cst.Tuple, cst.List, cst.Set)):
        values = [element.value for element in target.comparator.elements]
        if not values or not all(isinstance(value, literals) for value in values):
            return None
    else:
        return None
    return code_of(node.left), frozenset(code_of(value) for value in values)


def model_size(ctx: CheckContext, load: ModelLoad) -> ModelSize | None:
    text = model_text(load)
    if not text:
        return None
    return resolve_model_size(text, ctx.base_dirs())


def quantized_bits(load: ModelLoad) -> str | None:
    if load.quant is None:
        return None
    if load.quant.requests("load_in_4bit"):
        return "4-bit"
    if load.quant.requests("load_in_8bit"):
        return "8-bit"
    return None


def weights_gb(load: ModelLoad, size: ModelSize) -> float:
    """FP16 weight memory of a load, as the advisor's fit computes it (``memory_fit.weights_gb``)."""
    from ecolint.energy.memory_fit import weights_gb as fit_weights_gb

    return fit_weights_gb(model_text(load) or "", size.params_b, "fp16", size.active_params_b)
