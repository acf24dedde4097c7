"""Check and resolve the advisor commands' inputs.

Errors (``InputError``) say what is wrong, the valid values and, where one is close, what was
probably meant. Suboptimal but valid choices become warnings that the report prints.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ecolint.advisor import evidence
from ecolint.energy.architectures import (
    Architecture,
    architecture_from_checkpoint,
    estimated_architecture,
    find_architecture,
)
from ecolint.energy.calibration import CalibrationError, load_calibration
from ecolint.energy.curation import measured_gpus
from ecolint.energy.dataset import GPU_ALIASES, GpuSpec, Measurement, UnknownGpuError, gpus, resolve_gpu
from ecolint.energy.model_size import ConfigError, ModelSize, format_params, resolve_model_size, size_from_checkpoint
from ecolint.energy.regions import CLOUD_PUE, CLOUD_PUE_SOURCE, Region, regions

QUANTIZATIONS = ("fp16", "bf16", "fp32", "nf4", "int8_default", "int8_pure")
PRECISIONS = ("fp32", "bf16", "fp16", "tf32")
USE_CASES = ("api", "chat", "batch")
DEFAULT_GPU = "rtx4090d"
DEFAULT_REGION = "us"
DEFAULT_REQUESTS_PER_MONTH = 1_000_000
BATCH_RANGE = (1, 64)
SEQUENCE_RANGE = (128, 4096)
GENERATION_RANGE = (1, 2048)
DAYS_PER_MONTH = 30.4  # 365 / 12
# Ranges of the numeric options: wide enough for any real tariff, grid or facility, narrow enough to
# refuse typing slips and non-numbers (nan, inf, 1e308).
PRICE_RANGE = (0.0, 10.0)  # $/kWh
GRID_RANGE = (0.0, 2000.0)  # gCO2/kWh: the dirtiest grids are near 1,000
PUE_RANGE = (1.0, 3.0)
REQUESTS_MAX = 1e12  # per month
SMALL_MODEL_B = 3.0  # NF4 is measured to cost energy at or below this size

QUANTIZATION_ALIASES = {
    "int4": "nf4",
    "4bit": "nf4",
    "4-bit": "nf4",
    "q4": "nf4",
    "fp4": "nf4",
    "bnb4": "nf4",
    "load_in_4bit": "nf4",
    "int8": "int8_pure",
    "8bit": "int8_pure",
    "8-bit": "int8_pure",
    "q8": "int8_pure",
    "llm.int8": "int8_default",
    "load_in_8bit": "int8_default",
    "int8-default": "int8_default",
    "int8-pure": "int8_pure",
    "half": "fp16",
    "float16": "fp16",
    "float": "fp32",
    "float32": "fp32",
    "bfloat16": "bf16",
    "full": "fp32",
}
PRECISION_ALIASES = {
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "float32": "fp32",
    "float": "fp32",
}
REGION_ALIASES = {
    "usa": "us",
    "united states": "us",
    "america": "us",
    "china": "cn",
    "prc": "cn",
    "europe": "eu",
    "france": "fr",
    "norway": "no",
    "india": "in",
}
QUANTIZATION_LABELS = {
    "fp16": "FP16",
    "bf16": "BF16",
    "fp32": "FP32",
    "nf4": "NF4 (bitsandbytes 4-bit)",
    "int8_default": "INT8 default (bitsandbytes LLM.int8(), threshold 6.0)",
    "int8_pure": "INT8 pure (bitsandbytes, llm_int8_threshold=0.0)",
}
SHORT_LABELS = {
    "fp16": "FP16",
    "bf16": "BF16",
    "fp32": "FP32",
    "nf4": "NF4",
    "int8_default": "INT8 default",
    "int8_pure": "INT8 pure",
}


class InputError(ValueError):
    """An invalid input: the message names the problem, the valid values and a likely fix."""


@dataclass(frozen=True)
class Warning_:
    code: str
    message: str

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass
class ModelChoice:
    text: str
    size: ModelSize
    arch: Architecture
    shape_source: str  # "table", "config.json" or "estimated"

    @property
    def label(self) -> str:
        return self.text

    @property
    def params_b(self) -> float:
        """All parameters: what the weights occupy in memory."""
        return self.size.params_b

    @property
    def compute_params_b(self) -> float:
        """Parameters one token runs through (the active ones of a mixture of experts)."""
        return self.arch.active_params_b if self.arch.is_moe else self.size.compute_params_b

    @property
    def is_moe(self) -> bool:
        return self.size.is_moe or self.arch.is_moe

    def size_text(self) -> str:
        """``7B``, or ``46.7B total, 12.9B active (mixture of experts)``."""
        if not self.is_moe:
            return format_params(self.params_b)
        active = format_params(self.compute_params_b)
        return f"{format_params(self.params_b)} total, {active} active (mixture of experts)"


@dataclass
class Inputs:
    """Validated inputs shared by the four commands."""

    model: ModelChoice
    gpu: GpuSpec
    gpu_defaulted: bool
    quantization: str
    precision: str
    precision_defaulted: bool
    batch_size: int
    sequence_length: int
    generation_length: int
    requests_per_month: float
    requests_text: str
    requests_defaulted: bool
    region: Region
    price: float | None
    price_source: str
    grid: float
    grid_source: str
    pue: float
    pue_source: str
    use_case: str | None = None
    calibration_path: str | None = None
    calibration: list[Measurement] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def warn(self, code: str, message: str) -> None:
        if all(w.code != code or w.message != message for w in self.warnings):
            self.warnings.append(Warning_(code, message))

    def to_dict(self) -> dict:
        return {
            "model": self.model.text,
            "params_b": self.model.params_b,
            "active_params_b": self.model.compute_params_b if self.model.is_moe else None,
            "mixture_of_experts": self.model.is_moe,
            "params_source": self.model.size.detail,
            "model_shape": self.model.arch.key if not self.model.arch.estimated else None,
            "model_shape_source": self.model.arch.source,
            "gpu": self.gpu.key,
            "gpu_name": self.gpu.name,
            "gpu_defaulted": self.gpu_defaulted,
            "quantization": self.quantization,
            "precision": self.precision,
            "batch_size": self.batch_size,
            "sequence_length": self.sequence_length,
            "generation_length": self.generation_length,
            "requests_per_month": self.requests_per_month,
            "requests_defaulted": self.requests_defaulted,
            "region": self.region.code,
            "usd_per_kwh": self.price,
            "price_source": self.price_source,
            "gco2_per_kwh": self.grid,
            "grid_source": self.grid_source,
            "pue": self.pue,
            "pue_source": self.pue_source,
            "use_case": self.use_case,
            "calibration": self.calibration_path,
        }


def _did_you_mean(value: str, choices, aliases: dict[str, str] | None = None) -> str:
    key = value.strip().lower()
    if aliases and key in aliases:
        return f" Did you mean {aliases[key]!r}?"
    close = difflib.get_close_matches(key, list(choices) + list(aliases or {}), n=1, cutoff=0.6)
    if close:
        target = (aliases or {}).get(close[0], close[0])
        return f" Did you mean {target!r}?"
    return ""


def parse_quantization(value: str | None) -> tuple[str, bool]:
    if value is None:
        return "fp16", True
    key = value.strip().lower()
    if key in QUANTIZATIONS:
        return key, False
    hint = _did_you_mean(key, QUANTIZATIONS, QUANTIZATION_ALIASES)
    extra = ""
    if key in ("int8", "8bit", "8-bit", "q8"):
        extra = " (int8_pure sets llm_int8_threshold=0.0; int8_default is plain load_in_8bit=True)"
    raise InputError(f"--quantization {value!r} is not supported.{hint}{extra} Valid: {', '.join(QUANTIZATIONS)}.")


def parse_precision(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip().lower()
    if key in PRECISIONS:
        return key
    if key in PRECISION_ALIASES:
        return PRECISION_ALIASES[key]
    if key in ("int8", "int4", "nf4", "int8_pure", "int8_default", "8bit", "4bit"):
        target = "nf4" if key in ("int4", "nf4", "4bit") else ("int8_default" if key == "int8_default" else "int8_pure")
        raise InputError(
            f"--precision {value!r} is a quantization method, not a compute precision. "
            f"Did you mean --quantization {target}? Valid precisions: {', '.join(PRECISIONS)}."
        )
    raise InputError(
        f"--precision {value!r} is not supported.{_did_you_mean(key, PRECISIONS)} Valid: {', '.join(PRECISIONS)}."
    )


def parse_gpu(value: str | None) -> tuple[GpuSpec, bool]:
    if value is None or not value.strip():
        return gpus()[DEFAULT_GPU], True
    try:
        return resolve_gpu(value), False
    except UnknownGpuError as error:
        text = str(error)
        raise InputError(
            f"--gpu: {text[0].upper()}{text[1:]}. Aliases {', '.join(GPU_ALIASES)} are accepted; "
            f"for other GPUs measure your own setup and pass it with --calibration."
        ) from None


def parse_model(value: str | None, base_dir: Path | None = None) -> ModelChoice:
    if value is None or not value.strip():
        raise InputError(
            "--model is required: give a Hugging Face id (mistralai/Mistral-7B-Instruct-v0.2), "
            "a name with its size (Mistral-7B) or a size (7B)."
        )
    text = value.strip()
    if re.match(r"[-−]\s*\d", text) or re.match(r"0+(?:\.0+)?\s*[bm]$", text, re.IGNORECASE):
        raise InputError(f"--model {value!r}: the size must be positive (for example 7B).")
    base = base_dir or Path.cwd()
    local = Path(text) if Path(text).is_absolute() else base / text
    arch = None
    shape_source = "estimated"
    try:
        if local.is_dir():
            arch = architecture_from_checkpoint(local)
            shape_source = "config.json" if arch else shape_source
            size_from_checkpoint(local)  # a malformed config.json is an error, not a silent fallback
    except OSError:
        arch = None
    except ConfigError as error:
        raise InputError(f"--model {value!r}: {error}") from None
    size = resolve_model_size(text, (base,))
    known = find_architecture(text)
    if arch is None and known is not None:
        arch, shape_source = known, "table"
    if size is None and arch is not None:
        size = ModelSize(arch.params_b, "config.json", arch.source)
    if size is None and arch is None and _names_experts(text):
        raise InputError(
            f"--model {value!r}: a mixture of experts whose total and active parameters are not in the table "
            f"of known models; 'NxMB' in an id is neither. Give a local checkpoint directory with its config.json."
        )
    if size is None:
        raise InputError(
            f"--model {value!r}: cannot tell its size. Give a Hugging Face id with the size in it "
            f"(Qwen/Qwen2-7B), a name with its size (Mistral-7B), a size (7B, 1.5B, 350M) or a local "
            f"checkpoint directory with a config.json."
        )
    if size.params_b <= 0:
        raise InputError(f"--model {value!r}: the size must be positive (for example 7B).")
    if arch is None and re.fullmatch(r"\d+(?:\.\d+)?\s*[bB]", text) and not size.is_moe:
        arch = measured_shape_of_size(size.params_b)
        shape_source = "measured size" if arch else shape_source
    if arch is None:
        arch = estimated_architecture(size.params_b, text, active_params_b=size.active_params_b)
    return ModelChoice(text, size, arch, shape_source)


@lru_cache(maxsize=None)
def measured_shape_of_size(params_b: float):
    """For a bare size (``7B``): the measured model of that nominal size with the most canonical rows.

    A size names no shape; the measured one answers from rows instead of a shape estimated from the
    parameter count (layers from a power law, KV cache the median of known shapes), whose error is the
    larger (docs/data.md, "Model shapes").
    """
    from collections import Counter

    from ecolint.energy.curation import canonical_rows

    counts: Counter = Counter()
    shapes = {}
    for row in canonical_rows():
        m = row.measurement
        arch = find_architecture(m.model_id)
        if arch is not None and m.params_b is not None and abs(m.params_b - params_b) < 1e-9:
            counts[arch.key] += 1
            shapes[arch.key] = arch
    if not counts:
        return None
    key = max(counts, key=lambda k: (counts[k], k))
    return shapes[key]


def small_for_nf4(inputs: Inputs, slack: float = 0.0) -> bool:
    """Whether NF4's small-model penalty applies: at most ``SMALL_MODEL_B`` (+ ``slack``) parameters per token.

    The penalty is about compute per token (dequantizing every weight used), so a mixture of experts
    is judged by its active parameters; but 4-bit is then only needless when all its weights fit the
    GPU in FP16, which follows the total.
    """
    model = inputs.model
    if model.compute_params_b > SMALL_MODEL_B + slack:
        return False
    if not model.is_moe:
        return True
    from ecolint.energy.memory_fit import fit
    from ecolint.energy.workload import Workload

    return fit(
        Workload(inputs.gpu, model.arch, "fp16", inputs.batch_size, inputs.sequence_length, inputs.generation_length)
    ).fits


def _names_experts(text: str) -> bool:
    """An id that says it is a mixture of experts (``8x7B``, ``MoE``)."""
    return bool(re.search(r"\d+x\d+(?:\.\d+)?[bm]\b|(?:^|[-_/ .])moe(?![a-z])", text, re.IGNORECASE))


def _int_in_range(name: str, value: int, bounds: tuple[int, int], typical: str) -> int:
    low, high = bounds
    if value < low:
        raise InputError(f"--{name}={value} is below the valid range [{low}, {high}]. Typical values: {typical}.")
    if value > high:
        raise InputError(f"--{name}={value} is above the valid range [{low}, {high}]. Typical values: {typical}.")
    return value


def parse_batch_size(value: int | None) -> int:
    if value is None:
        return 1
    if value < BATCH_RANGE[0]:
        raise InputError(f"--batch-size={value} must be at least 1 (valid range 1-64). Did you mean --batch-size 1?")
    if value > BATCH_RANGE[1]:
        raise InputError(
            f"--batch-size={value} exceeds 64, the largest batch in the measurements (valid range 1-64). "
            f"For larger batches use a continuous-batching server (vLLM, TGI, TensorRT-LLM) and measure it; "
            f"pass the results with --calibration."
        )
    return value


def parse_requests(value: str | None) -> tuple[float, str, bool]:
    """``1000000``, ``1M``, ``50k/day``, ``2.5M/month`` -> requests per month."""
    if value is None:
        return (
            float(DEFAULT_REQUESTS_PER_MONTH),
            f"{DEFAULT_REQUESTS_PER_MONTH:,}/month (assumed)",
            True,
        )
    text = value.strip().lower().replace(",", "").replace("_", "").replace(" ", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmb]?)(?:/?(?:per)?(day|d|month|mo|m))?", text)
    if not match:
        raise InputError(f"--requests {value!r} is not a request count. Examples: 1000000, 1M, 2.5M/month, 50k/day.")
    number, suffix, period = match.groups()
    count = float(number) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[suffix]
    if not 0 < count <= REQUESTS_MAX:
        raise InputError(
            f"--requests {value!r} must be from 1 to {REQUESTS_MAX:.0e} per month. Examples: 1000000, 1M, 50k/day."
        )
    per_day = period in ("day", "d")
    monthly = count * DAYS_PER_MONTH if per_day else count
    label = f"{count:,.0f}/day ({monthly:,.0f}/month)" if per_day else f"{monthly:,.0f}/month"
    return monthly, label, False


def parse_region(value: str | None) -> Region:
    known = regions()
    if value is None:
        return known[DEFAULT_REGION]
    key = value.strip().lower()
    key = REGION_ALIASES.get(key, key)
    if key in known:
        return known[key]
    raise InputError(
        f"--region {value!r} is not supported.{_did_you_mean(key, known, REGION_ALIASES)} "
        f"Valid: {', '.join(known)} (or give --price and --grid)."
    )


def parse_use_case(value: str | None, default: str | None) -> str | None:
    if value is None:
        return default
    key = value.strip().lower()
    if key in USE_CASES:
        return key
    aliases = {
        "server": "api",
        "production": "api",
        "interactive": "chat",
        "offline": "batch",
        "bulk": "batch",
    }
    raise InputError(
        f"--use-case {value!r} is not supported.{_did_you_mean(key, USE_CASES, aliases)} Valid: {', '.join(USE_CASES)}."
    )


def finite_in_range(name: str, value: float | None, bounds: tuple[float, float], unit: str = "") -> float | None:
    """``value`` when it is a finite number within ``bounds`` (inclusive); an InputError otherwise."""
    if value is None:
        return None
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"--{name}={value:g} must be a finite number from {low:g} to {high:g}{unit}.")
    return value


def _check_precision(inputs: Inputs, requested: str | None) -> None:
    q, gpu = inputs.quantization, inputs.gpu
    needs_ampere = {"bf16": "BF16", "tf32": "TF32"}
    sm = gpu.sm or 0
    for dtype in {q, inputs.precision}:
        if dtype in needs_ampere and sm < 80:
            valid = "fp16, fp32"
            raise InputError(
                f"{needs_ampere[dtype]} needs an Ampere or newer GPU (compute capability 8.0); {gpu.key} is "
                f"{gpu.architecture} ({sm / 10:.1f}). Valid precisions on {gpu.key}: {valid}."
            )
    if requested is None:
        return
    if q in ("fp16", "bf16", "fp32"):
        if requested == q or (q == "fp32" and requested == "tf32"):
            return
        inputs.warn(
            "precision-conflict",
            f"--precision {requested} with unquantized {q.upper()} weights: an unquantized model computes in "
            f"its weights' dtype, so {q.upper()} is used. "
            f"Pass --quantization {requested if requested != 'tf32' else 'fp32'} "
            f"to change both.",
        )
        inputs.precision = "fp32" if q == "fp32" and requested == "tf32" else q
    elif requested in ("fp32", "tf32"):
        inputs.warn(
            "precision-conflict",
            f"--precision {requested} with {q}: bitsandbytes layers were measured with FP16 compute; "
            f"{requested.upper()} compute was never measured and is estimated as FP16.",
        )


def validate(
    *,
    model: str | None,
    gpu: str | None = None,
    quantization: str | None = None,
    precision: str | None = None,
    batch_size: int | None = None,
    sequence_length: int | None = None,
    generation_length: int | None = None,
    requests: str | None = None,
    region: str | None = None,
    price: float | None = None,
    grid: float | None = None,
    pue: float | None = None,
    on_prem: bool = False,
    use_case: str | None = None,
    default_use_case: str | None = None,
    calibration: str | None = None,
    base_dir: Path | None = None,
) -> Inputs:
    """Validate every input, apply defaults, and collect warnings about valid but costly choices."""
    quant, _ = parse_quantization(quantization)
    requested_precision = parse_precision(precision)
    gpu_spec, gpu_defaulted = parse_gpu(gpu)
    choice = parse_model(model, base_dir)
    batch = parse_batch_size(batch_size)
    seq = _int_in_range(
        "sequence-length",
        512 if sequence_length is None else sequence_length,
        SEQUENCE_RANGE,
        "512 (chat), 1024 (documents), 2048 (long context)",
    )
    gen = _int_in_range(
        "generation-length",
        256 if generation_length is None else generation_length,
        GENERATION_RANGE,
        "128 (short answers), 256 (default), 512 (detailed answers)",
    )
    monthly, requests_text, requests_defaulted = parse_requests(requests)
    reg = parse_region(region)
    case = parse_use_case(use_case, default_use_case)
    finite_in_range("price", price, PRICE_RANGE, " $/kWh")
    finite_in_range("grid", grid, GRID_RANGE, " gCO2/kWh")
    finite_in_range("pue", pue, PUE_RANGE, " (1.0 = no facility overhead; typical cloud 1.1-1.6)")
    rows: list[Measurement] = []
    if calibration:
        try:
            rows = load_calibration(calibration)
        except CalibrationError as error:
            raise InputError(f"--calibration: {error}") from None

    if price is not None:
        price_value, price_source = price, "--price"
    elif reg.usd_per_kwh is not None:
        price_value, price_source = reg.usd_per_kwh, f"{reg.name}: {reg.price_source}"
    else:
        price_value, price_source = None, f"no price for {reg.name} in the data; pass --price"
    grid_value, grid_source = (
        (grid, "--grid") if grid is not None else (reg.gco2_per_kwh, f"{reg.name}: {reg.grid_source}")
    )
    if pue is not None:
        pue_value, pue_source = pue, "--pue"
    elif on_prem:
        pue_value, pue_source = 1.0, "on-premises default (--on-prem)"
    else:
        pue_value, pue_source = CLOUD_PUE, CLOUD_PUE_SOURCE

    default_precision = {"bf16": "bf16", "fp32": "fp32"}.get(quant, "fp16")
    inputs = Inputs(
        model=choice,
        gpu=gpu_spec,
        gpu_defaulted=gpu_defaulted,
        quantization=quant,
        precision=requested_precision or default_precision,
        precision_defaulted=requested_precision is None,
        batch_size=batch,
        sequence_length=seq,
        generation_length=gen,
        requests_per_month=monthly,
        requests_text=requests_text,
        requests_defaulted=requests_defaulted,
        region=reg,
        price=price_value,
        price_source=price_source,
        grid=grid_value,
        grid_source=grid_source,
        pue=pue_value,
        pue_source=pue_source,
        use_case=case,
        calibration_path=calibration,
        calibration=rows,
    )
    _check_precision(inputs, requested_precision)
    _collect_warnings(inputs)
    return inputs


def _collect_warnings(inputs: Inputs) -> None:
    from ecolint.energy.workload import Workload

    gpu, choice = inputs.gpu, inputs.model
    calibrated_gpus = {m.gpu for m in inputs.calibration}
    measured = measured_gpus()
    if gpu.key not in measured and gpu.key not in calibrated_gpus:
        inputs.warn(
            "extrapolated-gpu",
            f"{gpu.key} ({gpu.name}) has no measurements: its figures are extrapolated from the measured "
            f"GPUs ({', '.join(measured)}) by the decode model; "
            f"see the range given with each figure.",
        )
    if choice.is_moe:
        inputs.warn(
            "mixture-of-experts",
            f"{choice.text} is a mixture of experts: memory counts all {format_params(choice.params_b)} parameters, "
            f"compute and energy per token the {format_params(choice.compute_params_b)} active ones (and the "
            f"experts a batch's tokens route to). Every measured row is a dense model, so its energy, power and "
            f"throughput figures are extrapolated.",
        )
    if choice.shape_source == "estimated":
        inputs.warn(
            "extrapolated-model",
            f"{choice.text} ({choice.size_text()}, {choice.size.detail}) is not a model the data "
            f"knows: its shape is estimated from the parameter count and its figures are extrapolated.",
        )
    elif choice.arch.key not in _measured_shapes() | {
        find_architecture(m.model_id).key if find_architecture(m.model_id) else m.model_id for m in inputs.calibration
    }:
        inputs.warn(
            "extrapolated-model",
            f"{choice.text} was never measured: its shape comes from {choice.arch.source}, and its "
            f"figures are extrapolated from the measured models.",
        )
    b = inputs.batch_size
    if b & (b - 1):
        lower = 1 << (b.bit_length() - 1)
        inputs.warn(
            "batch-not-power-of-two",
            f"--batch-size={b} is not a power of two; all batch measurements use powers of two. "
            f"Consider {lower} or {lower * 2}.",
        )
    if inputs.sequence_length > 4 * inputs.generation_length:
        inputs.warn(
            "long-prompt",
            f"the prompt ({inputs.sequence_length} tokens) is much longer than the generation "
            f"({inputs.generation_length}): the prompt's prefill dominates energy per request; it comes from the "
            f"H200 scoring rows (see Limitations for its error).",
        )
    context = choice.arch.context
    total = inputs.sequence_length + inputs.generation_length
    if context and inputs.sequence_length > context:
        inputs.warn(
            "context-exceeded",
            f"--sequence-length={inputs.sequence_length} exceeds {choice.text}'s context window ({context} tokens).",
        )
    elif context and total > context:
        inputs.warn(
            "context-exceeded",
            f"prompt + generation ({total} tokens) exceeds {choice.text}'s context window ({context} tokens).",
        )
    workload = Workload(gpu, choice.arch, inputs.quantization, b, inputs.sequence_length, inputs.generation_length)
    from ecolint.energy.memory_fit import fit

    needed = fit(workload)
    if not needed.fits:
        inputs.warn(
            "vram-overflow",
            f"estimated memory {needed.needed_gb:.1f} GB (weights {needed.weights_gb:.1f} GB + KV cache "
            f"{needed.kv_gb:.1f} GB for {b} x {total} tokens) exceeds the {needed.usable_gb:.1f} GB usable on "
            f"{gpu.key} ({gpu.vram_gb:g} GB less runtime overhead). Reduce the batch size, quantize, or shorten "
            f"sequences.",
        )
    if inputs.quantization == "nf4" and small_for_nf4(inputs):
        ev = evidence.nf4_small_models()
        inputs.warn(
            "nf4-small-model",
            f"NF4 on a {choice.size_text()} model: measured NF4 runs of models up to "
            f"{SMALL_MODEL_B:g}B use {ev.span()} more energy per token than FP16 on the same GPU "
            f"(rows {ev.row_ids}). Use FP16 unless memory forces quantization.",
        )
    if inputs.quantization == "fp32":
        ev = evidence.fp32_vs_fp16()
        decoding = f"decoding measured {ev.span()} more energy per token than FP16 (rows {ev.row_ids}); " if ev else ""
        inputs.warn(
            "fp32",
            f"FP32 weights: {decoding}{evidence.fp32_compute_bound()}. Load in FP16/BF16 for inference.",
        )
    if inputs.quantization == "int8_default":
        ev = evidence.int8_default_vs_fp16()
        inputs.warn(
            "int8-default",
            f"INT8 default (load_in_8bit=True, threshold 6.0) splits every linear layer into INT8 and FP16 parts: "
            f"measured energy per token is {ev.span()} above FP16 on the same GPU, model and batch size "
            f"(rows {ev.row_ids}). {evidence.threshold_zero_advice()}",
        )


@lru_cache(maxsize=None)
def _measured_shapes() -> frozenset[str]:
    """Shape keys of the models in the canonical rows."""
    from ecolint.energy.curation import canonical_rows

    found = (find_architecture(r.measurement.model_id) for r in canonical_rows())
    return frozenset(a.key for a in found if a is not None)


def warn_batch_one(inputs: Inputs, context: str) -> None:
    if inputs.batch_size != 1:
        return
    eight, top = evidence.batch_saving(8), evidence.batch_sweep()
    detail = ""
    if eight and top:
        detail = (
            f" In the measured batch sweep ({evidence.sweep_description()}), batch 8 used "
            f"{-eight.change_vs_bs1:.0%} less energy per token than batch 1 and batch "
            f"{top[-1].row.workload.batch_size} {-top[-1].change_vs_bs1:.0%} less."
        )
    inputs.warn(
        "batch-one-production",
        f"batch size 1 {context}: every decode step reads all the weights for a single token.{detail}",
    )


def quantization_label(q: str, short: bool = False) -> str:
    return (SHORT_LABELS if short else QUANTIZATION_LABELS)[q]
