"""The project index as the analysis sees it: a file's link answers for constants and per-item generators
imported from the project's other modules, and records each module it read."""

from ecolint.analysis.project_index import ProjectIndex
from ecolint.analysis.values import ValueKind

HELPER = ("from transformers import AutoModelForCausalLM, AutoTokenizer\n"
          "model = AutoModelForCausalLM.from_pretrained('gpt2')\ntok = AutoTokenizer.from_pretrained('gpt2')\n\n"
          "def answer(question):\n    return model.generate(**tok(question, return_tensors='pt'))\n")


def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "configs.py").write_text("BATCH = 1\nQUANT = dict(load_in_8bit=True)\nNOTE = 'hello'\n")
    (tmp_path / "helpers.py").write_text(HELPER)
    (tmp_path / "main.py").write_text("from configs import QUANT\nfrom helpers import answer\n")
    return ProjectIndex(tmp_path).link_for(tmp_path / "main.py")


def test_a_constant_with_a_rule_s_trigger_word_is_read_from_its_module(tmp_path):
    link = project(tmp_path)
    value = link.constant("configs.QUANT")
    assert value.kind == ValueKind.MAPPING and value.entries.get("load_in_8bit").value.provably_true()
    assert list(link.uses) == [str(tmp_path / "configs.py")]


def test_a_generating_helper_s_chain_comes_from_its_module(tmp_path):
    assert project(tmp_path).generator_chain("helpers.answer") == ("answer()", "model.generate()")


def test_names_that_are_not_in_the_project_are_not_answered(tmp_path):
    link = project(tmp_path)
    assert link.constant("transformers.AutoModel") is None
    assert link.generator_chain("configs.missing") is None
