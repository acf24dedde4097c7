"""A fast read-only traversal of libcst trees.

``CSTNode.visit`` rebuilds every node it passes (libcst's visitors share one code path with
transformers), which costs as much as parsing. Analysis never changes the tree, so this walker
reads child fields directly and calls ``visit_<Type>`` / ``leave_<Type>`` methods in source order.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

# Fields that only hold whitespace, punctuation or comments: never walked.
_SKIPPED_PREFIXES = (
    "whitespace",
    "lpar",
    "rpar",
    "comma",
    "semicolon",
    "leading_lines",
    "lines_after",
    "header",
    "footer",
    "equal",
    "colon",
    "star_tok",
    "dot",
    "lbracket",
    "rbracket",
    "lbrace",
    "rbrace",
    "operator",
    "asynchronous",
    "newline",
    "first_line",
    "empty_lines",
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(node_type: type) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        names = tuple(
            field.name for field in dataclasses.fields(node_type) if not field.name.startswith(_SKIPPED_PREFIXES)
        )
        _FIELDS[node_type] = names
    return names


def walk(root: cst.CSTNode, visitor: object) -> None:
    """Call ``visitor.visit_<Type>(node)`` before and ``leave_<Type>(node)`` after each node's children,
    and, as libcst does, ``visit_<Type>_<field>(node)`` / ``leave_<Type>_<field>(node)`` around one field.

    A ``visit_`` method that returns False skips the node's children (its ``leave_`` still runs).
    """
    visits: dict[type, object] = {}
    leaves: dict[type, object] = {}
    field_hooks: dict[type, dict[str, tuple[object, object]]] = {}

    def methods(node_type: type):
        if node_type not in visits:
            visits[node_type] = getattr(visitor, f"visit_{node_type.__name__}", None)
            leaves[node_type] = getattr(visitor, f"leave_{node_type.__name__}", None)
            hooks = {}
            for name in child_fields(node_type):
                enter = getattr(visitor, f"visit_{node_type.__name__}_{name}", None)
                exit_ = getattr(visitor, f"leave_{node_type.__name__}_{name}", None)
                if enter is not None or exit_ is not None:
                    hooks[name] = (enter, exit_)
            field_hooks[node_type] = hooks
        return visits[node_type], leaves[node_type]

    LEAVE = object()
    CALL = object()
    stack: list = [root]
    while stack:
        item = stack.pop()
        if item.__class__ is tuple:
            if item[0] is LEAVE:
                leave = leaves[type(item[1])]
                if leave is not None:
                    leave(item[1])
            elif item[2] is not None:  # (CALL, node, hook)
                item[2](item[1])
            continue
        node_type = type(item)
        visit, leave = methods(node_type)
        descend = True
        if visit is not None:
            descend = visit(item) is not False
        stack.append((LEAVE, item))
        if not descend:
            continue
        hooks = field_hooks[node_type]
        children: list = []
        for name in child_fields(node_type):
            value = getattr(item, name)
            hook = hooks.get(name)
            if hook is not None:
                if value is None:
                    continue
                children.append((CALL, item, hook[0]))
            if isinstance(value, cst.CSTNode):
                children.append(value)
            elif isinstance(value, (list, tuple)):
                children.extend(child for child in value if isinstance(child, cst.CSTNode))
            if hook is not None:
                children.append((CALL, item, hook[1]))
        stack.extend(reversed(children))
