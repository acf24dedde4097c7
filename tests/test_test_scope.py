"""Test code is out of scope: the inference-energy rules do not apply there, and fixes leave it alone."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ecolint.cli import main

EIGHT_BIT = (
    "from transformers import AutoModelForCausalLM, BitsAndBytesConfig\n"
    "config = BitsAndBytesConfig(load_in_8bit=True)\n"
    "m = AutoModelForCausalLM.from_pretrained('facebook/opt-6.7b', quantization_config=config)\n"
)


def tree(tmp_path, names):
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(EIGHT_BIT, encoding="utf-8")


def check(tmp_path, monkeypatch, *args):
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "concise", *args],
                              catch_exceptions=False)


@pytest.mark.parametrize("name", ["tests/test_quant.py", "tests/helpers/loading.py", "test_serving.py",
                                  "serving_test.py", "conftest.py", "pkg/testing/utils.py", "test/run.py"])
def test_test_files_get_no_rule_findings(tmp_path, monkeypatch, name):
    tree(tmp_path, [name, "serve.py"])
    result = check(tmp_path, monkeypatch, ".")
    assert result.exit_code == 1
    assert "serve.py:2" in result.stdout
    assert name not in result.stdout


def test_an_empty_test_paths_setting_lints_tests(tmp_path, monkeypatch):
    tree(tmp_path, ["tests/test_quant.py"])
    (tmp_path / "pyproject.toml").write_text("[tool.ecolint]\ntest-paths = []\n", encoding="utf-8")
    result = check(tmp_path, monkeypatch, ".")
    assert "tests/test_quant.py:2" in result.stdout


def test_custom_test_paths_replace_the_defaults(tmp_path, monkeypatch):
    tree(tmp_path, ["tests/test_quant.py", "checks/smoke.py"])
    (tmp_path / "pyproject.toml").write_text('[tool.ecolint]\ntest-paths = ["checks/"]\n', encoding="utf-8")
    result = check(tmp_path, monkeypatch, ".")
    assert "tests/test_quant.py:2" in result.stdout
    assert "checks/smoke.py" not in result.stdout


def test_fixes_leave_test_files_alone(tmp_path, monkeypatch):
    tree(tmp_path, ["tests/test_quant.py", "serve.py"])
    result = check(tmp_path, monkeypatch, "--fix", "--unsafe-fixes", ".")
    assert result.exit_code in (0, 1), result.output
    assert (tmp_path / "tests" / "test_quant.py").read_text(encoding="utf-8") == EIGHT_BIT
    assert (tmp_path / "serve.py").read_text(encoding="utf-8") != EIGHT_BIT


def test_syntax_errors_in_test_files_are_still_reported(tmp_path, monkeypatch):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_broken.py").write_text("def f(:\n", encoding="utf-8")
    result = check(tmp_path, monkeypatch, ".")
    assert "E999" in result.stdout
