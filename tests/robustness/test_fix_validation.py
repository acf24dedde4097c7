"""The fixes of a file are checked together: the fixed code is parsed once for all of them (a few more
times only to find a fix that breaks it), and not at all when no output shows or applies fixes."""

from __future__ import annotations

import pytest

from ecolint.engine import LintOptions, lint_text
from ecolint.fixes import registry
from ecolint.fixes.edits import Edit
from ecolint.fixes.together import EditLayer, layers, parsing_fixes
from ecolint.rules import all_rules

LOADER = ("def f{i}(p):\n"
          "    c = BitsAndBytesConfig(load_in_8bit=True)\n"
          "    return AutoModelForCausalLM.from_pretrained(p, quantization_config=c, torch_dtype='float16')\n\n")
MANY = "from transformers import AutoModelForCausalLM, BitsAndBytesConfig\n" + "".join(
    LOADER.format(i=i) for i in range(150))


@pytest.fixture
def parse_count(monkeypatch):
    calls = []
    real = registry.parses

    def counting(text):
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(registry, "parses", counting)
    return calls


def test_150_fixable_findings_cost_one_parse_of_the_fixed_file(parse_count):
    diagnostics = lint_text(MANY, "many.py", LintOptions(frozenset(all_rules())))
    fixed = [d for d in diagnostics if d.fix is not None]
    assert len(fixed) == 150
    assert len(parse_count) == 1


def test_no_fix_is_computed_when_none_is_shown(parse_count):
    diagnostics = lint_text(MANY, "many.py", LintOptions(frozenset(all_rules()), fixes=False))
    assert len(diagnostics) == 150
    assert all(d.fix is None for d in diagnostics)
    assert parse_count == []


def parses(text: str) -> bool:
    return "BAD" not in text


def test_a_fix_that_breaks_the_code_is_found_by_bisection_and_the_others_pass():
    source = "x = 0\n" * 64
    fixes = [[Edit(6 * i, 6 * i + 1, "BAD" if i == 37 else "y")] for i in range(64)]
    calls = []

    def counting(text):
        calls.append(text)
        return parses(text)

    passed = parsing_fixes(source, fixes, counting)
    assert passed == [i != 37 for i in range(64)]
    assert len(calls) <= 2 * 6 + 1  # one failing fix among 64: one path down the halving tree


def test_fixes_that_touch_go_to_different_layers_and_a_shared_edit_is_made_once():
    imports = Edit(0, 0, "import torch\n")
    first = [imports, Edit(10, 12, "a")]
    second = [imports, Edit(20, 22, "b")]  # shares the import: same layer
    touching = [Edit(12, 14, "c")]  # touches the end of first's edit: another layer
    assert layers([first, second, touching]) == [[0, 1], [2]]
    layer = EditLayer()
    layer.add(first)
    layer.add(second)
    assert layer.edits == [imports, Edit(10, 12, "a"), Edit(20, 22, "b")]


@pytest.mark.parametrize("edit, fits", [
    (Edit(4, 4, "x"), True),  # an insertion between two edits
    (Edit(5, 6, "x"), False),  # overlaps the second edit
    (Edit(3, 3, "x"), False),  # an insertion where the first edit ends
    (Edit(0, 9, "x"), False),  # covers both
    (Edit(9, 9, "x"), True),
])
def test_a_layer_tells_which_edits_fit(edit, fits):
    layer = EditLayer()
    layer.add([Edit(1, 3, "a"), Edit(5, 7, "b")])
    assert layer.fits([edit]) is fits
