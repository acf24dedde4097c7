"""The batch size the batching fixes write: the fix-batch-size setting, capped by the GPU's memory."""

from __future__ import annotations

import libcst as cst
import pytest

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
