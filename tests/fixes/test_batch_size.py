"""The batch size the batching fixes write: the fix-batch-size setting, capped by the GPU's memory, from the
command line or pyproject.toml; test code is never batched."""

from __future__ import annotations

import libcst as cst
import pytest
from click.testing import CliRunner

from ecolint.cli import main

from ecolint.config import ConfigError, Settings, parse_batch_size, settings_from_table
from ecolint.energy.dataset import resolve_gpu
from ecolint.fixes.batch_size import fix_batch_size
from ecolint.fixes.context import FixContext, FixSettings


def context(batch_size: int = 8, gpu: str | None = None) -> FixContext:
    settings = FixSettings(resolve_gpu(gpu) if gpu else None, batch_size)
    return FixContext(cst.parse_module(""), "", {}, settings=settings)


def test_the_setting_is_written_when_no_gpu_is_known():
    assert fix_batch_size(context(8), "meta-llama/Llama-2-70b-hf") == 8
    assert fix_batch_size(context(16)) == 16


def test_the_setting_is_kept_when_the_batch_fits():
    assert fix_batch_size(context(8, "h100"), "meta-llama/Llama-2-7b-hf") == 8


def test_a_batch_whose_kv_cache_does_not_fit_is_lowered_to_the_largest_that_fits():
    # 7B in FP16 on 24 GB: 13.5 GB of weights, 19.2 GB usable; each sequence of 768 tokens adds 0.4 GB of KV cache
    capped = fix_batch_size(context(64, "rtx4090d"), "meta-llama/Llama-2-7b-hf")
    assert 1 < capped < 64
    assert fix_batch_size(context(capped + 1, "rtx4090d"), "meta-llama/Llama-2-7b-hf") == capped


def test_a_model_that_does_not_fit_at_all_gets_one_so_that_no_batching_fix_is_offered():
    assert fix_batch_size(context(8, "rtx4090d"), "meta-llama/Llama-2-70b-hf") == 1


def test_an_unknown_model_keeps_the_setting():
    assert fix_batch_size(context(8, "rtx4090d"), "./my-finetune") == 8


def test_the_setting_is_read_from_pyproject_and_checked():
    assert Settings(root=None).fix_batch_size == 8
    assert settings_from_table({"fix-batch-size": 16}, None, "pyproject.toml").fix_batch_size == 16
    for bad in (1, 0, "eight", True, 2.5):
        with pytest.raises(ConfigError, match="fix-batch-size must be a whole number of at least 2"):
            settings_from_table({"fix-batch-size": bad}, None, "pyproject.toml")
    assert parse_batch_size("32", "--fix-batch-size") == 32


PER_ITEM = '''\
from transformers import pipeline

generator = pipeline("text-generation", model="meta-llama/Llama-2-7b-hf", torch_dtype="float16")
results = [generator(p, max_new_tokens=32)[0]["generated_text"] for p in prompts]
'''


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def fixed(source: str, **options) -> str:
    from ecolint.config import select_codes
    from ecolint.engine import LintOptions
    from ecolint.fixes import fix_source

    outcome = fix_source(source, "script.py", LintOptions(select_codes(["LLM201"], [], []), **options), True)
    assert outcome.converged, outcome.error
    return outcome.source


def test_the_fix_writes_the_setting_and_lowers_it_for_the_gpu():
    assert "batch_size=8)" in fixed(PER_ITEM)
    assert "batch_size=32)" in fixed(PER_ITEM, fix_batch_size=32)
    capped = fixed(PER_ITEM, fix_batch_size=64, gpu=resolve_gpu("rtx4090d"))
    assert f"batch_size={fix_batch_size(context(64, 'rtx4090d'), 'meta-llama/Llama-2-7b-hf')})" in capped
    assert "batch_size=64" not in capped


def test_no_batching_fix_when_the_model_leaves_no_memory_for_a_batch():
    big = PER_ITEM.replace("Llama-2-7b-hf", "Llama-2-70b-hf")
    assert fixed(big, gpu=resolve_gpu("rtx4090d")) == big


def test_command_line_and_pyproject_set_the_batch_size(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "run.py"
    script.write_text(PER_ITEM, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.ecolint]\nfix-batch-size = 4\n", encoding="utf-8")
    result = run_cli("check", "--no-cache", "--select", "LLM201", "--diff", "--unsafe-fixes", str(script))
    assert "batch_size=4)" in result.stdout
    result = run_cli("check", "--no-cache", "--select", "LLM201", "--diff", "--unsafe-fixes", "--fix-batch-size",
                     "16", str(script))
    assert "batch_size=16)" in result.stdout
    result = run_cli("check", "--no-cache", "--select", "LLM201", "--diff", "--fix-batch-size", "one", str(script))
    assert result.exit_code == 2
    assert "--fix-batch-size must be a whole number of at least 2" in result.stderr


def test_test_code_is_never_batched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests").mkdir()
    test_file = tmp_path / "tests" / "test_generation.py"
    test_file.write_text(PER_ITEM, encoding="utf-8")
    script = tmp_path / "run.py"
    script.write_text(PER_ITEM, encoding="utf-8")
    run_cli("check", "--no-config", "--no-cache", "--select", "LLM201", "--fix", "--unsafe-fixes", str(tmp_path))
    assert test_file.read_text(encoding="utf-8") == PER_ITEM
    assert "batch_size=8" in script.read_text(encoding="utf-8")
