"""Notebook exports: a .py file that fails to parse only because of IPython lines is linted with them masked."""

from __future__ import annotations

from click.testing import CliRunner

from ecolint.cli import main
from ecolint.ipython_lines import masked

EXPORT = """\
# In[ ]:


!pip install -q transformers bitsandbytes
%cd /content
files = !ls


# In[ ]:


from transformers import AutoModelForCausalLM, BitsAndBytesConfig
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1",
                                             quantization_config=BitsAndBytesConfig(load_in_8bit=True))
total = (10 +
         20 % 3)
"""


def check(tmp_path, monkeypatch, name, text, *args):
    (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--no-config", "--output-format", "concise", *args, name])
    return result.stdout


def test_ipython_lines_are_masked_in_place():
    text, first = masked(EXPORT)
    assert first == 4
    lines = text.split("\n")
    assert lines[3] == "pass" and lines[4] == "pass" and lines[5] == "pass"
    assert lines[15] == "         20 % 3)"  # an operator continuing an expression is not a magic
    assert len(lines) == len(EXPORT.split("\n"))


def test_an_export_gets_its_first_e999_and_the_rules_findings(tmp_path, monkeypatch):
    out = check(tmp_path, monkeypatch, "export.py", EXPORT)
    assert "export.py:4:1: E999 SyntaxError: IPython syntax" in out
    assert "export.py:14:85: LLM101" in out


def test_a_real_syntax_error_is_not_masked(tmp_path, monkeypatch):
    out = check(tmp_path, monkeypatch, "broken.py", EXPORT + "def f(:\n")
    assert "E999" in out and "LLM101" not in out


def test_fix_never_rewrites_an_export(tmp_path, monkeypatch):
    check(tmp_path, monkeypatch, "export.py", EXPORT, "--fix", "--unsafe-fixes")
    assert (tmp_path / "export.py").read_text(encoding="utf-8") == EXPORT
