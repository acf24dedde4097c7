"""Which branch of each ``if`` / ``try`` a call sits in, to tell two calls that can both run from two
alternatives (``if eight_bit: load(...) else: load(...)``)."""

from __future__ import annotations

import libcst as cst

Path = tuple[tuple[int, str], ...]  # (id of the If/Try/Match node, the branch) from the outside in


def branch_paths(module: cst.Module) -> dict[int, Path]:
    """The branch path of every call of the module, by id of the call node."""
    paths: dict[int, Path] = {}
    stack: list[tuple[int, str]] = []

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            paths[id(node)] = tuple(stack)

        def _branch(self, owner: cst.CSTNode, name: str, child: cst.CSTNode | None) -> None:
            if child is None:
                return
            stack.append((id(owner), name))
            child.visit(self)
            stack.pop()

        def visit_If(self, node: cst.If) -> bool:
            node.test.visit(self)
            self._branch(node, "body", node.body)
            self._branch(node, "else", node.orelse)
            return False

        def visit_Try(self, node: cst.Try) -> bool:
            self._branch(node, "body", node.body)
            for number, handler in enumerate(node.handlers):
                self._branch(node, f"except{number}", handler)
            self._branch(node, "body", node.orelse)  # runs after the body
            if node.finalbody is not None:
                node.finalbody.visit(self)
            return False

        def visit_IfExp(self, node: cst.IfExp) -> bool:
            node.test.visit(self)
            self._branch(node, "body", node.body)
            self._branch(node, "else", node.orelse)
            return False

    module.visit(Visitor())
    return paths


def may_both_run(first: Path, second: Path) -> bool:
    """No ``if``/``try`` puts the two in different branches."""
    branches = dict(first)
    return all(branches.get(owner, branch) == branch for owner, branch in second)
