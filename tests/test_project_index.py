"""Cross-module facts: what a file imports from its own project is followed; third-party code is not."""

from __future__ import annotations

import os
import time

import pytest

from click.testing import CliRunner

from ecolint.cli import main
from ecolint.analysis.project_index import ProjectIndex, top_level_definitions

CONFIGS = """\
from transformers import BitsAndBytesConfig

BNB_CONFIG = BitsAndBytesConfig(load_in_8bit=True)
MODEL_KWARGS = {"load_in_8bit": True, "device_map": "auto"}
SAFE = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)
"""
GENERATION = """\
def generate_one(model, tokenizer, prompt):
    inputs = tokenizer(prompt, return_tensors="pt").to("cuda")
    return model.generate(**inputs, max_new_tokens=64)


def reply(model, tokenizer, question):
    return generate_one(model, tokenizer, f"Q: {question}")


def generate_batch(model, tokenizer, prompts):
    inputs = tokenizer(prompts, return_tensors="pt", padding=True).to("cuda")
    return model.generate(**inputs, max_new_tokens=64)
"""
SERVE = """\
from transformers import AutoModelForCausalLM, AutoTokenizer

from app.configs import BNB_CONFIG, MODEL_KWARGS, SAFE
from ..generation import reply, generate_batch
from app import generation

model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=BNB_CONFIG)
other = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", **MODEL_KWARGS)
safe = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=SAFE)
tokenizer = AutoTokenizer.from_pretrained("mistralai/Mistral-7B-v0.1")

for question in ["a", "b"]:
    print(reply(model, tokenizer, question))

answers = [generation.generate_one(model, tokenizer, q) for q in ["c", "d"]]
for chunk in [["e", "f"], ["g", "h"]]:
    generate_batch(model, tokenizer, chunk)
"""


def project(tmp_path, serve=SERVE):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    for name, text in {
        "app/__init__.py": "",
        "app/configs.py": CONFIGS,
        "app/generation.py": GENERATION,
        "app/serving/__init__.py": "",
        "app/serving/run.py": serve,
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def check(tmp_path, monkeypatch, *args):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--output-format", "concise", *args], catch_exceptions=False)
    return [line.split(" ", 2)[:2] for line in result.stdout.splitlines() if ": LLM" in line]


def test_imported_configs_and_generating_helpers_are_followed(tmp_path, monkeypatch):
    project(tmp_path)
    found = check(tmp_path, monkeypatch, "--no-cache", "app/serving/run.py")
    assert ["app/serving/run.py:7:95:", "LLM101"] in found  # BNB_CONFIG from app.configs
    assert ["app/serving/run.py:8:77:", "LLM101"] in found  # **MODEL_KWARGS
    assert ["app/serving/run.py:8:77:", "LLM106"] in found
    assert ["app/serving/run.py:13:11:", "LLM201"] in found  # reply() -> generate_one() -> model.generate()
    assert ["app/serving/run.py:15:12:", "LLM201"] in found  # generation.generate_one(...) in a comprehension
    assert not any(location.startswith("app/serving/run.py:9:") for location, _ in found)  # SAFE: threshold 0
    assert not any(location.startswith("app/serving/run.py:17:") for location, _ in found)  # a batch per call


DECODER = """\
class Decoder:
    def __init__(self, model, tokenizer):
        self.model = model
        self.tokenizer = tokenizer

    def answer(self, question):
        inputs = self.tokenizer(question, return_tensors="pt").to("cuda")
        return self.model.generate(**inputs, max_new_tokens=64)

    def answer_all(self, questions):
        inputs = self.tokenizer(questions, return_tensors="pt", padding=True).to("cuda")
        return self.model.generate(**inputs, max_new_tokens=64)

    def name(self, question):
        return f"decoder for {question}"
"""
ANSWERS = """\
from transformers import AutoModelForCausalLM, AutoTokenizer

from app.decoding import Decoder

tokenizer = AutoTokenizer.from_pretrained("mistralai/Mistral-7B-v0.1")
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", torch_dtype="auto")
decoder = Decoder(model, tokenizer)
for question in ["a", "b"]:
    print(decoder.answer(question))
    print(decoder.name(question))
for batch in [["c", "d"], ["e", "f"]]:
    decoder.answer_all(batch)
"""


def test_a_method_of_a_class_from_another_module_that_generates_per_item_is_followed(tmp_path, monkeypatch):
    project(tmp_path, serve=ANSWERS)
    (tmp_path / "app/decoding.py").write_text(DECODER, encoding="utf-8")
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM201", "app/serving/run.py")
    assert found == [["app/serving/run.py:9:11:", "LLM201"]]  # decoder.answer(), not name() or answer_all()


def test_a_finding_from_an_imported_config_points_at_the_local_name(tmp_path, monkeypatch):
    project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "json", "app/serving/run.py"])
    import json

    [first] = [d for d in json.loads(result.stdout) if d["location"]["row"] == 7]
    line = SERVE.splitlines()[6]
    assert line[first["location"]["column"] - 1:].startswith("BNB_CONFIG")
    assert first["fix"] is None  # never edits another module


def test_editing_an_imported_module_makes_the_cached_result_stale(tmp_path, monkeypatch):
    from ecolint.analysis import project_index

    monkeypatch.setattr(project_index, "RECHECK_SECONDS", 0.0)  # both runs happen in this one process
    project(tmp_path)
    cache = ["--cache-dir", str(tmp_path / ".cache")]
    assert ["app/serving/run.py:7:95:", "LLM101"] in check(tmp_path, monkeypatch, *cache, "app/serving/run.py")
    configs = tmp_path / "app" / "configs.py"
    stat = configs.stat()
    configs.write_text(CONFIGS.replace("BitsAndBytesConfig(load_in_8bit=True)\nMODEL",
                                       "BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)\nMODEL"),
                       encoding="utf-8")
    os.utime(configs, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    time.sleep(0.01)
    assert ["app/serving/run.py:7:95:", "LLM101"] not in check(tmp_path, monkeypatch, *cache, "app/serving/run.py")


def test_third_party_packages_are_not_read(tmp_path, monkeypatch):
    project(tmp_path)
    vendored = tmp_path / ".venv" / "lib" / "site-packages" / "vendor"
    vendored.mkdir(parents=True)
    (vendored / "__init__.py").write_text("", encoding="utf-8")
    (vendored / "configs.py").write_text(CONFIGS, encoding="utf-8")
    index = ProjectIndex(tmp_path)
    importer = tmp_path / ".venv" / "lib" / "site-packages" / "use.py"
    assert index.locate(importer, "vendor.configs.BNB_CONFIG") is None
    assert index.locate(tmp_path / "app" / "serving" / "run.py", "app.configs.BNB_CONFIG") == (
        tmp_path / "app" / "configs.py", "BNB_CONFIG")


def test_a_file_without_trigger_words_is_parsed_when_its_imports_matter(tmp_path, monkeypatch):
    serve = "from app.generation import reply\n\nfor q in ['a', 'b']:\n    reply(None, None, q)\n"
    project(tmp_path, serve)
    assert check(tmp_path, monkeypatch, "--no-cache", "app/serving/run.py") == [["app/serving/run.py:4:5:", "LLM201"]]


def test_an_import_cycle_does_not_hang(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "a.py").write_text("from b import run\n\ndef go(x):\n    return run(x)\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("from a import go\n\ndef run(x):\n    return go(x).generate(x, max_new_tokens=1)\n",
                                   encoding="utf-8")
    (tmp_path / "c.py").write_text("from a import go\n\nfor x in [1, 2]:\n    go(x)\n", encoding="utf-8")
    found = check(tmp_path, monkeypatch, "--no-cache", ".")
    assert all(code.startswith("LLM") for _, code in found)


def test_top_level_definitions_are_read_in_one_pass():
    text = "import x\n\nA = 1\nB: int = (\n    2\n)\n\ndef f(a):\n    return a\n# note\nclass C:\n    x = 1\n"
    found = top_level_definitions(text)
    assert found["A"] == "A = 1"
    assert found["B"].startswith("B: int = (") and found["B"].rstrip().endswith(")")
    assert found["f"].startswith("def f(a):") and "return a" in found["f"]
    assert found["C"].startswith("class C:")
    assert "x" not in found


DISPATCH = """\
def generate_reply(*args, **kwargs):
    for result in _generate_reply(*args, **kwargs):
        yield result


def _generate_reply(question, state):
    generate_func = find_extension("custom_generate_reply")
    if generate_func is None:
        generate_func = generate_reply_hf
    for reply in generate_func(question, state):
        yield reply


def generate_reply_hf(question, state):
    inputs = tokenizer(question, return_tensors="pt").to("cuda")
    yield tokenizer.decode(model.generate(**inputs, **state)[0])
"""
COMPLETIONS = """\
from app.text_generation import generate_reply


def complete(prompts, state):
    answers = []
    for prompt in prompts:
        answer = ""
        for answer in generate_reply(prompt, state):
            pass
        answers.append(answer)
    return answers
"""


def test_a_generator_chosen_through_a_variable_and_forwarded_arguments_is_followed(tmp_path, monkeypatch):
    """The serving file names no trigger word; the imported helper reaches generation only through
    ``*args`` and a function held in a variable, which the text gate before parsing follows too."""
    project(tmp_path, serve=COMPLETIONS)
    (tmp_path / "app/text_generation.py").write_text(DISPATCH, encoding="utf-8")
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM201", "app/serving/run.py")
    assert found == [["app/serving/run.py:8:23:", "LLM201"]]


PROMPTED = '''\
from transformers import AutoModelForCausalLM, AutoTokenizer


def make_json(text, model, tokenizer):
    prompt = f"""Text: {text}

Answer in JSON:
["""
    inputs = tokenizer(prompt, return_tensors="pt").to("cuda")
    return model.generate(**inputs, max_new_tokens=64)


def describe(text):
    return f"""about
{text}: model.generate(**inputs)"""
'''


def test_a_prompt_template_in_column_0_does_not_end_the_helper(tmp_path, monkeypatch):
    serve = ("from app.prompted import make_json, describe\n\n"
             "for page in ['a', 'b']:\n    make_json(page, None, None)\n    describe(page)\n")
    project(tmp_path, serve)
    (tmp_path / "app/prompted.py").write_text(PROMPTED, encoding="utf-8")
    assert check(tmp_path, monkeypatch, "--no-cache", "app/serving/run.py") == [["app/serving/run.py:4:5:", "LLM201"]]


def test_top_level_definitions_skip_the_lines_of_a_multi_line_string():
    found = top_level_definitions(PROMPTED)
    assert found["make_json"].rstrip().endswith("max_new_tokens=64)")
    assert found["describe"].rstrip().endswith('model.generate(**inputs)"""')
    assert set(found) == {"make_json", "describe"}
    quoted = "# a '''quote in a comment\ndef f():\n    s = '\"\"\"'\n    return 1\nX = 2\n"
    assert top_level_definitions(quoted) == {"f": "def f():\n    s = '\"\"\"'\n    return 1", "X": "X = 2"}


NOTES = """\
from app.decoding import Decoder


class Notes:
    def __init__(self, decoder: Decoder = None):
        self.decoder = decoder if decoder else Decoder(None, None)

    def write(self, questions):
        for question in questions:
            print(self.decoder.answer(question))
            print(self.decoder.name(question))
        for batch in questions:
            self.decoder.answer_all(batch)
"""


def test_a_method_reached_through_an_attribute_holding_a_project_class_instance_is_followed(tmp_path, monkeypatch):
    project(tmp_path, serve=NOTES)
    (tmp_path / "app/decoding.py").write_text(DECODER, encoding="utf-8")
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM201", "app/serving/run.py")
    assert found == [["app/serving/run.py:10:19:", "LLM201"]]  # self.decoder.answer(), not name() or answer_all()


LOADERS = """\
import functools

from transformers import AutoModelForCausalLM


class Summarizer:
    def __init__(self):
        self.model = self.load_model()

    def load_model(self):
        return AutoModelForCausalLM.from_pretrained("facebook/bart-large-cnn")


def load_for(text, model_path):
    return AutoModelForCausalLM.from_pretrained(model_path), text


@functools.lru_cache(maxsize=None)
def cached_model():
    return AutoModelForCausalLM.from_pretrained("gpt2")


_MODEL = None


def shared_model():
    global _MODEL
    if _MODEL is None:
        _MODEL = AutoModelForCausalLM.from_pretrained("gpt2")
    return _MODEL
"""
STREAMLIT_APP = """\
import streamlit as st
from app.loaders import Summarizer


def load_model():
    return Summarizer()


summarizer = load_model()
st.write(summarizer.model)
"""
HANDLERS = """\
from fastapi import FastAPI
from app.loaders import Summarizer, cached_model, load_for, shared_model

app = FastAPI()
ONCE = Summarizer()


@app.post("/a")
def a(text: str):
    return cached_model(), shared_model(), ONCE


def pages(texts, names):
    for text in texts:
        load_for(text, "models/qa")
    for name in names:
        load_for("the same text", name)
"""


def test_a_class_of_another_module_whose_init_loads_is_followed(tmp_path, monkeypatch):
    project(tmp_path, serve=STREAMLIT_APP)
    (tmp_path / "app/loaders.py").write_text(LOADERS, encoding="utf-8")
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM203", "app/serving/run.py")
    assert found == [["app/serving/run.py:6:12:", "LLM203"]]  # Summarizer(), in load_model(), per rerun
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "LLM203", "--output-format", "json",
                                       "app/serving/run.py"])
    import json

    [finding] = json.loads(result.stdout)
    assert "Summarizer.load_model()" in finding["message"] and finding["fix"] is None  # never edits another module


def test_loads_in_another_module_per_item_are_followed_and_cached_or_swept_ones_are_not(tmp_path, monkeypatch):
    project(tmp_path, serve=HANDLERS)
    (tmp_path / "app/loaders.py").write_text(LOADERS, encoding="utf-8")
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM203", "app/serving/run.py")
    assert found == [["app/serving/run.py:15:9:", "LLM203"]]  # the same model path for every text


HARNESS = """\
from torch.utils.data import DataLoader


def _run_one(settings, rows):
    texts = [row["text"] for row in rows]
    return settings["inference_fn"](texts, **settings["kwargs"])


def evaluate(settings, dataset, batch_size=1):
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=list)
    results = []
    for rows in loader:
        results.append(_run_one(settings, rows))
    return results


def map_items(items, fn):
    return [fn(item) for item in items]


def apply_once(fn, text):
    return fn(text)


def evaluate_batched(settings, dataset):
    for batch in DataLoader(dataset, batch_size=16):
        settings["inference_fn"](batch)
"""
GENERATORS = """\
def generate_first(texts, model=None, tokenizer=None):
    inputs = tokenizer(texts[0], return_tensors="pt").to("cuda")
    return model.generate(**inputs, max_new_tokens=64)


def shout(texts, **kwargs):
    return [text.upper() for text in texts]


def generate_all(texts, model=None, tokenizer=None):
    inputs = tokenizer(texts, return_tensors="pt", padding=True).to("cuda")
    return model.generate(**inputs, max_new_tokens=64)
"""
RUNNER = """\
import sys

sys.path.insert(0, ".")
import harness as h
from harness import apply_once, evaluate_batched
from lib.generators import generate_all, generate_first, shout

settings = {"inference_fn": generate_first, "kwargs": {}}
h.evaluate(settings, ["a", "b"])
h.evaluate({"inference_fn": generate_first, "kwargs": {}}, ["a", "b"], batch_size=1)
h.map_items(["a", "b"], fn=generate_first)
h.evaluate(settings, ["a", "b"], batch_size=8)
h.evaluate({"inference_fn": shout, "kwargs": {}}, ["a", "b"])
apply_once(generate_first, "a")
evaluate_batched(settings, ["a", "b"])
h.evaluate({"inference_fn": generate_all, "kwargs": {}}, ["a", "b"], batch_size=16)
h.evaluate(settings, ["a", "b"], 4)
"""


def harness_project(tmp_path, runner=RUNNER):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    for name, text in {"harness/__init__.py": "from .evaluation import *\n", "harness/evaluation.py": HARNESS,
                       "lib/__init__.py": "", "lib/generators.py": GENERATORS, "scripts/run.py": runner}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_generator_handed_to_another_module_s_per_item_loop_is_reported_at_the_call(tmp_path, monkeypatch):
    harness_project(tmp_path)
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM201", "scripts/run.py")
    # a settings dict by name and as a literal (a loader whose batch_size is the caller's, left at 1 or
    # given as 1), a plain parameter called in a comprehension; not batch_size=8, not a function that does
    # not generate, not a function called once, not a loader of 16 rows, not a batching function given
    # batches of 16, not a batch size given by position
    assert found == [["scripts/run.py:9:1:", "LLM201"], ["scripts/run.py:10:1:", "LLM201"],
                     ["scripts/run.py:11:1:", "LLM201"]]


def test_the_finding_names_the_generator_and_the_other_function_s_loop_and_offers_no_fix(tmp_path, monkeypatch):
    import json

    harness_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "LLM201", "--output-format", "json",
                                       "scripts/run.py"])
    first = json.loads(result.stdout)[0]
    assert first["message"].startswith("generate_first (passed to h.evaluate(), via generate_first() -> "
                                       "model.generate()) is called once per item inside a for loop of h.evaluate()")
    assert first["fix"] is None  # the loop is in the other module: batching it is that function's business
    before = (tmp_path / "scripts/run.py").read_text(encoding="utf-8")
    CliRunner().invoke(main, ["check", "--no-cache", "--select", "LLM201", "--fix", "--unsafe-fixes",
                              "scripts/run.py"])
    assert (tmp_path / "scripts/run.py").read_text(encoding="utf-8") == before


def test_a_script_without_generation_words_is_linted_when_it_hands_over_a_generator(tmp_path, monkeypatch):
    runner = "import harness\nfrom lib.generators import generate_first\n\nharness.map_items(['a'], generate_first)\n"
    harness_project(tmp_path, runner)
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM201", "scripts/run.py")
    assert found == [["scripts/run.py:4:1:", "LLM201"]]


def test_a_name_a_package_re_exports_is_found_in_the_module_that_defines_it(tmp_path):
    harness_project(tmp_path)
    index = ProjectIndex(tmp_path)
    importer = tmp_path / "scripts" / "run.py"
    assert index.locate(importer, "harness.evaluate") == (tmp_path / "harness" / "evaluation.py", "evaluate")
    assert index.locate(importer, "harness.missing") == (tmp_path / "harness" / "__init__.py", "missing")


SYS_PATH_RUNNER = """\
import os
import sys
from pathlib import Path

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
import answering
from common import generate_one

for question in ["a", "b"]:
    answering.answer(question)
replies = [generate_one(question) for question in ["c", "d"]]
"""


def sys_path_project(tmp_path, runner):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    answer = GENERATION.replace("def generate_one", "def answer")
    files = {"tools/run.py": runner, "tools/vendor/answering.py": answer, "shared/common.py": GENERATION}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_modules_reached_through_a_sys_path_addition_built_from_the_file_are_followed(tmp_path, monkeypatch):
    sys_path_project(tmp_path, SYS_PATH_RUNNER)
    found = check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM201", "tools/run.py")
    assert found == [["tools/run.py:11:5:", "LLM201"], ["tools/run.py:12:12:", "LLM201"]]


def test_a_sys_path_addition_that_cannot_be_told_adds_no_folder(tmp_path, monkeypatch):
    unknown = SYS_PATH_RUNNER.replace('os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor")',
                                      'os.environ["VENDOR"]').replace('str(Path(__file__).resolve().parents[1] / '
                                                                      '"shared")', '"shared"')
    sys_path_project(tmp_path, unknown)
    assert check(tmp_path, monkeypatch, "--no-cache", "--select", "LLM201", "tools/run.py") == []


def test_an_imported_generating_class_used_only_as_a_base_or_a_type_brings_no_text(tmp_path):
    from ecolint.analysis.project_index import imported_text

    project(tmp_path)
    (tmp_path / "app/mixins.py").write_text(
        "class Generator:\n    def answer(self, prompt):\n        return self.model.generate(prompt)\n\n\n"
        "class Loader:\n    def __init__(self, name):\n"
        "        self.model = AutoModelForCausalLM.from_pretrained(name)\n", encoding="utf-8")
    importer = (tmp_path / "app/serving/run.py").absolute()
    index = ProjectIndex(tmp_path)
    subclassed = ("from app.mixins import Generator, Loader\n\n\nclass Mine(Loader, Generator):\n"
                  "    def ask(self, item: Generator):\n        return item\n")
    found = imported_text(index, importer, subclassed)
    assert (found.functions, found.loaders, found.passed) == ("", "", False)
    used = ("from app.mixins import Generator, Loader\n\nbot = Generator()\nfor q in qs:\n"
            "    Loader(q)\n")
    found = imported_text(index, importer, used)
    assert "self.model.generate" in found.functions and "from_pretrained" in found.loaders
    assert not found.passed


def test_a_generating_function_handed_on_as_a_value_is_passed_not_an_import_or_a_comparison():
    from ecolint.analysis.project_index import named_as_value

    assert named_as_value("generate_one", "evaluate(data, fn=generate_one)\n")
    assert named_as_value("generate_one", 'settings = {\n    "inference_fn": generate_one,\n}\n')
    assert named_as_value("lce.common.one", "lce.evaluate(lce.common.one, rows)\n")
    assert not named_as_value("generate_one", "from app.generation import generate_one\n")
    assert not named_as_value("generate_one", "class Mine(Base, generate_one):\n    pass\n")
    assert not named_as_value("generate_one", "if fn == generate_one:\n    pass\n")
    assert not named_as_value("generate_one", "x = generate_one(prompt)\n")


def star_project(tmp_path):
    """A package that star-imports its subpackages, which star-import their modules (as transformers does)."""
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    files = {"models/__init__.py": "from .bert import *\nfrom .llama import *\n",
             "models/bert/__init__.py": "from .modeling_bert import *\n",
             "models/bert/modeling_bert.py": "class BertModel:\n    pass\n",
             "models/llama/__init__.py": "from .configuration_llama import *\nfrom .modeling_llama import *\n",
             "models/llama/configuration_llama.py": "LLAMA_DTYPE = 'bfloat16'\n",
             "models/llama/modeling_llama.py": GENERATION, "run.py": "", "tools/use.py": ""}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_name_star_imported_through_nested_packages_is_found_in_the_module_that_defines_it(tmp_path):
    star_project(tmp_path)
    index = ProjectIndex(tmp_path)
    run = tmp_path / "run.py"
    modeling = tmp_path / "models" / "llama" / "modeling_llama.py"
    assert index.locate(run, "models.generate_one") == (modeling, "generate_one")
    assert index.locate(run, "models.BertModel") == (tmp_path / "models" / "bert" / "modeling_bert.py", "BertModel")
    assert index.locate(run, "models.missing") == (tmp_path / "models" / "__init__.py", "missing")
    assert index.relevant_definition(run, "models.generate_one")[0] == "function"
    assert index.relevant_definition(run, "models.BertModel") == ("", "")


def test_a_definition_added_to_a_star_imported_module_is_found_once_saved(tmp_path, monkeypatch):
    from ecolint.analysis import project_index

    monkeypatch.setattr(project_index, "RECHECK_SECONDS", 0.0)  # a long-running process (a language server)
    star_project(tmp_path)
    index = ProjectIndex(tmp_path)
    assert index.locate(tmp_path / "run.py", "models.later") == (tmp_path / "models" / "__init__.py", "later")
    modeling = tmp_path / "models" / "bert" / "modeling_bert.py"
    stat = modeling.stat()
    modeling.write_text("class BertModel:\n    pass\n\n\ndef later():\n    pass\n", encoding="utf-8")
    os.utime(modeling, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert index.locate(tmp_path / "tools" / "use.py", "models.later") == (modeling, "later")


def test_a_word_is_looked_for_where_removing_a_docstring_may_join_it():
    from ecolint.analysis.project_index import DOCSTRING, GENERATION_CALL, GENERATION_WORDS, may_hold

    joined = 'x.gen"""a"""erate(prompt)\n'  # not Python, but DOCSTRING's removal makes a call of it
    assert GENERATION_CALL.search(DOCSTRING.sub("", joined)) and may_hold(joined, GENERATION_WORDS)
    assert may_hold('def f(model):\n    return model.generate(x)\n', GENERATION_WORDS)
    assert not may_hold('def f(model):\n    """Generate text."""\n    return model(x)\n', GENERATION_WORDS)


def test_a_name_handed_on_as_a_value_is_found_as_the_pattern_with_a_look_behind_finds_it():
    import re

    from ecolint.analysis.project_index import value_positions

    texts = ["fn = gen\n", "f(gen)\n", "gen()\n", "x.gen\n", "gen .x\n", "gen\n  (1)\n", "a.gen_two = gen", "genx = 1",
             "{'k': gen, 'j': gen2}", "gen\u00e9 = gen\u00a0", "lce.gen = lce.gen\n", "gen_x = gen", ""]
    for spelled in ("gen", "lce.gen"):
        pattern = re.compile(rf"(?<![\w.]){re.escape(spelled)}\b(?!\s*[(.\w])")
        for text in texts:
            assert list(value_positions(spelled, text)) == [match.start() for match in pattern.finditer(text)], text


def test_a_file_named_through_a_parent_folder_finds_what_it_imports(tmp_path):
    project(tmp_path)
    index = ProjectIndex(tmp_path)
    serving = tmp_path / "app" / "serving"
    assert index.locate(serving / "run.py", "<relative>.missing.NAME") is None  # app/serving listed
    through_parent = serving / ".." / "main.py"  # ``ecolint check app/serving/../main.py``
    assert index.locate(through_parent, "<relative>.configs.BNB_CONFIG") == (serving / ".." / "configs.py",
                                                                             "BNB_CONFIG")


def test_a_class_of_a_module_that_neither_generates_nor_loads_brings_no_text_unread(tmp_path):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    shapes = tmp_path / "shapes.py"
    shapes.write_text('class Box:\n    """Holds an answer."""\n\n\nLIMITS = {"max_new_tokens": 8}\n',
                      encoding="utf-8")
    index = ProjectIndex(tmp_path)
    assert index.relevant_definition(tmp_path / "run.py", "shapes.Box") == ("", "")
    assert index.module(shapes).definitions is None  # a class line tells enough: no block was looked for
    assert index.relevant_definition(tmp_path / "run.py", "shapes.LIMITS")[0] == "assignment"
    shapes.write_text("class Box:\n    def load(self):\n        return AutoModel.from_pretrained('x')\n",
                      encoding="utf-8")
    assert ProjectIndex(tmp_path).relevant_definition(tmp_path / "run.py", "shapes.Box")[0] == "loader"


def test_a_file_too_large_to_read_is_not_read_again_until_it_changes(tmp_path, monkeypatch):
    from ecolint.analysis import project_index

    monkeypatch.setattr(project_index, "RECHECK_SECONDS", 0.0)  # each question looks at the disk again
    project(tmp_path)
    huge = tmp_path / "app" / "serving" / "huge.py"
    huge.write_text("from app.configs import BNB_CONFIG\n" + "x = 1\n" * 200_000, encoding="utf-8")
    index = ProjectIndex(tmp_path)
    reads = []
    monkeypatch.setattr(index, "_read", lambda path, stamp: reads.append(path) or ProjectIndex._read(path, stamp))
    for _ in range(3):
        assert index.locate(huge, "app.configs.BNB_CONFIG") == (tmp_path / "app" / "configs.py", "BNB_CONFIG")
    assert reads.count(str(huge)) == 1
    stat = huge.stat()
    huge.write_text(huge.read_text(encoding="utf-8") + "y = 2\n", encoding="utf-8")
    os.utime(huge, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    index.locate(huge, "app.configs.SAFE")
    assert reads.count(str(huge)) == 2


@pytest.mark.parametrize("code, loads", [
    ("model = AutoModelForCausalLM.from_pretrained(path)", True),
    ("model = self.model_class.from_pretrained(path)", True),  # unknown class: may be a model's
    ("model = MODELS[name].from_pretrained(path)", True),
    ("model = cls.from_pretrained(path, load_in_8bit=True)", True),  # bitsandbytes keywords: any class loads
    ("generator = pipeline('text-generation', model=path)", True),
    ("load = from_pretrained(path)", True),  # an alias of some from_pretrained
    ("config = AutoConfig.from_pretrained(path)", False),
    ("tokenizer = tokenizer_class.from_pretrained(path)", False),
    ("return cls.from_pretrained(path)", False),
    ("return super().from_pretrained(path)", False),
    ("def from_pretrained(cls, path):\n    return cls(path)", False),
])
def test_a_definition_loads_a_model_as_the_analysis_records_one(code, loads):
    """A project function or class counts as a loader (LLM203 through imports) only where the analysis of its
    module could record a model load: tokenizers, configs, cls and super() load none."""
    from ecolint.analysis.project_index import may_load_a_model

    assert may_load_a_model(code) is loads
