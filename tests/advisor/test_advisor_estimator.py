"""The estimator answers measured configurations with the measured row and labels everything else."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from ecolint.energy.architectures import architectures, estimated_architecture, find_architecture
from ecolint.energy.calibration import CalibrationError, load_calibration
from ecolint.energy.curation import canonical_rows, curated_rows, gross_energy_j_per_1k
from ecolint.energy.dataset import gpus, measurements
from ecolint.energy.estimator import Estimator
from ecolint.energy.workload import Workload


@pytest.fixture(scope="module")
def estimator() -> Estimator:
    return Estimator()


def work(
    gpu="rtx4090d", model="Mistral-7B", quant="fp16", batch=1, prompt=512, gen=256
) -> Workload:
    return Workload(gpus()[gpu], find_architecture(model), quant, batch, prompt, gen)


def test_every_row_has_one_curation_decision_and_one_canonical_row_per_configuration():
    assert set(curated_rows()) == set(measurements())
    seen = set()
    for row in canonical_rows():
        m = row.measurement
        key = (m.gpu, find_architecture(m.model_id).key, m.precision, m.batch_size)
        assert key not in seen, key
        seen.add(key)
        assert m.power_w and m.throughput_tok_s
    assert len(seen) == 59


def test_gross_energy_matches_the_consistency_check_and_keeps_the_stated_value():
    table = resources.files("ecolint.energy.data").joinpath("consistency_check.csv")
    with table.open(encoding="utf-8", newline="") as handle:
        checked = {r["row_id"]: float(r["gross_j_per_1k"]) for r in csv.DictReader(handle)}
    for row in canonical_rows():
        gross = gross_energy_j_per_1k(row.measurement)
        if row.row_id.startswith("h"):
            # ecolint calibrate: the stated energy is the NVML counter's, per run; power x time agrees
            assert row.energy_basis == "gross"
            assert gross == pytest.approx(row.stated_energy_j_per_1k, rel=0.011)
        else:
            assert gross == pytest.approx(checked[row.row_id], rel=1e-3)
    m017 = curated_rows()["m017"]
    assert m017.normalised and m017.stated_energy_j_per_1k == 5661
    assert m017.gross_energy_j_per_1k == pytest.approx(6259.8, abs=0.5)


def test_measured_configuration_returns_the_measured_row(estimator):
    result = estimator.estimate(work())
    assert result.basis == "measured"
    assert result.energy_per_1k.rows == ("m017",)
    assert result.energy_per_1k.value == pytest.approx(1000 * 181.91 / 29.06)
    assert result.throughput.value == 29.06 and result.power.value == 181.91
    assert "measured m017" in result.energy_per_1k.source and "5,661" in result.energy_per_1k.source
    per_request = result.energy_per_request()
    assert per_request.basis == "derived" and per_request.value == pytest.approx(
        result.energy_per_1k.value * 0.256
    )


def test_informal_and_versioned_ids_share_the_measurements(estimator):
    a800 = Workload(
        gpus()["a800"], find_architecture("mistralai/Mistral-7B-Instruct-v0.2"), "int8_pure", 64
    )
    assert estimator.estimate(a800).energy_per_1k.rows == ("m074",)


def test_unmeasured_configuration_is_extrapolated_with_a_range(estimator):
    result = estimator.estimate(work(batch=16))
    assert result.basis == "extrapolated"
    fig = result.energy_per_1k
    assert fig.source.startswith("extrapolated from 59 measured rows by the decode model")
    assert fig.low < fig.value < fig.high
    assert result.error_kinds == ("row",)
    low, high = estimator.errors["row"].band(fig.value)
    assert (fig.low, fig.high) == pytest.approx((low, high))


def test_unmeasured_gpu_and_model_widen_the_range(estimator):
    near = estimator.estimate(work(batch=16)).energy_per_1k
    h100 = Workload(gpus()["h100"], estimated_architecture(13.0, "13B"), "fp16")
    far = estimator.estimate(h100)
    assert set(far.error_kinds) == {"gpu", "model_estimated_shape"}
    assert far.energy_per_1k.high / far.energy_per_1k.low > near.high / near.low
    assert any("h100 not measured" in n for n in far.notes)


def test_bf16_and_memory_bound_assumptions_are_stated(estimator):
    bf16 = estimator.estimate(work(quant="bf16"))
    assert bf16.basis == "extrapolated"
    assert any("BF16 is modelled with FP16's kernels" in n and "h007" in n for n in bf16.notes)
    big = Workload(gpus()["h200"], find_architecture("Llama-2-13B"), "fp16", 64, 4096, 2048)
    result = estimator.estimate(big)
    assert result.regime == "memory-bound" and any("memory-bound" in n for n in result.notes)


def test_batching_lowers_energy_per_token_in_the_model(estimator):
    energies = [
        estimator.estimate(work(gpu="a800", quant="fp16", batch=b)).energy_per_1k.value
        for b in (1, 4, 8, 16)
    ]
    assert energies == sorted(energies, reverse=True)


def test_calibration_rows_take_precedence(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "row_id,gpu,model_id,precision,batch_size,throughput_tok_s,power_w,output_tokens\n"
        "my1,4090d,mistralai/Mistral-7B-Instruct-v0.3,fp16,1,31.0,170.0,256\n"
        "my2,h100,mistralai/Mistral-7B-Instruct-v0.3,fp16,1,60.0,300.0,256\n"
    )
    rows = load_calibration(path)
    assert [r.gpu for r in rows] == ["rtx4090d", "h100"]
    calibrated = Estimator(rows)
    result = calibrated.estimate(work())
    assert result.basis == "calibration" and result.energy_per_1k.rows == ("my1",)
    assert result.energy_per_1k.value == pytest.approx(1000 * 170 / 31)
    assert "h100" in calibrated.model.launch  # a calibrated GPU becomes a fitted one


@pytest.mark.parametrize(
    "text, message",
    [
        ("gpu,model_id\nx,y\n", "missing column"),
        (
            "gpu,model_id,precision,batch_size,throughput_tok_s\nrtx4090d,m-7B,fp16,1,30\n",
            "power_w or energy_j_per_1k",
        ),
        (
            "gpu,model_id,precision,batch_size,throughput_tok_s,power_w\nrtx4090d,m-7B,fp16,1,fast,100\n",
            "not a number",
        ),
        (
            "gpu,model_id,precision,batch_size,throughput_tok_s,power_w\nrtx4090d,m-7B,int4,1,30,100\n",
            "int4",
        ),
    ],
)
def test_bad_calibration_files_are_reported(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=message):
        load_calibration(path)


def test_shapes_compute_the_published_parameter_counts():
    expected = {
        "Mistral-7B-Instruct": 7.25,
        "Qwen2-7B": 7.62,
        "Llama-2-7B": 6.74,
        "Llama-3-70B": 70.55,
    }
    for key, params in expected.items():
        assert architectures()[key].params_b == pytest.approx(params, abs=0.02)


def test_vram_model_is_weights_plus_kv_cache_below_the_measured_peak():
    # A800 sweep (256 prompt + 256 generated tokens): measured peak memory per batch size. Weights + KV
    # cache leave out activations and the CUDA context, which the optimizer's headroom covers.
    from ecolint.advisor.optimizer import MEMORY_HEADROOM

    arch = find_architecture("mistralai/Mistral-7B-Instruct-v0.2")
    peaks = {
        int(r.batch_size): float(r.raw["peak_memory_gb"])
        for r in measurements().values()
        if r.row_id in {"m056", "m059", "m062", "m065", "m068", "m071", "m074"}
    }
    for batch, peak in peaks.items():
        modelled = Workload(gpus()["a800"], arch, "int8_pure", batch, 256, 256).vram_bytes() / 1e9
        assert MEMORY_HEADROOM * peak <= modelled <= peak


def test_calibration_rows_the_model_cannot_use_are_reported(tmp_path):
    path = tmp_path / "calibrate.csv"
    path.write_text(
        "row_id,gpu,model_id,precision,batch_size,throughput_tok_s,energy_j_per_1k\n"
        "k2,rtx4090d,Qwen/Qwen2-7B,fp16_no_kv_cache,1,20,9000\n"
        "k3,rtx4090d,Qwen/Qwen2-7B,fp16,1,40,5000\n"
    )
    rows = load_calibration(path)
    assert [r.gpu for r in rows] == ["rtx4090d", "rtx4090d"]
    calibrated = Estimator(rows)
    assert [r.row_id for r in calibrated.calibration_rows] == ["k3"]
    assert "not modelled" in calibrated.skipped_calibration[0]


def test_hopper_rows_are_canonical_except_kv_cache_off():
    # h001-h028: the first H200 calibration; h029-h036, the torch.compile experiment, are all excluded
    rows = {k: v for k, v in curated_rows().items() if k.startswith("h")}
    hopper = {k: v for k, v in rows.items() if int(k[1:]) <= 28}
    assert len(hopper) == 28
    compile_rows = sorted(set(rows) - set(hopper))
    assert compile_rows == [f"h{n:03d}" for n in range(29, 37)]
    assert all(rows[k].status == "excluded" for k in compile_rows)
    assert [k for k in compile_rows if rows[k].measurement.precision == "fp16_compiled"] == [
        "h031",
        "h032",
        "h035",
        "h036",
    ]
    for row in hopper.values():
        expected = "excluded" if row.measurement.precision == "fp16_no_kv_cache" else "canonical"
        assert row.status == expected, row.row_id
    assert sorted(k for k, v in hopper.items() if v.status == "excluded") == [
        "h002",
        "h004",
        "h016",
        "h018",
    ]


def test_hopper_rows_answer_their_configurations(estimator):
    for quant, batch, model, row in (
        ("fp16", 1, "Qwen/Qwen2-1.5B", "h001"),
        ("bf16", 8, "Qwen/Qwen2-1.5B", "h008"),
        ("fp32", 1, "Mistral-7B", "h019"),
        ("nf4", 8, "Mistral-7B", "h024"),
        ("int8_pure", 1, "Mistral-7B", "h027"),
    ):
        result = estimator.estimate(work("h200", model, quant, batch, 64, 128))
        assert result.basis == "measured" and result.energy_per_1k.rows == (row,)
    assert "h200" in estimator.model.launch and "h200" in estimator.model.power_base


def test_fp32_is_a_kernel_family_of_its_own(estimator):
    model = estimator.model
    assert model.factor["fp32"] > 1.0 and model.compute_slope("fp32") > model.compute_slope("fp16")
    fp16 = estimator.estimate(work("h200", "Qwen2-7B", "fp16", 4)).energy_per_1k.value
    fp32 = estimator.estimate(work("h200", "Qwen2-7B", "fp32", 4))
    assert fp32.energy_per_1k.value > 1.2 * fp16
    assert any("FP32 has its own kernel factor" in n for n in fp32.notes)
    elsewhere = estimator.estimate(work("a800", "Qwen2-7B", "fp32", 4))
    assert any("a800 takes them as they are" in n for n in elsewhere.notes)
