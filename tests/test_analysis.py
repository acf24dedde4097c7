"""Units below the command line: model sizes, rule selection, noqa parsing, value resolution."""

from __future__ import annotations

import json
import textwrap

import libcst as cst
import pytest

from ecolint.analysis.facts import collect_facts
from ecolint.config import select_codes
from ecolint.energy.model_size import params_from_config, resolve_model_size, size_from_name
from ecolint.engine import LintOptions, could_match, lint_text
from ecolint.noqa import parse_suppressions
from ecolint.rules import all_rules


@pytest.mark.parametrize(
    "model_id, billions",
    [
        ("Qwen/Qwen2-1.5B-Instruct", 1.5),
        ("mistralai/Mistral-7B-Instruct-v0.3", 7),
        ("HuggingFaceTB/SmolLM-135M", 0.135),
        ("01-ai/Yi-1.5-6B-Chat", 6),
        ("qwen/qwen2.5-0.5b", 0.5),
        ("Qwen/Qwen3-30B-A3B", 30),
    ],
)
def test_size_from_the_model_id(model_id, billions):
    assert size_from_name(model_id).params_b == pytest.approx(billions)


@pytest.mark.parametrize(
    "model_id, billions",
    [
        ("gpt2", 0.124),
        ("openai-community/gpt2-xl", 1.558),
        ("microsoft/phi-2", 2.7),
        ("microsoft/Phi-3-mini-4k-instruct", 3.8),
    ],
)
def test_size_of_well_known_ids_without_size_in_the_name(model_id, billions):
    found = resolve_model_size(model_id)
    assert found.params_b == pytest.approx(billions) and found.source == "table"


def test_unknown_size_is_none():
    assert resolve_model_size("my-org/awesome-model") is None


QWEN2_1_5B = {
    "model_type": "qwen2",
    "hidden_size": 1536,
    "num_hidden_layers": 28,
    "intermediate_size": 8960,
    "vocab_size": 151936,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "tie_word_embeddings": True,
}
MISTRAL_7B = {
    "model_type": "mistral",
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "intermediate_size": 14336,
    "vocab_size": 32768,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "hidden_act": "silu",
}


@pytest.mark.parametrize("config, published", [(QWEN2_1_5B, 1.54), (MISTRAL_7B, 7.25)])
def test_parameter_count_from_config_is_within_two_percent_of_the_published_size(config, published):
    assert params_from_config(config) == pytest.approx(published, rel=0.02)


def test_local_checkpoint_config_gives_the_size(tmp_path, monkeypatch):
    checkpoint = tmp_path / "checkpoints" / "my-model"
    checkpoint.mkdir(parents=True)
    (checkpoint / "config.json").write_text(json.dumps(QWEN2_1_5B))
    script = tmp_path / "serve.py"
    script.write_text(
        textwrap.dedent("""\
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
        q = BitsAndBytesConfig(load_in_4bit=True)
        m = AutoModelForCausalLM.from_pretrained("checkpoints/my-model", quantization_config=q)
        """)
    )
    monkeypatch.chdir(tmp_path)
    [finding] = lint_text(script.read_text(), "serve.py", LintOptions(frozenset({"LLM102"})), script)
    assert "1.5B parameters, computed from" in finding.message


def test_selection_follows_the_most_specific_selector():
    defaults = {code for code, rule in all_rules().items() if rule.default_enabled}
    assert select_codes(None, [], []) - {"E999", "E902"} == defaults
    assert select_codes(["LLM1"], [], ["LLM101"]) - {"E999", "E902"} == {
        "LLM102",
        "LLM103",
        "LLM104",
        "LLM105",
        "LLM106",
        "LLM107",
        "LLM108",
    }
    assert "LLM201" in select_codes(None, ["LLM201"], ["LLM2"])
    assert select_codes(["ALL"], [], []) >= set(all_rules())
    assert "E999" not in select_codes(None, [], ["E999"])


def test_noqa_forms():
    found = parse_suppressions("a = 1  # noqa\nb = 2  # noqa: LLM101, eco201\nc = 3  # noqa:LLM301\n")
    assert found.suppresses("LLM999", 1)
    assert found.suppresses("LLM201", 2) and not found.suppresses("LLM301", 2)
    assert found.suppresses("LLM301", 3) and not found.suppresses("LLM101", 4)


def test_prefilter_skips_files_without_trigger_text_and_ignores_doctest_lines():
    codes = frozenset(code for code, rule in all_rules().items() if rule.default_enabled)
    assert not could_match("import os\nprint(os.getcwd())\n", codes)
    assert not could_match('"""\n>>> for x in xs:\n...     model.generate(x)\n"""\n', frozenset({"LLM201"}))
    assert could_match("for x in xs:\n    model.generate(x)\n", frozenset({"LLM201"}))


def test_prefilter_compiles_a_groups_patterns_only_for_a_text_with_its_words():
    from ecolint.prefilter import _groups

    codes = frozenset(code for code, rule in all_rules().items() if rule.default_enabled)
    patterns = [pattern for _, group in _groups(codes) for pattern in group]
    for pattern in patterns:
        pattern.__dict__.pop("regex", None)  # as a fresh process has them
    assert not could_match("import os\nprint(os.getcwd())\n", codes)
    assert not any("regex" in pattern.__dict__ for pattern in patterns)
    assert could_match("for x in xs:\n    model.generate(x)\n", codes)
    assert any("regex" in pattern.__dict__ for pattern in patterns)


def facts_of(source: str):
    return collect_facts(cst.parse_module(textwrap.dedent(source)))


def test_helper_function_argparse_default_and_alias_resolve():
    facts = facts_of("""\
        import argparse
        import transformers as tf
        parser = argparse.ArgumentParser()
        parser.add_argument("--model-name", default="Qwen/Qwen2-1.5B")
        args = parser.parse_args()
        def quant():
            return tf.BitsAndBytesConfig(load_in_4bit=True)
        model = tf.AutoModelForCausalLM.from_pretrained(args.model_name, quantization_config=quant())
        """)
    [load] = facts.model_loads
    assert load.model_id.kind == "option" and load.model_id.text() == "Qwen/Qwen2-1.5B"
    assert load.quant is not None and load.quant.requests("load_in_4bit")


def test_a_local_class_shadowing_the_library_is_not_the_library():
    facts = facts_of("""\
        class BitsAndBytesConfig:
            def __init__(self, **kw): ...
        cfg = BitsAndBytesConfig(load_in_8bit=True)
        """)
    assert facts.quant_configs == []


def test_training_units_are_recognised_per_function():
    facts = facts_of("""\
        def train(model, loader, optimizer):
            model.config.use_cache = False
            for batch in loader:
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
        def serve(model, ids):
            model.config.use_cache = False
        """)
    training = [unit.name for unit in facts.units if unit.training_markers]
    assert training == ["train"]
    result = lint_text(
        textwrap.dedent("""\
        def train(model, loader, optimizer):
            model.config.use_cache = False
            loss.backward()
        def serve(model, ids):
            model.config.use_cache = False
        """),
        "x.py",
        LintOptions(frozenset({"LLM301"})),
    )
    assert [d.location.row for d in result] == [5]
