"""The batching fixes of LLM201/LLM202 refuse each unprovable shape for its own reason.

The ``nofix_*`` codemod pairs only show that nothing changes; these tests pin down why, per function
of those fixtures, so that a refusal cannot pass for another one's reason.
"""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import ecolint.checks  # noqa: F401  (registers the fixers)
from ecolint.analysis.facts import collect_facts
from ecolint.config import select_codes
from ecolint.engine import LintOptions, run_checks
from ecolint.fixes.context import FixContext, NoFix
from ecolint.fixes.registry import FIXERS
from fixhelpers import FIXES, read_text

REASONS = {
    "LLM201/nofix_side_effects_and_control_flow": {
        "show": "calls print()", "first_match": "uses return", "guarded": "nested block",
        "only_long": "nested block", "timed": "calls perf_counter()", "logged": "calls info()",
        "with_progress": "calls update()", "stops": "uses break",
    },
    "LLM201/nofix_dependencies_and_settings": {
        "per_item_length": "settings change in the loop", "stream": "readable only once",
        "last_prompt": "read after the loop", "summaries": "only text-generation pipelines",
        "via_helper": "runs in a helper", "any_match": "read in part",
        "limited_by_length": "max_length counts the padding", "default_length": "max_new_tokens",
        "grouped": "may hold several prompts",
    },
    "LLM201/nofix_seeded_sampling": {
        "sample_stories": "fixed seed", "model_default": "fixed seed", "sample_vllm": "fixed seed",
        "per_item_seed": "fixed seed",
    },
    "LLM201/nofix_turns_of_a_conversation": {
        "with_generate": "turns of the inner loop depend on each other",
        "with_pipeline": "turns of the inner loop depend on each other",
    },
    "LLM201/nofix_mistral_inference": {"complete_each": "max_batch_size"},
    "LLM202/nofix_batch_size_kept": {"run": "not written at the call"},
}


def refusals(case: str) -> dict[str, list[str]]:
    """The reason each finding of a fixture gets no fix, by the function it is in."""
    source = read_text(FIXES / f"{case}.in.py")
    code = case.split("/")[0]
    module = cst.parse_module(source)
    findings = run_checks(collect_facts(module), source, None, LintOptions(select_codes([code], [], [])), [code])
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ctx = FixContext(module, source, positions)
    functions = {node.name.value: positions[node] for node in module.body if isinstance(node, cst.FunctionDef)}
    found: dict[str, list[str]] = {}
    for finding in findings:
        row = positions[finding.node].start.line
        owner = next((name for name, span in functions.items() if span.start.line <= row <= span.end.line),
                     "<module>")
        with pytest.raises(NoFix) as refused:
            FIXERS[code](ctx, finding)
        found.setdefault(owner, []).append(str(refused.value))
    return found


@pytest.mark.parametrize("case", sorted(REASONS))
def test_each_refusal_gives_its_own_reason(case):
    found = refusals(case)
    for function, reason in REASONS[case].items():
        assert function in found, f"{case}: no finding in {function}"
        assert all(reason in text for text in found[function]), f"{case}: {function}: {found[function]}"


def test_the_module_level_refusals_of_batch_size_one():
    """A constant, a command-line option, max_length, a call in a loop, a DataLoader: in that order."""
    found = refusals("LLM202/nofix_batch_size_kept")["<module>"]
    expected = ["not written at the call", "not written at the call", "max_length counts the padding",
                "called in a loop", "DataLoader"]
    assert len(found) == len(expected)
    for text, reason in zip(found, expected):
        assert reason in text
