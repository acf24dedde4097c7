"""LLM201 fix for the per-item ``tokenizer(...)`` -> ``model.generate(...)`` -> ``decode`` loop.

::

    for prompt in prompts:
        inputs = tok(prompt, return_tensors="pt")
        out = model.generate(**inputs)
        text = tok.decode(out[0][n:], skip_special_tokens=True)
        results.append(text)

becomes (the tokenizer set up before the loop, its padding side set back after it)::

    for chunk_start in range(0, len(prompt_list), 8):
        prompt_chunk = prompt_list[chunk_start:chunk_start + 8]
        inputs = tok(prompt_chunk, return_tensors="pt", padding=True)
        out = model.generate(**inputs)
        for prompt, out_row in zip(prompt_chunk, out):
            text = tok.decode(out_row[n:], skip_special_tokens=True)
            results.append(text)

The prompts are tokenized together with left padding and the attention mask; the statements after
generation run for each prompt in order, with ``out[0]`` replaced by the prompt's row. Before the
loop the tokenizer gets a pad token when it has none (its end-of-sequence token) and left padding,
and its padding side is set back after the loop. ``n`` (the prompt length the original code strips)
becomes the padded length of the chunk, which is where every row's generated tokens start.

Offered only where that keeps every result: see ``_refuse_*`` and docs/fixes.md. ``NoFix`` says
why not; the LLM201 fixer tries this shape among others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from ecolint.analysis.scopes import code_of, dotted_name
from ecolint.analysis.values import last_name
from ecolint.diagnostics import Finding
from ecolint.fixes.batch_size import fix_batch_size
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit, apply_edits
from ecolint.fixes.imports import variable_names

# Calls that measure time or memory: around generation they would measure a chunk, not a prompt.
MEASURING = frozenset({
    "time", "perf_counter", "perf_counter_ns", "monotonic", "process_time", "time_ns", "synchronize",
    "max_memory_allocated", "memory_allocated", "reset_peak_memory_stats", "empty_cache", "Event",
    "elapsed_time", "record",
})
# Calls that show or write each result as it comes, or wait: after the fix they would come a chunk at a time.
SHOWING = frozenset({"print", "pprint", "write", "writelines", "flush", "sleep", "input", "display", "set_postfix",
                     "set_description", "refresh"})
LOG_LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
SEEDING = frozenset({"set_seed", "manual_seed", "manual_seed_all", "seed_everything", "seed"})
# Model classes that are decoder-only: left padding is right for them (encoder-decoder models pad on the right).
DECODER_ONLY_SUFFIX = "ForCausalLM"
# Calls that only build text (what a statement before tokenization may compute the prompt with).
TEXT_CALLS = frozenset({"format", "strip", "lstrip", "rstrip", "replace", "join", "lower", "upper", "capitalize",
                        "title", "str", "dict", "list", "tuple", "get", "split", "removeprefix", "removesuffix"})
# Methods that change a list, dict or set in place.
MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update", "add", "discard",
                      "setdefault", "popitem", "sort", "reverse"})
# Progress bars over the items: kept, over the chunks.
PROGRESS = frozenset({"tqdm", "track"})
AUTOGRAD_OFF = frozenset({"no_grad", "inference_mode"})
CHAINED = frozenset({"to", "cuda", "eval", "half", "bfloat16", "float", "requires_grad_", "cpu"})
# Settings that make one prompt give several rows, or hand the tokens out while they are generated.
ROW_CHANGING = ("num_return_sequences", "streamer", "generation_config", "negative_prompt_ids")


@dataclass
class Loop:
    """The matched loop and the parts of its body the fix edits."""

    node: cst.For
    target: str
    tokenize: cst.SimpleStatementLine
    tokenizer_call: cst.Call
    text_arg: cst.Arg
    inputs: str  # the name the tokenizer's output is bound to
    generate: cst.BaseStatement  # the body's statement that generates (a ``with torch.no_grad():`` around it)
    generate_call: cst.Call
    output: str | None  # ``out = model.generate(...)``; None when the statement reads ``model.generate(...)[0]``
    inline_row: cst.Subscript | None  # that ``model.generate(...)[0]``
    rest: list[cst.BaseStatement]  # what runs per prompt after generation (the generate statement when inline)
    prelude: list[cst.SimpleStatementLine] = field(default_factory=list)  # computes the text from the item
    text: str | None = None  # the prelude's name the tokenizer is given (None: the item itself)
    text_expr: cst.BaseExpression | None = None  # or the expression of the item it is given
    rows: list[cst.Subscript] = field(default_factory=list)  # every ``out[0]`` in ``rest``
    missing_mask: str | None = None  # the attention-mask keyword to add, when the call passes input_ids only
    aliases: set[str] = field(default_factory=set)  # names that hold a row (``new_ids = out[0][n:]``)


def batch_generate_loop(ctx: FixContext, finding: Finding) -> Proposal:
    """The fix for a per-item tokenizer -> generate -> decode loop, or ``NoFix`` with the reason."""
    call = finding.node
    if not isinstance(call, cst.Call):
        raise NoFix("not a call")
    loop = _match(ctx, call)
    facts = getattr(finding.subject, "facts", None) or _facts(ctx)
    generation = next((g for g in facts.generations if g.site.node is call), None)
    if generation is None:
        raise NoFix("the generation call is not known")
    _refuse_impure_text(loop, facts, generation.site)
    _refuse_unsafe_generation(ctx, loop)
    _refuse_rows_beyond_decoding(loop)
    _refuse_dependencies(loop)
    _refuse_side_effects(loop)
    _refuse_reads_after_the_loop(ctx, loop)
    load = _decoder_only_load(loop, facts, generation)
    _require_a_tokenizer(loop, facts, generation)
    size = fix_batch_size(ctx, load)
    if size < 2:
        raise NoFix("a batch of 2 prompts would not fit the GPU's memory")
    return Proposal(_edits(ctx, loop, size), applicability="unsafe",
                    message=f"Generate for chunks of {size} prompts (left padding, attention mask)")


# -- matching ----------------------------------------------------------------------------------
def _match(ctx: FixContext, call: cst.Call) -> Loop:
    statement, inline_row = _statement_of(ctx, call)
    line = statement
    block = ctx.parent(statement)
    wrapper = ctx.parent(block) if isinstance(block, cst.IndentedBlock) else None
    if isinstance(wrapper, cst.With) and _autograd_off(wrapper):
        if inline_row is not None or len(block.body) != 1:
            raise NoFix("the block that turns autograd off holds more than the generation")
        statement, block = wrapper, ctx.parent(wrapper)
    loop = ctx.parent(block) if isinstance(block, cst.IndentedBlock) else None
    if not isinstance(loop, cst.For):
        raise NoFix("generation is not a statement of the loop's own body")
    if loop.asynchronous is not None or loop.orelse is not None:
        raise NoFix("an async loop or a loop with else:")
    if not isinstance(loop.target, cst.Name):
        raise NoFix("the loop takes more than one value per item")
    body = list(block.body)
    at = body.index(statement)
    if at == 0:
        raise NoFix("the prompt is not tokenized in the loop")
    generate_call = call
    inputs, missing_mask = _inputs_of(generate_call)
    tokenize = body[at - 1]
    tokenizer_call = _tokenizer_call(tokenize, inputs)
    prelude = _prelude(body[:at - 1])
    computed = {statement.body[0].targets[0].target.value for statement in prelude}
    text_arg = _text_argument(tokenizer_call)
    value = text_arg.value
    if isinstance(value, cst.List):
        value = value.elements[0].value
    text, text_expr = None, None
    if isinstance(value, cst.Name) and value.value in computed:
        text = value.value
    elif prelude:
        raise NoFix("statements before tokenization would run for a whole chunk first")
    elif not (isinstance(value, cst.Name) and value.value == loop.target.value):
        if loop.target.value not in _read_names(value):
            raise NoFix("the tokenizer is not given the loop's item or a text computed from it")
        text_expr = value  # ``tok(prompt_for(item), ...)``: the texts of a chunk are computed in a list
    if inline_row is None:
        output = _assigned_name(line)
        rest = body[at + 1:]
    else:
        output = None
        rest = body[at:]
    if not rest:
        raise NoFix("nothing reads the generated tokens")
    read_later = {name.value for node in rest for name in _names(node)}
    for name in sorted((computed - {text}) & read_later):
        raise NoFix(f"{name} is computed before tokenization and read after generation")
    return Loop(loop, loop.target.value, tokenize, tokenizer_call, text_arg, inputs, statement, generate_call, output,
                inline_row, rest, prelude=prelude, text=text, text_expr=text_expr, missing_mask=missing_mask)


def _prelude(statements: list[cst.BaseStatement]) -> list[cst.SimpleStatementLine]:
    """Statements before tokenization that only compute the text (``text = f"..."``, a chat template as
    text): they can run for every item of a chunk first. Anything else would."""
    for statement in statements:
        one_line = isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
        small = statement.body[0] if one_line else None
        targets = small.targets if isinstance(small, cst.Assign) else ()
        if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
            raise NoFix("statements before tokenization would run for a whole chunk first")
    return list(statements)


def _refuse_impure_text(loop: Loop, facts, site) -> None:
    """What computes the text before tokenization must only build text: it runs for a whole chunk first."""
    def local(call: cst.Call) -> bool:
        return _text_helper(facts, call, site.scope, site.order)

    for statement in loop.prelude:
        if not _pure(statement.body[0].value, local):
            raise NoFix("statements before tokenization would run for a whole chunk first")
    if loop.text_expr is not None and not _pure(loop.text_expr, local):
        raise NoFix("the text given to the tokenizer is computed with calls that may do more than build text")


def _text_helper(facts, call: cst.Call, scope, order: int) -> bool:
    """A function of the module whose body only builds text from its parameters and returns it."""
    function = facts.resolver.local_function(call.func, scope, order)
    if function is None or function.is_async or function.node.decorators:
        return False
    for statement in function.node.body.body:
        one_line = isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
        small = statement.body[0] if one_line else None
        if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
            continue  # the docstring
        if isinstance(small, cst.Return) and small.value is not None and _pure(small.value):
            continue
        if (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
                and _pure(small.value)):
            continue
        return False
    return True


def _pure(node: cst.BaseExpression, local=None) -> bool:
    """An expression that only builds text or messages: literals, names, f-strings, string methods,
    ``apply_chat_template(..., tokenize=False)``, and (through ``local``) the module's own such helpers."""
    pure = True

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal pure
            name = last_name(call.func)
            if name == "apply_chat_template":
                tokenize = _keywords(call).get("tokenize")
                pure = pure and isinstance(tokenize, cst.Name) and tokenize.value == "False"
            elif name not in TEXT_CALLS and not (local is not None and local(call)):
                pure = False

        def visit_Await(self, _: cst.Await) -> None:
            nonlocal pure
            pure = False

        def visit_NamedExpr(self, _: cst.NamedExpr) -> None:
            nonlocal pure
            pure = False

        def visit_Yield(self, _: cst.Yield) -> None:
            nonlocal pure
            pure = False

    node.visit(Calls())
    return pure


def _autograd_off(statement: cst.With) -> bool:
    """``with torch.no_grad():`` or ``with torch.inference_mode():`` (nothing else in the header)."""
    return all(isinstance(item.item, cst.Call) and last_name(item.item.func) in AUTOGRAD_OFF and item.asname is None
               for item in statement.items)


def _statement_of(ctx: FixContext, call: cst.Call) -> tuple[cst.SimpleStatementLine, cst.Subscript | None]:
    """The line holding the call, and ``call[0]`` when the line reads the first row directly."""
    parent = ctx.parent(call)
    inline = None
    if isinstance(parent, cst.Subscript) and parent.value is call:
        if not _is_first_row(parent):
            raise NoFix("the generated tokens are indexed other than [0]")
        inline = parent
    elif not isinstance(parent, cst.Assign):
        raise NoFix("the generated tokens are not assigned to a name")
    node: cst.CSTNode | None = parent
    while node is not None and not isinstance(node, cst.SimpleStatementLine):
        if isinstance(node, (cst.Lambda, cst.BaseComp, cst.FunctionDef, cst.BaseCompoundStatement)):
            raise NoFix("generation inside a nested expression or block")
        node = ctx.parent(node)
    if node is None or len(node.body) != 1:
        raise NoFix("generation shares its line with other statements")
    return node, inline


def _is_first_row(node: cst.Subscript) -> bool:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return False
    index = node.slice[0].slice.value
    return isinstance(index, cst.Integer) and index.value == "0"


def _assigned_name(statement: cst.SimpleStatementLine) -> str:
    small = statement.body[0]
    targets = small.targets if isinstance(small, cst.Assign) else ()
    if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
        raise NoFix("the generated tokens are not assigned to one name")
    return small.targets[0].target.value


def _inputs_of(call: cst.Call) -> tuple[str, str | None]:
    """The name the prompt's encoding is passed from, and the attention-mask keyword to add (if any)."""
    splats = [arg for arg in call.args if arg.star == "**" and isinstance(arg.value, cst.Name)]
    for arg in call.args:
        if arg.star == "*" or (arg.keyword is None and not arg.star and arg is not call.args[0]):
            raise NoFix("generate is given positional arguments beside the inputs")
    ids = [arg for arg in call.args if (arg.keyword is None and not arg.star)
           or (arg.keyword is not None and arg.keyword.value == "input_ids")]
    if ids:
        name, style = _encoding_field(ids[0].value, "input_ids")
        masks = [arg for arg in call.args if arg.keyword is not None and arg.keyword.value == "attention_mask"]
        if masks:
            if _encoding_field(masks[0].value, "attention_mask")[0] != name:
                raise NoFix("the attention mask is not the tokenizer's")
            return name, None
        if any(splat.value.value == name for splat in splats):
            return name, None
        mask = f'{name}["attention_mask"]' if style == "subscript" else f"{name}.attention_mask"
        return name, f"attention_mask={mask}"
    if not splats:
        raise NoFix("generate is not given the tokenizer's output")
    return splats[0].value.value, None


def _encoding_field(node: cst.BaseExpression, key: str) -> tuple[str, str]:
    """``inputs["input_ids"]`` -> ("inputs", "subscript"); ``inputs.input_ids`` -> ("inputs", "attribute")."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.attr.value == key:
        return node.value.value, "attribute"
    if (isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
            and isinstance(node.slice[0].slice.value, cst.SimpleString)
            and node.slice[0].slice.value.evaluated_value == key):
        return node.value.value, "subscript"
    raise NoFix(f"generate's {key} is not read from the tokenizer's output")


def _tokenizer_call(statement: cst.BaseStatement, inputs: str) -> cst.Call:
    """``inputs = tok(...)`` or ``inputs = tok(...).to(device)``: the tokenizer call."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Assign)):
        raise NoFix("the statement before generation does not tokenize the prompt")
    assign = statement.body[0]
    if len(assign.targets) != 1 or not (isinstance(assign.targets[0].target, cst.Name)
                                        and assign.targets[0].target.value == inputs):
        raise NoFix("the statement before generation does not bind the inputs")
    value = assign.value
    while (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "to"
           and isinstance(value.func.value, cst.Call)):
        value = value.func.value
    if not isinstance(value, cst.Call) or dotted_name(value.func) is None:
        raise NoFix("the inputs are not a tokenizer call")
    if last_name(value.func) in ("apply_chat_template", "encode", "encode_plus", "batch_encode_plus"):
        raise NoFix(f"{last_name(value.func)}() output cannot be padded as it is written")
    return value


def _text_argument(call: cst.Call) -> cst.Arg:
    """The tokenizer's one text argument (maybe ``[text]``); its keywords must allow padding."""
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    if len(positional) != 1 or any(arg.star == "*" for arg in call.args):
        raise NoFix("the tokenizer is not given exactly one text")
    text = positional[0].value
    if isinstance(text, cst.List) and len(text.elements) == 1 and not isinstance(text.elements[0], cst.StarredElement):
        text = text.elements[0].value
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    tensors = keywords.get("return_tensors")
    if not (isinstance(tensors, cst.SimpleString) and tensors.evaluated_value == "pt"):
        raise NoFix('the tokenizer does not return PyTorch tensors (return_tensors="pt")')
    for name in ("padding", "padding_side", "pad_to_multiple_of", "text_pair", "is_split_into_words",
                 "return_attention_mask"):
        if name in keywords:
            raise NoFix(f"the tokenizer is given {name}=")
    for arg in call.args:
        if arg.star == "**":
            raise NoFix("the tokenizer's **settings may set its padding")
    return positional[0]


# -- refusals ----------------------------------------------------------------------------------
def _keywords(call: cst.Call) -> dict[str, cst.BaseExpression]:
    return {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}


def _refuse_unsafe_generation(ctx: FixContext, loop: Loop) -> None:
    """Settings that change the rows (several per prompt, streamed) or seeded sampling the batch would redraw."""
    call = loop.generate_call
    keywords = _keywords(call)
    carried: set[str] = set()
    for arg in call.args:
        if arg.star == "**" and not (isinstance(arg.value, cst.Name) and arg.value.value == loop.inputs):
            keys = ctx.splat_keys(arg.value)
            if keys is None:
                raise NoFix(f"the generation settings in **{code_of(arg.value)} are not known")
            carried |= set(keys)
    for name in ROW_CHANGING:
        if name in carried or (name in keywords and not _is_one(keywords[name])):
            raise NoFix(f"{name}= changes how many rows a prompt gives or when they are read")
    sampling = "do_sample" in carried or not _is_false(keywords.get("do_sample"))
    if sampling and _seeds(ctx.module):
        raise NoFix("generation may sample and the file sets a seed: a batch draws other random numbers than "
                    "one prompt at a time, so the seeded outputs would change")


def _is_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.value == "1"


def _is_false(node: cst.BaseExpression | None) -> bool:
    """``do_sample`` is absent (the model's generation config decides) counts as not provably false."""
    return isinstance(node, cst.Name) and node.value == "False"


def _seeds(module: cst.Module) -> bool:
    found = False

    class Seeds(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = found or last_name(node.func) in SEEDING

    module.visit(Seeds())
    return found


def _refuse_rows_beyond_decoding(loop: Loop) -> None:
    """Every ``out[0]`` must be decoded with special tokens skipped (a batch's rows end with padding),
    sliced from the prompt's length at most; the inputs are read only for that length."""
    output, inputs = loop.output, loop.inputs
    rows: list[cst.Subscript] = [] if loop.inline_row is None else [loop.inline_row]
    allowed_inputs: set[int] = set()
    problems: list[str] = []
    aliases = _row_aliases(loop)  # ``new_ids = out[0][n:]``: a name that holds the row, decoded later
    for statement, row, bound in aliases.values():
        rows.append(row)
        if bound is not None:
            if not _prompt_length(bound, inputs):
                problems.append("the tokens are sliced other than from the prompt's length")
            allowed_inputs.update(id(name) for name in _names(bound))
    loop.aliases = set(aliases)

    class Rows(cst.CSTVisitor):
        def __init__(self) -> None:
            self.decoding = 0

        def visit_Call(self, node: cst.Call) -> bool:
            if last_name(node.func) == "decode" and node.args and node.args[0].keyword is None:
                skip = _keywords(node).get("skip_special_tokens")
                if isinstance(skip, cst.Name) and skip.value == "True":
                    first = node.args[0].value
                    if isinstance(first, cst.Name) and first.value in aliases:
                        for arg in node.args[1:]:
                            arg.visit(self)
                        return False
                    row, bound = _row_and_bound(first, output, loop.inline_row)
                    if row is not None:
                        if row is not loop.inline_row:
                            rows.append(row)
                        if bound is not None:
                            if not _prompt_length(bound, inputs):
                                problems.append("the tokens are sliced other than from the prompt's length")
                            allowed_inputs.update(id(name) for name in _names(bound))
                        for arg in node.args[1:]:
                            arg.visit(self)
                        return False
            return True

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in aliases:
                problems.append(f"{node.value} holds the generated tokens and is used beyond decoding them with "
                                "skip_special_tokens=True")
            elif output is not None and node.value == output:
                problems.append(f"{output} is used beyond decoding its first row with skip_special_tokens=True")
            elif node.value == inputs and id(node) not in allowed_inputs:
                problems.append(f"{inputs} is read after generation (its rows are padded)")

    visitor = Rows()
    alias_statements = {id(statement) for statement, _, _ in aliases.values()}
    for statement in loop.rest:
        if id(statement) in alias_statements:
            continue
        if statement is loop.generate:  # the inline form: only the part around ``model.generate(...)[0]``
            _visit_except(statement, visitor, loop.inline_row)
        else:
            statement.visit(visitor)
    if loop.inline_row is not None and not any(row is loop.inline_row for row in _decoded_rows(loop)):
        problems.append("the generated tokens are not decoded with skip_special_tokens=True")
    if problems:
        raise NoFix(problems[0])
    loop.rows = [row for row in rows if row is not loop.inline_row]


def _row_aliases(loop: Loop) -> dict[str, tuple[cst.SimpleStatementLine, cst.Subscript, cst.BaseExpression | None]]:
    """``name = out[0]`` or ``name = out[0][n:]`` statements of the loop after generation, by name;
    a name bound more than once is not one."""
    found: dict = {}
    bound_twice: set[str] = set()
    for statement in loop.rest:
        one_line = isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
        small = statement.body[0] if one_line else None
        targets = small.targets if isinstance(small, cst.Assign) else ()
        if len(targets) != 1 or not isinstance(targets[0].target, cst.Name) or loop.output is None:
            continue
        row, bound = _row_and_bound(small.value, loop.output, None)
        if row is None:
            continue
        name = targets[0].target.value
        if name in found:
            bound_twice.add(name)
        found[name] = (statement, row, bound)
    others = _assigned([statement for statement in loop.rest
                        if not any(statement is entry[0] for entry in found.values())])
    return {name: entry for name, entry in found.items() if name not in bound_twice and name not in others}


def _decoded_rows(loop: Loop) -> list[cst.Subscript]:
    """The rows the generate statement itself decodes with skip_special_tokens=True (the inline form)."""
    found: list[cst.Subscript] = []

    class Find(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            if last_name(node.func) == "decode" and node.args and node.args[0].keyword is None:
                skip = _keywords(node).get("skip_special_tokens")
                row, _ = _row_and_bound(node.args[0].value, loop.output, loop.inline_row)
                if row is not None and isinstance(skip, cst.Name) and skip.value == "True":
                    found.append(row)
            return True

    loop.generate.visit(Find())
    return found


def _visit_except(statement: cst.CSTNode, visitor: cst.CSTVisitor, skipped: cst.CSTNode) -> None:
    """Visit ``statement`` without descending into ``skipped`` (the generate call's own arguments)."""

    class Guard(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if node is skipped:
                return False
            return visitor.on_visit(node)

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if original_node is not skipped:
                visitor.on_leave(original_node)

    statement.visit(Guard())


def _row_and_bound(node: cst.BaseExpression, output: str | None, inline: cst.Subscript | None):
    """``out[0]`` -> (that subscript, None); ``out[0][n:]`` -> (``out[0]``, ``n``); else (None, None)."""
    bound = None
    if (isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice)
            and node.slice[0].slice.upper is None and node.slice[0].slice.step is None
            and node.slice[0].slice.lower is not None):
        bound = node.slice[0].slice.lower
        node = node.value
    if node is inline and inline is not None:
        return node, bound
    if (output is not None and isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name)
            and node.value.value == output):
        if _is_first_row(node):
            return node, bound
        if bound is None and _first_row_from(node) is not None:  # ``out[0, n:]``
            return node, _first_row_from(node)
    return None, None


def _first_row_from(node: cst.Subscript) -> cst.BaseExpression | None:
    """``n`` of ``out[0, n:]`` (the first row from column ``n``), else None."""
    if len(node.slice) != 2:
        return None
    row, columns = node.slice[0].slice, node.slice[1].slice
    if not (isinstance(row, cst.Index) and isinstance(row.value, cst.Integer) and row.value.value == "0"):
        return None
    if isinstance(columns, cst.Slice) and columns.upper is None and columns.step is None:
        return columns.lower
    return None


def _prompt_length(node: cst.BaseExpression, inputs: str) -> bool:
    """``inputs["input_ids"].shape[1]`` (or ``[-1]``, ``.input_ids``, ``.size(1)``) or ``len(inputs[...][0])``."""
    if isinstance(node, cst.Call) and last_name(node.func) == "len" and len(node.args) == 1:
        inner = node.args[0].value
        return isinstance(inner, cst.Subscript) and _is_first_row(inner) and _is_ids(inner.value, inputs)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "size":
        return len(node.args) == 1 and _last_axis(node.args[0].value) and _is_ids(node.func.value, inputs)
    if (isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)
            and _last_axis(node.slice[0].slice.value) and isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "shape"):
        return _is_ids(node.value.value, inputs)
    return False


def _last_axis(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer):
        return node.value == "1"
    return (isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
            and isinstance(node.expression, cst.Integer) and node.expression.value == "1")


def _is_ids(node: cst.BaseExpression, inputs: str) -> bool:
    try:
        return _encoding_field(node, "input_ids")[0] == inputs
    except NoFix:
        return False


def _read_names(node: cst.CSTNode) -> set[str]:
    return {name.value for name in _names(node)}


def _names(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Names())
    return found


def _assigned(nodes: list[cst.CSTNode]) -> set[str]:
    """Names bound (or changed through an attribute or item) by the statements."""
    found: set[str] = set()

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            found.update(_base_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            found.update(_base_names(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            found.update(_base_names(node.target))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            found.update(_base_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            found.update(_base_names(node.target))

        def visit_CompFor(self, node: cst.CompFor) -> None:
            pass  # a comprehension's own variables do not leak

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                found.update(_base_names(node.asname.name))

    for node in nodes:
        node.visit(Targets())
    return found


def _base_names(target: cst.CSTNode) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Attribute, cst.Subscript)):
        return _base_names(target.value)
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*(_base_names(element.value) for element in target.elements)) if target.elements else set()
    if isinstance(target, cst.StarredElement):
        return _base_names(target.value)
    return set()


def _refuse_dependencies(loop: Loop) -> None:
    """What runs after generation must not change what the next prompt's generation reads."""
    read = {name.value for node in (*loop.prelude, loop.tokenize, loop.generate_call, loop.node.iter)
            for name in _names(node)}
    changed = _assigned(loop.rest) - {loop.target}
    shared = sorted(changed & (read | {loop.inputs} | ({loop.output} if loop.output else set())))
    if shared:
        raise NoFix(f"each prompt's generation depends on the previous result ({shared[0]} is changed after it)")
    rest = loop.rest
    model = _receiver(loop.generate_call)
    read_by_generation = read
    tokenizer = dotted_name(loop.tokenizer_call.func)
    problems: list[str] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            owner = node.func.value if isinstance(node.func, cst.Attribute) else None
            owner_text = dotted_name(owner) if owner is not None else None
            if owner_text is not None and owner_text == model:
                problems.append(f"{model} is used again after generation")
            if owner_text is not None and owner_text == tokenizer and last_name(node.func) != "decode":
                problems.append(f"{tokenizer} is used after generation other than to decode")
            if isinstance(owner, cst.Name) and owner.value in read_by_generation and last_name(node.func) in MUTATORS:
                problems.append(f"each prompt's generation depends on the previous result ({owner.value} is changed "
                                "after it)")

    for statement in rest:
        if statement is loop.generate:
            _visit_except(statement, Calls(), loop.inline_row)
        else:
            statement.visit(Calls())
    if problems:
        raise NoFix(problems[0])


def _receiver(call: cst.Call) -> str | None:
    return dotted_name(call.func.value) if isinstance(call.func, cst.Attribute) else None


def _refuse_side_effects(loop: Loop) -> None:
    """Control flow that leaves the loop early, timing or memory readings, text that re-indenting would change."""
    problems: list[str] = []

    class Effects(cst.CSTVisitor):
        def visit_Break(self, node: cst.Break) -> None:
            problems.append("the loop can stop early (break)")

        def visit_Continue(self, node: cst.Continue) -> None:
            problems.append("the loop skips items (continue)")

        def visit_Return(self, node: cst.Return) -> None:
            problems.append("the loop can return early")

        def visit_Yield(self, node: cst.Yield) -> None:
            problems.append("the loop yields each result as it is generated")

        def visit_Await(self, node: cst.Await) -> None:
            problems.append("the loop awaits between generations")

        def visit_Raise(self, node: cst.Raise) -> None:
            problems.append("the loop can raise after a generation, before the next")

        def visit_Global(self, node: cst.Global) -> None:
            problems.append("the loop declares global names")

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            problems.append("the loop declares nonlocal names")

        def visit_Call(self, node: cst.Call) -> None:
            name = last_name(node.func)
            if name in MEASURING:
                problems.append(f"{name}() measures around generation: it would measure a chunk")
            elif name in SHOWING or (name in LOG_LEVELS and isinstance(node.func, cst.Attribute)):
                problems.append(f"{name}() shows each result as it is generated: it would come chunk by chunk")

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if "\n" in node.value or "\r" in node.value:
                problems.append("a string spans lines: indenting the statements would change it")

        def visit_FormattedString(self, node: cst.FormattedString) -> None:
            if any("\n" in part.value or "\r" in part.value for part in node.parts
                   if isinstance(part, cst.FormattedStringText)):
                problems.append("a string spans lines: indenting the statements would change it")

    loop.node.body.visit(Effects())
    if problems:
        raise NoFix(problems[0])


def _refuse_reads_after_the_loop(ctx: FixContext, loop: Loop) -> None:
    """The loop leaves the last prompt's encoding and tokens behind; after the fix it leaves a chunk's."""
    owner = ctx.parent(loop.node)
    while owner is not None and not isinstance(owner, (cst.FunctionDef, cst.Module)):
        owner = ctx.parent(owner)
    names = {loop.inputs} | ({loop.output} if loop.output else set()) | loop.aliases
    inside = {id(name) for name in _names(loop.node)}
    for name in _names(owner if owner is not None else ctx.module):
        if name.value in names and id(name) not in inside:
            raise NoFix(f"{name.value} is also used outside the loop")


def _decoder_only_load(loop: Loop, facts, generation):
    """The model's load, when it is provably a decoder-only model (left padding is right for it)."""
    receiver = loop.generate_call.func.value if isinstance(loop.generate_call.func, cst.Attribute) else None
    if not isinstance(receiver, cst.Name):
        raise NoFix("the model is not a name this file binds: it may be an encoder-decoder model (right padding)")
    origin = _load_call(facts, receiver, generation.site.scope, generation.site.order)
    if origin is None or last_name(origin.func) != "from_pretrained":
        raise NoFix(f"{receiver.value} is not loaded in this file: it may be an encoder-decoder model (right padding)")
    model_class = last_name(origin.func.value) if isinstance(origin.func, cst.Attribute) else None
    if not model_class or not model_class.endswith(DECODER_ONLY_SUFFIX):
        raise NoFix(f"{model_class or 'the model'} is not a causal language model class: encoder-decoder models "
                    "pad on the right")
    return next((load for load in facts.model_loads if load.site.node is origin), None)


def _require_a_tokenizer(loop: Loop, facts, generation) -> None:
    """The tokenizer is loaded in the file through a tokenizer class: the fix sets its pad token and
    padding side (a processor has neither)."""
    func = loop.tokenizer_call.func
    site = generation.site
    origin = _load_call(facts, func, site.scope, site.order) if isinstance(func, cst.Name) else None
    owner = origin.func.value if origin is not None and isinstance(origin.func, cst.Attribute) else None
    if origin is None or last_name(origin.func) != "from_pretrained" or "Tokenizer" not in (last_name(owner) or ""):
        raise NoFix(f"{code_of(func)} is not loaded in this file through a tokenizer class")


def _facts(ctx: FixContext):
    """The module's facts, collected once per fix context (when the finding does not carry the check's)."""
    from ecolint.analysis.facts import collect_facts

    facts = getattr(ctx, "_module_facts", None)
    if facts is None:
        facts = collect_facts(ctx.module)
        ctx._module_facts = facts
    return facts


def _load_call(facts, node: cst.BaseExpression, scope, order: int, depth: int = 0) -> cst.Call | None:
    """The ``from_pretrained`` call behind a model name, through ``.to(...)``, ``.eval()``, ``model = model.to()``."""
    if depth > 6:
        return None
    if isinstance(node, cst.Name):
        binding = scope.lookup(node.value, order)
        if binding is None or binding.kind != "assign" or binding.value is None:
            return None
        return _load_call(facts, binding.value, binding.scope, binding.order, depth + 1)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in CHAINED:
        return _load_call(facts, node.func.value, scope, order, depth + 1)
    if isinstance(node, cst.Call):
        return facts.resolver.origin_call(node, scope, order)
    return None


# -- edits -------------------------------------------------------------------------------------
def _edits(ctx: FixContext, loop: Loop, size: int) -> list[Edit]:
    taken = set(variable_names(ctx))

    def fresh(base: str) -> str:
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        taken.add(name)
        return name

    target = loop.target
    items, chunk, start = fresh(f"{target}_list"), fresh(f"{target}_chunk"), fresh("chunk_start")
    output = loop.output or fresh("outputs")
    row = fresh(f"{output}_row")
    side = fresh("padding_side")
    tokenizer = ctx.code(loop.tokenizer_call.func)
    nl, unit = ctx.newline, ctx.indent_unit
    for_start = _begin(ctx, loop.node)
    indent = ctx.indentation(for_start)
    if not ctx.starts_line(for_start):
        raise NoFix("the loop does not start its line")
    inner = ctx.indentation(_begin(ctx, loop.node.body.body[0]))
    target_start, _ = ctx.span(loop.node.target)
    progress = _progress_bar(loop.node.iter)
    walked = progress.args[0].value if progress is not None else loop.node.iter
    iter_start, iter_end = ctx.span(walked)
    if progress is not None:  # ``for p in tqdm(prompts, desc=...)``: the bar counts chunks
        _, target_end = ctx.span(loop.node.target)
        header_edits = [Edit(target_start, target_end, start),
                        Edit(iter_start, iter_end, f"range(0, len({items}), {size})")]
    else:
        header_edits = [Edit(target_start, iter_end, f"{start} in range(0, len({items}), {size})")]
    edits = [
        Edit(for_start, for_start, "".join(f"{line}{nl}{indent}" for line in (
            f"if {tokenizer}.pad_token is None:",
            f"{unit}{tokenizer}.pad_token = {tokenizer}.eos_token",
            f"{side} = {tokenizer}.padding_side",
            f'{tokenizer}.padding_side = "left"',
            f"{items} = list({ctx.source[iter_start:iter_end]})",
        ))),
        *header_edits,
    ]
    chunk_line = f"{inner}{chunk} = {items}[{start}:{start} + {size}]{nl}"
    texts = chunk
    if loop.prelude:  # compute every item's text first, in a loop of its own
        texts = fresh(f"{loop.text}_chunk")
        prelude_start = ctx.line_start(_begin(ctx, loop.prelude[0]))
        prelude_end = _finish(ctx, loop.prelude[-1])
        indents = _indent(ctx, prelude_start, prelude_end, unit)
        edits.append(Edit(prelude_start, prelude_start, f"{chunk_line}{inner}{texts} = []{nl}"
                          f"{inner}for {target} in {chunk}:{nl}{indents[0].content}"))
        edits.extend(indents[1:])
        after_prelude = ctx.after_line(prelude_end)
        edits.append(Edit(after_prelude, after_prelude, f"{inner}{unit}{texts}.append({loop.text}){nl}"))
    else:
        if loop.text_expr is not None:  # ``tok(prompt_for(item))``: the chunk's texts, in a list
            texts = fresh(f"{target}_texts")
            expr_start, expr_end = ctx.span(loop.text_expr)
            chunk_line += f"{inner}{texts} = [{ctx.source[expr_start:expr_end]} for {target} in {chunk}]{nl}"
        tokenize_start = ctx.line_start(_begin(ctx, loop.tokenize))
        edits.append(Edit(tokenize_start, tokenize_start, chunk_line))
    text_start, text_end = ctx.span(loop.text_arg.value)
    edits.append(Edit(text_start, text_end, texts))
    edits.extend(_add_keyword(ctx, loop.tokenizer_call, "padding=True"))
    mask = _add_keyword(ctx, loop.generate_call, loop.missing_mask) if loop.missing_mask is not None else []
    read_later = {name.value for node in loop.rest for name in _names(node)}
    if loop.text is not None and loop.text in read_later:
        header = f"{inner}for {target}, {loop.text}, {row} in zip({chunk}, {texts}, {output}):{nl}"
    else:
        header = f"{inner}for {target}, {row} in zip({chunk}, {output}):{nl}"
    if loop.inline_row is not None:  # ``model.generate(...)[0]`` read in place: generate first, then read the rows
        call_start, call_end = ctx.span(loop.generate_call)
        row_start, row_end = ctx.span(loop.inline_row)
        call = apply_edits(ctx.source[call_start:call_end],
                           [Edit(edit.start - call_start, edit.end - call_start, edit.content) for edit in mask])
        header = f"{inner}{output} = {call}{nl}{header}"
        edits.append(Edit(row_start, row_end, row))
    else:
        edits.extend(mask)
    first_rest = ctx.line_start(_begin(ctx, loop.rest[0]))
    rest_end = _finish(ctx, loop.rest[-1])
    indents = _indent(ctx, first_rest, rest_end, unit)  # the first is at ``first_rest``: the inner loop goes there
    edits.append(Edit(first_rest, first_rest, header + indents[0].content))
    edits.extend(indents[1:])
    for subscript in loop.rows:
        row_start, row_end = ctx.span(subscript)
        columns = _first_row_from(subscript)
        if columns is None:
            edits.append(Edit(row_start, row_end, row))
        else:  # ``out[0, n:]`` -> ``out_row[n:]``
            bound_start, bound_end = ctx.span(columns)
            edits.append(Edit(row_start, row_end, f"{row}[{ctx.source[bound_start:bound_end]}:]"))
    after = ctx.after_line(rest_end)
    restore = f"{indent}{tokenizer}.padding_side = {side}{nl}"
    if after == len(ctx.source) and not ctx.source.endswith(("\n", "\r")):
        restore = f"{nl}{indent}{tokenizer}.padding_side = {side}"
    edits.append(Edit(after, after, restore))
    return edits


def _progress_bar(node: cst.BaseExpression) -> cst.Call | None:
    """``tqdm(items, desc=...)`` around what the loop walks (its length is the list's), else None."""
    if not (isinstance(node, cst.Call) and last_name(node.func) in PROGRESS):
        return None
    positional = [arg for arg in node.args if arg.keyword is None]
    if len(positional) != 1 or positional[0] is not node.args[0] or positional[0].star:
        raise NoFix("the progress bar is not given the items alone")
    if any(arg.keyword is not None and arg.keyword.value == "total" for arg in node.args) or any(
            arg.star == "**" for arg in node.args):
        raise NoFix("the progress bar's total counts prompts, the fixed loop walks chunks")
    return node


def _begin(ctx: FixContext, statement: cst.CSTNode) -> int:
    """Where a statement's own text starts (after the blank and comment lines that precede it)."""
    try:
        position = ctx.positions[statement]
        return ctx.index.offset(position.start.line, position.start.column + 1)
    except (KeyError, ValueError):
        raise NoFix("statement has no position") from None


def _finish(ctx: FixContext, statement: cst.CSTNode) -> int:
    """Where a statement's text ends (a compound statement: its last body line, without the newline)."""
    try:
        position = ctx.positions[statement]
        end = ctx.index.offset(position.end.line, position.end.column + 1)
    except (KeyError, ValueError):
        raise NoFix("statement has no position") from None
    while end > 0 and ctx.source[end - 1] in "\r\n":
        end -= 1
    return end


def _indent(ctx: FixContext, start: int, end: int, unit: str) -> list[Edit]:
    """One more indentation unit at the start of every non-blank line from ``start`` to ``end``."""
    edits = []
    position = start
    while position < end:
        line_end = ctx.line_end(position)
        if ctx.source[position:line_end].strip():
            edits.append(Edit(position, position, unit))
        position = ctx.after_line(position)
        if position == line_end:  # the last line, without a newline
            break
    return edits


def _add_keyword(ctx: FixContext, call: cst.Call, text: str) -> list[Edit]:
    """Edits that add ``keyword=value`` as the call's last argument, in the arguments' layout."""
    from ecolint.fixes.layout import Sequence

    if not call.args:
        raise NoFix("the call has no arguments")
    return Sequence(ctx, list(call.args)).append(text)
