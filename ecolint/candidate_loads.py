"""The pre-pass's test for model loads (``ecolint.candidates``): which calls of a file may load a model as the
analysis records one, read from CPython's tree before libcst parses the file.

The analysis (``ecolint.analysis.facts``) records a model load for ``X.from_pretrained(...)`` when X is not named
like a tokenizer, processor, config or adapter loader (``ecolint.pretrained_classes.loads_no_model``) and either
stands for a transformers or peft class or is given a bitsandbytes keyword; for ``pipeline(...)`` of transformers and
``LLM(...)`` of vLLM, known by their qualified names; and a quantization config for ``BitsAndBytesConfig(...)``
of transformers. A name is qualified as a package's only through an import of that package (or a ``*`` import
from it), and X stands for a class of another project module only when the text the file imports from its
project (``project_index.imported_text``) assigns the name it imports. Everywhere else X is unknown to the
analysis: ``cls``, ``self.model_class``, ``super()``, a class of the file itself or of another library.

The test over-approximates the resolver (``analysis.values.Resolver.resolve``): it follows every binding the
file gives a name, whatever its scope and order: assignments, parameter defaults, entries set into a dict,
dict literals and lookups, conditional expressions, ``or``; the results of the module's own functions count
as anything.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

from ecolint.pretrained_classes import BNB_LOAD_ARGUMENTS, LOADING_PACKAGES, loads_no_model

# Calls the analysis knows by their qualified name: the called name -> the package it must come from.
LIBRARY_LOADS: dict[str, str] = {"pipeline": "transformers", "LLM": "vllm", "BitsAndBytesConfig": "transformers"}
PRETRAINED = "from_pretrained"
DICT_CHANGES = frozenset({"update", "setdefault"})  # ``d.update(...)``, ``d.setdefault(k, v)``: entries of d


class LoadFacts:
    """What the pre-pass's walk (``candidates.summarize``) hands over for this test: the calls named in
    :data:`CALLS` and the nodes of the kinds in :data:`NODES`, kept as they are; they are read
    (:meth:`_read`) only for a file that calls one of the loading names."""

    CALLS = frozenset({PRETRAINED, *DICT_CHANGES})
    NODES = frozenset({ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.arguments,
                       ast.FunctionDef, ast.AsyncFunctionDef})

    def __init__(self) -> None:
        self.calls: list[ast.Call] = []  # calls named in CALLS
        self.nodes: list[ast.AST] = []  # nodes of the kinds in NODES
        self.pretrained: list[ast.Call] = []  # ``X.from_pretrained(...)``
        self.packages: set[str] = set()  # the top-level packages the file imports (absolute imports)
        self.library_names: set[str] = set()  # names an import binds to transformers or peft
        self.library_star = False  # ``from transformers import *``: any unbound name may be transformers'
        self.imported: dict[str, list[str]] = {}  # name -> the name imported from another module
        self.values: dict[str, list[ast.expr]] = {}  # name -> what is assigned to it or put in it
        self.functions: set[str] = set()  # the names of the file's functions
        self._done = False

    def imports(self, package: str) -> bool:
        """Whether the file imports ``package`` (an absolute import of it or of one of its modules)."""
        self._read()
        return package in self.packages

    def _read(self) -> None:
        if self._done:
            return
        self._done = True
        for node in self.calls:
            self._call(node)
        for node in self.nodes:
            kind = node.__class__
            if kind is ast.Assign:
                for target in node.targets:
                    self._bind(target, node.value)
            elif kind is ast.ImportFrom:
                self._import_from(node)
            elif kind is ast.Import:
                for alias in node.names:
                    head = alias.name.split(".", 1)[0]
                    self._imports(head, alias.asname or head,
                                  (alias.name if alias.asname else head).rsplit(".", 1)[-1])
            elif kind is ast.arguments:
                self._defaults(node)
            elif kind is ast.AnnAssign or kind is ast.NamedExpr:
                if node.value is not None:
                    self._bind(node.target, node.value)
            else:  # a function definition
                self.functions.add(node.name)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if func.__class__ is not ast.Attribute:
            return
        if func.attr == PRETRAINED:
            self.pretrained.append(node)
        elif func.value.__class__ is ast.Name:
            self.values.setdefault(func.value.id, []).extend(
                [*node.args, *(keyword.value for keyword in node.keywords)])

    def _defaults(self, node: ast.arguments) -> None:
        positional = [*node.posonlyargs, *node.args]
        for argument, default in zip(positional[len(positional) - len(node.defaults):], node.defaults):
            self.values.setdefault(argument.arg, []).append(default)
        for argument, default in zip(node.kwonlyargs, node.kw_defaults):
            if default is not None:
                self.values.setdefault(argument.arg, []).append(default)

    def _import_from(self, node: ast.ImportFrom) -> None:
        head = (node.module or "").split(".", 1)[0] if not node.level else ""
        for alias in node.names:
            if alias.name == "*":
                self.library_star = self.library_star or head in LOADING_PACKAGES
                if head:
                    self.packages.add(head)
            else:
                self._imports(head, alias.asname or alias.name, alias.name)

    def _imports(self, head: str, local: str, name: str) -> None:
        """``local`` bound by an import of ``name`` from package ``head`` ("" for a relative import)."""
        if head:
            self.packages.add(head)
        if head in LOADING_PACKAGES:
            self.library_names.add(local)
        else:
            self.imported.setdefault(local, []).append(name)

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        kind = target.__class__
        if kind is ast.Name:
            self.values.setdefault(target.id, []).append(value)
        elif kind is ast.Subscript:  # ``d["k"] = v``, ``d["a"]["b"] = v``: an entry of d
            while kind is ast.Subscript:
                target = target.value
                kind = target.__class__
            if kind is ast.Name:
                self.values.setdefault(target.id, []).append(value)


def load_names(facts: LoadFacts, called: set[str], imported: str = "") -> set[str]:
    """The names among ``from_pretrained``, ``pipeline``, ``LLM`` and ``BitsAndBytesConfig`` through which the file
    may load a model or make a quantization config (``called``: the names it calls, aliases included;
    ``imported``: the text of what it imports from its project)."""
    if not (PRETRAINED in called or called & LIBRARY_LOADS.keys()):
        return set()
    facts._read()
    found = {name for name, package in LIBRARY_LOADS.items() if name in called and package in facts.packages}
    if facts.pretrained:
        classes = _Classes(facts, imported)
        if any(_may_load(call, classes) for call in facts.pretrained):
            found.add(PRETRAINED)
    return found


def _may_load(call: ast.Call, classes: _Classes) -> bool:
    receiver = call.func.value
    kind = receiver.__class__
    if loads_no_model(receiver.id if kind is ast.Name else receiver.attr if kind is ast.Attribute else ""):
        return False
    return any(keyword.arg in BNB_LOAD_ARGUMENTS for keyword in call.keywords) or classes.may_be(receiver)


class _Classes:
    """Whether an expression may stand for a transformers or peft class (or a dict or choice holding one)."""

    def __init__(self, facts: LoadFacts, imported: str) -> None:
        self.facts, self.imported = facts, imported
        self.seen: set[str] = set()

    def may_be(self, node: ast.expr) -> bool:
        kind = node.__class__
        if kind is ast.Name:
            return self._name(node.id)
        if kind is ast.Attribute:  # qualified through the name it starts from
            while kind is ast.Attribute:
                node = node.value
                kind = node.__class__
            return kind is ast.Name and self._name(node.id)
        if kind is ast.Subscript:
            return self.may_be(node.value)
        if kind is ast.Dict or kind is ast.BoolOp:
            return any(self.may_be(value) for value in node.values)
        if kind is ast.IfExp:
            return self.may_be(node.body) or self.may_be(node.orelse)
        if kind is ast.Call and node.func.__class__ is ast.Name:
            if node.func.id in self.facts.functions:
                return True  # what a function of the module returns
            return node.func.id == "dict" and any(
                self.may_be(value) for value in [*node.args, *(keyword.value for keyword in node.keywords)])
        return False

    def _name(self, name: str) -> bool:
        if name in self.seen:
            return False  # followed already, or being followed
        self.seen.add(name)
        facts = self.facts
        if name in facts.library_names or facts.library_star:
            return True
        if any(_assigned_in(self.imported, original) for original in facts.imported.get(name, ())):
            return True  # a constant of another project module
        return any(self.may_be(value) for value in facts.values.get(name, ()))


def _assigned_in(text: str, name: str) -> bool:
    """Whether ``text`` assigns ``name`` at the start of a line, as the project index's top-level
    assignments do (``project_index.TOP_LEVEL_NAME``)."""
    return name in text and _assignment(name).search(text) is not None


@lru_cache(maxsize=1024)
def _assignment(name: str) -> re.Pattern:
    return re.compile(rf"(?m)^{re.escape(name)}[ \t]*(?::[^=\n]*)?=(?!=)")
