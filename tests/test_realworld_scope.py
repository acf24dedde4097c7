"""The real-world evaluation's --no-scope run: test code linted like any other code, and what the scope removes."""

from __future__ import annotations

import sys

import pytest
from cli_helpers import ROOT

sys.path.insert(0, str(ROOT / "bench" / "realworld"))

import manifest  # noqa: E402
import score  # noqa: E402

EIGHT_BIT = (
    "from transformers import AutoModelForCausalLM, BitsAndBytesConfig\n"
    "config = BitsAndBytesConfig(load_in_8bit=True)\n"
    "m = AutoModelForCausalLM.from_pretrained('facebook/opt-6.7b', quantization_config=config)\n"
)


def finding(code: str, row: int, message: str = "m") -> dict:
    return {"code": code, "message": message, "location": {"row": row, "column": 1}}


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest, "FILES", tmp_path)
    return tmp_path


def entry(files, path: str, kind: str, expected=(), source: str = "scope.yaml") -> manifest.Entry:
    item = manifest.Entry("o/r", path, "0" * 40, kind, tuple(expected), source=source)
    item.local_path.parent.mkdir(parents=True, exist_ok=True)
    item.local_path.write_text(EIGHT_BIT, encoding="utf-8")
    return item


def test_no_scope_lints_test_files_that_the_defaults_leave_out(files):
    test_file = entry(files, "tests/test_quant.py", "test").local_path
    with_scope = score.run_ecolint([test_file], [])
    without_scope = score.run_ecolint([test_file], [], scope=False)
    assert with_scope == {}
    assert [d["code"] for d in without_scope[str(test_file.resolve())]] == ["LLM101"]


def test_scope_removed_counts_per_manifest_kind_and_rule(files):
    test = entry(files, "tests/test_quant.py", "test")
    serving = entry(files, "serve.py", "serving", source="serving.yaml")
    kept = finding("LLM101", 2)
    with_scope = {str(serving.local_path.resolve()): [kept]}
    without_scope = {
        str(test.local_path.resolve()): [finding("LLM101", 2), finding("LLM303", 3), finding("E999", 1)],
        str(serving.local_path.resolve()): [kept],
    }
    removed = score.scope_removed([test, serving], with_scope, without_scope, score.DEFAULT_CODES)
    assert removed[("kind test", "rules")] == {"LLM101": 1, "LLM303": 1}
    assert removed[("manifest scope.yaml", "files")] == {test.key: 1}
    assert ("kind serving", "rules") not in removed
    assert sum(removed[("kind test", "labelled")].values()) == 0


def test_a_removed_finding_that_was_labelled_is_counted(files):
    labelled = manifest.Expected("LLM101", 3, (2,))
    test = entry(files, "tests/test_quant.py", "test", expected=[labelled])
    without_scope = {str(test.local_path.resolve()): [finding("LLM101", 2)]}
    removed = score.scope_removed([test], {}, without_scope, score.DEFAULT_CODES)
    assert removed[("kind test", "labelled")] == {"LLM101": 1}
    assert "| kind test | 1 | 1 | LLM101 1 | 1 |" in score.scope_table(removed)
