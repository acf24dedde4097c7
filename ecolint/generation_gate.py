"""The pre-pass's second look, for the generation rules that the name test keeps (``ecolint.candidates``).

A file that calls ``generate`` somewhere (a model class's own ``generate``, a pipeline's internals) is not
yet a file where generation runs once per item. What the analysis reports, and what this look keeps, as an
over-approximation on CPython's tree:

- LLM201 and LLM206 (generation per item of a loop): a generation call inside a loop (``for``, ``while``,
  a comprehension; a function's body defined in a loop is not in it), or a call in a loop of a function
  of the file that reaches one, through other functions of the file (by their last name, so methods count)
  or a variable that holds one; a function that reaches one named as a value (handed to a call, put in a
  dict: the loop may be in the function it is handed to, here or in another module); and the same for the
  functions and classes that generate which the file imports from its project (``imported_generators``,
  the text of their definitions: the project index's), called by name, through a module
  (``helpers.answer(q)``), through an object one of them made, or named as a value.
- LLM202 (batch size of one): the same, or a ``pipeline`` / ``*Pipeline`` call (its ``batch_size``).
- LLM301 (KV cache off): a generation call, ``GenerationConfig`` or model load given ``use_cache`` (or a
  ``**`` splat that may carry it), or an assignment to ``<...>.config.use_cache`` /
  ``<...>.generation_config.use_cache`` of anything but a true constant.

A generation call is a call of ``generate`` / ``generate_mamba`` / ``chat`` (or an alias of one), of an
object made by ``pipeline(...)`` or a ``*Pipeline`` class, or a call of a name (not a builtin's) or of its
attributes that passes a keyword only generation takes or whose result is read as ``[0]["generated_text"]``.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

from ecolint.candidates import (GENERATION_ONLY_KEYWORDS, LOADS, NOT_GENERATOR_WORDS, PIPELINE_CLASS, RESULT_KEYS,
                                last_name)

PER_ITEM = frozenset({"LLM201", "LLM206"})
BATCH_SIZE = "LLM202"
CACHE = "LLM301"
GATED = PER_ITEM | {BATCH_SIZE, CACHE}

GENERATION_METHODS = frozenset({"generate", "generate_mamba", "chat"})
CONFIG_ATTRIBUTES = frozenset({"config", "generation_config"})  # LLM301's settings on a model's config
SPLAT = "**"
BUILTINS = frozenset(dir(builtins))  # ``dict(max_new_tokens=...)`` builds settings, it does not generate
# a top-level definition's kind and name: a project's generating function handed on may run per item in the
# function it is handed to; a class handed on is no generator (the analysis follows its methods' calls)
DEFINED = re.compile(r"^(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.MULTILINE)


@dataclass(eq=False)
class _Call:
    function: str | None  # the name of the innermost ``def`` around it
    in_loop: bool
    name: str | None  # the callee's last name: ``generate`` in ``self.model.generate(...)``
    receiver: str | None  # the last name of what a method is called on: ``model``
    head: str | None  # the name the callee starts from: ``self``; ``super`` in ``super().generate(...)``
    plain: bool  # the callee is a name or its attributes and indexes (``gen``, ``self.gen``), not a call's
    not_a_model: bool  # ``template.generate(...)``: a method of something named as no model
    keywords: frozenset[str]  # its keywords' names, ``**`` for a splat
    node: ast.Call


@dataclass
class _Context:
    calls: list[_Call] = field(default_factory=list)
    # names and attributes handed on as values: a call's arguments (and the items of a list, tuple or
    # dict given as one), a dict's values, an assignment's value
    handed: set[str] = field(default_factory=set)
    aliases: dict[str, set[str]] = field(default_factory=dict)  # ``run = model.generate`` -> run: {generate}
    made: dict[str, set[str]] = field(default_factory=dict)  # ``pipe = pipeline(...)`` -> pipe: {pipeline}
    made_from: dict[str, set[str]] = field(default_factory=dict)  # the same, by the callee's first name
    imports: set[str] = field(default_factory=set)  # the names import statements bind
    # names whose definitions the project index's text may not cover: ``from . import helpers`` (a module of
    # the project, perhaps, when it is lower-case and used as one: ``helpers.answer(q)``) and
    # ``from app.helpers import answer as ask``
    modules: set[str] = field(default_factory=set)
    renamed: set[str] = field(default_factory=set)
    handed_heads: set[str] = field(default_factory=set)  # ``helpers`` of ``helpers.answer``, handed on
    shaped: set[int] = field(default_factory=set)  # calls whose result is read as ``[0]["generated_text"]``
    cache_off: bool = False  # an assignment to a config's use_cache that may be False
    rebound: set[str] = field(default_factory=set)  # the names assigned (or deleted) anywhere
    parameters: set[str] = field(default_factory=set)  # the names of functions' and lambdas' parameters
    use_cache_key: bool = False  # the string "use_cache" (a dict's key, a subscript, ``setdefault``'s)


def kept(codes: list[str], tree: ast.AST, imported_generators: str = "", imported_settings: str = "") -> list[str]:
    """The codes of ``codes`` among :data:`GATED` that can fire on ``tree`` (the others are returned as
    they are). What the file imports from its project (the project index's text): ``imported_generators``,
    the definitions that generate (``ImportedText.functions``); ``imported_settings``, the module-level
    assignments (``ImportedText.assignments``: a settings dict's entries reach the file's calls)."""
    if not GATED.intersection(codes):
        return codes
    try:
        return _kept(codes, tree, imported_generators, imported_settings)
    except RecursionError:  # ``a if c else b if d else ...`` thousands deep: kept, as without the gate
        return codes


def _kept(codes: list[str], tree: ast.AST, imported_generators: str, imported_settings: str) -> list[str]:
    context = _walk(tree)
    context.use_cache_key = context.use_cache_key or "use_cache" in imported_settings
    defined = DEFINED.findall(imported_generators)
    gate = _Gate(context, frozenset(name for _, name in defined),
                 frozenset(name for kind, name in defined if kind == "def"))
    per_item = gate.per_item()
    found = []
    for code in codes:
        if code in PER_ITEM:
            keep = per_item
        elif code == BATCH_SIZE:
            keep = per_item or gate.makes_pipeline()
        elif code == CACHE:
            keep = context.cache_off or gate.given_use_cache()
        else:
            keep = True
        if keep:
            found.append(code)
    return found


class _Gate:
    """The answers, from what :func:`_walk` gathered."""

    def __init__(self, context: _Context, imported: frozenset[str], functions: frozenset[str] = frozenset()) -> None:
        self.context = context
        self.imported = imported  # the names of the generating definitions imported from the project
        self.functions = functions  # those of them that are functions
        self._resolved: dict[str, frozenset[str]] = {}
        holders = {target for target, names in context.made.items() if any(map(_pipeline_name, self.all(names)))}
        if imported:  # ``decoder = ProjectClass(...)``: its methods may generate
            holders |= {target for target, heads in context.made_from.items() if self.all(heads) & imported}
        self.holders = holders
        self.handed_functions = functions | {alias for alias in context.aliases if self.resolve(alias) & functions}
        # a builtin's name that the file never binds (a parameter named ``filter`` is not the builtin)
        self.builtins = BUILTINS - context.rebound - context.parameters
        self.generating = self._generating_functions()

    def all(self, names: set[str] | frozenset[str]) -> set[str]:
        return set().union(*(self.resolve(name) for name in names)) if names else set()

    def resolve(self, name: str | None) -> frozenset[str]:
        """The name and what it stands for, through aliases (``run = model.generate``, ``import x as y``)."""
        if name is None:
            return frozenset()
        found = self._resolved.get(name)
        if found is None:
            found, pending = {name}, [name]
            while pending:
                for meant in self.context.aliases.get(pending.pop(), ()):
                    if meant not in found:
                        found.add(meant)
                        pending.append(meant)
            found = self._resolved[name] = frozenset(found)
        return found

    def generates(self, call: _Call) -> bool:
        """A generation call, or a call of a generating definition imported from the project."""
        if call.plain and call.head not in self.builtins and (
                id(call.node) in self.context.shaped or GENERATION_ONLY_KEYWORDS & call.keywords):
            return True
        names = self.resolve(call.name)
        if names & GENERATION_METHODS and not call.not_a_model or names & self.holders or call.receiver in self.holders:
            return True
        return bool(self.imported) and bool((names | self.resolve(call.head)) & self.imported)

    def _generating_functions(self) -> set[str]:
        """The names of the file's functions that reach a generation call, through each other (by last name)."""
        called: dict[str, set[str]] = {}
        found: set[str] = set()
        for call in self.context.calls:
            if call.function is None:
                continue
            if self.generates(call):
                found.add(call.function)
            else:
                called.setdefault(call.function, set()).update(self.resolve(call.name))
        grown = True
        while grown:
            grown = False
            for function, names in called.items():
                if function not in found and names & found:
                    found.add(function)
                    grown = True
        return found

    def per_item(self) -> bool:
        context = self.context
        if context.handed & (self.generating | self.handed_functions | context.renamed) or context.handed_heads & (
                self.imported | context.modules | context.renamed):
            return True  # handed on: the loop may be where it is handed to
        return any(call.in_loop and (self.generates(call) or self.resolve(call.name) & self.generating
                                     or call.head in context.renamed
                                     or call.head in context.modules and call.receiver is not None)
                   for call in context.calls)

    def makes_pipeline(self) -> bool:
        return any(_pipeline_name(name) for call in self.context.calls for name in self.resolve(call.name))

    def given_use_cache(self) -> bool:
        """A generation, ``GenerationConfig`` or (in a file that generates) a model load given ``use_cache``."""
        context = self.context
        # a ``**`` dict carries use_cache only when it is written somewhere: ``dict(use_cache=...)``,
        # ``{"use_cache": ...}``, ``kwargs["use_cache"] = ...``, or in the project's settings
        writes = context.use_cache_key or any("use_cache" in call.keywords for call in context.calls)
        given = [call for call in context.calls if "use_cache" in call.keywords or writes and any(
            keyword == SPLAT or keyword[:2] == SPLAT and keyword[2:] in context.rebound
            for keyword in call.keywords)]
        if any(self.generates(call) or "GenerationConfig" in self.resolve(call.name) for call in given):
            return True
        loads = any(self.resolve(call.name) & LOADS for call in given)
        return loads and any(self.resolve(call.name) & GENERATION_METHODS for call in self.context.calls)


def _pipeline_name(name: str) -> bool:
    return name == "pipeline" or name.endswith(PIPELINE_CLASS)


FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
FOR_LOOPS = (ast.For, ast.AsyncFor)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _walk(tree: ast.AST) -> _Context:
    """One walk that knows, at each node, the innermost function around it (its name and the name of its
    ``**`` parameter) and whether a loop of that function runs it (as the analysis's collector does: a
    nested function's body is outside the loop)."""
    context = _Context()
    pending: list[tuple[ast.AST, tuple[str | None, str | None], bool]] = [(tree, (None, None), False)]
    push = pending.append
    while pending:
        node, function, in_loop = pending.pop()
        kind = node.__class__
        if kind is ast.Call:
            _call(context, node, function, in_loop, push)
            continue
        if kind is ast.Constant:
            if node.value == "use_cache":
                context.use_cache_key = True
            continue
        if kind is ast.Name:
            if node.ctx.__class__ is not ast.Load:
                context.rebound.add(node.id)
            continue
        if kind in FUNCTIONS or kind is ast.Lambda:
            context.parameters.update(_parameters(node.args))
        if kind in FUNCTIONS:
            for part in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
                if part is not None:
                    push((part, function, in_loop))
            for statement in node.body:
                push((statement, (node.name, node.args.kwarg and node.args.kwarg.arg), False))
            continue
        if kind in FOR_LOOPS:
            push((node.iter, function, in_loop))
            for statement in node.body:
                push((statement, function, True))
            for statement in node.orelse:
                push((statement, function, in_loop))
            continue
        if kind is ast.While:
            push((node.test, function, True))
            for statement in node.body:
                push((statement, function, True))
            for statement in node.orelse:
                push((statement, function, in_loop))
            continue
        if kind in COMPREHENSIONS:  # the first iterable is evaluated once, outside the loop
            first, *inner = node.generators
            push((first.iter, function, in_loop))
            for part in [*first.ifs, *inner, *([node.key, node.value] if kind is ast.DictComp else [node.elt])]:
                push((part, function, True))
            continue
        if kind is ast.Subscript:
            _generated_text_read(context, node)
        elif kind is ast.Dict:
            _hand(context, node.values)
        elif kind is ast.Assign:
            for target in node.targets:
                _assignment(context, target, node.value)
        elif kind is ast.AnnAssign or kind is ast.NamedExpr:
            if node.value is not None:
                _assignment(context, node.target, node.value)
        elif kind is ast.Import or kind is ast.ImportFrom:
            _imports(context, node)
            continue
        for child in ast.iter_child_nodes(node):
            push((child, function, in_loop))
    return context


def _call(context: _Context, node: ast.Call, function: tuple[str | None, str | None], in_loop: bool, push) -> None:
    """Record the call; walk its arguments, and the parts of its callee that are not names (an inner call,
    an index): the callee's names are called, not read as values."""
    func = node.func
    name = receiver = None
    if func.__class__ is ast.Name:
        name = func.id
    elif func.__class__ is ast.Attribute:
        name, receiver = func.attr, last_name(func.value)
    keywords = frozenset(_keyword(keyword, function[1]) for keyword in node.keywords)
    head, plain = _head(func, function, in_loop, push)
    not_a_model = name == "generate" and receiver is not None and _names_no_model(func.value)
    context.calls.append(_Call(function[0], in_loop, name, receiver, head, plain, not_a_model, keywords, node))
    given = [*node.args, *(keyword.value for keyword in node.keywords)]
    _hand(context, given)
    for argument in given:
        push((argument, function, in_loop))


def _keyword(keyword: ast.keyword, kwargs: str | None) -> str:
    """The keyword's name; for a splat, :data:`SPLAT`, or ``**name`` when it passes on the enclosing
    function's own ``**name`` parameter (whose entries the analysis cannot know, unless it is rebound)."""
    if keyword.arg is not None:
        return keyword.arg
    value = keyword.value
    return SPLAT + value.id if value.__class__ is ast.Name and value.id == kwargs else SPLAT


def _hand(context: _Context, values: list[ast.AST | None]) -> None:
    """Record the names among values handed on (``Starred``: ``*fns``; a list or tuple: its items)."""
    for value in values:
        if value.__class__ is ast.Starred:
            value = value.value
        if value.__class__ in (ast.List, ast.Tuple, ast.Set):
            _hand(context, value.elts)
        else:
            name = last_name(value) if value is not None else None
            if name is not None:
                context.handed.add(name)
            if value.__class__ is ast.Attribute:
                head = _first_name(value)
                if head is not None:
                    context.handed_heads.add(head)


def _head(func: ast.AST, function: str | None, in_loop: bool, push) -> tuple[str | None, bool]:
    """The name a callee starts from and whether it is plain (see :class:`_Call`), pushing what else its
    chain holds (an inner call, an index) for the walk."""
    while True:
        kind = func.__class__
        if kind is ast.Name:
            return func.id, True
        if kind is ast.Attribute:
            func = func.value
        elif kind is ast.Subscript:
            push((func.slice, function, in_loop))
            func = func.value
        elif kind is ast.Call:
            push((func, function, in_loop))
            return _first_name(func.func), False
        else:
            push((func, function, in_loop))
            return None, False


def _names_no_model(owner: ast.AST) -> bool:
    """The dotted name of ``owner`` holds a word of :data:`NOT_GENERATOR_WORDS` (as the analysis reads it)."""
    words = []
    while owner.__class__ is ast.Attribute:
        words.append(owner.attr)
        owner = owner.value
    if owner.__class__ is ast.Name:
        words.append(owner.id)
    text = ".".join(reversed(words)).lower()
    return any(word in text for word in NOT_GENERATOR_WORDS)


def _parameters(arguments: ast.arguments) -> list[str]:
    found = [argument.arg for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]]
    return found + [argument.arg for argument in (arguments.vararg, arguments.kwarg) if argument is not None]


def _first_name(func: ast.AST) -> str | None:
    while func.__class__ in (ast.Attribute, ast.Subscript, ast.Call):
        func = func.func if func.__class__ is ast.Call else func.value
    return func.id if func.__class__ is ast.Name else None


def _generated_text_read(context: _Context, node: ast.Subscript) -> None:
    """``call(...)[0]["generated_text"]``: the call is a generation pipeline's, whatever its callee."""
    inner = node.value
    key, index = node.slice, getattr(inner, "slice", None)
    if (key.__class__ is ast.Constant and key.value in RESULT_KEYS and inner.__class__ is ast.Subscript
            and index.__class__ is ast.Constant and index.value == 0 and inner.value.__class__ is ast.Call):
        context.shaped.add(id(inner.value))


def _assignment(context: _Context, target: ast.AST, value: ast.AST) -> None:
    name = last_name(target)
    if name is None:
        return
    for option in _alternatives(value):
        meant = last_name(option)
        if meant is not None:
            context.aliases.setdefault(name, set()).add(meant)
            context.handed.add(meant)
        elif option.__class__ is ast.Call:
            callees, call = context.made.setdefault(name, set()), option
            while call.__class__ is ast.Call:  # ``pipeline(...).to(device)``: every call of the chain
                callee = last_name(call.func)
                if callee is not None:
                    callees.add(callee)
                call = call.func.value if call.func.__class__ is ast.Attribute else None
            head = _first_name(option.func)
            if head is not None:
                context.made_from.setdefault(name, set()).add(head)
    if name == "use_cache" and target.__class__ is ast.Attribute and last_name(target.value) in CONFIG_ATTRIBUTES:
        context.cache_off = context.cache_off or not (value.__class__ is ast.Constant and value.value)


def _alternatives(value: ast.AST) -> list[ast.AST]:
    """The values an assignment may bind: the branches of ``a if c else b``, the operands of ``a or b``."""
    if value.__class__ is ast.IfExp:
        return _alternatives(value.body) + _alternatives(value.orelse)
    if value.__class__ is ast.BoolOp:
        return [option for operand in value.values for option in _alternatives(operand)]
    return [value]


def _imports(context: _Context, node: ast.Import | ast.ImportFrom) -> None:
    for alias in node.names:
        if alias.name == "*":
            continue
        if alias.asname:
            context.imports.add(alias.asname)
            context.aliases.setdefault(alias.asname, set()).add(alias.name.rsplit(".", 1)[-1])
        else:
            context.imports.add(alias.name.split(".", 1)[0] if node.__class__ is ast.Import else alias.name)
        if node.__class__ is ast.ImportFrom and alias.asname:
            context.renamed.add(alias.asname)
        elif node.__class__ is ast.ImportFrom and node.level and alias.name[:1].islower():
            context.modules.add(alias.name)
