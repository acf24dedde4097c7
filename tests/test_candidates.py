"""The CPython-ast pre-pass: a file whose trigger words are never called is not parsed by libcst."""

from __future__ import annotations

import ast

import libcst
import pytest

from cli_helpers import FIXTURES
from ecolint.candidate_loads import load_names
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
    summary = summarize(ast.parse("from transformers import AutoModel\nm = AutoModel.from_pretrained('x')\n"))
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


# -- model loads: a call counts only where the collector could record a load (ecolint.candidate_loads) --------
LOAD_RULES = ["LLM101", "LLM203", "LLM303", "LLM304", "LLM306"]


def load_rules_kept(source: str, imported: str = "") -> list[str]:
    return possible(LOAD_RULES, summarize(ast.parse(source)), imported)


def recorded(source: str) -> bool:
    """Whether the analysis records a model load or a quantization config in the source."""
    from ecolint.analysis.facts import collect_facts
    from ecolint.checks.model_loaded_per_request import vllm_engine_loads

    facts = collect_facts(libcst.parse_module(source))
    return bool(facts.model_loads or facts.quant_configs or vllm_engine_loads(facts.collector))


NO_LOADS = {
    "tokenizer": "from transformers import AutoTokenizer\ntok = AutoTokenizer.from_pretrained('gpt2')\n",
    "tokenizer class": "from transformers import AutoModel\ntok = tokenizer_class.from_pretrained(name)\n",
    "config and processor": ("from transformers import AutoConfig, AutoProcessor\n"
                             "c = AutoConfig.from_pretrained('x')\np = AutoProcessor.from_pretrained('x')\n"),
    "adapter": "from peft import PeftModel\nm = PeftModel.from_pretrained(base, 'adapter')\n",
    "cls": ("from transformers import AutoModel\n"
            "class Loader:\n    @classmethod\n    def load(cls, name):\n        return cls.from_pretrained(name)\n"),
    "super()": ("from transformers import PreTrainedModel\nclass M(PreTrainedModel):\n"
                "    @classmethod\n    def from_pretrained(cls, *a, **k):\n"
                "        return super().from_pretrained(*a, **k)\n"),
    "self attribute": ("from transformers import AutoModel\nclass A:\n    def f(self):\n"
                       "        self.cls.from_pretrained('x')\n"),
    "a class of the file": "class Net:\n    pass\nnet = Net.from_pretrained('x')\n",
    "another library": "from diffusers import UNet2DModel\nunet = UNet2DModel.from_pretrained('x')\n",
    "relative import": "from .modeling_auto import AutoModel\nm = AutoModel.from_pretrained(name)\n",
    "no import": "model = AutoModelForCausalLM.from_pretrained('gpt2')\n",
    "pipeline of another library": "from diffusers import pipeline\npipe = pipeline('x')\n",
    "LLM of another library": "from langchain import LLM\nllm = LLM('x')\n",
    "an alias of the method": ("from transformers import AutoModel\nload = AutoModel.from_pretrained\n"
                               "m = load('gpt2')\n"),
}
LOADS_SHAPES = {
    "imported class": "from transformers import AutoModelForCausalLM\nm = AutoModelForCausalLM.from_pretrained('x')\n",
    "module alias": "import transformers as tf\nm = tf.AutoModelForCausalLM.from_pretrained('x')\n",
    "star import": "from transformers import *\nm = AutoModelForCausalLM.from_pretrained('x')\n",
    "peft": "from peft import AutoPeftModelForCausalLM\nm = AutoPeftModelForCausalLM.from_pretrained('x')\n",
    "variable class": ("from transformers import AutoModelForCausalLM\nmodel_cls = AutoModelForCausalLM\n"
                       "m = model_cls.from_pretrained('x')\n"),
    "dict of classes": ("from transformers import GPT2LMHeadModel\nMODEL_CLASSES = {'gpt2': GPT2LMHeadModel}\n"
                        "m = MODEL_CLASSES['gpt2'].from_pretrained('x')\n"),
    "dict entry set later": ("from transformers import GPT2LMHeadModel\nCLASSES = {}\n"
                             "CLASSES['gpt2'] = GPT2LMHeadModel\nm = CLASSES['gpt2'].from_pretrained('x')\n"),
    "dict updated": ("import transformers\nCLASSES = {}\nCLASSES.update(gpt2=transformers.GPT2LMHeadModel)\n"
                     "m = CLASSES['gpt2'].from_pretrained('x')\n"),
    "parameter default": ("from transformers import AutoModelForCausalLM\n"
                          "def load(name, cls=AutoModelForCausalLM):\n    return cls.from_pretrained(name)\n"
                          "load('x')\n"),
    "conditional class": ("from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM\n"
                          "cls = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM\n"
                          "m = cls.from_pretrained('x')\n"),
    "a function's result": ("from transformers import AutoModelForCausalLM\n"
                            "def model_class():\n    return AutoModelForCausalLM\n"
                            "m = model_class().from_pretrained('x')\n"),
    "bitsandbytes keyword": "m = cls.from_pretrained('x', load_in_4bit=True)\n",
    "quantization config": "from transformers import BitsAndBytesConfig\nq = BitsAndBytesConfig(load_in_8bit=True)\n",
    "pipeline": "from transformers import pipeline as make\npipe = make('text-generation', model='gpt2')\n",
    "vLLM": "from vllm import LLM\nllm = LLM('facebook/opt-125m')\n",
}


@pytest.mark.parametrize("name", sorted(NO_LOADS))
def test_calls_that_load_no_model_keep_no_load_rule(name):
    source = NO_LOADS[name]
    assert not recorded(source)  # the analysis agrees: nothing is loaded there
    assert load_rules_kept(source) == []


@pytest.mark.parametrize("name", sorted(LOADS_SHAPES))
def test_every_shape_of_a_load_keeps_the_load_rules(name):
    source = LOADS_SHAPES[name]
    assert recorded(source)
    kept = load_rules_kept(source)
    assert "LLM101" in kept and ("LLM306" in kept) == (name != "quantization config")


def test_a_constant_of_another_project_module_counts_where_the_imported_text_assigns_it():
    source = "from settings import model_class\nm = model_class.from_pretrained('x')\n"
    assert load_rules_kept(source) == []
    assert load_rules_kept(source, imported="model_class = AutoModelForCausalLM\n") == LOAD_RULES
    assert load_rules_kept(source, imported="x = model_class\n") == []  # read there, not assigned


def test_the_loaders_a_file_imports_keep_llm203_alone():
    """LLM203 also reports calls of project functions that load a model on every call."""
    source = "from .loading import load\nfor x in xs:\n    load(x)\n"
    assert load_rules_kept(source, imported="def load(x):\n    return AutoModel.from_pretrained(x)\n") == ["LLM203"]


def test_a_project_constant_class_is_still_reported(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "settings.py").write_text("from transformers import AutoModelForCausalLM\n\n"
                                          "model_class = AutoModelForCausalLM\n")
    app = tmp_path / "app.py"
    app.write_text("from settings import model_class\n\nfor x in xs:\n"
                   "    m = model_class.from_pretrained('meta-llama/Llama-2-7b-hf')\n")
    found = lint_text(app.read_text(), str(app), LintOptions(ALL, project_root=str(tmp_path)), path=app)
    assert [d.code for d in found] == ["LLM203"]


LOAD_FIXTURES = sorted(path for code, needs in NEEDS.items() if "from_pretrained" in needs
                       for path in (FIXTURES / code).glob("*.py"))


@pytest.mark.parametrize("fixture", LOAD_FIXTURES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_the_pre_pass_counts_every_load_the_analysis_records(fixture):
    """An over-approximation of the collector: never a file with a load (or a quantization config) dropped."""
    source = fixture.read_text(encoding="utf-8")
    summary = summarize(ast.parse(source))
    assert load_names(summary.loads, summary.called) or not recorded(source)
