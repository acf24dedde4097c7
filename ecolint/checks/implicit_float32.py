"""LLM306 implicit-float32: a model loaded without a dtype, which transformers before v5 loads in float32;
the fix (unsafe) adds dtype "auto", the checkpoint's own dtype, to the load (``analysis.dtype_choice``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.dtype_choice import AUTO, DtypeChoice
from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.models import (converted_later, generates_with_remote_code, generative, inference_loads,
                                     model_text, seq2seq_load, stays_on_cpu, text_seq2seq_generator)
from ecolint.analysis.parameters import parameter_binding, values_at_calls
from ecolint.analysis.scopes import code_of, dotted_name
from ecolint.analysis.values import Value, ValueKind, last_name
from ecolint.analysis.walk import walk
from ecolint.checks import CheckContext, check
from ecolint.checks._versions import transformers_major, transformers_pin
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.dtype import DTYPE_KEYWORDS, WRITTEN_DTYPE, dtype_keyword
from ecolint.fixes.layout import container_sequence
from ecolint.fixes.registry import fixer

# Checkpoints stored quantized (their loader picks a half-precision compute dtype itself).
QUANTIZED_IDS = re.compile(r"gptq|awq|gguf|ggml|exl2|bnb|int4|int8|4bit|8bit|fp8|mlx", re.I)
# A module that loads pre-quantized checkpoints (their kernels choose the compute dtype).
QUANTIZED_FORMATS = re.compile(r"gptq|\bawq|gguf|exl2", re.I)
# The whole module computes in half precision anyway: a default dtype, or autocast.
HALF_ELSEWHERE = re.compile(r"\bset_default_dtype\s*\(|\bautocast\s*\(")


def _half_elsewhere(ctx: CheckContext) -> list:
    """The calls that make code compute in half precision: ``torch.set_default_dtype`` to a half dtype that the
    same function does not set back, and ``autocast(...)``."""
    calls = ctx.facts.collector.calls if ctx.facts.collector is not None else []
    found = []
    for site in calls:
        name = last_name(site.node.func)
        if name == "autocast":
            found.append(site)
        elif name == "set_default_dtype" and not _restored(site, calls):
            found.append(site)
    return found


def _restored(site, calls) -> bool:
    """``set_default_dtype(torch.half)`` set back to float32 later in the same function (a temporary switch
    while a model is built), or a call that sets float32 itself."""
    if _default_dtype(site) in FLOAT32_NAMES:
        return True
    return any(other.unit is site.unit and other.order > site.order and last_name(other.node.func) ==
               "set_default_dtype" and _default_dtype(other) in FLOAT32_NAMES for other in calls)


FLOAT32_NAMES = ("torch.float", "torch.float32")


def _default_dtype(site) -> str | None:
    return dotted_name(site.node.args[0].value) if site.node.args else None


def _covers(site, load: ModelLoad) -> bool:
    """A half-precision setting reaches the load's model unless both sit in methods of unrelated classes (the
    ``autocast`` of another wrapper class says nothing about this one's model)."""
    mine = load.site.function.owner if load.site.function is not None else None
    theirs = site.function.owner if site.function is not None else None
    if mine is None or theirs is None or mine is theirs:
        return True
    return _inherits(mine, theirs) or _inherits(theirs, mine)


def _inherits(child: cst.ClassDef, parent: cst.ClassDef) -> bool:
    return any(last_name(base.value) == parent.name.value for base in child.bases)


def _loads_quantized_formats(ctx: CheckContext) -> bool:
    """The module calls a GPTQ/AWQ/GGUF loader or names such a format in a string it uses: its other loads may
    be given such checkpoints. An import alone, a parameter name or a docstring loads nothing."""
    if not QUANTIZED_FORMATS.search(ctx.source):
        return False
    calls = ctx.facts.collector.calls if ctx.facts.collector is not None else []
    if any(QUANTIZED_FORMATS.search(dotted_name(site.node.func) or "") for site in calls):
        return True
    return ctx.facts.module is None or any(QUANTIZED_FORMATS.search(text) for text in _used_strings(ctx.facts.module))


def _used_strings(module: cst.Module) -> list[str]:
    """The text of the module's string literals, docstrings and other bare string statements left out."""
    found: list[str] = []

    class Visitor(cst.CSTVisitor):
        def visit_Expr(self, node: cst.Expr) -> bool:
            return not isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            found.append(node.value)

        def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
            found.append(node.value)

    walk(module, Visitor())
    return found


def dtype_spelling(ctx: CheckContext) -> str:
    """The dtype keyword to suggest: the one the file already writes, else what the pinned transformers accepts."""
    if "dtype spellings" not in ctx.memo:  # read once per file, not once per finding
        ctx.memo["dtype spellings"] = set(WRITTEN_DTYPE.findall(ctx.source))
    written = ctx.memo["dtype spellings"]
    return next(iter(written)) if len(written) == 1 else ctx.versions.dtype_keyword()


def _model_named(load: ModelLoad) -> bool:
    """A pipeline given a model id (not a model object loaded elsewhere, whose own load is reported)."""
    value = load.model_id
    if value is None:
        return False
    if value.kind == ValueKind.CONST:
        return isinstance(value.value, str)
    return value.kind in (ValueKind.OPTION, ValueKind.CHOICE)


# Remote code that picks its own precision when no dtype is given: Qwen (v1) sets bf16 or fp16 from its
# config's bf16/fp16/fp32 flags, which can also be passed to from_pretrained; ChatGLM2/3 build their layers in
# config.torch_dtype (float16 in their checkpoints).
OWN_PRECISION_IDS = re.compile(r"(?:^|/)Qwen-(?:\d|VL|Audio)|(?:^|/)chatglm", re.I)
OWN_PRECISION_KEYWORDS = ("bf16", "fp16", "fp32")


def chooses_own_precision(load: ModelLoad, concrete: str = "") -> bool:
    """Remote code or keywords that may pick the precision; ``concrete``: a model class of transformers' own (not
    an Auto class) the load may go through, which runs no remote code."""
    if any(load.entries.get(keyword) for keyword in OWN_PRECISION_KEYWORDS):
        return True
    remote = load.entries.get("trust_remote_code")
    if remote is None or remote.value.provably_false():
        return False
    named = model_text(load) or ""
    if not named:
        return not concrete  # remote code of an unknown model may pick its own
    return bool(OWN_PRECISION_IDS.search(named))


def concrete_class(ctx: CheckContext, load: ModelLoad) -> tuple[str, str]:
    """A transformers model class of its own (``LlamaForCausalLM``, not an Auto class) that the load's class
    stands for on some path, and the condition for it: ``model_class = LlamaForCausalLM if "llama" in name else
    AutoModelForCausalLM`` gives ("LlamaForCausalLM", " and model_class is LlamaForCausalLM")."""
    func = load.site.node.func
    if not isinstance(func, cst.Attribute):
        return "", ""
    value = ctx.facts.resolver.resolve(func.value, load.site.scope, load.site.order)
    options = value.options if value.kind == ValueKind.CHOICE else [value]
    for option in options:
        name = str(option.value) if option.kind == ValueKind.SYMBOL else ""
        last = name.rsplit(".", 1)[-1]
        if name.startswith("transformers.") and last[:1].isupper() and not last.startswith("Auto"):
            return last, (f" and {code_of(func.value)} is {last}" if value.kind == ValueKind.CHOICE else "")
    return "", ""


# Text encoder-decoders (BART, LED, Pegasus) are often stored in float32, which "auto" would keep.
SEQ2SEQ_CHOICE = DtypeChoice("bfloat16", "encoder-decoder checkpoints are often stored in float32, which \"auto\" "
                                         "keeps; bfloat16 keeps float32's range, where float16 can overflow")


@check("LLM306")
def implicit_float32(ctx: CheckContext) -> Iterator[Finding]:
    if transformers_major(ctx.versions) == "5":
        return  # v5 loads in the checkpoint's dtype ("auto")
    half_elsewhere = _half_elsewhere(ctx) if HALF_ELSEWHERE.search(ctx.source) else []
    if transformers_major(ctx.versions) == "4":  # the pin keeps every allowed version below 5
        when = f"with {transformers_pin(ctx.versions)}"
    elif ctx.versions.pin("transformers") is not None:
        when = f"when transformers < 5 (the pin {transformers_pin(ctx.versions)} allows it)"
    else:
        when = "when transformers < 5"
    quantized_module = _loads_quantized_formats(ctx)  # GPTQ/AWQ loaders pick their own dtype
    for load in inference_loads(ctx.facts):
        if load.dtype is not None or load.entries.unknown_splat:
            continue
        unquantized = _unquantized_when(ctx, load)  # None: the load is quantized (its own compute dtype)
        if unquantized is None:
            continue
        if load.engine != "transformers" or quantized_module:
            continue  # vLLM's dtype defaults to "auto" (the checkpoint's)
        if load.via_pipeline and not _model_named(load):
            continue
        seq2seq = text_seq2seq_generator(load)
        concrete, through = concrete_class(ctx, load) if load.entries.get("trust_remote_code") else ("", "")
        if QUANTIZED_IDS.search(model_text(load) or "") or chooses_own_precision(load, concrete) or (
                seq2seq_load(load) and not seq2seq):
            continue  # T5-style encoder-decoders overflow in float16: their float32 default is no oversight
        if not (generative(load) or generates_with_remote_code(ctx.facts, load)):
            continue
        if stays_on_cpu(ctx.facts, load) or converted_later(ctx.facts, load):
            continue
        if any(_covers(site, load) for site in half_elsewhere):
            continue
        choice = SEQ2SEQ_CHOICE if seq2seq else AUTO  # an encoder-decoder checkpoint is often float32
        context = {"model": model_text(load) or "the model", "when": when + unquantized + through,
                   "suggested": choice.written(), "why": choice.why, "keyword": dtype_spelling(ctx)}
        yield Finding("LLM306", load.site.node, context, load)


def _unquantized_when(ctx: CheckContext, load: ModelLoad) -> str | None:
    """When a load with bitsandbytes arguments still runs unquantized: "" for no request (or only False ones),
    `` and --load_8bit is off`` for command-line flags that are off by default, `` and mode_8bit is off`` for
    parameters (unless every call of the function turns one on), `` and self.load_8bit is off`` for a dict
    entry set only under that ``if``; None when it may be quantized by default (a config object, a value that is
    on or unknown)."""
    quant = load.quant
    if quant is None:
        return ""
    if quant.entries.unknown_splat or quant.kind not in ("direct", "config"):
        return None
    flags, parameters = [], []
    for name in ("load_in_8bit", "load_in_4bit"):
        entry = quant.entry(name)
        if entry is None or entry.value.provably_false():
            continue
        value = entry.value
        if value.kind == ValueKind.OPTION and isinstance(value.value, Value) and value.value.provably_false():
            flags.append(f"{value.flag} is off")
        elif parameter_binding(value, load.site) is not None:
            flags.append(f"{value.node.value} is off")
            parameters.append(value)
        elif value.kind == ValueKind.CHOICE and any(option.provably_false() for option in value.options):
            flag = _branch_flag(ctx, value)
            if flag is None:
                return None
            flags.append(flag)
        else:
            return None
    if not flags and quant.kind == "config" and not any(quant.entry(n) for n in ("load_in_8bit", "load_in_4bit")):
        return None  # a config that quantizes some other way
    if parameters and _callers_turn_on(ctx, load, parameters):
        return None
    return "".join(f" and {flag}" for flag in flags)


def _callers_turn_on(ctx: CheckContext, load: ModelLoad, parameters: list[Value]) -> bool:
    """Every call of the loading function in the module passes True for one of the quantization flags; with no
    call in the module, a flag's default is True."""
    rows = values_at_calls(ctx.facts, load.site, parameters)
    if rows:
        return all(any(value.provably_true() for value in row) for row in rows)
    for value in parameters:
        binding = parameter_binding(value, load.site)
        default = binding.node.default
        if default is not None and ctx.facts.resolver.resolve(default, binding.scope.parent or binding.scope,
                                                              binding.order).provably_true():
            return True
    return False


def _branch_flag(ctx: CheckContext, value: Value) -> str | None:
    """The test that turns a conditional flag on: ``x`` of ``True if x else False``, or of the ``if x:`` around
    ``kwargs["load_in_8bit"] = True``: ``x is off`` (``x is on`` when the flag is set in the ``else``)."""
    node = value.node
    if isinstance(node, cst.IfExp) and len(value.options) == 2:
        test, side = node.test, 0 if value.options[1].provably_false() else 1
    elif value.branches:
        if "if tests" not in ctx.memo:
            ctx.memo["if tests"] = _if_tests(ctx.facts.module)
        branch, side = value.branches[-1]
        test = ctx.memo["if tests"].get(branch)
    else:
        return None
    if test is None:
        return None
    text = code_of(test)
    if isinstance(test, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        return f"{text} is {'off' if side == 0 else 'on'}"
    return f"({text}) is {'false' if side == 0 else 'true'}"


def _if_tests(module: cst.Module | None) -> dict[int, cst.BaseExpression]:
    """The test of every ``if`` of the module, by id of the ``If`` node."""
    tests: dict[int, cst.BaseExpression] = {}

    class Visitor(cst.CSTVisitor):
        def visit_If(self, node: cst.If) -> None:
            tests[id(node)] = node.test

    if module is not None:
        walk(module, Visitor())
    return tests


@fixer("LLM306")
def add_auto_dtype(ctx: FixContext, finding: Finding) -> Proposal:
    """Add ``torch_dtype="auto"`` (``dtype=`` where the pinned transformers accepts it) to the load."""
    load = finding.subject
    call: cst.Call = load.site.node
    if not call.args:
        raise NoFix("nothing to add the dtype to")
    if text_seq2seq_generator(load):
        raise NoFix("an encoder-decoder: bfloat16 is suggested, and torch may not be imported here")
    ctx.require_absent(call, DTYPE_KEYWORDS)
    keyword = dtype_keyword(ctx, call)
    edits = container_sequence(ctx, call).append(f"{keyword}={AUTO.written()}")
    return Proposal(edits, message=f"Load with {keyword}={AUTO.written()} ({AUTO.why})")
