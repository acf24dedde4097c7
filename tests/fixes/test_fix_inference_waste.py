"""The fixes of the measured inference wastes: autograd off (LLM304), load once (LLM203), vLLM settings
(LLM204). What each writes, the shapes each refuses, and that all of them stay unsafe and leave test code."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.config import select_codes
from ecolint.engine import LintOptions, lint_text
from ecolint.fixes import fix_source
from fixhelpers import FIXES, read_text

HEADER = "import torch\nfrom transformers import AutoModelForCausalLM\n" \
         "model = AutoModelForCausalLM.from_pretrained('gpt2').cuda()\n"


def fixed(text: str, code: str, unsafe: bool = True) -> str:
    options = LintOptions(select_codes([code], [], []))
    result = fix_source(textwrap.dedent(text), "app.py", options, unsafe)
    assert result.converged, result.error
    return result.source


def fix_message(text: str, code: str) -> str | None:
    [found] = [d for d in lint_text(textwrap.dedent(text), "app.py", LintOptions(frozenset({code})))]
    fix = found.fix or found.hidden_fix
    return fix["message"] if fix else None


# -- LLM304 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, mode", [
    ("    out = []\n    for b in batches:\n        out.append(model(b).logits.argmax(-1).tolist())\n    print(out)\n",
     "inference_mode"),
    ("    for b in batches:\n        model(b)\n    return None\n", "inference_mode"),
    ("    for b in batches:\n        sink.append(model(b).logits)\n", "no_grad"),  # a parameter's list
    ("    for b in batches:\n        CACHE[b] = model(b).logits\n", "no_grad"),
    ("    for b in batches:\n        logits = model(b).logits\n    return logits\n", "no_grad"),
    ("    global LAST\n    for b in batches:\n        LAST = model(b).logits\n", "no_grad"),
    ("    for b in batches:\n        yield model(b).logits\n", "no_grad"),
    # values that are plainly not tensors may leave
    ("    for b in batches:\n        CACHE[b] = model(b).logits.argmax().item()\n", "inference_mode"),
    ("    total = 0.0\n    for b in batches:\n        total += model(b).loss.item()\n    return float(total)\n",
     "inference_mode"),
    ("    for b in batches:\n        sink.append({'loss': math.exp(model(b).loss.item()), 'id': str(b)})\n",
     "inference_mode"),
])
def test_llm304_uses_inference_mode_only_when_no_tensor_can_leave(body, mode):
    text = "import math\n" + HEADER + "CACHE = {}\n\n\ndef score(batches, sink):\n" + body
    after = fixed(text, "LLM304")
    assert f"\n@torch.{mode}()\ndef score(" in after
    assert "torch.no_grad" not in after.replace(f"@torch.{mode}()", "") or mode == "no_grad"


def test_llm304_decorates_a_method_of_a_plain_class():
    text = HEADER + textwrap.dedent('''\
        class Scorer:
            def __init__(self):
                self.model = model

            def losses(self, batches):
                return [self.model(b, labels=b).loss.item() for b in batches]
    ''')
    assert "    @torch.no_grad()\n    def losses(self, batches):" in fixed(text, "LLM304")


def test_llm304_reuses_the_torch_alias_and_adds_no_import():
    text = HEADER.replace("import torch\n", "import torch as th\n") + "def f(xs):\n    for x in xs:\n        model(x)\n"
    after = fixed(text, "LLM304")
    assert "@th.inference_mode()\ndef f(xs):" in after and after.count("import torch") == 1


@pytest.mark.parametrize("text", [
    # torch only imported inside a function: the name is not usable for a module-level decorator
    "from transformers import AutoModelForCausalLM\nmodel = AutoModelForCausalLM.from_pretrained('gpt2').cuda()\n"
    "def f(xs):\n    import torch\n    for x in xs:\n        model(torch.tensor(x))\n",
    # torch means something else
    "from transformers import AutoModelForCausalLM\nmodel = AutoModelForCausalLM.from_pretrained('gpt2').cuda()\n"
    "torch = None\ndef f(xs):\n    for x in xs:\n        model(x)\n",
    # async: torch's decorators do not cover the coroutine's body
    HEADER + "async def f(xs):\n    for x in xs:\n        model(x)\n",
])
def test_llm304_refuses_what_it_cannot_prove(text):
    assert fixed(text, "LLM304") == text
    assert fix_message(text, "LLM304") is None


def test_llm304_leaves_training_code_alone():
    text = HEADER + "def train(batches, opt):\n    for b in batches:\n        loss = model(b, labels=b).loss\n" \
                    "        loss.backward()\n        opt.step()\n"
    assert fixed(text, "LLM304") == text


def test_llm304_message_says_why_it_chose_no_grad():
    text = HEADER + "def f(xs):\n    for x in xs:\n        y = model(x)\n    return y\n"
    assert fix_message(text, "LLM304") == ("Decorate f() with @torch.no_grad() (the function returns a value: tensors "
                                           "made under inference_mode could not be used with autograd or changed "
                                           "in place outside it)")


# -- LLM203 ---------------------------------------------------------------------------------------------
FASTAPI = "from fastapi import FastAPI\nfrom transformers import AutoModelForCausalLM\napp = FastAPI()\n\n\n"


def test_llm203_picks_a_loader_name_that_is_free():
    text = FASTAPI + textwrap.dedent('''\
        def _load_model():
            return None


        @app.post("/a")
        def a(prompt: str):
            model = AutoModelForCausalLM.from_pretrained("gpt2")
            return model.generate(prompt)


        @app.post("/b")
        def b(prompt: str):
            model = AutoModelForCausalLM.from_pretrained("distilgpt2")
            return model.generate(prompt)
    ''')
    after = fixed(text, "LLM203")
    assert "def _load_model_2():\n    return AutoModelForCausalLM.from_pretrained(\"gpt2\")" in after
    assert "def _load_model_3():\n    return AutoModelForCausalLM.from_pretrained(\"distilgpt2\")" in after
    assert "    model = _load_model_2()\n" in after and "    model = _load_model_3()\n" in after


def test_llm203_reuses_an_lru_cache_import():
    header = FASTAPI.replace("from fastapi", "from functools import lru_cache as memo\nfrom fastapi")
    text = header + textwrap.dedent('''\
        @app.post("/a")
        def a(prompt: str):
            return AutoModelForCausalLM.from_pretrained("gpt2").generate(prompt)
    ''')
    after = fixed(text, "LLM203")
    assert "@memo(maxsize=None)\ndef _load_model():" in after and "import functools" not in after
    assert "    return _load_model().generate(prompt)" in after


@pytest.mark.parametrize("load", [
    'AutoModelForCausalLM.from_pretrained(prompt)',  # the request
    'AutoModelForCausalLM.from_pretrained("gpt2", **options)',  # a parameter's **kwargs
    'AutoModelForCausalLM.from_pretrained(name)',  # a local variable
])
def test_llm203_no_fix_when_the_load_depends_on_the_request(load):
    text = FASTAPI + textwrap.dedent(f'''\
        @app.post("/a")
        def a(prompt: str, **options):
            name = "gpt2"
            return {load}.generate(prompt)
    ''')
    assert fixed(text, "LLM203") == text
    assert fix_message(text, "LLM203") is None


def test_llm203_no_fix_when_the_handler_changes_the_model():
    text = FASTAPI + textwrap.dedent('''\
        @app.post("/a")
        def a(prompt: str):
            model = AutoModelForCausalLM.from_pretrained("gpt2")
            model.load_adapter("org/lora")
            return model.generate(prompt)
    ''')
    assert fixed(text, "LLM203") == text


# -- all of them ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["LLM203", "LLM204", "LLM304"])
def test_the_fixes_are_unsafe(code):
    for case in sorted((FIXES / code).glob("*.in.py")):
        text = read_text(case)
        assert fixed(text, code, unsafe=False) == text


@pytest.mark.parametrize("code", ["LLM203", "LLM204", "LLM304"])
def test_test_code_is_never_fixed(tmp_path, monkeypatch, code):
    [case] = [case for case in sorted((FIXES / code).glob("*.in.py")) if not case.name.startswith("nofix_")][:1]
    for name in ("tests/test_serving.py", "serve.py"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", code, "--fix", "--unsafe-fixes", "."])
    assert result.exit_code in (0, 1), result.output
    assert (tmp_path / "tests" / "test_serving.py").read_bytes() == case.read_bytes()
    assert (tmp_path / "serve.py").read_bytes() != case.read_bytes()


def test_llm203_moves_a_load_above_the_loop_that_repeats_it():
    text = textwrap.dedent('''\
        from transformers import pipeline


        def score(path, rows):
            while rows:
                row = rows.pop()
                judge = pipeline("text-generation", model=path).to("cuda")  # the judge
                print(judge(row))
    ''')
    after = fixed(text, "LLM203")
    assert after.endswith('''    judge = pipeline("text-generation", model=path).to("cuda")  # the judge
    while rows:
        row = rows.pop()
        print(judge(row))
''')


def test_llm203_leaves_a_load_in_the_loop_when_the_loop_reads_the_name_first():
    text = textwrap.dedent('''\
        from transformers import pipeline


        def score(path, rows):
            judge = None
            for row in rows:
                if judge is not None:
                    print("again")
                judge = pipeline("text-generation", model=path)
                print(judge(row))
    ''')
    assert fixed(text, "LLM203") == text
    assert fix_message(text, "LLM203") is None  # reported, without a fix
