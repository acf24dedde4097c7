"""What a fixer works with: the parsed module, its exact source text, and node positions as offsets."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from ecolint.analysis.splats import SplatKeys
from ecolint.config import DEFAULT_FIX_BATCH_SIZE
from ecolint.fixes.edits import EditError, LineIndex
from ecolint.project_versions import NO_PINS, ProjectVersions

_BLANK = re.compile(r"[ \t\f]*")
_LINE_INDENT = re.compile(r"(?:\r\n|\r|\n)[ \t\f]*")


class NoFix(Exception):
    """A fixer (or a helper) found that no fix can be offered without risk; the reason is the message."""


@dataclass(frozen=True)
class FixSettings:
    """The settings fixes read: the deployment GPU and the batch size batching fixes write."""

    gpu: Any = None  # ecolint.energy.dataset.GpuSpec
    batch_size: int = DEFAULT_FIX_BATCH_SIZE  # the fix-batch-size setting
    base_dirs: tuple[Path, ...] = ()


@dataclass
class Proposal:
    """What a fixer returns: edits of the original source, optionally a lower applicability."""

    edits: list
    applicability: str | None = None  # None: the rule's
    message: str | None = None  # None: the rule's fix title


def _bare(node: cst.CSTNode) -> cst.CSTNode:
    """The node without the parts libcst's positions leave out (own parentheses, comma, semicolon)."""
    changes: dict = {}
    if isinstance(getattr(node, "lpar", None), (list, tuple)) and node.lpar:
        changes["lpar"] = []
        changes["rpar"] = []
    if isinstance(node, (cst.Arg, cst.DictElement, cst.StarredDictElement, cst.ImportAlias, cst.Element,
                         cst.StarredElement)) and not isinstance(getattr(node, "comma", None), cst.MaybeSentinel):
        changes["comma"] = cst.MaybeSentinel.DEFAULT
    if isinstance(node, cst.Arg):
        changes["whitespace_after_arg"] = cst.SimpleWhitespace("")
    if isinstance(getattr(node, "semicolon", None), cst.Semicolon):
        changes["semicolon"] = cst.MaybeSentinel.DEFAULT
    return node.with_changes(**changes) if changes else node


class FixContext:
    """One module being fixed: maps nodes to exact offsets in ``source`` and checks that they agree."""

    def __init__(self, module: cst.Module, source: str, positions, versions: ProjectVersions = NO_PINS,
                 settings: FixSettings | None = None) -> None:
        self.module = module
        self.source = source
        self.positions = positions
        self.versions = versions  # the project's pinned library versions
        settings = settings or FixSettings()
        self.gpu = settings.gpu  # the deployment GPU (--gpu), or None
        self.batch_size = settings.batch_size  # the fix-batch-size setting
        self.base_dirs = settings.base_dirs  # where the file's local checkpoints are looked for
        self._splats: SplatKeys | None = None
        self._index: LineIndex | None = None
        self._parents = None
        self._statement_parents: dict | None = None
        self._comments: list[tuple[int, int, str]] | None = None
        self._once: dict = {}

    def once(self, key, compute):
        """``compute()``, computed once per module for ``key``: the whole-module lookups that all fixes of a
        file share (one scan per fix would make linting quadratic in the number of findings)."""
        if key not in self._once:
            self._once[key] = compute()
        return self._once[key]

    # -- text and positions ----------------------------------------------------------------
    @property
    def index(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.source)
        return self._index

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        """Offsets of ``node`` in the source, checked against the node's own code."""
        try:
            position = self.positions[node]
        except KeyError:
            raise NoFix("node has no position") from None
        try:
            start = self.index.offset(position.start.line, position.start.column + 1)
            end = self.index.offset(position.end.line, position.end.column + 1)
        except EditError:
            raise NoFix("position outside the source") from None
        try:
            expected = self.module.code_for_node(_bare(node))
        except Exception:  # some nodes (annotations, parameters) only render inside their parent
            raise NoFix("node cannot be rendered on its own") from None
        if _LINE_INDENT.sub("\n", self.source[start:end]) != _LINE_INDENT.sub("\n", expected):
            # libcst renders a nested node without its block's indentation, so compare line by line
            raise NoFix("position does not match the source text")
        return start, end

    def code(self, node: cst.CSTNode) -> str:
        """The node as libcst renders it (own parentheses included; for messages, not for edits)."""
        return self.module.code_for_node(node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The node's parent: statements are indexed cheaply; anything else costs one pass over the module."""
        if self._statement_parents is None:
            self._statement_parents = _statement_parents(self.module)
        found = self._statement_parents.get(node)
        if found is not None or node is self.module:
            return found
        if self._parents is None:
            self._parents = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(ParentNodeProvider)
        return self._parents.get(node)

    def statements(self) -> list[cst.CSTNode]:
        """Every statement of the module (compound and small), in source order."""
        self.parent(self.module)
        return self.once("statements", lambda: [node for node in self._statement_parents if isinstance(
            node, cst.BaseStatement) or isinstance(node, cst.BaseSmallStatement)])

    @property
    def newline(self) -> str:
        match = re.search(r"\r\n|\r|\n", self.source)
        return match.group() if match else self.module.default_newline

    @property
    def indent_unit(self) -> str:
        return self.module.default_indent

    def line_start(self, offset: int) -> int:
        return self.index.line_start(offset)

    def line_end(self, offset: int) -> int:
        """Offset of the newline that ends the line holding ``offset`` (or the end of the source)."""
        match = re.compile(r"\r\n|\r|\n").search(self.source, offset)
        return match.start() if match else len(self.source)

    def after_line(self, offset: int) -> int:
        """Offset of the start of the next line (after the newline)."""
        end = self.line_end(offset)
        if self.source.startswith("\r\n", end):
            return end + 2
        return min(end + 1, len(self.source))

    def indentation(self, offset: int) -> str:
        start = self.line_start(offset)
        return _BLANK.match(self.source, start).group()

    def starts_line(self, offset: int) -> bool:
        """Only blanks precede ``offset`` on its line."""
        start = self.line_start(offset)
        return _BLANK.match(self.source, start).end() >= offset

    # -- keyword arguments -----------------------------------------------------------------
    def require_absent(self, container: cst.CSTNode, keys: tuple[str, ...]) -> None:
        """``NoFix`` unless no ``**splat`` of the call or dict ``container`` can carry one of ``keys``:
        adding such a keyword next to a splat that holds it fails with "got multiple values"."""
        if isinstance(container, cst.Call):
            splats = [arg.value for arg in container.args if arg.star == "**"]
        elif isinstance(container, cst.Dict):
            return  # a dict literal keeps the last value of a repeated key: nothing can fail
        else:
            raise NoFix("unknown container")
        for splat in splats:
            carried = self.splat_keys(splat)
            for key in keys:
                if carried is None or key in carried:
                    raise NoFix(f"a **splat may already carry {key}")

    def splat_keys(self, expression: cst.BaseExpression) -> frozenset[str] | None:
        """The keys a ``**expression`` may carry, or None when they cannot be known (``analysis.splats``)."""
        if self._splats is None:
            self._splats = SplatKeys(self.module)
        return self._splats.keys_of(expression)

    # -- comments --------------------------------------------------------------------------
    def comments(self) -> list[tuple[int, int, str]]:
        if self._comments is None:
            found: list[tuple[int, int, str]] = []
            context = self

            class Comments(cst.CSTVisitor):
                def visit_Comment(self, node: cst.Comment) -> None:
                    start, end = context.span(node)
                    found.append((start, end, node.value))

            self.module.visit(Comments())
            self._comments = found
        return self._comments

    def comments_within(self, start: int, end: int) -> list[str]:
        """Comments wholly inside ``[start, end)``; a comment cut by the range is an error."""
        line_start = self.line_start(start)
        if "#" not in self.source[line_start:self.line_end(end)]:
            return []  # no comment can touch the range (the usual case: no need to find them all)
        comments = self.comments()
        starts = self.once("comment starts", lambda: [first for first, _, _ in comments])
        inside = []
        # comments do not overlap: only the one before ``start`` and those starting before ``end`` can touch
        for at in range(max(bisect.bisect_left(starts, start) - 1, 0), len(comments)):
            first, last, value = comments[at]
            if first >= end:
                break
            if first >= start and last <= end:
                inside.append(value)
            elif last > start:
                raise NoFix("an edit would cut a comment")
        return inside


def _statement_parents(module: cst.Module) -> dict:
    """Parents of statements, lines, blocks and assignment targets, found without visiting expressions."""
    parents: dict = {}

    def block(owner: cst.CSTNode, body) -> None:
        for statement in body:
            parents[statement] = owner
            if isinstance(statement, cst.SimpleStatementLine):
                small(statement, statement.body)
            else:
                compound(statement)

    def small(line: cst.CSTNode, statements) -> None:
        for statement in statements:
            parents[statement] = line
            if isinstance(statement, cst.Assign):
                for target in statement.targets:
                    parents[target] = statement
                    parents[target.target] = target
            elif isinstance(statement, cst.AnnAssign):
                parents[statement.target] = statement

    def suite(owner: cst.CSTNode, body: cst.CSTNode | None) -> None:
        if body is None:
            return
        parents[body] = owner
        if isinstance(body, cst.IndentedBlock):
            block(body, body.body)
        elif isinstance(body, cst.SimpleStatementSuite):
            small(body, body.body)

    def compound(statement: cst.CSTNode) -> None:
        suite(statement, getattr(statement, "body", None))
        for name in ("orelse", "finalbody"):
            part = getattr(statement, name, None)
            if part is not None:
                parents[part] = statement
                if isinstance(part, cst.If):
                    compound(part)
                else:
                    suite(part, getattr(part, "body", None))
        for handler in getattr(statement, "handlers", ()) or ():
            parents[handler] = statement
            suite(handler, handler.body)
        for case in getattr(statement, "cases", ()) or ():
            parents[case] = statement
            suite(case, case.body)

    block(module, module.body)
    return parents
