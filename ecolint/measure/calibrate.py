"""``ecolint calibrate``: measure LLM inference energy on this GPU without downloading weights.

Models are built from the configurations of real architectures (shipped as JSON in
``ecolint/measure/architectures/``) with random weights: energy per token depends on tensor
shapes and kernels, not on trained values. Two changes make the random model behave like a
trained one where it matters for energy:

* the inputs of the linear layers carry a few large channels, as in trained LLMs (see
  :func:`add_outlier_channels`); LLM.int8() (``int8_default``, threshold 6.0) therefore really
  takes its mixed-precision outlier path;
* generation runs a fixed number of new tokens (``min_new_tokens = max_new_tokens``; no early
  end of sequence), greedy.

Quantization uses bitsandbytes directly, with the settings ``transformers`` uses for
``BitsAndBytesConfig``: ``nf4`` = ``Linear4bit(quant_type="nf4", compute_dtype=float16)``,
no double quantization; ``int8_default`` = ``Linear8bitLt(threshold=6.0)``; ``int8_pure`` =
``Linear8bitLt(threshold=0.0)``; ``lm_head`` stays in fp16, as transformers leaves it.

``fp16_compiled`` (``--compile``) is the fp16 model with a static KV cache and its decoding step
compiled by ``torch.compile(mode="reduce-overhead", fullgraph=True)`` (see
:func:`compile_for_generation`); compilation happens in the unmeasured warm-up.

torch and transformers are imported only when calibrating; bitsandbytes only for nf4/int8.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import math
import time
import traceback
from dataclasses import asdict, dataclass, field
from importlib import resources

from ecolint.measure.calibration_file import (
    COMPILED,
    NO_KV_CACHE,
    PRECISIONS,
    ConfigResult,
    gpu_key,
    make_rows,
    write_rows,
)
from ecolint.measure.meter import Meter
from ecolint.measure.nvml import Nvml
from ecolint.measure.report import software_versions

QUANTIZED = ("nf4", "int8_default", "int8_pure")
INT8_THRESHOLD = {"int8_default": 6.0, "int8_pure": 0.0}


class CalibrationError(RuntimeError):
    """Calibration cannot run (missing package, unknown architecture ...). One-line message."""


@dataclass
class Protocol:
    input_tokens: int = 64
    new_tokens: int = 64
    warmup: int = 1
    runs: int = 3
    pause_s: float = 2.0  # thermal pause between runs (and before the idle measurement)
    idle_seconds: float = 3.0
    interval: float = 0.1
    seed: int = 0
    outlier_channels: int = 6
    outlier_scale: float = 20.0
    time_budget_s: float | None = (
        None  # skip the configurations left once this much time has passed
    )
    # > 0: after the warm-up, one more unmeasured call is timed, and each measured run repeats
    # generate ceil(min_run_s / that time) times in one window (for fast configurations)
    min_run_s: float = 0.0

    def note(self) -> str:
        repeat = (
            f", each run repeats generate to last at least {self.min_run_s:g} s"
            if self.min_run_s > 0
            else ""
        )
        return (
            f"protocol: input {self.input_tokens} random tokens, {self.new_tokens} new tokens greedy (fixed length), "
            f"warm-up {self.warmup}, {self.runs} measured runs{repeat}, pause {self.pause_s:g} s, idle measured "
            f"{self.idle_seconds:g} s per config; outliers {self.outlier_channels} channels x{self.outlier_scale:g}; "
            f"energy = NVML total-energy counter (gross)"
        )


# -- architectures -----------------------------------------------------------------------------


def available_architectures() -> list[str]:
    folder = resources.files("ecolint.measure").joinpath("architectures")
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_architecture(name: str) -> dict:
    key = name.strip().lower()
    folder = resources.files("ecolint.measure").joinpath("architectures")
    path = folder.joinpath(f"{key}.json")
    if not path.is_file():
        raise CalibrationError(
            f"unknown architecture {name!r}; known: {', '.join(available_architectures())}"
        )
    return json.loads(path.read_text(encoding="utf-8"))


# -- model building ----------------------------------------------------------------------------


def _import(name: str):
    try:
        return __import__(name)
    except ImportError as error:
        raise CalibrationError(f"calibrate needs {name} ({error})") from None


def build_model(
    arch: dict,
    precision: str,
    protocol: Protocol,
    device: str,
    config_overrides: dict | None = None,
):
    """A causal LM with ``arch``'s shapes, random weights and outlier channels, in ``precision``."""
    torch = _import("torch")
    transformers = _import("transformers")
    settings = dict(arch["config"])
    settings.update(config_overrides or {})
    model_type = settings.pop("model_type")
    settings.pop("architectures", None)
    settings.pop("torch_dtype", None)
    config = transformers.AutoConfig.for_model(model_type, **settings)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}.get(precision, torch.float16)
    torch.manual_seed(protocol.seed)
    with torch.device(device):
        try:
            model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
        except TypeError:  # transformers < 4.56 names it torch_dtype
            model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=dtype)
    model = model.to(device=device, dtype=dtype)
    model.requires_grad_(False)
    add_outlier_channels(model, protocol)
    if precision in QUANTIZED:
        quantize(model, precision, device)
    model.eval()  # after quantize: new layers start in training mode, and bitsandbytes acts on it
    return model


def compile_for_generation(model) -> str:
    """Give ``model`` a static KV cache and a ``torch.compile``d decoding step; returns how.

    transformers versions whose ``generate`` compiles by itself (those with ``CompileConfig``,
    5.x among them) get ``generation_config.cache_implementation = "static"`` and
    ``generation_config.compile_config = CompileConfig(fullgraph=True, mode="reduce-overhead",
    dynamic=False)``: ``generate`` then runs the prefill eagerly and every decoding step through
    the compiled model. Older versions get the recipe of their documentation, the static cache
    and ``model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)``.
    Nothing is compiled here: compilation happens on the first ``generate`` call.
    """
    torch = _import("torch")
    transformers = _import("transformers")
    model.generation_config.cache_implementation = "static"
    compile_config = getattr(transformers, "CompileConfig", None)
    if compile_config is not None and hasattr(model, "get_compiled_call"):
        model.generation_config.compile_config = compile_config(
            fullgraph=True, mode="reduce-overhead", dynamic=False
        )
        return (
            "static KV cache; generate compiles the decoding step itself "
            "(CompileConfig(fullgraph=True, mode='reduce-overhead', dynamic=False))"
        )
    model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)
    return "static KV cache; model.forward = torch.compile(model.forward, mode='reduce-overhead', fullgraph=True)"


def _reset_compiled(torch) -> None:
    """Drop compiled graphs and CUDA graph pools, so the next model starts clean."""
    dynamo = getattr(torch, "_dynamo", None)
    if dynamo is not None and hasattr(dynamo, "reset"):
        dynamo.reset()


def _decoder_layers(model):
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if layers is None:
        raise CalibrationError(
            f"{type(model).__name__}: no model.layers (only Llama-like decoders are supported)"
        )
    return layers


def add_outlier_channels(model, protocol: Protocol) -> None:
    """Give the linear layers' inputs a few large channels, as trained LLMs have them.

    ``outlier_channels`` hidden channels get RMSNorm gain ``outlier_scale`` before attention and
    before the MLP, and as many intermediate channels get up-projection rows scaled by
    ``outlier_scale``; the weight columns that read those channels are divided by the same
    factor. The model computes the same function as before, but the inputs of q/k/v, gate/up
    and down projections carry large channels, which LLM.int8() (threshold 6.0) handles on its
    mixed-precision outlier path, as it does in trained models.
    """
    torch = _import("torch")
    if protocol.outlier_channels <= 0 or protocol.outlier_scale == 1.0:
        return
    scale = protocol.outlier_scale
    config = model.config
    generator = torch.Generator().manual_seed(protocol.seed + 1)
    hidden = torch.randperm(config.hidden_size, generator=generator)[: protocol.outlier_channels]
    inner = torch.randperm(config.intermediate_size, generator=generator)[
        : protocol.outlier_channels
    ]
    with torch.no_grad():
        for layer in _decoder_layers(model):
            attention, mlp = layer.self_attn, layer.mlp
            groups = (
                (layer.input_layernorm, (attention.q_proj, attention.k_proj, attention.v_proj)),
                (layer.post_attention_layernorm, (mlp.gate_proj, mlp.up_proj)),
            )
            for norm, readers in groups:
                channels = hidden.to(norm.weight.device)
                norm.weight[channels] *= scale
                for linear in readers:
                    linear.weight[:, channels] /= scale
            channels = inner.to(mlp.up_proj.weight.device)
            mlp.up_proj.weight[channels] *= scale
            if mlp.up_proj.bias is not None:
                mlp.up_proj.bias[channels] *= scale
            mlp.down_proj.weight[:, channels] /= scale


def quantize(model, precision: str, device: str) -> int:
    """Replace the decoder's nn.Linear layers with bitsandbytes layers; returns how many."""
    torch = _import("torch")
    try:
        import bitsandbytes as bnb
    except ImportError as error:
        raise CalibrationError(f"{precision} needs bitsandbytes ({error})") from None
    count = 0
    for parent in list(_decoder_layers(model).modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) is not torch.nn.Linear:
                continue
            has_bias = child.bias is not None
            weight = child.weight.data.to(device=device, dtype=torch.float16)
            if precision == "nf4":
                layer = bnb.nn.Linear4bit(
                    child.in_features,
                    child.out_features,
                    bias=has_bias,
                    compute_dtype=torch.float16,
                    compress_statistics=False,
                    quant_type="nf4",
                    device="meta",
                )
                layer.weight = bnb.nn.Params4bit(
                    weight,
                    requires_grad=False,
                    compress_statistics=False,
                    quant_type="nf4",
                    module=layer,
                ).to(device)
            else:
                layer = bnb.nn.Linear8bitLt(
                    child.in_features,
                    child.out_features,
                    bias=has_bias,
                    has_fp16_weights=False,
                    threshold=INT8_THRESHOLD[precision],
                    device="meta",
                )
                param = bnb.nn.Int8Params(weight, requires_grad=False, has_fp16_weights=False)
                layer.weight = (
                    param._quantize(device)
                    if hasattr(param, "_quantize")
                    else param.cpu().to(device)
                )
            if has_bias:
                layer.bias = torch.nn.Parameter(
                    child.bias.data.to(device=device, dtype=torch.float16), requires_grad=False
                )
            setattr(parent, child_name, layer)
            del child, weight
            count += 1
    return count


def int8_outlier_layers(model) -> tuple[int, int]:
    """(LLM.int8() layers whose last forward took the outlier path, LLM.int8() layers with a threshold)."""
    taken = total = 0
    for module in model.modules():
        state = getattr(module, "state", None)
        if type(module).__name__ != "Linear8bitLt" or not getattr(state, "threshold", 0.0) > 0.0:
            continue
        total += 1
        idx = getattr(state, "idx", None)
        if idx is not None and getattr(idx, "numel", lambda: 0)() > 0:
            taken += 1
    return taken, total


# -- the protocol ------------------------------------------------------------------------------


@dataclass
class Plan:
    """What to measure."""

    architectures: list
    precisions: list
    batch_sizes: list
    kv_cache_off: bool = True
    fp32: bool = True
    compiled: bool = False

    def builds(self) -> list[tuple[str, list[tuple[str, bool]]]]:
        """(precision to build, [(row precision, use_cache) ...]) in run order.

        ``fp16_compiled`` gets a model of its own (built in fp16, then compiled), measured right
        after the eager fp16 one, so that compilation never touches the other rows.
        """
        # fp16 first (the reference of every delta), then fp32, then the rest: if a time budget
        # cuts the run short, the configurations the shipped data lacks are already measured.
        order = [p for p in ("fp16", "fp32") if p in self.precisions]
        if self.fp32 and "fp32" not in order:
            order.append("fp32")
        if (self.kv_cache_off or self.compiled) and "fp16" not in order:
            order.insert(0, "fp16")
        order += [p for p in PRECISIONS if p in self.precisions and p not in order]
        steps = []
        for precision in order:
            cases = []
            if precision in self.precisions or precision == "fp32":
                cases.append((precision, True))
            if precision == "fp16" and self.kv_cache_off:
                cases.append((NO_KV_CACHE, False))
            if cases:
                steps.append((precision, cases))
            if precision == "fp16" and self.compiled:
                steps.append(("fp16", [(COMPILED, True)]))
        return steps


@dataclass
class Calibration:
    started_at: str
    gpu: dict
    driver: str | None
    software: dict
    protocol: dict
    results: list = field(default_factory=list)  # ConfigResult
    skipped: list = field(default_factory=list)
    log: list = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["results"] = [r.as_dict() for r in self.results]
        return data


def software_text(versions: dict, driver: str | None, cuda: str | None) -> str:
    parts = []
    for name in ("torch",):
        if versions.get(name):
            parts.append(f"{name}={versions[name]}")
    if cuda:
        parts.append(f"cuda={cuda}")
    for name in ("transformers", "bitsandbytes"):
        if versions.get(name):
            parts.append(f"{name}={versions[name]}")
    if driver:
        parts.append(f"driver={driver}")
    return "; ".join(parts)


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
    torch = _import("torch")
    _import("transformers")
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
        with Meter(nvml, gpus, interval=protocol.interval) as meter:
            for arch in archs:
                for precision, cases in plan.builds():
                    if _out_of_time(protocol, started):
                        for label, _ in cases:
                            for batch in plan.batch_sizes:
                                calibration.skipped.append(
                                    f"{arch['name']} {label} bs={batch}: time budget spent"
                                )
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
                                if on_result is not None:
                                    on_result(calibration)
                                continue
                            emit(f"           {arch['name']} {COMPILED}: {how}")
                        for batch in plan.batch_sizes:
                            for label, use_cache in cases:
                                if _out_of_time(protocol, started):
                                    calibration.skipped.append(
                                        f"{arch['name']} {label} bs={batch}: time budget spent"
                                    )
                                    continue
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
                            _reset_compiled(torch)
                        if device.startswith("cuda"):
                            torch.cuda.empty_cache()
        return calibration
    finally:
        nvml.close()


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
        _import("torch").cuda.synchronize(device)


def measure_config(
    model, arch, label, batch, use_cache, protocol: Protocol, meter: Meter, device, emit
) -> ConfigResult:
    torch = _import("torch")
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


def describe_result(result: ConfigResult) -> str:
    energy = result.energy_per_1k()
    net = result.net_energy_per_1k()
    throughput = result.throughput()
    power = result.power()
    parts = [f"{result.architecture:<15} {result.precision:<17} bs={result.batch_size:<3}"]
    if energy is not None:
        cv = f" cv {energy.cv_pct:.1f}%" if energy.cv_pct is not None else ""
        parts.append(f"{energy.mean:9.1f} J/1k{cv}")
    if net is not None:
        parts.append(f"net {net.mean:8.1f} J/1k")
    if throughput is not None:
        parts.append(f"{throughput.mean:8.1f} tok/s")
    if power is not None:
        parts.append(f"{power.mean:6.1f} W")
    if result.idle_w is not None:
        parts.append(f"idle {result.idle_w:5.1f} W")
    return "  ".join(parts)


def calibration_rows(
    calibration: Calibration,
    *,
    source_file: str,
    experiment: str,
    row_prefix: str,
    protocol: Protocol,
    first_number: int = 1,
):
    gpu = calibration.gpu
    software = software_text(
        calibration.software, calibration.driver, calibration.software.get("cuda")
    )
    return make_rows(
        calibration.results,
        gpu=gpu_key(gpu["name"]),
        gpu_architecture=gpu["architecture"],
        gpu_name=gpu["name"],
        software=software,
        date=calibration.started_at[:10],
        source_file=source_file,
        experiment=experiment,
        protocol_note=protocol.note(),
        row_prefix=row_prefix,
        first_number=first_number,
    )


def save(
    calibration: Calibration,
    csv_path,
    log_path,
    *,
    source_file,
    experiment,
    row_prefix,
    protocol,
    first_number: int = 1,
) -> list[dict]:
    rows = calibration_rows(
        calibration,
        source_file=source_file,
        experiment=experiment,
        row_prefix=row_prefix,
        protocol=protocol,
        first_number=first_number,
    )
    write_rows(rows, csv_path)
    if log_path:
        with open(log_path, "w", encoding="utf-8") as handle:
            json.dump(calibration.as_dict(), handle, indent=1, default=str)
            handle.write("\n")
    return rows
