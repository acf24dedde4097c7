"""The former ``ECO`` codes: still read in config, on the command line and in ``# noqa``, with a warning."""

from __future__ import annotations

from click.testing import CliRunner

from ecolint.cli import main
from ecolint.codes import modernize
from ecolint.noqa import parse_suppressions

EIGHT_BIT = """\
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

config = BitsAndBytesConfig(load_in_8bit=True)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
"""


def check(tmp_path, monkeypatch, *args):
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(main, ["check", "--no-cache", *args], catch_exceptions=False)


def test_modernize_maps_only_the_legacy_prefix():
    assert modernize("ECO101") == "LLM101"
    assert modernize("eco2") == "LLM2"
    assert modernize("E501") == "E501"
    assert modernize("LLM303") == "LLM303"


def test_a_legacy_noqa_code_suppresses_the_new_code():
    suppressions = parse_suppressions("x = 1  # noqa: ECO101, E501\n")
    assert suppressions.suppresses("LLM101", 1)
    assert suppressions.suppresses("E501", 1)
    assert not suppressions.suppresses("LLM102", 1)
    assert suppressions.legacy == [(1, "ECO101")]


def test_a_legacy_selector_on_the_command_line_works_and_warns(tmp_path, monkeypatch):
    (tmp_path / "serve.py").write_text(EIGHT_BIT, encoding="utf-8")
    result = check(tmp_path, monkeypatch, "--no-config", "--ignore", "ECO101", "serve.py")
    assert result.exit_code == 0, result.output
    assert "LLM101" not in result.stdout
    assert "ECO101 is deprecated, write LLM101" in result.stderr


def test_a_legacy_selector_in_pyproject_works_and_warns(tmp_path, monkeypatch):
    (tmp_path / "serve.py").write_text(EIGHT_BIT, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.ecolint]\nignore = ["ECO1"]\n', encoding="utf-8")
    result = check(tmp_path, monkeypatch, "serve.py")
    assert result.exit_code == 0, result.output
    assert "is deprecated, write LLM1" in result.stderr


def test_a_legacy_noqa_comment_works_and_warns(tmp_path, monkeypatch):
    (tmp_path / "serve.py").write_text(
        EIGHT_BIT.replace("load_in_8bit=True)", "load_in_8bit=True)  # noqa: ECO101"), encoding="utf-8")
    result = check(tmp_path, monkeypatch, "--no-config", "serve.py")
    assert result.exit_code == 0, result.output
    assert "serve.py:3: rule code ECO101 is deprecated" in result.stderr
