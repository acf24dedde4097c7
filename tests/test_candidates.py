"""The CPython-ast pre-pass: a file whose trigger words are never called is not parsed by libcst."""

from __future__ import annotations

import ast

import libcst
import pytest

from cli_helpers import FIXTURES
from ecolint.candidates import NEEDS, NEEDS_GPU, possible, summarize
from ecolint.checks import CHECKS
from ecolint.engine import LintOptions, lint_text
from ecolint.rule_schema import rule_data

ALL = frozenset(rule_data())


def called(source: str) -> set[str]:
    return summarize(ast.parse(source)).called


@pytest.fixture
def no_libcst(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("libcst parsed a file the pre-pass should have dropped")

    monkeypatch.setattr(libcst, "parse_module", refuse)


def test_mentions_outside_calls_are_not_calls():
    source = ('"""Call model.generate(ids) in a loop."""\n'
              'HELP = "use AutoModel.from_pretrained(name)"\n'
              'for item in items:\n'
              '    pipeline_name = item  # pipeline(item) would be slow\n')
    assert called(source) & {"generate", "from_pretrained", "pipeline"} == set()


def test_calls_through_aliases_count():
    assert "pipeline" in called("from transformers import pipeline as make\npipe = make('text-generation')\n")
    assert "from_pretrained" in called("load = AutoModel.from_pretrained\nmodel = load('gpt2')\n")
    assert "generate" in called("run = model.generate\nrun2 = run\nrun2(ids)\n")
    assert "Pipeline" in called("pipe = TextGenerationPipeline(model=m, tokenizer=t)\n")


def test_an_assignment_to_use_cache_keeps_llm301():
    summary = summarize(ast.parse("model.config.use_cache = False\n"))
    assert possible(["LLM301", "LLM302"], summary) == ["LLM301"]


def test_rules_without_needs_are_always_kept():
    assert possible(["LLM204"], summarize(ast.parse("x = 1\n"))) == ["LLM204"]


def test_the_imported_text_counts_as_called():
    summary = summarize(ast.parse("from .setup import pipe\nfor x in xs:\n    pipe(x)\n"))
    assert possible(["LLM201"], summary) == []
    assert possible(["LLM201"], summary, imported="pipe = pipeline('text-generation')") == ["LLM201"]


def test_gpu_rules_are_dropped_without_a_gpu():
    summary = summarize(ast.parse("m = AutoModel.from_pretrained('x')\n"))
    assert possible(["LLM103", "LLM107", "LLM306"], summary, has_gpu=False) == ["LLM306"]
    assert possible(["LLM103", "LLM107", "LLM306"], summary, has_gpu=True) == ["LLM103", "LLM107", "LLM306"]


def test_a_library_mentioning_its_api_is_not_parsed_by_libcst(no_libcst):
    source = ('"""Load with ``AutoModel.from_pretrained(name)`` and call ``model.generate`` in a loop."""\n'
              'def describe(names):\n'
              '    for name in names:\n'
              '        print(f"{name}.from_pretrained(...) then .generate(...)")\n'
              '    use_cache = False\n'
              '    return dict(use_cache=use_cache)\n')
    assert lint_text(source, "lib.py", LintOptions(ALL)) == []


def test_a_broken_file_still_gets_its_syntax_error():
    """libcst is asked too (it reads syntax newer than the running Python's) and refuses it as well."""
    found = lint_text("model = AutoModel.from_pretrained('x'\n", "broken.py", LintOptions(ALL | {"E999"}))
    assert [d.code for d in found] == ["E999"]


def test_every_listed_code_is_a_rule_with_a_check():
    assert set(NEEDS) <= set(CHECKS)
    assert NEEDS_GPU <= set(CHECKS)


@pytest.mark.parametrize("code", sorted(NEEDS_GPU))
def test_gpu_rules_report_nothing_without_a_gpu(code):
    """The table is right: without the pre-pass these checks find nothing on their own positives either."""
    from ecolint.analysis.facts import collect_facts
    from ecolint.engine import run_checks

    positives = sorted((FIXTURES / code).glob("pos_*.py"))
    assert positives
    for fixture in positives:
        source = fixture.read_text(encoding="utf-8")
        facts = collect_facts(libcst.parse_module(source))
        assert run_checks(facts, source, fixture, LintOptions(ALL), [code]) == []


def test_a_tree_too_deep_to_analyze_is_reported_without_libcst(no_libcst):
    source = 'HELP = "pass use_cache=False"\nx = ' + " + ".join(["a"] * 1000) + "\n"  # LLM301's trigger, no call
    found = lint_text(source, "deep.py", LintOptions(ALL | {"E999"}))
    assert [(d.code, d.message) for d in found] == [("E999", "SyntaxError: too deeply nested to analyze")]


def test_a_generator_of_unknown_origin_keeps_the_generation_rules():
    """``generator(prompt, max_new_tokens=...)`` on a parameter: the call's keywords say it generates."""
    source = ("def run(generator, samples):\n"
              "    outs = []\n"
              "    for sample in samples:\n"
              "        outs.append(generator(sample, max_new_tokens=150)[0]['generated_text'])\n"
              "    return outs\n")
    assert possible(["LLM201"], summarize(ast.parse(source))) == ["LLM201"]
    read_only = "def show(out):\n    return out[0]['generated_text']\n"
    assert possible(["LLM201"], summarize(ast.parse(read_only))) == ["LLM201"]
    plain = "def run(f, samples):\n    return [f(s, timeout=3) for s in samples]\n"
    assert possible(["LLM201"], summarize(ast.parse(plain))) == []


def test_mistral_inference_generation_keeps_the_generation_rules():
    """``generate([tokens], model, ...)`` and ``generate_mamba(...)``: plain functions, imported or aliased."""
    for source in ("from mistral_inference.generate import generate\n"
                   "for t in tokens:\n    generate([t], model, max_tokens=8, temperature=0.0)\n",
                   "from mistral_inference.generate import generate_mamba as run\n"
                   "for t in tokens:\n    run([t], model, max_tokens=8, temperature=0.0)\n"):
        assert possible(["LLM201"], summarize(ast.parse(source))) == ["LLM201"]
        found = lint_text(source, "gen.py", LintOptions(frozenset({"LLM201"})))
        assert [d.code for d in found] == ["LLM201"]
