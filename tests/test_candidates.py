"""The CPython-ast pre-pass: a file whose trigger words are never called is not parsed by libcst."""

from __future__ import annotations

import ast

import libcst
import pytest

from cli_helpers import FIXTURES
from ecolint.candidate_loads import load_names
from ecolint.candidates import GENERATION_SHAPE, NEEDS, NEEDS_GPU, possible, summarize
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


def test_vllm_engine_settings_need_an_engine_of_vllm():
    """LLM204 reads the settings of vLLM's engines: an engine call and an import of vllm (or vllm in what the
    file imports from its project); a class of the same name from elsewhere, or settings alone, are not."""
    def kept(source: str, imported: str = "") -> bool:
        return possible(["LLM204"], summarize(ast.parse(source)), imported) == ["LLM204"]

    assert kept("from vllm import LLM\nllm = LLM(model='m', enforce_eager=True)\n")
    assert kept("import vllm\nllm = vllm.LLM('m', max_num_seqs=2)\n")
    assert kept("from vllm import LLM as Engine\nengine = Engine('m', enforce_eager=True)\n")
    assert kept("from vllm.engine.arg_utils import AsyncEngineArgs\n"
                "args = AsyncEngineArgs(model='m', max_num_seqs=1)\n")
    assert kept("from .engines import LLM\nllm = LLM('m', enforce_eager=True)\n", imported="from vllm import LLM")
    assert not kept("from .engines import LLM\nllm = LLM('m', enforce_eager=True)\n")
    assert not kept("config = dict(enforce_eager=True, max_num_seqs=2)\n")
    assert not kept("import vllm\nsettings = {'enforce_eager': True}\n")


@pytest.mark.parametrize("fixture", sorted((FIXTURES / "LLM204").glob("pos_*.py")), ids=lambda path: path.name)
def test_every_llm204_example_keeps_llm204(fixture):
    assert possible(["LLM204"], summarize(ast.parse(fixture.read_text(encoding="utf-8")))) == ["LLM204"]


def test_the_imported_text_counts_as_called():
    summary = summarize(ast.parse("from .helpers import answer\nfor x in xs:\n    answer(x)\n"))
    generating = "def answer(question):\n    return model.generate(question)\n"
    assert possible(["LLM201"], summary) == []
    assert possible(["LLM201"], summary, imported=generating, imported_generators=generating) == ["LLM201"]


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
    read = "def run(generator, samples):\n    return [generator(s)[0]['generated_text'] for s in samples]\n"
    assert possible(["LLM201"], summarize(ast.parse(read))) == ["LLM201"]
    read_only = "def show(out):\n    return out[0]['generated_text']\n"  # no call that generates
    assert GENERATION_SHAPE in called(read_only)
    assert possible(["LLM201"], summarize(ast.parse(read_only))) == []
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
    assert load_rules_kept(source, imported="def load(x):\n    return pipeline('text-generation', x)\n") == ["LLM203"]


@pytest.mark.parametrize("body", [
    "return AutoConfig.from_pretrained(x)",
    "return tokenizer_class.from_pretrained(x)",
    "return cls.from_pretrained(x)",
    "return super().from_pretrained(x)",
    "return describe('a pipeline, then from_pretrained')",
])
def test_imported_functions_that_load_no_model_keep_no_llm203(body):
    """A project function that loads a tokenizer or config, or goes through cls or super(), records no model
    load in the analysis of its module: importing and calling it does not keep LLM203."""
    source = "from .loading import load\nfor x in xs:\n    load(x)\n"
    assert load_rules_kept(source, imported=f"def load(x):\n    {body}\n") == []


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


def generation_rules(source: str, codes=("LLM201", "LLM202", "LLM206", "LLM301"), imported: str = "") -> list[str]:
    """The generation rules the pre-pass keeps for ``source`` (``imported``: generating project definitions)."""
    return possible(list(codes), summarize(ast.parse(source)), imported=imported, imported_generators=imported)


def test_a_generate_in_a_method_called_from_a_loop_elsewhere_is_kept():
    source = ("class Answerer:\n"
              "    def answer(self, question):\n"
              "        return self.model.generate(question, max_new_tokens=8)\n"
              "\n"
              "def run(answerer, questions):\n"
              "    return [answerer.answer(q) for q in questions]\n")
    assert generation_rules(source, ("LLM201",)) == ["LLM201"]


def test_a_generate_reached_through_functions_of_the_file_is_kept():
    source = ("def once(model, ids):\n    return model.generate(ids)\n"
              "def twice(model, ids):\n    return once(model, ids)\n"
              "def run(model, rows):\n    while rows:\n        twice(model, rows.pop())\n")
    assert generation_rules(source, ("LLM201",)) == ["LLM201"]
    held = "run = model.generate\nfor ids in rows:\n    run(ids)\n"  # a variable holding it
    assert generation_rules(held, ("LLM201",)) == ["LLM201"]


def test_a_generate_only_in_a_function_nobody_loops_over_or_hands_on_is_dropped():
    source = ("def answer(model, question):\n"
              "    return model.generate(question, max_new_tokens=8)\n"
              "\n"
              "def main(model, questions):\n"
              "    for question in questions:\n"
              "        print(question)\n"
              "    return answer(model, questions)\n")
    assert generation_rules(source, ("LLM201", "LLM206")) == []


def test_a_function_defined_in_a_loop_is_not_run_by_it():
    """A ``def`` in a loop's body is not run there (the collector's loops stop at a function's body)."""
    source = ("for name in names:\n"
              "    def answer(model, q):\n"
              "        return model.generate(q)\n"
              "    registry[name] = 1\n")
    assert generation_rules(source, ("LLM201",)) == []


def test_a_generating_function_handed_on_as_a_value_is_kept():
    """The loop may be in the function it is handed to: here, or in another module."""
    answer = "def answer(question):\n    return pipe(question)[0]['generated_text']\n"
    for handed in ("evaluate(answer, questions)\n", "evaluate(data, fn=answer)\n",
                   "settings = {'inference_fn': answer}\n", "run = answer\n", "pool.map(answer, questions)\n"):
        assert generation_rules(answer + handed, ("LLM201",)) == ["LLM201"], handed
    assert generation_rules(answer + "print(answer('q'))\n", ("LLM201",)) == []


def test_pipeline_objects_and_generation_keywords_in_a_loop_are_kept():
    for source in (("from transformers import pipeline\npipe = pipeline('text-generation')\n"
                    "outs = [pipe(p) for p in prompts]\n"),
                   ("class Bot:\n    def __init__(self):\n        self.pipe = TextGenerationPipeline(model=m)\n"
                    "    def run(self, prompts):\n        for p in prompts:\n            self.pipe(p)\n"),
                   "def run(gen, prompts):\n    return [gen(p, max_new_tokens=5) for p in prompts]\n"):
        assert generation_rules(source, ("LLM201",)) == ["LLM201"], source
    settings = "for p in prompts:\n    kwargs = dict(max_new_tokens=5)\n"  # a builtin builds settings
    assert generation_rules(settings, ("LLM201",)) == []
    template = "for row in rows:\n    html = self.jinja_env.template.generate(**row)\n"  # Jinja, no model
    assert generation_rules(template, ("LLM201",)) == []
    assert generation_rules(template.replace("jinja_env.template", "model"), ("LLM201",)) == ["LLM201"]
    shadowed = "def run(filter, prompts):\n    return [filter(p, max_new_tokens=5) for p in prompts]\n"
    assert generation_rules(shadowed, ("LLM201",)) == ["LLM201"]


def test_a_generating_function_imported_from_the_project_is_followed():
    imported = "def answer(question):\n    return model.generate(question)\n\nclass Decoder:\n    pass\n"
    for source in ("from .helpers import answer\nfor q in qs:\n    answer(q)\n",
                   "import app.helpers as h\nfor q in qs:\n    h.answer(q)\n",
                   "from .helpers import answer as ask\nresults = [ask(q) for q in qs]\n",
                   "from .helpers import Decoder\nd = Decoder()\nfor q in qs:\n    d.step(q)\n",
                   ("from .helpers import Decoder\nclass Notes:\n    def __init__(self, decoder=None):\n"
                    "        self.decoder = decoder if decoder else Decoder()\n"
                    "    def write(self, qs):\n        for q in qs:\n            self.decoder.answer(q)\n"),
                   "from .helpers import answer\nevaluate(answer, qs)\n"):
        assert generation_rules(source, ("LLM201",), imported) == ["LLM201"], source
        assert generation_rules(source, ("LLM201",)) == [], source  # nothing generates without the project
    elsewhere = "def once(model, ids):\n    return model.generate(ids)\n"  # the name test passes
    for module in ("from . import helpers\nfor q in qs:\n    helpers.answer(q)\n",  # not in the index's text
                   "from . import helpers\nevaluate(helpers.answer, qs)\n",
                   "from app.helpers import answer as ask\nevaluate(ask, qs)\n"):
        assert generation_rules(elsewhere + module, ("LLM201",)) == ["LLM201"], module
    once = ("from .helpers import answer, Decoder\nprint(answer('q'))\nclass A(Decoder):\n    pass\n"
            "checked = [isinstance(m, Decoder) for m in models]\n")  # a class handed on is no generator
    assert generation_rules(once, ("LLM201",), imported) == []


def test_llm202_is_also_kept_by_a_pipeline_outside_loops():
    """``pipeline(..., batch_size=1)`` is reported wherever it is made."""
    made = "from transformers import pipeline\npipe = pipeline('text-generation', batch_size=1)\n"
    assert generation_rules(made, ("LLM202", "LLM201")) == ["LLM202"]
    assert generation_rules("out = model.generate(ids)\n", ("LLM202",)) == []


def test_llm301_needs_use_cache_given_to_generation_or_set_on_a_config():
    assert generation_rules("model.config.use_cache = False\n", ("LLM301",)) == ["LLM301"]
    assert generation_rules("model.generation_config.use_cache = off\n", ("LLM301",)) == ["LLM301"]
    assert generation_rules("model.config.use_cache = True\n", ("LLM301",)) == []
    assert generation_rules("encoder_config.use_cache = False\n", ("LLM301",)) == []  # not a model's config
    assert generation_rules("out = model.generate(ids, use_cache=False)\n", ("LLM301",)) == ["LLM301"]
    assert generation_rules("kw = dict(use_cache=False)\nout = model.generate(ids, **kw)\n", ("LLM301",)) == ["LLM301"]
    assert generation_rules("config = GenerationConfig(use_cache=False)\n", ("LLM301",)) == ["LLM301"]
    load = "model = AutoModelForCausalLM.from_pretrained(name, use_cache=False)\n"
    assert generation_rules(load + "model.generate(ids)\n", ("LLM301",)) == ["LLM301"]
    assert generation_rules(load, ("LLM301",)) == []  # a model that never generates here
    assert generation_rules("out = model(ids, use_cache=False)\n", ("LLM301",)) == []  # a forward pass


def test_llm301_a_function_passing_on_its_own_kwargs_cannot_set_use_cache():
    passing = "def run(model, ids, **kwargs):\n    return model.generate(ids, **kwargs)\n"
    assert generation_rules(passing, ("LLM301",)) == []
    rebound = ("def run(model, ids, **kwargs):\n    kwargs = {**kwargs, 'use_cache': False}\n"
               "    return model.generate(ids, **kwargs)\n")
    assert generation_rules(rebound, ("LLM301",)) == ["LLM301"]


def test_llm301_a_splat_carries_use_cache_only_where_it_is_written():
    unknown = "def run(model, ids, settings):\n    kw = settings.copy()\n    return model.generate(ids, **kw)\n"
    assert generation_rules(unknown, ("LLM301",)) == []
    for written in ("kw['use_cache'] = False\n", "kw.update(use_cache=False)\n", "kw.setdefault('use_cache', 0)\n"):
        source = f"kw = {{}}\n{written}out = model.generate(ids, **kw)\n"
        assert generation_rules(source, ("LLM301",)) == ["LLM301"], written
    project = "from .settings import GEN\nout = model.generate(ids, **GEN)\n"
    settings = "GEN = dict(use_cache=False)"
    assert possible(["LLM301"], summarize(ast.parse(project)), imported=settings, imported_settings=settings) == [
        "LLM301"]
    assert possible(["LLM301"], summarize(ast.parse(project)), imported=settings) == []


def test_a_tree_too_deep_for_the_generation_gate_keeps_what_the_name_test_keeps():
    source = "x = " + " if c else ".join(["a"] * 2000) + "\nfor p in ps:\n    print(p)\nmodel.generate(x)\n"
    assert generation_rules(source, ("LLM201", "LLM301")) == ["LLM201", "LLM301"]
