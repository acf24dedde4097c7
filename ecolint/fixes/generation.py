"""Fix for LLM301 (unsafe): let generation use the KV cache again."""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.collector import AttributeAssignment
from ecolint.analysis.values import Entry
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.layout import container_sequence, element_of, remove_statement
from ecolint.fixes.registry import fixer


@fixer("LLM301")
def remove_use_cache_false(ctx: FixContext, finding: Finding) -> Proposal:
    subject = finding.subject
    if isinstance(subject, Entry):
        if subject.owner is None:
            raise NoFix("the keyword's container is unknown")
        sequence = container_sequence(ctx, subject.owner)
        edits, _ = sequence.remove({sequence.index_of(element_of(ctx, subject.key_node, subject.owner))})
        return Proposal(edits)
    if isinstance(subject, AttributeAssignment):
        return Proposal(remove_statement(ctx, _statement_of(ctx, subject.target)),
                        message="Remove the statement that turns the KV cache off")
    raise NoFix("unknown finding subject")


def _statement_of(ctx: FixContext, target: cst.CSTNode) -> cst.BaseSmallStatement:
    parent = ctx.parent(target)
    if isinstance(parent, cst.AnnAssign) and parent.target is target:
        return parent
    if isinstance(parent, cst.AssignTarget):
        statement = ctx.parent(parent)
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            return statement
    raise NoFix("not a plain assignment with one target")
