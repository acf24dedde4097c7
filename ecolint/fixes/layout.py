"""Edits on comma-separated sequences (call arguments, dict entries, imported names) as text.

The elements keep their exact text; what a removal or insertion changes is the commas, blanks and
line breaks between them, chosen so that the usual layouts stay tidy:

* one element per line: whole lines are removed or inserted, with the line's indentation;
* elements on one line: ``, `` separators are removed or inserted.

A comment next to a removed element stays where it was unless the caller takes it along
(``carry``); the checks in the registry refuse any fix that would still lose one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from ecolint.fixes.context import FixContext, NoFix
from ecolint.fixes.edits import Edit

_NEWLINE_CHARS = "\r\n"


@dataclass
class Element:
    node: cst.CSTNode
    start: int
    end: int
    comma: int | None  # offset of the comma that follows, if any
    stop: int  # where the text after the element (blanks, comments, comma) ends


class Sequence:
    """The elements of one bracketed sequence, with the separators between them located."""

    def __init__(self, ctx: FixContext, nodes: list[cst.CSTNode]) -> None:
        if not nodes:
            raise NoFix("empty sequence")
        self.ctx = ctx
        self.source = ctx.source
        self.elements: list[Element] = []
        for node in nodes:
            start, end = ctx.span(node)
            comma, stop = self._scan(end)
            self.elements.append(Element(node, start, end, comma, stop))
        for current, following in zip(self.elements, self.elements[1:]):
            if current.comma is None or current.stop != following.start:
                raise NoFix("unexpected text between elements")

    def _scan(self, position: int) -> tuple[int | None, int]:
        """Skip blanks, comments, line continuations and at most one comma after an element."""
        source, comma = self.source, None
        while position < len(source):
            char = source[position]
            if char in " \t\f" or char in _NEWLINE_CHARS:
                position += 1
            elif char == "#":
                position = self.ctx.line_end(position)
            elif char == "\\" and source[position + 1:position + 2] in ("\n", "\r"):
                position += 1
            elif char == "," and comma is None:
                comma = position
                position += 1
            else:
                break
        return comma, position

    def index_of(self, node: cst.CSTNode) -> int:
        for index, element in enumerate(self.elements):
            if element.node is node:
                return index
        raise NoFix("element not found in its sequence")

    # -- layout questions ------------------------------------------------------------------
    def _after(self, element: Element) -> int:
        """After the element and its comma, and the blanks that follow on the same line."""
        position = element.comma + 1 if element.comma is not None else element.end
        while position < len(self.source) and self.source[position] in " \t\f":
            position += 1
        return position

    def ends_line(self, index: int) -> bool:
        """Nothing but the comma, blanks and a comment follows the element on its line."""
        position = self._after(self.elements[index])
        return position >= len(self.source) or self.source[position] in _NEWLINE_CHARS + "#"

    def alone(self, index: int) -> bool:
        """The element has its line(s) to itself (one element per line)."""
        return self.ctx.starts_line(self.elements[index].start) and self.ends_line(index)

    def trailing_comment(self, index: int) -> tuple[int, str] | None:
        """The comment after the element on its last line, if the element ends its line."""
        position = self._after(self.elements[index])
        if position < len(self.source) and self.source[position] == "#":
            return position, self.source[position:self.ctx.line_end(position)]
        return None

    # -- edits -----------------------------------------------------------------------------
    def remove(self, indexes: set[int], carry: bool = False) -> tuple[list[Edit], dict[int, str]]:
        """Deletions that remove the given elements; comments on their lines stay unless ``carry``.

        Returns the edits and, when carrying, the trailing comment of each removed line by index.
        """
        edits: list[Edit] = []
        carried: dict[int, str] = {}
        kept = [index for index in range(len(self.elements)) if index not in indexes]
        for index in sorted(indexes):
            element = self.elements[index]
            previous = max((k for k in kept if k < index), default=None)
            comment = self.trailing_comment(index)
            if self.alone(index):
                if comment is not None and not carry:
                    edits.append(Edit(element.start, comment[0]))  # the comment keeps its line
                else:
                    end = self.ctx.line_end(self._after(element))
                    edits.append(Edit(self.ctx.line_start(element.start), self.ctx.after_line(end)))
                    if comment is not None:
                        carried[index] = comment[1]
                continue
            last = index == len(self.elements) - 1 or all(k in indexes for k in range(index + 1, len(self.elements)))
            after = self._after(element)
            if not last and not self.ends_line(index):
                edits.append(Edit(element.start, after))  # ``a=1, b=2`` -> ``a=1``
            elif previous is not None:
                anchor = self.elements[previous]
                start = anchor.end if last else anchor.comma + 1
                gap_has_comment = "#" in self.source[start:element.start]
                if gap_has_comment:
                    edits.append(Edit(element.start, element.end if last else after))
                else:
                    edits.append(Edit(start, element.end if last else element.comma + 1))
            else:
                edits.append(Edit(element.start, after if not last or element.comma is not None else element.end))
        return edits, carried

    def append(self, text: str) -> list[Edit]:
        """Edits that add ``text`` as a new last element."""
        last = self.elements[-1]
        if self.alone(len(self.elements) - 1):
            at = self.ctx.after_line(self.ctx.line_end(self._after(last)))
            edits = [Edit(at, at, f"{self.ctx.indentation(last.start)}{text},{self.ctx.newline}")]
            if last.comma is None:
                edits.append(Edit(last.end, last.end, ","))
            return edits
        return [Edit(last.end, last.end, f", {text}")]

    def insert_before(self, index: int, text: str) -> list[Edit]:
        element = self.elements[index]
        if self.alone(index):
            start = self.ctx.line_start(element.start)
            return [Edit(start, start, f"{self.ctx.indentation(element.start)}{text},{self.ctx.newline}")]
        return [Edit(element.start, element.start, f"{text}, ")]


def remove_statement(ctx: FixContext, statement: cst.BaseSmallStatement) -> list[Edit]:
    """Edits that remove one small statement, keeping the code around it valid and its comments."""
    line = ctx.parent(statement)
    if isinstance(line, cst.SimpleStatementSuite) or (isinstance(line, cst.SimpleStatementLine) and len(line.body) > 1):
        body = list(line.body)
        index = next(i for i, item in enumerate(body) if item is statement)
        if len(body) == 1:
            start, end = ctx.span(statement)
            return [Edit(start, end, "pass")]  # ``if x: a = 1`` keeps a body
        if index + 1 < len(body):
            return [Edit(ctx.span(statement)[0], ctx.span(body[index + 1])[0])]
        return [Edit(ctx.span(body[index - 1])[1], ctx.span(statement)[1])]
    if not isinstance(line, cst.SimpleStatementLine):
        raise NoFix("unexpected statement layout")
    start, end = ctx.span(statement)
    block = ctx.parent(line)
    if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
        return [Edit(start, end, "pass")]  # the block would be empty
    if not ctx.starts_line(start):
        raise NoFix("the statement does not start its line")
    rest = ctx.source[end:ctx.line_end(end)]
    if rest.strip().startswith("#"):
        comment_at = end + rest.index("#")
        return [Edit(start, comment_at)]  # the comment keeps its line
    if rest.strip():
        raise NoFix("unexpected text after the statement")
    return [Edit(ctx.line_start(start), ctx.after_line(ctx.line_end(end)))]


def container_sequence(ctx: FixContext, owner: cst.CSTNode) -> Sequence:
    """The arguments of a call or the entries of a dict literal."""
    if isinstance(owner, cst.Call):
        return Sequence(ctx, list(owner.args))
    if isinstance(owner, cst.Dict):
        return Sequence(ctx, list(owner.elements))
    raise NoFix("unknown container")


def element_of(ctx: FixContext, key_node: cst.CSTNode, owner: cst.CSTNode | None = None) -> cst.CSTNode:
    """The ``Arg`` or ``DictElement`` whose keyword or key is ``key_node`` (in ``owner`` when known)."""
    if isinstance(owner, cst.Call):
        for arg in owner.args:
            if arg.keyword is key_node:
                return arg
    elif isinstance(owner, cst.Dict):
        for element in owner.elements:
            if isinstance(element, cst.DictElement) and element.key is key_node:
                return element
    parent = ctx.parent(key_node)
    if isinstance(parent, cst.Arg) and parent.keyword is key_node:
        return parent
    if isinstance(parent, cst.DictElement) and parent.key is key_node:
        return parent
    raise NoFix("the key is not a keyword argument or a dict key")


def element_name(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Arg) and node.keyword is not None:
        return node.keyword.value
    if isinstance(node, cst.DictElement) and isinstance(node.key, cst.SimpleString):
        value = node.key.evaluated_value
        return value if isinstance(value, str) else None
    return None


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def as_keyword(ctx: FixContext, node: cst.CSTNode) -> str:
    """An ``Arg`` or ``DictElement`` written as ``name=value`` (the value's text kept exactly)."""
    name = element_name(node)
    if name is None or not _IDENTIFIER.match(name) or getattr(node, "star", "") or (
            isinstance(node, cst.Arg) and node.keyword is None):
        raise NoFix("not a plain keyword")
    return f"{name}={value_text(ctx, node)}"


def value_text(ctx: FixContext, node: cst.CSTNode) -> str:
    """The exact text of an element's value (``x`` in ``k=x`` or ``"k": x``), parentheses included."""
    start, end = ctx.span(node)
    if isinstance(node, cst.Arg) and node.keyword is not None:
        position, separator = ctx.span(node.keyword)[1], "="
    elif isinstance(node, cst.DictElement):
        position, separator = ctx.span(node.key)[1], ":"
        closing = len(getattr(node.key, "rpar", ()) or ())
    else:
        raise NoFix("not a keyword or dict entry")
    source = ctx.source
    seen_separator = False
    while position < end:
        char = source[position]
        if char in " \t\f":
            position += 1
        elif char == ")" and separator == ":" and not seen_separator and closing:
            closing -= 1
            position += 1
        elif char == separator and not seen_separator:
            seen_separator = True
            position += 1
        elif seen_separator:
            break
        else:
            raise NoFix("unexpected text between key and value")  # a comment or a line break
    if not seen_separator or position >= end:
        raise NoFix("value not found")
    return source[position:end]


def quote_of(node: cst.CSTNode) -> str:
    """The quote character of a dict key (``"`` when it cannot be told)."""
    if isinstance(node, cst.DictElement) and isinstance(node.key, cst.SimpleString):
        return node.key.quote[-1] if node.key.quote else '"'
    return '"'
