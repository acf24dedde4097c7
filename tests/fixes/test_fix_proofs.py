"""Each fix is offered only when what it relies on holds: a keyword added next to a ``**splat``
cannot already come through it, a command-line value is not overwritten, a keyword fix is not
undone by a later assignment, the dtype keyword is spelled as the project's transformers accepts."""

from __future__ import annotations

import ast
import textwrap

import pytest

from ecolint.config import select_codes
from ecolint.engine import LintOptions, lint_text
from ecolint.fixes import fix_source
from ecolint.project_versions import Pin, ProjectVersions, clear_cache, minimum_allowed

ALL = LintOptions(select_codes(["ALL"], [], []))
HEAD = "from transformers import AutoModelForCausalLM, BitsAndBytesConfig\nimport json\n"
TAIL = ('q = BitsAndBytesConfig(**cfg)\n'
        'model = AutoModelForCausalLM.from_pretrained("m", quantization_config=q)\n')


def fixes(text: str, code: str, options: LintOptions = ALL, path=None) -> list[dict]:
    return [d.fix for d in lint_text(text, "case.py", options, path) if d.code == code and d.fix]


def fixed(text: str, options: LintOptions = ALL, path=None) -> str:
    return fix_source(textwrap.dedent(text), "case.py", options, True, path=path).source


def repeated_keywords(text: str) -> list[str]:
    """Keywords a call is given twice, counting the constant keys of dict literals splatted into it."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call):
            names = [k.arg for k in node.keywords if k.arg]
            for splat in (k.value for k in node.keywords if k.arg is None):
                if isinstance(splat, ast.Dict):
                    names += [key.value for key in splat.keys if isinstance(key, ast.Constant)]
            found += [name for name in set(names) if names.count(name) > 1]
    return found


# -- 1. a keyword next to **splat -----------------------------------------------------------
@pytest.mark.parametrize("setup", [
    'cfg = {"load_in_8bit": True}\ntweak(cfg)\n',  # the dict escapes to a function
    'cfg = {"load_in_8bit": True}\ncfg.update(user_settings)\n',
    'cfg = {"load_in_8bit": True}\ncfg[key] = 6.0\n',
    'cfg = {"load_in_8bit": True}\ncfg |= extra\n',
    'cfg = {"load_in_8bit": True}\nalias = cfg\n',
    'cfg = {"load_in_8bit": True}\nfor k, v in extra.items():\n    cfg[k] = v\n',
    'cfg = {"load_in_8bit": True}\ndef f():\n    cfg["llm_int8_threshold"] = 6.0\n',
    'cfg = {"load_in_8bit": True}\nif json.x:\n    cfg.update(llm_int8_threshold=6.0)\n',
    'cfg = {"load_in_8bit": True}\ncfg.setdefault("llm_int8_threshold", 6.0)\n',
])
def test_no_keyword_is_added_next_to_a_splat_that_may_carry_it(setup):
    text = HEAD + setup + TAIL
    assert not fixes(text, "LLM101")
    assert repeated_keywords(fixed(text)) == []


@pytest.mark.parametrize("setup", [
    'cfg = {"load_in_8bit": True}\n',
    'cfg = dict(load_in_8bit=True)\ncfg["device_map"] = "auto"\nprint(cfg.get("x"), "y" in cfg)\n',
    'cfg = {"load_in_8bit": True}\ncfg.update({"llm_int8_skip_modules": ["lm_head"]})\n',
])
def test_a_keyword_is_added_next_to_a_splat_whose_keys_are_known(setup):
    text = HEAD + setup + TAIL
    assert fixes(text, "LLM101")
    result = fixed(text)
    assert "BitsAndBytesConfig(**cfg, llm_int8_threshold=0.0)" in result
    assert repeated_keywords(result) == []


def test_a_threshold_set_after_construction_gets_no_keyword_fix():
    text = textwrap.dedent('''\
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
        cfg = BitsAndBytesConfig(load_in_8bit=True)
        cfg.llm_int8_threshold = 6.0
        model = AutoModelForCausalLM.from_pretrained("m", quantization_config=cfg)
    ''')
    assert not fixes(text, "LLM101")


def test_a_threshold_written_in_a_splatted_dict_is_changed_there_only_when_the_dict_is_known():
    known = HEAD + 'cfg = {"load_in_8bit": True, "llm_int8_threshold": 6.0}\n' + TAIL
    assert '"llm_int8_threshold": 0.0' in fixed(known)
    opaque = HEAD + 'cfg = {"load_in_8bit": True, "llm_int8_threshold": 6.0}\ntweak(cfg)\n' + TAIL
    assert not fixes(opaque, "LLM101")


def test_splat_proof_for_the_quantization_config_and_dtype_keywords():
    load_in = textwrap.dedent('''\
        from transformers import AutoModelForCausalLM
        extra = {"device_map": "auto"}
        tweak(extra)
        model = AutoModelForCausalLM.from_pretrained("m", load_in_8bit=True, **extra)
    ''')
    assert not fixes(load_in, "LLM106")
    assert fixes(load_in.replace("tweak(extra)\n", ""), "LLM106")
    four_bit = textwrap.dedent('''\
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
        extra = {"device_map": "auto"}
        tweak(extra)
        q = BitsAndBytesConfig(load_in_4bit=True)
        model = AutoModelForCausalLM.from_pretrained("gpt2", quantization_config=q, **extra)
    ''')
    assert not fixes(four_bit, "LLM102")
    assert fixes(four_bit.replace("tweak(extra)\n", ""), "LLM102")


# -- 2. a value from the command line --------------------------------------------------------
CLI = textwrap.dedent('''\
    import argparse
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    p = argparse.ArgumentParser()
    p.add_argument("--threshold", type=float, default=6.0)
    a = p.parse_args()
    q = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=a.threshold)
    model = AutoModelForCausalLM.from_pretrained("m", quantization_config=q)
''')


def test_a_command_line_threshold_gets_its_default_changed():
    result = fixed(CLI)
    assert 'p.add_argument("--threshold", type=float, default=0.0)' in result
    assert "llm_int8_threshold=a.threshold" in result
    assert fixes(CLI, "LLM101")[0]["message"] == "Set the default of --threshold to 0.0"


def test_a_parameter_threshold_is_not_overwritten():
    text = textwrap.dedent('''\
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
        def load(threshold=6.0):
            q = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=threshold)
            return AutoModelForCausalLM.from_pretrained("m", quantization_config=q)
        load()
    ''')
    assert not fixes(text, "LLM101")


# -- 3. LLM102 only where the model is written in the code ------------------------------------
def test_llm102_fix_needs_the_model_written_in_the_code():
    text = textwrap.dedent('''\
        import argparse
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
        p = argparse.ArgumentParser()
        p.add_argument("--model", default="gpt2")
        a = p.parse_args()
        model = AutoModelForCausalLM.from_pretrained(a.model, quantization_config=BitsAndBytesConfig(load_in_4bit=True))
    ''')
    assert [d.code for d in lint_text(text, "case.py", ALL)].count("LLM102") == 1
    assert not fixes(text, "LLM102")


# -- 4. the dtype keyword's spelling ---------------------------------------------------------
FOUR_BIT = textwrap.dedent('''\
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    model = AutoModelForCausalLM.from_pretrained("gpt2", quantization_config=BitsAndBytesConfig(load_in_4bit=True))
''')


def with_pin(spec: str) -> LintOptions:
    pins = ProjectVersions((Pin("transformers", minimum_allowed(spec), spec, "requirements.txt"),))
    return LintOptions(ALL.codes, versions=pins)


@pytest.mark.parametrize("spec, keyword", [
    (None, "torch_dtype"), (">=4.40", "torch_dtype"), ("==4.55.2", "torch_dtype"), ("<5", "torch_dtype"),
    (">=4.56", "dtype"), ("==4.57.1", "dtype"), ("~=5.0", "dtype"),
])
def test_a_new_dtype_keyword_follows_the_transformers_pin(spec, keyword):
    options = ALL if spec is None else with_pin(spec)
    assert f"{keyword}=torch.float16" in fixed(FOUR_BIT, options)


def test_the_spelling_the_file_uses_wins_over_the_pin():
    text = FOUR_BIT + 'other = AutoModelForCausalLM.from_pretrained("gpt2-xl", torch_dtype="auto")\n'
    assert 'from_pretrained("gpt2", torch_dtype=torch.float16)' in fixed(text, with_pin(">=4.56"))
    text = FOUR_BIT + 'other = AutoModelForCausalLM.from_pretrained("gpt2-xl", dtype="auto")\n'
    assert 'from_pretrained("gpt2", dtype=torch.float16)' in fixed(text, with_pin("==4.40"))


def test_the_pin_is_read_from_the_files_above_the_linted_file(tmp_path):
    clear_cache()
    (tmp_path / "requirements.txt").write_text("transformers>=4.57\n")
    source = tmp_path / "pkg" / "load.py"
    source.parent.mkdir()
    source.write_text(FOUR_BIT)
    assert "dtype=torch.float16" in fixed(FOUR_BIT, path=source)
    assert "torch_dtype" not in fixed(FOUR_BIT, path=source)
    clear_cache()


def test_llm303_message_names_the_keyword_the_call_uses():
    text = textwrap.dedent('''\
        import torch
        from transformers import AutoModelForCausalLM
        m = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=torch.float32, device_map="auto")
    ''')
    [diagnostic] = [d for d in lint_text(text, "case.py", ALL) if d.code == "LLM303"]
    assert 'torch_dtype="auto"' in diagnostic.message
    assert ' dtype="auto"' not in diagnostic.message


def test_llm303_leaves_a_precision_table_and_a_branch_dtype_alone():
    """``{"fp32": torch.float32}[args.precision]``: rewriting the table would make ``fp32`` mean bfloat16."""
    text = textwrap.dedent('''\
        import argparse
        import torch
        from transformers import AutoModelForCausalLM
        parser = argparse.ArgumentParser()
        parser.add_argument("--precision", default="fp32")
        parser.add_argument("--eight_bit", action="store_true")
        args = parser.parse_args()
        table = {"fp32": torch.float32, "bf16": torch.bfloat16}
        m = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=table[args.precision], device_map="auto")
        kwargs = {}
        if args.eight_bit:
            kwargs["load_in_8bit"] = True
        else:
            kwargs["torch_dtype"] = table[args.precision]
        n = AutoModelForCausalLM.from_pretrained("gpt2", device_map="auto", **kwargs)
    ''')
    found = [d for d in lint_text(text, "case.py", ALL) if d.code == "LLM303"]
    assert [d.location.row for d in found] == [9, 14]
    assert all("(when --precision keeps its default)" in d.message for d in found)
    assert [d.fix or d.hidden_fix for d in found] == [None, None]
    assert 'table = {"fp32": torch.float32, "bf16": torch.bfloat16}' in fixed(text)


def test_llm303_writes_auto_at_the_keyword_and_bfloat16_in_a_shared_constant():
    text = textwrap.dedent('''\
        import torch
        from transformers import AutoModelForCausalLM
        DTYPE = torch.float32
        m = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=torch.float32, device_map="auto")
        n = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=DTYPE, device_map="auto")
        x = torch.zeros(3, dtype=DTYPE)
    ''')
    after = fixed(text, ALL)
    assert 'from_pretrained("gpt2", torch_dtype="auto", device_map="auto")' in after
    assert "DTYPE = torch.bfloat16" in after  # the constant's other use needs a torch dtype
    choices = sorted(d.message.split("Load with ", 1)[1] for d in lint_text(text, "case.py", ALL) if d.code == "LLM303")
    assert choices[0].startswith('torch_dtype="auto" (the checkpoint\'s own dtype')
    assert choices[1].startswith("torch_dtype=torch.bfloat16 (") and "float16 overflows" in choices[1]
