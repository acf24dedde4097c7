"""The folders a script adds to ``sys.path`` for its own imports, when they can be told from its text.

``sys.path.append(os.path.join(os.path.dirname(__file__), "utils"))`` followed by ``import generation``
imports ``utils/generation.py`` next to the script. The project index searches such folders too. Only
paths built from ``__file__`` (``os.path.dirname/abspath/realpath/normpath/join``, ``pathlib.Path``'s
``parent``, ``parents[n]``, ``/``, ``resolve()``) or absolute literals are followed; a relative literal
(``"."``, which depends on the working directory) or any other value is not.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

SYS_PATH_ADDITION = re.compile(r"\bsys\.path\.(?:insert|append)\s*\(")
SAME_PATH = frozenset({"abspath", "realpath", "normpath", "resolve", "absolute", "str", "fspath", "expanduser"})
PATH_TYPES = frozenset({"Path", "PurePath", "PosixPath"})
MAX_ADDITIONS = 8


def added_folders(importer: Path, text: str) -> tuple[Path, ...]:
    """The existing folders the text adds to ``sys.path``, in the order written."""
    if "sys.path" not in text:
        return ()
    found: list[Path] = []
    for match in list(SYS_PATH_ADDITION.finditer(text))[:MAX_ADDITIONS]:
        call = _call_at(text, match.start())
        if call is None or not isinstance(call.func, ast.Attribute):
            continue
        arguments = call.args[1:] if call.func.attr == "insert" else call.args
        folder = _path_of(arguments[0], importer) if len(arguments) == 1 else None
        if folder is not None and folder.is_dir() and folder not in found:
            found.append(folder)
    return tuple(found)


def _call_at(text: str, start: int) -> ast.Call | None:
    """The call that starts at ``start``: the shortest text from there up to a ``)`` that parses."""
    end = start
    for _ in range(20):
        end = text.find(")", end + 1)
        if end < 0:
            return None
        try:
            node = ast.parse(text[start:end + 1], mode="eval").body
        except SyntaxError:
            continue
        return node if isinstance(node, ast.Call) else None
    return None


def _path_of(node: ast.AST, importer: Path, depth: int = 0) -> Path | None:
    """The path an expression stands for, or None when it cannot be told."""
    if depth > 12:
        return None
    if isinstance(node, ast.Name) and node.id == "__file__":
        return importer
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Path(node.value) if Path(node.value).is_absolute() else None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _path_of(node.value, importer, depth + 1)
        return inner.parent if inner is not None else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
        inner = _path_of(node.value.value, importer, depth + 1)
        index = node.slice
        if inner is None or not (isinstance(index, ast.Constant) and isinstance(index.value, int)):
            return None
        return inner.parents[index.value] if 0 <= index.value < len(inner.parents) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _joined(_path_of(node.left, importer, depth + 1), [node.right])
    if isinstance(node, ast.Call):
        return _called(node, importer, depth)
    return None


def _called(node: ast.Call, importer: Path, depth: int) -> Path | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if isinstance(func, ast.Attribute) and name in ("resolve", "absolute") and not node.args:
        return _path_of(func.value, importer, depth + 1)
    if not node.args or node.keywords:
        return None
    first = _path_of(node.args[0], importer, depth + 1)
    if name == "dirname" and len(node.args) == 1:
        return first.parent if first is not None else None
    if (name in SAME_PATH or name in PATH_TYPES) and len(node.args) == 1:
        return first
    if name == "join" or name in PATH_TYPES:
        return _joined(first, node.args[1:])
    return None


def _joined(base: Path | None, parts: list[ast.AST]) -> Path | None:
    """``base`` joined with literal parts (``".."`` included), or None."""
    if base is None:
        return None
    for part in parts:
        if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
            return None
        base = base / part.value
    return Path(os.path.normpath(base))
