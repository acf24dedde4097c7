"""LLM304-LLM306 and LLM106 by version: what the pinned transformers changes, the per-finding severity,
and the peak-memory part of LLM304's penalty."""

from __future__ import annotations

import textwrap

import pytest

from ecolint.engine import LintOptions, lint_text
from ecolint.project_versions import Pin, ProjectVersions, clear_cache, minimum_allowed
from ecolint.rules import all_rules

LOAD_IN_8BIT = textwrap.dedent('''\
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained("gpt2-xl", load_in_8bit=True, device_map="auto")
''')
NO_DTYPE = textwrap.dedent('''\
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-Instruct-v0.3", device_map="auto")
''')


def pinned(spec: str | None, code: str) -> LintOptions:
    if spec is None:
        return LintOptions(frozenset({code}), versions=ProjectVersions())
    pin = Pin("transformers", minimum_allowed(spec), spec, "requirements.txt")
    return LintOptions(frozenset({code}), versions=ProjectVersions((pin,)))


@pytest.mark.parametrize("spec, severity, words", [
    ("==4.44.2", "warning", "deprecated in transformers 4.x"),
    ("<5", "warning", "deprecated in transformers 4.x"),
    (">=4.40,<5", "warning", "deprecated in transformers 4.x"),
    (">=4.40", "error", "transformers v5 rejects it"),
    (">=5.0", "error", "transformers v5 rejects it"),
    (None, "error", "transformers v5 rejects it"),
])
def test_llm106_severity_follows_the_transformers_pin(spec, severity, words):
    [found] = lint_text(LOAD_IN_8BIT, "load.py", pinned(spec, "LLM106"))
    assert found.severity == severity
    assert words in found.message
    pin_text = f"transformers{spec} (requirements.txt)" if spec else "no transformers pin found"
    assert pin_text in found.message


def test_llm106_reads_the_pin_from_the_project_files(tmp_path):
    clear_cache()
    (tmp_path / "requirements.txt").write_text("transformers==4.36.2\n")
    path = tmp_path / "app.py"
    path.write_text(LOAD_IN_8BIT)
    [found] = lint_text(LOAD_IN_8BIT, str(path), LintOptions(frozenset({"LLM106"})), path=path)
    assert found.severity == "warning" and "transformers==4.36.2 (requirements.txt)" in found.message
    clear_cache()


@pytest.mark.parametrize("spec, reported, words", [
    (None, True, "when transformers < 5,"),
    ("==4.38.2", True, "with transformers==4.38.2 (requirements.txt),"),
    (">=4.40", True, "when transformers < 5 (the pin transformers>=4.40 (requirements.txt) allows it),"),
    ("!=5.1.0", True, "when transformers < 5 (the pin transformers!=5.1.0 (requirements.txt) allows it),"),
    (">=5.0", False, ""),
    ("~=5.1", False, ""),
])
def test_llm306_follows_the_transformers_pin(spec, reported, words):
    found = lint_text(NO_DTYPE, "serve.py", pinned(spec, "LLM306"))
    assert bool(found) == reported
    if reported:
        assert words in found[0].message


@pytest.mark.parametrize("spec, keyword", [(None, "torch_dtype"), ("==4.44.0", "torch_dtype"), (">=4.56,<5", "dtype")])
def test_llm306_suggests_the_keyword_the_pin_accepts(spec, keyword):
    [found] = lint_text(NO_DTYPE, "serve.py", pinned(spec, "LLM306"))
    assert f'Load with {keyword}="auto" (the checkpoint\'s own dtype' in found.message
    edits = found.hidden_fix or found.fix
    assert edits is not None and any(f', {keyword}="auto"' == edit["content"] for edit in edits["edits"])


def test_a_finding_without_a_severity_keeps_the_rules():
    [found] = lint_text(NO_DTYPE, "serve.py", pinned(None, "LLM306"))
    assert found.severity == all_rules()["LLM306"].severity


def test_llm304_penalty_states_the_memory_from_the_rows():
    penalty = all_rules()["LLM304"].penalty
    text = penalty.describe()
    assert "121.3 GB vs 15.6 GB, 7B model at batch 8" in text
    memory = [group for group in penalty.to_dict()["groups"] if group["metric"] == "peak_memory"]
    assert memory and {pair["row"] for pair in memory[0]["pairs"]} == {"p009", "p011", "p020", "p022"}
    assert max(pair["peak_memory_gb"] for pair in memory[0]["pairs"]) == pytest.approx(121.3)


def test_llm304_follows_callers_that_turn_autograd_off():
    text = textwrap.dedent('''\
        import torch
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B-Instruct").cuda()
        def step(ids):
            return model(ids).logits
        def outer(batches):
            return [step(b) for b in batches]
        def run(batches):
            with torch.inference_mode():
                return outer(batches)
    ''')
    assert not lint_text(text, "score.py", LintOptions(frozenset({"LLM304"})))
    guarded = "    with torch.inference_mode():\n        return outer(batches)"
    unguarded = text.replace(guarded, "    return outer(batches)")
    [found] = lint_text(unguarded, "score.py", LintOptions(frozenset({"LLM304"})))
    assert "step(), which is called in a loop" in found.message
