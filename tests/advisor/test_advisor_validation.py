"""Input validation: one error pattern (what is wrong, valid values, did-you-mean), and warnings."""

from __future__ import annotations

import pytest

from ecolint.advisor.validation import InputError, parse_requests, validate


def codes(inputs) -> set[str]:
    return {w.code for w in inputs.warnings}


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (
            {"quantization": "int4"},
            ["'int4'", "Did you mean 'nf4'?", "fp16, bf16, fp32, nf4, int8_default, int8_pure"],
        ),
        ({"quantization": "INT8"}, ["Did you mean 'int8_pure'?", "int8_default"]),
        (
            {"gpu": "gtx1080"},
            ["'gtx1080'", "a100, a800, h100, h200, l4, rtx3090, rtx4090d, rtx5090, t4, v100"],
        ),
        ({"gpu": "rtx4080"}, ["Did you mean"]),
        ({"batch_size": 128}, ["exceeds 64", "continuous-batching", "vLLM"]),
        ({"batch_size": 0}, ["at least 1", "--batch-size 1"]),
        ({"sequence_length": 5000}, ["[128, 4096]", "512 (chat)"]),
        ({"sequence_length": 64}, ["below the valid range [128, 4096]"]),
        ({"generation_length": 0}, ["[1, 2048]"]),
        (
            {"precision": "int8"},
            ["quantization method, not a compute precision", "--quantization int8_pure"],
        ),
        ({"precision": "fp8"}, ["fp32, bf16, fp16, tf32"]),
        ({"gpu": "v100", "quantization": "bf16"}, ["BF16 needs an Ampere", "Volta", "fp16, fp32"]),
        ({"gpu": "t4", "precision": "tf32"}, ["TF32 needs an Ampere"]),
        ({"region": "frnace"}, ["Did you mean 'fr'?", "us, cn, eu, fr, no, in"]),
        ({"requests": "lots"}, ["Examples: 1000000, 1M"]),
        ({"pue": 0.8}, ["from 1 to 3"]),
        ({"price": -1.0}, ["from 0 to 10"]),
        ({"model": ""}, ["--model is required"]),
        ({"model": "some-model"}, ["cannot tell its size", "7B"]),
    ],
)
def test_invalid_inputs_name_the_problem_the_valid_values_and_a_fix(kwargs, expected):
    args = {"model": "Mistral-7B", **kwargs}
    with pytest.raises(InputError) as error:
        validate(**args)
    message = str(error.value)
    assert "\n" not in message
    for text in expected:
        assert text.lower() in message.lower()


def test_defaults_are_applied_and_reported():
    inputs = validate(model="mistralai/Mistral-7B-Instruct-v0.2")
    assert inputs.gpu.key == "rtx4090d" and inputs.gpu_defaulted
    assert (inputs.quantization, inputs.precision, inputs.batch_size) == ("fp16", "fp16", 1)
    assert (inputs.sequence_length, inputs.generation_length) == (512, 256)
    assert inputs.requests_defaulted and inputs.requests_per_month == 1_000_000
    assert (inputs.price, inputs.grid, inputs.pue) == (0.12, 390.0, 1.1)
    assert inputs.model.shape_source == "table"


@pytest.mark.parametrize(
    "alias, key",
    [("4090D", "rtx4090d"), ("RTX5090", "rtx5090"), ("H100", "h100"), ("nvidia a800", "a800")],
)
def test_gpu_aliases_are_case_insensitive(alias, key):
    assert validate(model="7B", gpu=alias).gpu.key == key


@pytest.mark.parametrize(
    "text, monthly",
    [
        ("1000000", 1e6),
        ("1M", 1e6),
        ("2.5M/month", 2.5e6),
        ("50k/day", 50e3 * 30.4),
        ("1,000/day", 30400),
    ],
)
def test_requests_per_month_or_per_day(text, monthly):
    assert parse_requests(text)[0] == pytest.approx(monthly)


def test_model_forms_resolve_size_like_the_linter():
    assert validate(model="Mistral-7B").model.params_b == 7.0
    assert validate(model="7B").model.shape_source == "measured size"  # the measured Mistral-7B's shape
    assert validate(model="13B").model.shape_source == "estimated"  # no 13B model was measured
    phi = validate(model="microsoft/Phi-3-mini-4k-instruct").model
    assert phi.params_b == 3.8 and phi.arch.key == "Phi-3-mini-4k"


def test_local_checkpoint_config_gives_the_shape(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(
        '{"hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": 4,'
        ' "intermediate_size": 5632, "vocab_size": 32000, "max_position_embeddings": 1024}'
    )
    choice = validate(model="my-model", base_dir=tmp_path).model
    assert (
        choice.shape_source == "config.json"
        and choice.arch.layers == 16
        and choice.arch.context == 1024
    )


def test_region_price_grid_and_overrides():
    fr = validate(model="7B", region="france")
    assert fr.grid == 56.0 and fr.price is None and "pass --price" in fr.price_source
    custom = validate(model="7B", region="cn", price=0.05, grid=100.0, on_prem=True)
    assert (custom.price, custom.grid, custom.pue) == (0.05, 100.0, 1.0)
    assert validate(model="7B", pue=1.4, on_prem=True).pue == 1.4


def test_warnings_not_errors_for_valid_but_costly_choices():
    assert "extrapolated-gpu" in codes(validate(model="Mistral-7B", gpu="h100"))
    assert "extrapolated-model" in codes(validate(model="13B"))
    assert "batch-not-power-of-two" in codes(validate(model="Mistral-7B", batch_size=5))
    small = validate(model="Qwen/Qwen2-1.5B", quantization="nf4")
    assert "nf4-small-model" in codes(small)
    assert "m003/m005" in next(w.message for w in small.warnings if w.code == "nf4-small-model")
    assert "int8-default" in codes(validate(model="Mistral-7B", quantization="int8_default"))
    assert "context-exceeded" in codes(
        validate(model="microsoft/Phi-3-mini-4k-instruct", sequence_length=4096)
    )
    assert "long-prompt" in codes(
        validate(model="Mistral-7B", sequence_length=4096, generation_length=64)
    )


def test_vram_overflow_counts_weights_and_kv_cache_per_sequence():
    fits = validate(model="Mistral-7B", gpu="rtx4090d", batch_size=8)
    assert "vram-overflow" not in codes(fits)
    overflow = validate(model="Mistral-7B", gpu="rtx4090d", batch_size=64, sequence_length=2048)
    message = next(w.message for w in overflow.warnings if w.code == "vram-overflow")
    assert "weights 14.5 GB" in message and "KV cache" in message and "24 GB" in message


def test_precision_conflicts_are_warnings():
    nf4 = validate(model="Mistral-7B", quantization="nf4", precision="fp32")
    assert "precision-conflict" in codes(nf4)
    plain = validate(model="Mistral-7B", quantization="fp16", precision="bf16")
    assert "precision-conflict" in codes(plain) and plain.precision == "fp16"
    assert "precision-conflict" not in codes(
        validate(model="7B", quantization="fp32", precision="tf32", gpu="a100")
    )


def test_a_known_shape_that_was_never_measured_is_still_extrapolated():
    warning = next(
        w for w in validate(model="Llama-3-8B").warnings if w.code == "extrapolated-model"
    )
    assert "never measured" in warning.message and "config.json" in warning.message
    assert "extrapolated-model" not in codes(validate(model="Qwen/Qwen2.5-7B-Instruct"))
