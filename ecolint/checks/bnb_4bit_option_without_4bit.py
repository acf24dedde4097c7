"""LLM105 bnb-4bit-option-without-4bit: ``bnb_4bit_*`` options on a load that is not 4-bit; the fix
removes them."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.facts import QuantConfig
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.layout import container_sequence, element_of
from ecolint.fixes.registry import fixer


@check("LLM105")
def four_bit_options_without_four_bit(ctx: CheckContext) -> Iterator[Finding]:
    for config in ctx.facts.quant_configs:
        options = config.bnb_4bit_options()
        if not options or config.entries.unknown_splat:
            continue
        four = config.entry("load_in_4bit")
        if four is not None and not four.value.provably_false():
            continue
        names = ", ".join(option.name for option in options)
        yield Finding(
            "LLM105", options[0].key_node, {"options": names, "verb": "have" if len(options) > 1 else "has"}, config
        )


@fixer("LLM105")
def remove_unused_4bit_options(ctx: FixContext, finding: Finding) -> Proposal:
    config: QuantConfig = finding.subject
    options = config.bnb_4bit_options()
    if not options or any(option.owner is not config.anchor for option in options):
        raise NoFix("some options are written elsewhere (a shared dict)")
    sequence = container_sequence(ctx, config.anchor)
    indexes = {sequence.index_of(element_of(ctx, option.key_node, option.owner)) for option in options}
    edits, _ = sequence.remove(indexes)
    eight = config.entry("load_in_8bit")
    four = config.entry("load_in_4bit")
    certain = eight is not None and eight.value.provably_true() and (four is None or four.value.provably_false())
    # with neither flag on, the options may be a forgotten load_in_4bit=True: removing them is a choice
    return Proposal(edits, applicability=None if certain else "unsafe")
