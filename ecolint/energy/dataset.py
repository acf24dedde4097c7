"""Load the shipped measurement tables (see ``data/SOURCES.md`` for where every row comes from)."""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources


def _open_table(name: str):
    return resources.files("ecolint.energy.data").joinpath(name).open(encoding="utf-8", newline="")


def _float(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    value = _float(text)
    return None if value is None else int(value)


@dataclass(frozen=True)
class Measurement:
    """One row of ``measurements.csv``: a (gpu, model, precision, batch size) measurement."""

    row_id: str
    gpu: str
    model_id: str
    params_b: float | None
    precision: str
    batch_size: int | None
    output_tokens: int | None
    throughput_tok_s: float | None
    power_w: float | None
    energy_j_per_1k: float | None
    energy_per_request_j: float | None
    delta_vs_fp16_pct: float | None
    n_runs: int | None
    software: str
    date: str
    source_file: str
    source_table: str
    notes: str
    experiment: str
    raw: dict = field(repr=False, compare=False, hash=False, default_factory=dict)


# The tables of measurement rows: the published data set (m001...), the rows measured with
# ``ecolint calibrate`` on Hopper GPUs (h001...) and the inference practices measured on an H200
# for rule penalties (p001..., docs/measurements/practices.py), and float32 against float16/bfloat16 for
# compute-bound work, prefill and scoring (f001..., practices.py --sections fp32), a model loaded twice and a
# generation run twice (r001..., practices.py --sections repeats); see docs/measurements/.
MEASUREMENT_TABLES = ("measurements.csv", "hopper_h200.csv", "hopper_h200_practices.csv", "hopper_fp32.csv",
                      "hopper_repeats.csv")


@lru_cache(maxsize=None)
def measurements() -> dict[str, Measurement]:
    """All measurement rows by row id (``m001`` ..., ``h001`` ...)."""
    rows: dict[str, Measurement] = {}
    for table in MEASUREMENT_TABLES:
        rows.update(read_measurements(table))
    return rows


def read_measurements(table: str) -> dict[str, Measurement]:
    """The rows of one shipped table in the measurements.csv format."""
    rows: dict[str, Measurement] = {}
    with _open_table(table) as handle:
        for record in csv.DictReader(handle):
            rows[record["row_id"]] = Measurement(
                row_id=record["row_id"],
                gpu=record["gpu"],
                model_id=record["model_id"],
                params_b=_float(record["params_b"]),
                precision=record["precision"],
                batch_size=_int(record["batch_size"]),
                output_tokens=_int(record["output_tokens"]),
                throughput_tok_s=_float(record["throughput_tok_s"]),
                power_w=_float(record["power_w"]),
                energy_j_per_1k=_float(record["energy_j_per_1k"]),
                energy_per_request_j=_float(record["energy_per_request_j"]),
                delta_vs_fp16_pct=_float(record["delta_vs_fp16_pct"]),
                n_runs=_int(record["n_runs"]),
                software=record["software"],
                date=record["date"],
                source_file=record["source_file"],
                source_table=record["source_table"],
                notes=record["notes"],
                experiment=record["experiment"],
                raw=dict(record),
            )
    return rows


@dataclass(frozen=True)
class GpuSpec:
    """A GPU's memory, bandwidth and power figures, with where they come from."""

    key: str
    name: str
    architecture: str
    sm: int | None
    vram_gb: float
    memory_bandwidth_gb_s: float | None
    tdp_w: float | None
    idle_w: float | None
    measured: bool
    source: str


# Spellings users type for each GPU key of gpus.csv.
GPU_ALIASES = {
    "4090d": "rtx4090d",
    "5090": "rtx5090",
    "3090": "rtx3090",
    "a800-80gb": "a800",
    "a100-80gb": "a100",
    "h100-80gb": "h100",
    "h100-sxm": "h100",
    "h200-141gb": "h200",
    "v100-32gb": "v100",
}


@lru_cache(maxsize=None)
def gpus() -> dict[str, GpuSpec]:
    """One canonical spec per GPU key: the first row of ``gpus.csv`` for that key.

    For the measured GPUs the first row is the project's hardware profile; for the others it is
    the first (largest) datasheet variant.
    """
    specs: dict[str, GpuSpec] = {}
    with _open_table("gpus.csv") as handle:
        for record in csv.DictReader(handle):
            key = record["gpu"]
            if key in specs or _float(record["vram_gb"]) is None:
                continue
            specs[key] = GpuSpec(
                key=key,
                name=record["variant"],
                architecture=record["architecture"],
                sm=_int(record["sm"]),
                vram_gb=float(record["vram_gb"]),
                memory_bandwidth_gb_s=_float(record["memory_bandwidth_gb_s"]),
                tdp_w=_float(record["tdp_w"]),
                idle_w=_float(record["idle_w"]),
                measured=record["measured"] == "yes",
                source=record["source"],
            )
    return specs


# Names of GPUs that are not in the data but close to one that is: never resolved silently, since
# the figures of one card are not the other's (the RTX 4090 and the RTX 4090D differ in cores and power).
NEAR_MISSES = {
    "4090": "rtx4090d",
    "rtx4090": "rtx4090d",
}


class UnknownGpuError(ValueError):
    """Raised for a GPU name that matches no known GPU, or that is ambiguous."""


def normalise_gpu_name(name: str) -> str:
    text = name.strip().lower().replace(" ", "").replace("_", "-")
    for prefix in ("nvidia-", "nvidia", "geforce-", "geforce"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return GPU_ALIASES.get(text, text.replace("-", "") if text.replace("-", "") in gpus() else text)


def resolve_gpu(name: str) -> GpuSpec:
    """The spec for a user-given GPU name; raises UnknownGpuError naming the valid choices."""
    key = normalise_gpu_name(name)
    known = gpus()
    if key in known:
        return known[key]
    if key in NEAR_MISSES:
        target = known[NEAR_MISSES[key]]
        raise UnknownGpuError(
            f"GPU {name!r} is not in the data (did you mean {NEAR_MISSES[key]!r}, the {target.name}? "
            f"The two cards differ, so one's figures are not the other's); valid: {', '.join(sorted(known))}"
        )
    choices = sorted(known)
    close = difflib.get_close_matches(key, choices + sorted(GPU_ALIASES), n=1)
    hint = f" (did you mean {GPU_ALIASES.get(close[0], close[0])!r}?)" if close else ""
    raise UnknownGpuError(f"unknown GPU {name!r}{hint}; valid: {', '.join(choices)}")
