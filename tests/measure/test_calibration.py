"""Calibration rows, plans and architectures (no GPU, no torch)."""

import csv
import importlib.util
import io

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.measure import calibrate as cal
from ecolint.measure.calibration_file import (
    NO_KV_CACHE,
    ConfigResult,
    columns,
    gpu_key,
    make_rows,
    rows_to_csv,
)


def run(energy_j, tokens, duration, idle=50.0):
    return {
        "energy_j": energy_j,
        "net_energy_j": energy_j - idle * duration,
        "j_per_1k_tokens": energy_j / tokens * 1000,
        "net_j_per_1k_tokens": (energy_j - idle * duration) / tokens * 1000,
        "tokens_per_s": tokens / duration,
        "mean_power_w": energy_j / duration,
    }


def config(precision, batch, energies, tokens=64, duration=2.0):
    result = ConfigResult(
        "qwen2-1.5b", "Qwen/Qwen2-1.5B-Instruct", 1.5, precision, batch, 64, 64, idle_w=50.0
    )
    result.runs = [run(e, tokens * batch, duration) for e in energies]
    return result


def make(results):
    return make_rows(
        results,
        gpu="h100",
        gpu_architecture="Hopper",
        gpu_name="NVIDIA H100 80GB HBM3",
        software="torch=2.11.0; cuda=13.0",
        date="2026-11-26",
        source_file="docs/measurements/x.json",
        experiment="calibrate_h100_20261126",
        protocol_note="protocol: test",
    )


def test_rows_have_the_dataset_columns_and_deltas():
    results = [
        config("fp16", 1, [100.0, 102.0, 98.0]),
        config("nf4", 1, [150.0, 150.0, 150.0]),
        config(NO_KV_CACHE, 1, [120.0, 120.0, 120.0]),
        config("fp16", 8, [400.0, 400.0, 400.0]),
        config("fp32", 8, [600.0, 600.0, 600.0]),
    ]
    rows = make(results)
    header = columns()
    assert header[0] == "row_id" and "energy_j_per_1k" in header and "notes" in header
    assert all(list(row) == header for row in rows)
    assert [row["row_id"] for row in rows] == ["c001", "c002", "c003", "c004", "c005"]
    fp16, nf4, no_cache, fp16_8, fp32_8 = rows
    assert float(fp16["energy_j_per_1k"]) == pytest.approx(100.0 / 64 * 1000, abs=0.1)
    assert fp16["delta_vs_fp16_pct"] == ""
    assert float(nf4["delta_vs_fp16_pct"]) == pytest.approx(50.0, abs=0.1)
    assert float(no_cache["delta_vs_fp16_pct"]) == pytest.approx(20.0, abs=0.1)
    assert float(fp32_8["delta_vs_fp16_pct"]) == pytest.approx(50.0, abs=0.1)
    assert no_cache["precision"] == "fp16_no_kv_cache" and "use_cache=False" in no_cache["notes"]
    assert fp16["n_runs"] == "3" and float(fp16["cv_pct"]) > 0 and fp16["energy_std"] != ""
    assert float(fp16_8["throughput_tok_s"]) == pytest.approx(256.0)
    assert float(fp16_8["energy_per_request_j"]) == pytest.approx(50.0)
    assert "net_j_per_1k=" in fp16["notes"] and "idle_w=50.0" in fp16["notes"]
    assert (
        fp16["gpu"] == "h100" and fp16["architecture"] == "Hopper" and fp16["date"] == "2026-11-26"
    )
    parsed = list(csv.DictReader(io.StringIO(rows_to_csv(rows))))
    assert parsed[1]["precision"] == "nf4" and len(parsed) == 5


@pytest.mark.parametrize(
    "name, key",
    [
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA H200", "h200"),
        ("NVIDIA GeForce RTX 4090 D", "rtx4090d"),
        ("NVIDIA GeForce RTX 5090", "rtx5090"),
        ("NVIDIA A800-SXM4-80GB", "a800"),
        ("Tesla T4", "t4"),
        ("NVIDIA RTX 6000 Ada Generation", "rtx6000adageneration"),
    ],
)
def test_gpu_key(name, key):
    assert gpu_key(name) == key


def test_plan_order_and_extras():
    plan = cal.Plan(["qwen2-1.5b"], ["fp16", "nf4", "int8_default"], [1, 8])
    assert plan.builds() == [
        ("fp16", [("fp16", True), (NO_KV_CACHE, False)]),
        ("fp32", [("fp32", True)]),
        ("nf4", [("nf4", True)]),
        ("int8_default", [("int8_default", True)]),
    ]
    plan = cal.Plan(["qwen2-1.5b"], ["nf4"], [1], kv_cache_off=False, fp32=False)
    assert plan.builds() == [("nf4", [("nf4", True)])]
    plan = cal.Plan(["qwen2-1.5b"], ["nf4"], [1], kv_cache_off=True, fp32=False)
    assert plan.builds() == [("fp16", [(NO_KV_CACHE, False)]), ("nf4", [("nf4", True)])]


def test_shipped_architectures_are_complete():
    names = cal.available_architectures()
    assert {"qwen2-1.5b", "mistral-7b", "tinyllama-1.1b", "qwen2-7b"} <= set(names)
    for name in names:
        arch = cal.load_architecture(name)
        config = arch["config"]
        assert arch["model_id"] in arch["source"]
        for key in (
            "model_type",
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "vocab_size",
        ):
            assert key in config, (name, key)
        assert config["hidden_size"] % config["num_attention_heads"] == 0
    with pytest.raises(cal.CalibrationError, match="unknown architecture"):
        cal.load_architecture("gpt-5")


def test_calibrate_cli_errors_are_one_line():
    runner = CliRunner()
    result = runner.invoke(main, ["calibrate", "--arch", "gpt-5"])
    assert (
        result.exit_code == 2
        and "unknown architecture" in result.stderr
        and "Traceback" not in result.output
    )
    result = runner.invoke(main, ["calibrate", "--quantization", "fp8"])
    assert result.exit_code == 2 and "unknown precision" in result.stderr
    result = runner.invoke(main, ["calibrate", "--list"])
    assert result.exit_code == 0 and "mistral-7b" in result.stdout


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed")
def test_calibrate_without_torch_is_one_line(fake_nvml):
    result = CliRunner().invoke(main, ["calibrate", "--arch", "qwen2-1.5b"])
    assert (
        result.exit_code == 2 and "needs torch" in result.stderr and result.stderr.count("\n") == 1
    )
