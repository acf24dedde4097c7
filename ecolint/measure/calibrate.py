"""``ecolint calibrate``: measure LLM inference energy on this GPU without downloading weights.

For each architecture and precision of the :class:`Plan`, a random-weight model is built
(``random_model``); for each batch size it is warmed up, the idle power is measured, and the
:class:`Protocol`'s runs of ``generate`` are measured with NVML's total-energy counter.
Generation runs a fixed number of new tokens (``min_new_tokens = max_new_tokens``; no early end
of sequence), greedy. For ``fp16_compiled``, compilation happens in the unmeasured warm-up.
The results (``calibration_results``) are saved as rows of ``measurements.csv`` plus a JSON log.

torch and transformers are imported only when calibrating; bitsandbytes only for nf4/int8.
"""

from __future__ import annotations

import datetime as _dt
import gc
import math
import time
import traceback
from dataclasses import asdict

from ecolint.measure.calibration_file import COMPILED, ConfigResult
from ecolint.measure.calibration_plan import Plan, Protocol
from ecolint.measure.calibration_results import Calibration, calibration_rows, describe_result
from ecolint.measure.meter import Meter
from ecolint.measure.nvml import Nvml
from ecolint.measure.random_model import (
    CalibrationError,
    available_architectures,
    build_model,
    compile_for_generation,
    int8_outlier_layers,
    load_architecture,
    require_module,
    reset_compiled,
)
from ecolint.measure.report import software_versions
from ecolint.progress import format_duration, time_left

# The names the command line and the tests reach through this module.
__all__ = [
    "Calibration",
    "CalibrationError",
    "Plan",
    "Protocol",
    "available_architectures",
    "build_model",
    "calibration_rows",
    "compile_for_generation",
    "load_architecture",
    "measure_config",
    "run_calibration",
]


def run_calibration(
    plan: Plan,
    protocol: Protocol,
    *,
    device_ordinal: int = 0,
    emit=print,
    on_result=None,
    config_overrides: dict | None = None,
    nvml_module=None,
    device: str | None = None,
) -> Calibration:
    """Measure every configuration of ``plan``. ``on_result(calibration)`` runs after each one.

    ``device`` (default ``cuda:<device_ordinal>``) exists for tests on the CPU.
    """
    if plan.compiled and protocol.warmup < 1:
        raise CalibrationError(
            "--compile needs --warmup 1 or more: compilation must happen before the measured runs"
        )
    torch = require_module("torch")
    require_module("transformers")
    if device is None and not torch.cuda.is_available():
        raise CalibrationError("calibrate needs a CUDA GPU visible to torch")
    archs = [load_architecture(name) for name in plan.architectures]
    nvml = Nvml(nvml_module)
    try:
        gpus = nvml.visible_gpus(only=[device_ordinal])
        device = device or f"cuda:{device_ordinal}"
        info = nvml.describe(gpus[0])
        calibration = Calibration(
            started_at=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            gpu=info,
            driver=nvml.driver_version(),
            software=dict(software_versions(), cuda=torch.version.cuda),
            protocol=asdict(protocol),
        )
        emit(
            f"calibrate on GPU {device_ordinal}: {info['name']} ({info['architecture']}), driver {calibration.driver}, "
            f"power limit {info['power_limit_w']} W, {info['temperature_c']} C"
        )
        emit("software: " + ", ".join(f"{k}={v}" for k, v in calibration.software.items()))
        started = time.monotonic()
        total = len(archs) * len(plan.batch_sizes) * sum(len(cases) for _, cases in plan.builds())
        position = 0
        with Meter(nvml, gpus, interval=protocol.interval) as meter:
            for arch in archs:
                for precision, cases in plan.builds():
                    if _out_of_time(protocol, started):
                        for label, _ in cases:
                            for batch in plan.batch_sizes:
                                calibration.skipped.append(
                                    f"{arch['name']} {label} bs={batch}: time budget spent"
                                )
                        position += len(cases) * len(plan.batch_sizes)
                        continue
                    compiled = any(label == COMPILED for label, _ in cases)
                    built = time.monotonic()
                    model = build_model(arch, precision, protocol, device, config_overrides)
                    _sync(device)
                    build_s = time.monotonic() - built
                    emit(
                        f"[{time.monotonic() - started:7.1f} s] built {arch['name']} {precision} in {build_s:.1f} s"
                    )
                    try:
                        how = None
                        if compiled:
                            try:
                                how = compile_for_generation(model)
                            except Exception as error:  # an old torch or transformers: record, go on
                                for batch in plan.batch_sizes:
                                    _compile_failed(calibration, arch, COMPILED, batch, error, emit)
                                position += len(cases) * len(plan.batch_sizes)
                                if on_result is not None:
                                    on_result(calibration)
                                continue
                            emit(f"           {arch['name']} {COMPILED}: {how}")
                        for batch in plan.batch_sizes:
                            for label, use_cache in cases:
                                position += 1
                                if _out_of_time(protocol, started):
                                    calibration.skipped.append(
                                        f"{arch['name']} {label} bs={batch}: time budget spent"
                                    )
                                    continue
                                emit(_now_running(position, total, f"{arch['name']} {label} bs={batch}",
                                                  time.monotonic() - started, protocol))
                                try:
                                    result = measure_config(
                                        model,
                                        arch,
                                        label,
                                        batch,
                                        use_cache,
                                        protocol,
                                        meter,
                                        device,
                                        emit,
                                    )
                                except Exception as error:
                                    if label != COMPILED:
                                        raise
                                    # torch.compile failing on this model, torch or transformers is
                                    # a result too: it is logged, and the eager rows stay valid
                                    _compile_failed(calibration, arch, label, batch, error, emit)
                                    if on_result is not None:
                                        on_result(calibration)
                                    continue
                                if how:
                                    result.notes.insert(0, how)
                                calibration.results.append(result)
                                emit(
                                    f"[{time.monotonic() - started:7.1f} s] "
                                    + describe_result(result)
                                )
                                if on_result is not None:
                                    on_result(calibration)
                    finally:
                        del model
                        gc.collect()
                        if compiled:
                            reset_compiled(torch)
                        if device.startswith("cuda"):
                            torch.cuda.empty_cache()
        return calibration
    finally:
        nvml.close()


def _now_running(position: int, total: int, name: str, elapsed: float, protocol: Protocol) -> str:
    """``[  12.3 s] 3/20 mistral-7b nf4 bs=8: measuring, about 4 min 10 s left``."""
    left = time_left(position - 1, total, elapsed)
    if left is not None and protocol.time_budget_s is not None:
        left = min(left, max(0.0, protocol.time_budget_s - elapsed))
    estimate = f", about {format_duration(left)} left" if left is not None else ""
    return f"[{elapsed:7.1f} s] {position}/{total} {name}: measuring{estimate}"


def _out_of_time(protocol: Protocol, started: float) -> bool:
    return (
        protocol.time_budget_s is not None
        and time.monotonic() - started > protocol.time_budget_s
    )


def _compile_failed(calibration, arch, label, batch, error, emit) -> None:
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    calibration.skipped.append(f"{arch['name']} {label} bs={batch}: torch.compile failed ({message})")
    calibration.log.append(
        {
            "config": f"{arch['name']} {label} bs={batch}",
            "error": message,
            "traceback": traceback.format_exc(),
        }
    )
    emit(f"           {arch['name']} {label} bs={batch}: torch.compile failed: {message}")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        require_module("torch").cuda.synchronize(device)


def measure_config(
    model, arch, label, batch, use_cache, protocol: Protocol, meter: Meter, device, emit
) -> ConfigResult:
    torch = require_module("torch")
    generator = torch.Generator().manual_seed(protocol.seed + 1000 + batch)
    vocab = model.config.vocab_size
    input_ids = torch.randint(3, vocab, (batch, protocol.input_tokens), generator=generator).to(
        device
    )
    attention_mask = torch.ones_like(input_ids)
    settings = dict(
        input_ids=input_ids,
        attention_mask=attention_mask,
        max_new_tokens=protocol.new_tokens,
        min_new_tokens=protocol.new_tokens,
        do_sample=False,
        use_cache=use_cache,
        pad_token_id=0,
    )

    def generate():
        with torch.inference_mode():
            return model.generate(**settings)

    result = ConfigResult(
        architecture=arch["name"],
        model_id=arch["model_id"],
        params_b=float(arch["params_b"]),
        precision=label,
        batch_size=batch,
        input_tokens=protocol.input_tokens,
        output_tokens=protocol.new_tokens,
    )
    on_gpu = device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(protocol.warmup):
        begun = time.monotonic()
        generate()
        _sync(device)
        result.warmup_s.append(time.monotonic() - begun)
    if label == COMPILED and result.warmup_s:
        calls = ", ".join(f"{seconds:.1f}" for seconds in result.warmup_s)
        result.notes.append(
            f"compile_s={sum(result.warmup_s):.1f} (warm-up calls, compilation included, not measured: {calls} s)"
        )
        emit(f"           {arch['name']} {label} bs={batch}: warm-up with compilation {calls} s")
    if protocol.min_run_s > 0:
        begun = time.monotonic()
        generate()
        _sync(device)
        probe = time.monotonic() - begun
        result.calls_per_run = max(1, math.ceil(protocol.min_run_s / max(probe, 1e-3)))
        emit(
            f"           {arch['name']} {label} bs={batch}: one call {probe:.2f} s, "
            f"{result.calls_per_run} per measured run"
        )
    taken, total = int8_outlier_layers(model)
    if total:
        result.notes.append(f"int8 outlier path taken in {taken}/{total} layers (last forward)")
    time.sleep(protocol.pause_s)
    idle = meter.measure_idle(protocol.idle_seconds)
    result.idle_w = idle[0]
    for number in range(protocol.runs):
        _sync(device)
        start = meter.mark()
        for _ in range(result.calls_per_run):
            output = generate()
        _sync(device)
        window = meter.end(start, idle)
        new = int(output.shape[1]) - protocol.input_tokens
        if new != protocol.new_tokens:
            result.notes.append(
                f"run {number + 1} generated {new} tokens per sequence, not {protocol.new_tokens}"
            )
        window.tokens = batch * new * result.calls_per_run
        run = window.as_dict()
        run["calls"] = result.calls_per_run
        run["temperature_c"] = meter.nvml.temperature_c(meter.gpus[0])
        result.runs.append(run)
        for warning in window.warnings:
            if warning.startswith("window of"):
                warning = "a measured run was shorter than 1 s: too short for NVML's counters to be reliable"
            if warning not in result.notes:
                result.notes.append(warning)
        if number + 1 < protocol.runs:
            time.sleep(protocol.pause_s)
    if on_gpu:
        result.peak_memory_gb = torch.cuda.max_memory_allocated(device) / 1e9
    del output
    return result
