"""The fix engine: the public API, the checks every fix passes, edits and positions, layouts."""

from __future__ import annotations

import dataclasses
import inspect
import json
import textwrap

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.config import select_codes
from ecolint.engine import LintOptions, lint_text
from ecolint.fixes import FixResult, fix_source, registry
from ecolint.fixes.context import NoFix, Proposal
from ecolint.fixes.edits import Edit, LineIndex, apply_edits, edits_from_fix, edits_to_dicts, normalize, unified_diff

ALL = LintOptions(select_codes(["ALL"], [], []))
LOAD = ('from transformers import AutoModelForCausalLM\n'
        'm = AutoModelForCausalLM.from_pretrained("gpt2", load_in_8bit=True)\n')


# -- the API the editor integration and notebooks call --------------------------------------
def test_fix_source_signature_and_result_shape():
    parameters = list(inspect.signature(fix_source).parameters)
    assert parameters[:4] == ["source", "filename", "options", "unsafe"]
    fields = [field.name for field in dataclasses.fields(FixResult)]
    assert fields[:4] == ["source", "fixed", "remaining", "converged"]
    result = fix_source(LOAD, "m.py", ALL, False)
    assert isinstance(result, FixResult) and result.converged
    assert [d.code for d in result.fixed] == ["LLM106"]
    assert [d.code for d in result.remaining] == ["LLM101"]
    assert "BitsAndBytesConfig(load_in_8bit=True)" in result.source


def test_fix_source_never_raises_on_bad_input():
    for text in ["def broken(:\n", "\x00", "", "\n\n", "x = (" * 300 + ")" * 300]:
        result = fix_source(text, "bad.py", ALL, True)
        assert result.source == text and not result.fixed


def test_fixable_and_unfixable_arguments():
    assert fix_source(LOAD, "m.py", ALL, True, unfixable=("LLM106",)).source == LOAD
    assert fix_source(LOAD, "m.py", ALL, True, fixable=("LLM3",)).source == LOAD
    assert fix_source(LOAD, "m.py", ALL, False, fixable=("LLM10",)).fixed


def test_noqa_suppressed_findings_are_not_fixed():
    text = LOAD.replace("load_in_8bit=True)", "load_in_8bit=True)  # noqa: LLM106")
    assert fix_source(text, "m.py", ALL, True).source == text


def test_lint_text_attaches_ruff_shaped_fixes():
    diagnostics = {d.code: d for d in lint_text(LOAD, "m.py", ALL)}
    fix = diagnostics["LLM106"].fix
    assert set(fix) == {"applicability", "message", "edits"}
    assert fix["applicability"] == "safe"
    for edit in fix["edits"]:
        assert set(edit) == {"content", "location", "end_location"}
        assert set(edit["location"]) == {"row", "column"}
    assert diagnostics["LLM101"].fix is None  # offered once the keyword is in a config
    assert json.loads(json.dumps(diagnostics["LLM106"].to_dict()))["fix"] == fix


def test_fix_applicability_never_exceeds_the_rules():
    text = "from transformers import BitsAndBytesConfig\nc = BitsAndBytesConfig(load_in_8bit=True)\n"
    (diagnostic,) = lint_text(text, "c.py", ALL)
    assert diagnostic.code == "LLM101" and diagnostic.fix["applicability"] == "unsafe"


# -- the checks in the registry -------------------------------------------------------------
@pytest.mark.parametrize("edits, reason", [
    ([Edit(0, 4, "frum")], "does not parse"),
    ([Edit(0, 0, "")], "changes nothing"),
    ([Edit(5, 10, "a"), Edit(8, 12, "b")], "overlap"),
])
def test_bad_fixes_are_not_offered(monkeypatch, edits, reason):
    monkeypatch.setattr(registry, "STRICT", False)
    monkeypatch.setitem(registry.FIXERS, "LLM106", lambda ctx, finding: Proposal(edits))
    codes = {d.code: d.fix for d in lint_text(LOAD, "m.py", ALL)}
    assert codes["LLM106"] is None


def test_a_fix_that_drops_a_comment_is_not_offered(monkeypatch):
    text = LOAD.replace("load_in_8bit=True)", "load_in_8bit=True,  # keep me\n)")

    def drop_line(ctx, finding):
        start = ctx.source.index("load_in_8bit")
        return Proposal([Edit(start, ctx.source.index("\n)", start), "load_in_8bit=True")])

    monkeypatch.setitem(registry.FIXERS, "LLM106", drop_line)
    assert {d.code: d.fix for d in lint_text(text, "m.py", ALL)}["LLM106"] is None


def test_a_fixer_that_crashes_only_loses_its_fix(monkeypatch):
    monkeypatch.setattr(registry, "STRICT", False)

    def crash(ctx, finding):
        raise RuntimeError("bug")

    monkeypatch.setitem(registry.FIXERS, "LLM106", crash)
    assert [d.code for d in lint_text(LOAD, "m.py", ALL)] == ["LLM101", "LLM106"]


def test_no_fix_reason_is_respected(monkeypatch):
    def refuse(ctx, finding):
        raise NoFix("not here")

    monkeypatch.setitem(registry.FIXERS, "LLM106", refuse)
    assert all(d.fix is None for d in lint_text(LOAD, "m.py", ALL))


# -- edits and positions --------------------------------------------------------------------
@pytest.mark.parametrize("text", ["a\nbé\r\nc\rd", "x = 1\r\n" * 3, "", "no newline"])
def test_line_index_round_trip(text):
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        assert index.offset(*index.location(offset)) == offset


def test_edits_round_trip_through_dicts():
    text = "first\r\nsécond\nthird"
    edits = [Edit(0, 5, "1st"), Edit(8, 14, ""), Edit(len(text), len(text), "\n")]
    index = LineIndex(text)
    back = edits_from_fix({"edits": edits_to_dicts(edits, index)}, index)
    assert back == edits
    assert apply_edits(text, back) == "1st\r\nsthird\n"


def test_normalize_merges_deletions_and_rejects_other_overlaps():
    assert normalize([Edit(3, 6), Edit(0, 4)]) == [Edit(0, 6)]
    assert normalize([Edit(0, 2, "x"), Edit(0, 2, "x")]) == [Edit(0, 2, "x")]
    with pytest.raises(ValueError):
        normalize([Edit(0, 4, "x"), Edit(2, 6)])


def test_unified_diff_marks_missing_final_newline():
    diff = unified_diff("a = 1", "a = 2", "f.py")
    assert diff.splitlines()[:2] == ["--- a/f.py", "+++ b/f.py"]
    assert "\\ No newline at end of file" in diff


def test_form_feed_lines_are_not_mangled():
    """libcst drops a form feed at the start of a line from its positions; such fixes are refused or exact."""
    text = LOAD.replace("\nm = ", "\n\x0cm = ")
    result = fix_source(text, "m.py", ALL, True)
    fixed_line = '\x0cm = AutoModelForCausalLM.from_pretrained("gpt2", quantization_config='
    assert result.source == text or fixed_line in result.source


# -- layouts --------------------------------------------------------------------------------
@pytest.mark.parametrize("before, after", [
    ('f(x, use_cache=False)', 'f(x)'),
    ('f(x, use_cache=False, y=1)', 'f(x, y=1)'),
    ('f(use_cache=False, y=1)', 'f(y=1)'),
    ('f(x, use_cache=False,)', 'f(x,)'),
    ('f(\n    x,\n    use_cache=False,\n)', 'f(\n    x,\n)'),
    ('f(\n    x,\n    use_cache=False\n)', 'f(\n    x,\n)'),
    ('f(\n    x,\n    use_cache=False)', 'f(\n    x)'),
    ('f(\n    x,\n    use_cache=False,  # why\n)', 'f(\n    x,\n    # why\n)'),
    ('f(x,  # first\n  use_cache=False)', 'f(x,  # first\n  )'),
    ('f(x, use_cache=False,\n  y=2)', 'f(x,\n  y=2)'),
])
def test_removal_layouts(before, after):
    prefix = "from transformers import AutoModelForCausalLM\nmodel = AutoModelForCausalLM.from_pretrained('gpt2')\n"
    call = "model.generate"
    text = prefix + call + before[1:] + "\n"
    result = fix_source(text, "g.py", LintOptions(frozenset({"LLM301"})), True)
    assert result.source == prefix + call + after[1:] + "\n"


def test_import_is_added_in_sorted_position_of_a_multiline_import():
    text = textwrap.dedent('''\
        from transformers import (
            AutoModelForCausalLM,
            pipeline,
        )
        m = AutoModelForCausalLM.from_pretrained("gpt2", load_in_4bit=True)
    ''')
    result = fix_source(text, "m.py", LintOptions(frozenset({"LLM106"})), False)
    assert "    AutoModelForCausalLM,\n    BitsAndBytesConfig,\n    pipeline,\n" in result.source


def test_name_taken_by_something_else_means_no_fix():
    text = "from transformers import AutoModelForCausalLM\nBitsAndBytesConfig = dict\n" + LOAD.splitlines()[1] + "\n"
    assert fix_source(text, "m.py", LintOptions(frozenset({"LLM106"})), True).source == text


# -- notebooks ------------------------------------------------------------------------------
def test_notebook_fix_through_the_command_line(tmp_path):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Load"]},
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": LOAD.splitlines(keepends=True)},
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "load.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    outcome = CliRunner().invoke(main, ["check", "--no-config", "--no-cache", "--fix", str(path)],
                                 catch_exceptions=False)
    data = json.loads(path.read_text())
    assert "".join(data["cells"][1]["source"]).count("BitsAndBytesConfig") == 2
    assert data["cells"][0] == notebook["cells"][0]
    assert "(1 fixed, 1 remaining)" in outcome.stdout
