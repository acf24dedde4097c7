"""The torch.compile variant of ``ecolint calibrate`` (precision fp16_compiled), without a GPU.

torch and transformers are replaced by small fakes: a model whose ``generate`` advances a fake
clock (and spends a few milliseconds of real time, so that the fake NVML counters move), and
which "compiles" on its first call at each batch size once it has a static cache.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
import types

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.energy.calibration import load_calibration
from ecolint.energy.estimator import Estimator
from ecolint.measure import calibrate as cal
from ecolint.measure.calibration_file import COMPILED, NO_KV_CACHE, ConfigResult, make_rows
from ecolint.rules import all_rules, calibrated_penalty

COMPILE_S = 30.0  # fake compilation time, on the first compiled call of each batch size
CALL_S = 0.25  # fake duration of one generate call


class FakeClock:
    """Stands in for the ``time`` module inside ecolint.measure.calibrate."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeTensor:
    def __init__(self, shape):
        self.shape = tuple(shape)

    def to(self, device):
        return self


class FakeGenerator:
    def manual_seed(self, seed):
        return self


class FakeTorch(types.ModuleType):
    def __init__(self):
        super().__init__("torch")
        self.version = types.SimpleNamespace(cuda=None)
        self.cuda = types.SimpleNamespace(is_available=lambda: False)
        self.resets = 0
        self.compiled = []
        self._dynamo = types.SimpleNamespace(reset=self._reset)

    def _reset(self):
        self.resets += 1

    def Generator(self):  # noqa: N802 (torch's name)
        return FakeGenerator()

    def randint(self, low, high, size, generator=None):
        return FakeTensor(size)

    def ones_like(self, tensor):
        return FakeTensor(tensor.shape)

    def inference_mode(self):
        return contextlib.nullcontext()

    def compile(self, function, **settings):
        self.compiled.append(settings)
        return function


class FakeCompileConfig:
    def __init__(self, **settings):
        self.settings = settings


class FakeModel:
    def __init__(self, precision, clock, nvml, fail_compiled=False):
        self.precision = precision
        self.clock = clock
        self.nvml = nvml
        self.fail_compiled = fail_compiled
        self.config = types.SimpleNamespace(vocab_size=1000)
        self.generation_config = types.SimpleNamespace(cache_implementation=None, compile_config=None)
        self.calls = []  # (batch size, compiled) of every generate call
        self.compiled_batches = set()

    def modules(self):
        return []

    def get_compiled_call(self, compile_config):  # present in transformers >= 4.48
        raise AssertionError("generate calls this itself")

    def forward(self, *args, **kwargs):
        raise AssertionError("not called")

    def generate(self, input_ids, max_new_tokens, **settings):
        batch = input_ids.shape[0]
        compiled = self.generation_config.cache_implementation == "static"
        if compiled and self.fail_compiled:
            raise RuntimeError("Dynamo failed to run FX node\nwith a long explanation")
        if compiled and batch not in self.compiled_batches:
            self.compiled_batches.add(batch)
            self.clock.now += COMPILE_S
        self.calls.append((batch, compiled))
        self.nvml.set_busy(True)
        time.sleep(0.002)
        self.nvml.set_busy(False)
        self.clock.now += CALL_S
        return FakeTensor((batch, input_ids.shape[1] + max_new_tokens))


@pytest.fixture
def fake_stack(monkeypatch, fake_nvml):
    """Fake torch, transformers, clock and model builder; returns the pieces to inspect."""
    torch = FakeTorch()
    transformers = types.ModuleType("transformers")
    transformers.CompileConfig = FakeCompileConfig
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    clock = FakeClock()
    monkeypatch.setattr(cal, "time", clock)
    stack = types.SimpleNamespace(
        torch=torch, transformers=transformers, clock=clock, models=[], fail_compiled=False
    )

    def build(arch, precision, protocol, device, config_overrides=None):
        model = FakeModel(precision, clock, fake_nvml.default, stack.fail_compiled)
        stack.models.append(model)
        return model

    monkeypatch.setattr(cal, "build_model", build)
    return stack


def protocol(**changes):
    settings = dict(
        input_tokens=8,
        new_tokens=16,
        warmup=1,
        runs=3,
        pause_s=0.0,
        idle_seconds=0.01,
        interval=0.005,
        min_run_s=0.0,
    )
    settings.update(changes)
    return cal.Protocol(**settings)


def calibrate(plan, proto):
    lines = []
    result = cal.run_calibration(plan, proto, device="cpu", emit=lines.append)
    return result, lines


# -- the plan -------------------------------------------------------------------------------------


def test_plan_measures_the_compiled_model_right_after_eager_fp16():
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1, 8], kv_cache_off=False, fp32=False, compiled=True)
    assert plan.builds() == [("fp16", [("fp16", True)]), ("fp16", [(COMPILED, True)])]
    plan = cal.Plan(["qwen2-1.5b"], ["fp16", "nf4"], [1], compiled=True)
    assert plan.builds() == [
        ("fp16", [("fp16", True), (NO_KV_CACHE, False)]),
        ("fp16", [(COMPILED, True)]),
        ("fp32", [("fp32", True)]),
        ("nf4", [("nf4", True)]),
    ]
    # without fp16 in the list the compiled model still comes first, alone
    plan = cal.Plan(["qwen2-1.5b"], ["nf4"], [1], kv_cache_off=False, fp32=False, compiled=True)
    assert plan.builds() == [("fp16", [(COMPILED, True)]), ("nf4", [("nf4", True)])]
    # off by default: the plans of earlier calibrations are unchanged
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1], kv_cache_off=False, fp32=False)
    assert plan.builds() == [("fp16", [("fp16", True)])]


# -- the protocol ---------------------------------------------------------------------------------


def test_compiled_model_is_its_own_and_its_compilation_is_not_measured(fake_stack):
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1, 8], kv_cache_off=False, fp32=False, compiled=True)
    calibration, lines = calibrate(plan, protocol())
    assert [(r.precision, r.batch_size) for r in calibration.results] == [
        ("fp16", 1),
        ("fp16", 8),
        (COMPILED, 1),
        (COMPILED, 8),
    ]
    eager, compiled = fake_stack.models
    assert eager.generation_config.cache_implementation is None
    assert eager.generation_config.compile_config is None
    assert all(not was_compiled for _, was_compiled in eager.calls)
    assert compiled.generation_config.cache_implementation == "static"
    assert compiled.generation_config.compile_config.settings == {
        "fullgraph": True,
        "mode": "reduce-overhead",
        "dynamic": False,
    }
    assert fake_stack.torch.compiled == []  # generate compiles by itself: no torch.compile here
    assert fake_stack.torch.resets == 1  # compiled graphs dropped with the compiled model
    # 1 warm-up (with the compilation) + 3 measured calls per configuration
    assert [b for b, _ in compiled.calls] == [1] * 4 + [8] * 4
    for result in calibration.results:
        assert len(result.runs) == 3
        assert result.calls_per_run == 1
        assert [run["calls"] for run in result.runs] == [1, 1, 1]
        assert [run["tokens"] for run in result.runs] == [16 * result.batch_size] * 3
        # the measured windows hold one generate call each: milliseconds, never the compilation
        assert all(run["duration_s"] < 5.0 for run in result.runs)
    eager_bs1, _, compiled_bs1, compiled_bs8 = calibration.results
    assert eager_bs1.warmup_s == [pytest.approx(CALL_S)]
    assert not any("compile_s" in note for note in eager_bs1.notes)
    assert compiled_bs1.warmup_s == [pytest.approx(COMPILE_S + CALL_S)]
    assert any(note.startswith("compile_s=30.2 ") for note in compiled_bs1.notes)
    assert any(note.startswith("compile_s=30.2 ") for note in compiled_bs8.notes)
    assert "CompileConfig(fullgraph=True, mode='reduce-overhead', dynamic=False)" in compiled_bs1.notes[0]
    assert any("warm-up with compilation 30.2 s" in line for line in lines)
    assert calibration.skipped == []


def test_older_transformers_get_the_documented_recipe(fake_stack):
    del fake_stack.transformers.CompileConfig
    model = FakeModel("fp16", fake_stack.clock, None)
    how = cal.compile_for_generation(model)
    assert model.generation_config.cache_implementation == "static"
    assert fake_stack.torch.compiled == [{"mode": "reduce-overhead", "fullgraph": True}]
    assert "model.forward = torch.compile" in how


def test_short_runs_repeat_generate_in_one_window(fake_stack):
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [2], kv_cache_off=False, fp32=False, compiled=True)
    calibration, lines = calibrate(plan, protocol(min_run_s=1.0))
    eager, compiled = fake_stack.models
    for result, model in zip(calibration.results, fake_stack.models):
        # one call takes 0.25 s: 4 calls make a run of 1 s
        assert result.calls_per_run == 4
        assert [run["calls"] for run in result.runs] == [4, 4, 4]
        assert [run["tokens"] for run in result.runs] == [2 * 16 * 4] * 3
        # warm-up, the timing call, 3 runs of 4
        assert len(model.calls) == 1 + 1 + 12
    assert any("one call 0.25 s, 4 per measured run" in line for line in lines)
    rows = cal.calibration_rows(
        calibration, source_file="x.json", experiment="e", row_prefix="c", protocol=protocol(min_run_s=1.0)
    )
    compiled_row = rows[1]
    assert compiled_row["precision"] == COMPILED and "4 generate calls per measured run" in compiled_row["notes"]
    energy_j = [run["energy_j"] for run in calibration.results[1].runs]
    assert float(compiled_row["energy_per_request_j"]) == pytest.approx(
        sum(energy_j) / 3 / (2 * 4), abs=0.01
    )
    assert "each run repeats generate to last at least 1 s" in compiled_row["notes"]


def test_a_failed_compilation_is_recorded_and_the_eager_rows_stay(fake_stack):
    fake_stack.fail_compiled = True
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1, 8], kv_cache_off=False, fp32=False, compiled=True)
    calibration, lines = calibrate(plan, protocol())
    assert [(r.precision, r.batch_size) for r in calibration.results] == [("fp16", 1), ("fp16", 8)]
    assert calibration.skipped == [
        "qwen2-1.5b fp16_compiled bs=1: torch.compile failed (RuntimeError: Dynamo failed to run FX node)",
        "qwen2-1.5b fp16_compiled bs=8: torch.compile failed (RuntimeError: Dynamo failed to run FX node)",
    ]
    assert [entry["config"] for entry in calibration.log] == [
        "qwen2-1.5b fp16_compiled bs=1",
        "qwen2-1.5b fp16_compiled bs=8",
    ]
    assert "with a long explanation" in calibration.log[0]["traceback"]
    assert fake_stack.torch.resets == 1
    assert any("torch.compile failed" in line for line in lines)


def test_compilation_needs_a_warm_up(fake_stack):
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1], kv_cache_off=False, fp32=False, compiled=True)
    with pytest.raises(cal.CalibrationError, match="--compile needs --warmup 1 or more"):
        calibrate(plan, protocol(warmup=0))
    assert fake_stack.models == []


def test_a_failure_outside_the_compiled_model_still_stops(fake_stack, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error")

    monkeypatch.setattr(FakeModel, "generate", broken)
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1], kv_cache_off=False, fp32=False, compiled=True)
    with pytest.raises(RuntimeError, match="CUDA error"):
        calibrate(plan, protocol())


def test_the_time_budget_is_checked_before_every_configuration(fake_stack):
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1, 8], kv_cache_off=False, fp32=False, compiled=True)
    calibration, _ = calibrate(plan, protocol(time_budget_s=0.9))
    # fp16 bs=1 takes 4 calls of 0.25 s: the budget is spent before bs=8
    assert [(r.precision, r.batch_size) for r in calibration.results] == [("fp16", 1)]
    assert calibration.skipped == [
        "qwen2-1.5b fp16 bs=8: time budget spent",
        "qwen2-1.5b fp16_compiled bs=1: time budget spent",
        "qwen2-1.5b fp16_compiled bs=8: time budget spent",
    ]


# -- rows, calibration files and rule LLM302 -----------------------------------------------------


def _config(precision, batch, energy_j):
    result = ConfigResult("qwen2-1.5b", "Qwen/Qwen2-1.5B-Instruct", 1.5, precision, batch, 64, 128, idle_w=120.0)
    result.runs = [
        {
            "energy_j": energy_j,
            "net_energy_j": energy_j / 2,
            "j_per_1k_tokens": energy_j / (128 * batch) * 1000,
            "net_j_per_1k_tokens": energy_j / 2 / (128 * batch) * 1000,
            "tokens_per_s": 128 * batch / 2.0,
            "mean_power_w": energy_j / 2.0,
            "calls": 1,
        }
        for _ in range(3)
    ]
    return result


def _rows():
    return make_rows(
        [
            _config("fp16", 1, 300.0),
            _config(COMPILED, 1, 200.0),
            _config("fp16", 8, 500.0),
            _config(COMPILED, 8, 400.0),
        ],
        gpu="h100",
        gpu_architecture="Hopper",
        gpu_name="NVIDIA H100 80GB HBM3",
        software="torch=2.11.0",
        date="2026-11-27",
        source_file="x.json",
        experiment="calibrate_h100_20261127",
        protocol_note="protocol: test",
    )


def test_compiled_rows_are_named_and_compared_with_eager_fp16():
    fp16, compiled, _, compiled_8 = _rows()
    assert compiled["precision"] == "fp16_compiled"
    assert float(compiled["delta_vs_fp16_pct"]) == pytest.approx(-33.3, abs=0.1)
    assert float(compiled_8["delta_vs_fp16_pct"]) == pytest.approx(-20.0, abs=0.1)
    assert "static KV cache, decoding compiled with torch.compile" in compiled["notes"]
    assert "torch.compile" not in fp16["notes"]


def test_calibration_files_with_compiled_rows_load_and_give_eco302_its_penalty(tmp_path):
    from ecolint.measure.calibration_file import write_rows

    path = tmp_path / "calibration.csv"
    write_rows(_rows(), path)
    rows = load_calibration(path)
    assert [r.precision for r in rows] == ["fp16", COMPILED, "fp16", COMPILED]
    estimator = Estimator(rows)
    assert [r.row_id for r in estimator.calibration_rows] == ["c001", "c003"]
    assert all("not modelled" in text for text in estimator.skipped_calibration)
    penalty = calibrated_penalty(all_rules()["LLM302"], rows, str(path))
    assert penalty is not None
    pairs = [(p.row.row_id, p.baseline.row_id, round(p.percent, 1)) for g in penalty.groups for p in g.pairs]
    # energy per token without torch.compile against with it
    assert pairs == [("c001", "c002", 50.0), ("c003", "c004", 25.0)]


def test_calibrate_cli_passes_compile_and_min_run_seconds(fake_nvml, monkeypatch, tmp_path):
    seen = {}

    def fake_run(plan, proto, **kwargs):
        seen["plan"], seen["protocol"] = plan, proto
        calibration = cal.Calibration(
            started_at="2026-11-27T10:00:00+00:00",
            gpu={"name": "NVIDIA H100 80GB HBM3", "architecture": "Hopper"},
            driver="580",
            software={"torch": "2.11.0"},
            protocol={},
        )
        calibration.results = [_config("fp16", 1, 300.0), _config(COMPILED, 1, 200.0)]
        kwargs["on_result"](calibration)
        return calibration

    monkeypatch.setattr(cal, "run_calibration", fake_run)
    out = tmp_path / "c.csv"
    result = CliRunner().invoke(
        main,
        ["calibrate", "--arch", "qwen2-1.5b", "--quantization", "fp16", "--no-fp32",
         "--no-kv-cache-off", "--compile", "--min-run-seconds", "2", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert seen["plan"].compiled is True and seen["protocol"].min_run_s == 2.0
    assert [r.precision for r in load_calibration(out)] == ["fp16", COMPILED]
    CliRunner().invoke(main, ["calibrate", "--arch", "qwen2-1.5b", "-o", str(out)])
    assert seen["plan"].compiled is False and seen["protocol"].min_run_s == 0.0


def test_each_configuration_is_announced_with_its_place_and_the_time_left(fake_stack):
    plan = cal.Plan(["qwen2-1.5b"], ["fp16"], [1, 8], kv_cache_off=True, fp32=False)
    calibration, lines = calibrate(plan, protocol())
    announced = [line for line in lines if ": measuring" in line]
    assert [line.split("] ", 1)[1].split(":")[0] for line in announced] == [
        "1/4 qwen2-1.5b fp16 bs=1",
        f"2/4 qwen2-1.5b {NO_KV_CACHE} bs=1",
        "3/4 qwen2-1.5b fp16 bs=8",
        f"4/4 qwen2-1.5b {NO_KV_CACHE} bs=8",
    ]
    assert "left" not in announced[0]  # nothing measured yet: no estimate
    assert all(re.search(r"about \d+ (s|min \d+ s) left$", line) for line in announced[1:])
    assert len(calibration.results) == 4
