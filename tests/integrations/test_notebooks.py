"""Jupyter notebooks: linted cell by cell through ``ecolint check``, fixed in place."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.engine import LintOptions
from ecolint.notebooks import NotebookError, fix_notebook, fix_notebook_text, lint_notebook_text
from ecolint.rules import all_rules

DATA = Path(__file__).resolve().parent / "data"
DEFAULTS = LintOptions(frozenset(code for code, rule in all_rules().items() if rule.default_enabled))


def notebook(*cells: str, language: str = "python", indent: int = 1) -> str:
    raw = []
    for number, source in enumerate(cells):
        if source.startswith("md:"):
            raw.append({"cell_type": "markdown", "metadata": {}, "source": source[3:].splitlines(keepends=True)})
        else:
            raw.append(
                {
                    "cell_type": "code",
                    "execution_count": number,
                    "metadata": {"tags": ["x"]},
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": ["out ✓\n"]}],
                    "source": source.splitlines(keepends=True),
                }
            )
    data = {
        "cells": raw,
        "metadata": {"kernelspec": {"language": language, "name": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"


def found(text: str, options: LintOptions = DEFAULTS) -> list[str]:
    return [
        f"cell {d.cell}:{d.location.row}:{d.location.column}: {d.code}"
        for d in lint_notebook_text(text, "nb.ipynb", options)
    ]


def check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--no-config", "-q", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_the_demo_notebook_names_cells_and_lines(tmp_path, monkeypatch):
    shutil.copy(DATA / "chat_demo.ipynb", tmp_path / "chat_demo.ipynb")
    monkeypatch.chdir(tmp_path)
    code, out = check("chat_demo.ipynb")
    assert code == 1
    assert [line.split(": ", 1)[0] + ": " + line.split(": ", 2)[1].split()[0] for line in out.splitlines()] == [
        "chat_demo.ipynb:cell 3:2:28: LLM101",
        "chat_demo.ipynb:cell 3:2:47: LLM105",
        "chat_demo.ipynb:cell 6:4:14: LLM201",
    ]


def test_cells_share_one_namespace():
    text = notebook(
        "from transformers import AutoModelForCausalLM, BitsAndBytesConfig\n",
        "md:## Load\n",
        "config = BitsAndBytesConfig(load_in_8bit=True)\n",
        'model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1",\n    quantization_config=config)\n',
    )
    assert found(text) == ["cell 3:1:29: LLM101"]


def test_ipython_syntax_is_not_a_syntax_error():
    text = notebook(
        "%load_ext autoreload\n!pip install bitsandbytes\nfiles = !ls\nfrom transformers import BitsAndBytesConfig\n",
        "%%bash\necho load_in_8bit=True\n",
        "BitsAndBytesConfig?\nif True:\n    %time config = BitsAndBytesConfig(load_in_8bit=True)\n"
        "config = BitsAndBytesConfig(load_in_8bit=True)\n",
    )
    assert found(text) == ["cell 3:4:29: LLM101"]


def test_a_broken_cell_does_not_hide_the_others():
    text = notebook(
        "from transformers import BitsAndBytesConfig\n",
        "def broken(:\n    pass\n",
        "config = BitsAndBytesConfig(load_in_8bit=True)\n",
    )
    result = found(text, LintOptions(DEFAULTS.codes | {"E999"}))
    assert [item.split(":")[0] + item.split(":")[-1] for item in result] == ["cell 2 E999", "cell 3 LLM101"]
    assert result[1] == "cell 3:1:29: LLM101"  # the import in cell 1 is still seen


def test_noqa_works_inside_a_cell():
    text = notebook(
        "from transformers import BitsAndBytesConfig\nconfig = BitsAndBytesConfig(load_in_8bit=True)  # noqa: LLM101\n"
    )
    assert found(text) == []


def test_other_kernels_and_bad_json():
    assert found(notebook("config = BitsAndBytesConfig(load_in_8bit=True)\n", language="R")) == []
    diagnostics = lint_notebook_text("{not json", "nb.ipynb", DEFAULTS)
    assert [(d.code, d.message.split(" (")[0]) for d in diagnostics] == [("E902", "not a notebook")]


def test_a_code_cell_whose_source_is_not_text_is_reported(tmp_path, monkeypatch):
    data = json.loads(notebook("x = 1\n", "x = 2\n", "x = 3\n",
                               "from transformers import BitsAndBytesConfig\n"
                               "config = BitsAndBytesConfig(load_in_8bit=True)\n"))
    for cell, source in zip(data["cells"], [42, None, ["import torch\n", 7]]):
        cell["source"] = source
    (tmp_path / "odd.ipynb").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out = check("odd.ipynb")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 4, out
    assert lines[:3] == [
        "odd.ipynb:cell 1:1:1: E902 source is not text (a number)",
        "odd.ipynb:cell 2:1:1: E902 source is not text (null)",
        "odd.ipynb:cell 3:1:1: E902 source is not text (a list holding a number)",
    ]
    assert lines[3].startswith("odd.ipynb:cell 4:2:29: LLM101 ")  # the other cells are still linted


def test_directories_are_searched_for_notebooks(tmp_path, monkeypatch):
    text = notebook("from transformers import BitsAndBytesConfig\nconfig = BitsAndBytesConfig(load_in_8bit=True)\n")
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "a.ipynb").write_text(text, encoding="utf-8")
    (tmp_path / "nb" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "nb" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text(text, encoding="utf-8")
    (tmp_path / "script.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--no-config", "."], catch_exceptions=False)
    assert result.stdout.splitlines()[0].startswith("nb/a.ipynb:cell 1:2:29: LLM101")
    assert "checkpoint" not in result.stdout
    assert "in 2 files checked" in result.stdout
    # the cache keeps the cell
    first = CliRunner().invoke(main, ["check", "--no-config", "-q", "."], catch_exceptions=False).stdout
    again = CliRunner().invoke(main, ["check", "--no-config", "-q", "."], catch_exceptions=False).stdout
    assert first == again and "cell 1:2:29" in again


def test_notebook_on_stdin(tmp_path):
    text = (DATA / "chat_demo.ipynb").read_text(encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["check", "--no-cache", "--no-config", "-q", "-", "--stdin-filename", "nb.ipynb"],
        input=text,
        catch_exceptions=False,
    )
    assert result.stdout.splitlines()[0].startswith("nb.ipynb:cell 3:2:28: LLM101")


# ---- fixing -------------------------------------------------------------------------------


@pytest.fixture
def fake_fixes(monkeypatch):
    """A stand-in fix engine that sets llm_int8_threshold, to test the notebook rewriting on its own."""
    from ecolint.engine import lint_text

    def fix_source(source, filename, options, unsafe):
        old = "BitsAndBytesConfig(load_in_8bit=True"
        fixed = source.replace(old, old + ", llm_int8_threshold=0.0")
        remaining = lint_text(fixed, filename, options)
        return types.SimpleNamespace(source=fixed, fixed=source.count(old), remaining=remaining, converged=True)

    module = types.ModuleType("ecolint.fixes")
    module.fix_source = fix_source
    monkeypatch.setitem(sys.modules, "ecolint.fixes", module)


def test_fix_rewrites_only_the_changed_cell_sources(tmp_path, fake_fixes):
    path = tmp_path / "chat_demo.ipynb"
    shutil.copy(DATA / "chat_demo.ipynb", path)
    before = path.read_text(encoding="utf-8")
    outcome = fix_notebook(path, "chat_demo.ipynb", DEFAULTS)
    after = path.read_text(encoding="utf-8")
    assert outcome.changed and outcome.fixed == 1
    old, new = json.loads(before), json.loads(after)
    assert new["metadata"] == old["metadata"]
    for index, (a, b) in enumerate(zip(old["cells"], new["cells"])):
        assert {k: v for k, v in a.items() if k != "source"} == {k: v for k, v in b.items() if k != "source"}
        if index != 2:
            assert a["source"] == b["source"]  # magics and all
    assert new["cells"][2]["source"][1] == (
        "quant = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_compute_dtype=torch.float16)\n"
    )
    # byte for byte, only the fixed source line differs
    changed = [(x, y) for x, y in zip(before.splitlines(), after.splitlines()) if x != y]
    assert len(changed) == 1 and "llm_int8_threshold=0.0" in changed[0][1]
    assert len(before.splitlines()) == len(after.splitlines()) and after.endswith("}\n")
    assert [f"cell {d.cell}: {d.code}" for d in outcome.remaining] == ["cell 3: LLM105", "cell 6: LLM201"]


def test_fix_keeps_layout_magics_and_string_sources(fake_fixes):
    text = notebook(
        "%matplotlib inline\nfrom transformers import BitsAndBytesConfig\n",
        "md:# Title ✓\n",
        "!nvidia-smi\nconfig = BitsAndBytesConfig(load_in_8bit=True)",
        indent=2,
    )
    data = json.loads(text)
    data["cells"][2]["source"] = "".join(data["cells"][2]["source"])  # a source stored as one string
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    outcome = fix_notebook_text(text, "nb.ipynb", DEFAULTS)
    assert outcome.changed
    new = json.loads(outcome.text)
    assert (
        new["cells"][2]["source"]
        == "!nvidia-smi\nconfig = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)"
    )
    assert new["cells"][0]["source"] == data["cells"][0]["source"]
    expected = json.loads(text)
    expected["cells"][2]["source"] = new["cells"][2]["source"]
    assert outcome.text == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def test_fix_refuses_a_layout_it_cannot_reproduce(fake_fixes):
    text = notebook("from transformers import BitsAndBytesConfig\nconfig = BitsAndBytesConfig(load_in_8bit=True)\n")
    odd = text.replace('"cells": [', '"cells":   [', 1)
    with pytest.raises(NotebookError):
        fix_notebook_text(odd, "nb.ipynb", DEFAULTS)


def _fix_engine():
    try:
        from ecolint.fixes import fix_source
    except ImportError:
        return None
    return fix_source


@pytest.mark.skipif(_fix_engine() is None, reason="needs ecolint.fixes (the fix engine), not in this build")
def test_fix_with_the_real_fix_engine(tmp_path):
    text = notebook(
        "%pip install bitsandbytes\nimport torch\nfrom transformers import BitsAndBytesConfig\n",
        "config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_quant_type='nf4')\n",
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(text, encoding="utf-8")
    assert [d.code for d in lint_notebook_text(text, "nb.ipynb", DEFAULTS)] == ["LLM105"]
    outcome = fix_notebook(path, "nb.ipynb", DEFAULTS)
    assert outcome.changed and outcome.remaining == []
    new = json.loads(path.read_text(encoding="utf-8"))
    assert "bnb_4bit_quant_type" not in "".join(new["cells"][1]["source"])
    assert new["cells"][0]["source"][0] == "%pip install bitsandbytes\n"
    assert new["cells"][1]["outputs"] == json.loads(text)["cells"][1]["outputs"]


def _has_fix_option() -> bool:
    return "--fix" in CliRunner().invoke(main, ["check", "--help"]).output


@pytest.mark.skipif(not _has_fix_option(), reason="needs `ecolint check --fix` (the fix engine), not in this build")
def test_check_fix_rewrites_the_notebook_in_place(tmp_path, monkeypatch):
    path = tmp_path / "chat_demo.ipynb"
    shutil.copy(DATA / "chat_demo.ipynb", path)
    before = path.read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out = check("--fix", "chat_demo.ipynb")
    assert code == 1  # LLM101 (unsafe fix) and LLM201 (no fix) remain
    assert "chat_demo.ipynb:cell 3:2:28: LLM101" in out and "LLM105" not in out
    after = path.read_text(encoding="utf-8")
    changed = [(x, y) for x, y in zip(before.splitlines(), after.splitlines()) if x != y]
    assert changed == [
        (
            '    "quant = BitsAndBytesConfig(load_in_8bit=True, bnb_4bit_compute_dtype=torch.float16)\\n"',
            '    "quant = BitsAndBytesConfig(load_in_8bit=True)\\n"',
        )
    ]
    assert len(before) - len(after) == len(", bnb_4bit_compute_dtype=torch.float16")


def test_rows_in_an_editor_buffer_skip_cells_whose_source_is_not_a_list():
    import json

    from ecolint.notebooks import file_row_in_text

    notebook = {"cells": [{"cell_type": "code", "source": 42, "metadata": {}},
                          {"cell_type": "code", "source": None},
                          {"cell_type": "code", "source": ["import x\n", "y = 1\n"]}]}
    text = json.dumps(notebook, indent=1)
    row = file_row_in_text(text, 3, 2)
    assert text.splitlines()[row - 1].strip() == '"y = 1\\n"'
