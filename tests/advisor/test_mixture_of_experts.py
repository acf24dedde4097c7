"""Mixtures of experts: total parameters for memory, active parameters for compute and energy, labelled
extrapolated; and calibration files whose GPU does not resolve."""

from __future__ import annotations

import json

import pytest

from ecolint.energy.architectures import estimated_architecture
from ecolint.energy.calibration import CalibrationError, load_calibration
from ecolint.energy.dataset import gpus
from ecolint.energy.model_size import resolve_model_size, size_from_name
from ecolint.energy.workload import Workload

MIXTRAL_CONFIG = {
    "model_type": "mixtral",
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 32000,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
    "max_position_embeddings": 32768,
}
QWEN3_30B_A3B_CONFIG = {
    "model_type": "qwen3_moe",
    "hidden_size": 2048,
    "num_hidden_layers": 48,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "head_dim": 128,
    "intermediate_size": 6144,
    "moe_intermediate_size": 768,
    "vocab_size": 151936,
    "num_experts": 128,
    "num_experts_per_tok": 8,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
}


def test_8x7b_in_an_id_is_not_56b():
    assert size_from_name("someone/Mixtral-8x7B-finetune") is None
    size = resolve_model_size("mistralai/Mixtral-8x7B-v0.1")
    assert size.params_b == pytest.approx(46.7) and size.active_params_b == pytest.approx(12.9)


@pytest.mark.parametrize(
    "model_id, total, active",
    [
        ("mistralai/Mixtral-8x22B-v0.1", 141, 39),
        ("Qwen/Qwen1.5-MoE-A2.7B", 14.3, 2.7),
        ("Qwen/Qwen2-57B-A14B", 57, 14),
        ("Qwen/Qwen3-30B-A3B", 30.5, 3.3),
        ("deepseek-ai/deepseek-moe-16b-base", 16.4, 2.8),
        ("deepseek-ai/DeepSeek-V2-Lite", 15.7, 2.4),
        ("databricks/dbrx-instruct", 132, 36),
        ("allenai/OLMoE-1B-7B-0924", 6.9, 1.3),
        ("microsoft/Phi-3.5-MoE-instruct", 41.9, 6.6),
        ("openai/gpt-oss-20b", 21, 3.6),
        ("openai/gpt-oss-120b", 117, 5.1),
    ],
)
def test_known_mixtures_of_experts_have_total_and_active_counts(model_id, total, active):
    size = resolve_model_size(model_id)
    assert size.source == "table" and "http" in size.detail
    assert (size.params_b, size.active_params_b) == (pytest.approx(total), pytest.approx(active))


def test_total_and_active_read_from_an_id_that_writes_both():
    size = size_from_name("someone/NewMoE-30B-A3B-Instruct")
    assert (size.params_b, size.active_params_b) == (30, 3)


def _estimate(advisor, *args):
    run = advisor("estimate", *args, "--json")
    assert run.exit_code == 0, run.stderr
    return run.json()


def test_estimate_mixtral_uses_total_for_memory_and_active_for_energy(advisor):
    data = _estimate(advisor, "-m", "mistralai/Mixtral-8x7B-v0.1", "-g", "h200")
    inputs = data["inputs"]
    assert inputs["params_b"] == pytest.approx(46.7) and inputs["active_params_b"] == pytest.approx(12.9)
    assert inputs["mixture_of_experts"] is True
    current = data["current"] if "current" in data else data["estimate"]
    # FP16 weights: 2 bytes per parameter of all 46.7B, not 12.9B and not 56B
    assert 46.7 * 2 <= current["vram_gb"] < 56 * 2
    assert current["energy_j_per_1k_tokens"]["basis"] == "extrapolated"
    assert any("mixture-of-experts" == w["code"] for w in data["warnings"])
    dense_active = _estimate(advisor, "-m", "13B", "-g", "h200")
    dense_total = _estimate(advisor, "-m", "47B", "-g", "h200")
    key = "current" if "current" in data else "estimate"

    def energy(d):
        return d[key]["energy_j_per_1k_tokens"]["value"]

    # energy per token follows the 12.9B active parameters: near a dense 13B model, far below a dense 47B
    assert energy(data) < 0.5 * energy(dense_total)
    assert energy(data) == pytest.approx(energy(dense_active), rel=0.25)


@pytest.mark.parametrize("command", ["estimate", "optimize", "compare", "diagnose"])
def test_every_command_labels_mixture_of_experts_figures_extrapolated(advisor, command):
    extra = ["--observed-throughput", "20"] if command == "diagnose" else []
    run = advisor(command, "-m", "Qwen/Qwen3-30B-A3B", "-g", "h200", *extra)
    assert run.exit_code == 0, run.stderr
    assert "mixture of experts" in run.stdout
    assert "Every measured row is a dense model" in run.stdout


def test_local_config_json_of_a_mixture_of_experts(advisor, tmp_path):
    folder = tmp_path / "mixtral"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(MIXTRAL_CONFIG))
    data = _estimate(advisor, "-m", str(folder), "-g", "h200")
    assert data["inputs"]["params_b"] == pytest.approx(46.7, rel=0.01)
    assert data["inputs"]["active_params_b"] == pytest.approx(12.9, rel=0.01)
    folder = tmp_path / "qwen3"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(QWEN3_30B_A3B_CONFIG))
    data = _estimate(advisor, "-m", str(folder), "-g", "h200")
    assert data["inputs"]["params_b"] == pytest.approx(30.5, rel=0.01)
    assert data["inputs"]["active_params_b"] == pytest.approx(3.3, rel=0.02)


def test_a_batch_reads_more_experts_than_one_token():
    from ecolint.energy.architectures import architecture_from_checkpoint  # noqa: F401 (same module)
    from ecolint.energy.model_size import moe_shape

    moe = moe_shape(MIXTRAL_CONFIG)
    assert (moe.experts, moe.active_experts) == (8, 2)
    arch = estimated_architecture(46.7, "mixtral", active_params_b=12.9)
    h200 = gpus()["h200"]
    one = Workload(h200, arch, "fp16", 1)
    assert one.vram_bytes() > 46.7e9 * 2 and one.arch.weight_bytes_read("fp16") == pytest.approx(12.9e9 * 2)


def test_unknown_mixture_of_experts_is_a_clear_error(advisor):
    run = advisor("estimate", "-m", "someone/Mixtral-8x7B-merge")
    assert run.exit_code == 2 and "mixture of experts" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def _calibration(tmp_path, gpu):
    path = tmp_path / "calibration.csv"
    path.write_text(
        "gpu,model_id,precision,batch_size,throughput_tok_s,power_w\n" f"{gpu},Qwen/Qwen2-1.5B,fp16,1,40,200\n"
    )
    return path


@pytest.mark.parametrize("gpu, hint", [("4090", "did you mean 'rtx4090d'"), ("h20o", "did you mean 'h200'")])
def test_unknown_gpu_in_a_calibration_file_is_an_error(advisor, tmp_path, gpu, hint):
    path = _calibration(tmp_path, gpu)
    with pytest.raises(CalibrationError, match=hint):
        load_calibration(path)
    run = advisor("estimate", "-m", "Qwen/Qwen2-1.5B", "--calibration", str(path))
    assert run.exit_code == 2 and hint in run.stderr and len(run.stderr.strip().splitlines()) == 1
