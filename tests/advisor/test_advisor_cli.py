"""The four advisor commands and ``data`` through click: Markdown, JSON shape, and error handling."""

from __future__ import annotations

import pytest

COMMON_KEYS = {"command", "inputs", "warnings", "measurement_setup", "rows_used", "limitations"}
FIGURE_KEYS = {"value", "unit", "basis", "source"}


def _figure(data: dict) -> None:
    assert FIGURE_KEYS <= set(data)
    assert data["basis"] in {"measured", "calibration", "derived", "extrapolated"}
    if data["basis"] == "extrapolated":
        low, high = data["range"]
        assert low <= data["value"] <= high
    if data["basis"] == "measured":
        assert data["rows"] and all(r[0] in "mh" for r in data["rows"])


def _estimate(data: dict) -> None:
    for key in (
        "energy_j_per_1k_tokens",
        "energy_j_per_request",
        "tokens_per_joule",
        "throughput_tok_s",
        "latency_ms_per_request",
        "power_w",
    ):
        _figure(data[key])
    assert data["vram_gb"] > 0 and data["regime"] in {"launch-bound", "memory-bound"}


def _ends_with_setup_and_limitations(text: str) -> None:
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[-2:] == ["## Measurement setup", "## Limitations"]


def test_estimate_markdown_measured_row_and_current_vs_optimized(advisor):
    run = advisor("estimate", "--model", "Mistral-7B", "--requests", "30k/day")
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    assert text.startswith("# Energy estimate: Mistral-7B on rtx4090d")
    assert "default, pass --gpu" in text
    assert "6,260 J/1k tokens" in text and "measured m017" in text
    assert "## Current vs optimized" in text and "| Energy (kWh/month) |" in text
    assert "batch-one-production" in text
    _ends_with_setup_and_limitations(text)
    assert "torch=2.4.1+cu121" in text and "NVML board power" in text


def test_estimate_json_shape(advisor):
    data = advisor("estimate", "--model", "Qwen2-7B", "--gpu", "5090", "--region", "eu", "--json").json()
    assert COMMON_KEYS | {"current", "optimized", "savings", "use_case"} <= set(data)
    _estimate(data["current"])
    _estimate(data["optimized"])
    assert data["current"]["energy_j_per_1k_tokens"]["rows"] == ["m007"]
    month = data["current"]["monthly"]
    assert month["usd"] == pytest.approx(month["kwh"] * 0.22)
    assert month["kg_co2"] == pytest.approx(month["kwh"] * 230 / 1000)
    assert data["inputs"]["gpu"] == "rtx5090" and data["inputs"]["gpu_defaulted"] is False


def test_estimate_without_a_price_reports_cost_as_missing(advisor):
    data = advisor("estimate", "--model", "7B", "--region", "no", "--json").json()
    assert data["current"]["monthly"]["usd"] is None
    assert (
        advisor("estimate", "--model", "7B", "--region", "no", "--price", "0.1", "--json").json()["current"]["monthly"][
            "usd"
        ]
        is not None
    )


def test_extrapolated_output_says_so_with_a_range(advisor):
    run = advisor("estimate", "--model", "Llama-2-13B", "--gpu", "h100", "--batch-size", "8")
    assert run.exit_code == 0, run.stderr
    assert "extrapolated; range" in run.stdout
    assert "extrapolated-gpu" in run.stdout
    assert "leave-one-out" in run.stdout


def test_optimize_recommends_with_reasoning_and_rows(advisor):
    run = advisor("optimize", "--model", "Qwen/Qwen2-1.5B", "--gpu", "5090", "-q", "nf4", "--use-case", "chat")
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    for heading in (
        "## Recommended configuration",
        "## Why this configuration",
        "## Trade-offs",
        "## Optimization insights",
        "## Pitfalls to avoid",
    ):
        assert heading in text
    assert "Quantization: FP16" in text.split("## Your inputs")[0]
    assert "m003/m005" in text
    data = advisor("optimize", "--model", "Qwen/Qwen2-1.5B", "--gpu", "5090", "--use-case", "batch", "--json").json()
    assert COMMON_KEYS | {
        "recommended",
        "reasoning",
        "trade_offs",
        "insights",
        "pitfalls",
        "candidates",
    } <= set(data)
    assert data["recommended"]["batch_size"] <= 64 and data["batch_cap"] == 64
    _estimate(data["recommended"])


def test_compare_table_chart_recommendation_and_paradoxes(advisor):
    run = advisor("compare", "--model", "Mistral-7B", "--gpu", "a800")
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    assert "| Metric | FP16 | NF4 | INT8 default | INT8 pure |" in text
    assert "█" in text and "**Use FP16**" in text
    assert "measured m047" in text and "measured m049" in text  # INT8 pure from FP16's experiment
    assert "## Paradox warnings" in text and "## Context-specific advice" in text
    # at the rows' own generation length the columns are the rows as measured (m047, m048)
    data = advisor("compare", "--model", "Mistral-7B", "--gpu", "a800", "--generation-length", "128", "--json").json()
    assert set(data["columns"]) == {"fp16", "nf4", "int8_default", "int8_pure"}
    assert sorted(c["rank"] for c in data["columns"].values()) == [1, 2, 3, 4]
    assert data["columns"]["int8_default"]["delta_energy_vs_fp16_pct"] == pytest.approx(121.6, abs=0.2)
    for column in data["columns"].values():
        _estimate(column)


def test_estimate_on_the_h200_returns_the_measured_hopper_row(advisor):
    data = advisor("estimate", "--gpu", "h200", "--model", "Qwen/Qwen2-1.5B", "--json").json()
    energy = data["current"]["energy_j_per_1k_tokens"]
    assert energy["basis"] == "measured" and energy["rows"] == ["h001"]
    # h001 ran 64 prompt / 128 generated tokens: carried to 512/256, and labelled so
    assert energy["source"].startswith("measured at 64/128, adjusted to 512/256: x1.01, h001")
    assert energy["value"] == pytest.approx(1000 * 144.64 / 50.99 * 1.007, rel=0.005)
    assert not any(w["code"] == "extrapolated-gpu" for w in data["warnings"])
    assert any("calibrate_h200_20261126" in line and "random weights" in line for line in data["measurement_setup"])
    text = advisor("estimate", "--gpu", "h200", "--model", "Qwen/Qwen2-1.5B").stdout
    assert "4,800 GB/s, measured)" in text and "measured at 64/128, adjusted to 512/256: x1.01, h001" in text
    assert "(measured h001)" not in text


def test_compare_on_the_h200_shows_the_measured_hopper_rows(advisor):
    for model, batch, rows in (
        ("Qwen/Qwen2-1.5B", "1", ("h001", "h009", "h011", "h013")),
        ("Mistral-7B", "8", ("h017", "h024", "h026", "h028")),
    ):
        data = advisor("compare", "--gpu", "h200", "--model", model, "-b", batch, "--json").json()
        columns = data["columns"]
        found = tuple(
            columns[q]["energy_j_per_1k_tokens"]["rows"][0] for q in ("fp16", "nf4", "int8_default", "int8_pure")
        )
        assert found == rows
        assert all(c["basis"] == "measured" for c in columns.values())
        assert data["recommended"] == "fp16"
    text = advisor("compare", "--gpu", "h200", "--model", "Mistral-7B").stdout
    assert "measured h015" in text and "measured h025" in text


def test_diagnose_int8_decomposition(advisor):
    run = advisor(
        "diagnose",
        "--model",
        "Mistral-7B",
        "-q",
        "int8_default",
        "--observed-throughput",
        "7.9",
        "--observed-power",
        "75",
    )
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    assert "Detected pattern: **INT8 mixed-precision decomposition**" in text
    assert "Confidence: HIGH" in text
    assert "llm_int8_threshold=0.0" in text and "nvidia-smi dmon" in text
    _ends_with_setup_and_limitations(text)


def test_diagnose_infers_a_threshold_that_did_not_apply(advisor):
    data = advisor(
        "diagnose",
        "--model",
        "Mistral-7B",
        "-q",
        "int8_pure",
        "--observed-throughput",
        "8",
        "--json",
    ).json()
    assert data["detected"] == "int8-decomposition"
    assert COMMON_KEYS | {"observed", "expected", "deviation_pct", "patterns", "fixes"} <= set(data)


def test_diagnose_nf4_small_model_and_batch_one(advisor):
    data = advisor(
        "diagnose",
        "--model",
        "Qwen/Qwen2-1.5B",
        "-q",
        "nf4",
        "--gpu",
        "5090",
        "--observed-throughput",
        "41",
        "--json",
    ).json()
    assert [p["code"] for p in data["patterns"]] == ["nf4-small-model", "batch-one"]
    assert data["patterns"][0]["confidence"] == "HIGH"
    assert data["fixes"][0]["expected"]["energy_j_per_1k_tokens"]["rows"] == ["m003"]


def test_diagnose_unexplained_slowdown(advisor):
    data = advisor(
        "diagnose",
        "--model",
        "Mistral-7B",
        "--batch-size",
        "8",
        "--observed-throughput",
        "20",
        "--json",
    ).json()
    assert data["detected"] == "unexplained-slowdown"


def test_data_lists_canonical_rows_and_filters(advisor):
    data = advisor("data", "--json").json()
    assert data["count"] == 59 and all(r["status"] == "canonical" for r in data["rows"])
    rows = advisor("data", "--gpu", "4090d", "--precision", "int8_pure", "--json").json()["rows"]
    assert [r["row_id"] for r in rows] == ["m035", "m036"]
    assert rows[0]["energy_j_per_1k_stated"] == 5212 and rows[0]["energy_j_per_1k_gross"] == pytest.approx(6451.6, 0.1)
    everything = advisor("data", "--all", "--model", "Phi-3", "--json").json()["rows"]
    assert {r["status"] for r in everything} == {"canonical", "excluded"}
    text = advisor("data", "--model", "yi").stdout
    assert "| m031 |" in text and "idle subtracted" in text


def test_calibration_file_takes_precedence(advisor, tmp_path):
    path = tmp_path / "calibration.csv"
    path.write_text(
        "gpu,model_id,precision,batch_size,throughput_tok_s,energy_j_per_1k\n"
        "rtx4090d,mistralai/Mistral-7B-Instruct-v0.3,fp16,1,30.0,6000\n"
    )
    data = advisor("estimate", "--model", "Mistral-7B", "--calibration", str(path), "--json").json()
    energy = data["current"]["energy_j_per_1k_tokens"]
    assert energy["basis"] == "calibration" and energy["rows"] == ["c001"] and energy["value"] == 6000


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["estimate", "--model", "Mistral-7B", "-q", "int4"], "Did you mean 'nf4'?"),
        (["compare", "--model", "Mistral-7B", "--gpu", "gtx1080"], "valid: a100, a800"),
        (["optimize", "--model", "Mistral-7B", "--batch-size", "128"], "continuous-batching"),
        (["estimate"], "--model is required"),
        (["estimate", "--model", "7B", "--use-case", "chatbot"], "Did you mean 'chat'?"),
        (["diagnose", "--model", "7B", "--observed-throughput", "-3"], "finite positive"),
        (
            ["estimate", "--model", "7B", "--calibration", "/no/such/file.csv"],
            "cannot read calibration file",
        ),
        (["data", "--precision", "int4"], "not in the data"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_2(advisor, args, fragment):
    run = advisor(*args)
    assert run.exit_code == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]
    assert "Traceback" not in run.stderr
    assert run.exception is None or isinstance(run.exception, SystemExit)


def test_commands_are_registered_on_the_ecolint_group():
    from ecolint.cli import main

    names = {"estimate", "optimize", "compare", "diagnose", "data"}
    assert names <= set(main.list_commands(None))
    assert all(main.get_command(None, name).name == name for name in names)
