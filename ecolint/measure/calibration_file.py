"""Calibration files: measured rows in the format of the shipped ``measurements.csv``.

A calibration file has exactly the columns of ``ecolint/energy/data/measurements.csv``. Its rows
come from ``ecolint calibrate`` on the user's own GPU:

* ``precision`` is one of ``fp16``, ``bf16``, ``nf4``, ``int8_default``, ``int8_pure``, ``fp32``,
  ``fp16_no_kv_cache`` (fp16 weights, ``generate(use_cache=False)``) or ``fp16_compiled`` (fp16
  weights, static KV cache, decoding compiled with ``torch.compile``);
* ``energy_j_per_1k`` is gross GPU energy (NVML counter) per 1000 generated tokens, over the batch;
  the idle-subtracted (net) figure is in ``notes`` (``net_j_per_1k=...``);
* ``delta_vs_fp16_pct`` compares with the fp16 row of the same architecture and batch size;
* ``experiment`` names the calibration run; ``source_file`` the log it came from.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from importlib import resources

from ecolint.measure.stats import summarize

# The header of measurements.csv (read from the package when possible, so the two stay equal).
FALLBACK_COLUMNS = (
    "row_id,gpu,architecture,model_id,params_b,precision,batch_size,input_tokens,output_tokens,"
    "throughput_tok_s,throughput_std,power_w,power_std,energy_j_per_1k,energy_std,energy_per_request_j,"
    "delta_vs_fp16_pct,n_runs,cv_pct,software,date,source_file,source_table,notes,model_label,experiment,"
    "also_in,energy_per_request_std,gpu_util_pct,gpu_util_std,peak_memory_gb,delta_energy_vs_bs1_pct,"
    "delta_energy_vs_int8_default_pct,throughput_delta_vs_int8_default_pct"
).split(",")

PRECISIONS = ("fp16", "bf16", "nf4", "int8_default", "int8_pure", "fp32")
NO_KV_CACHE = "fp16_no_kv_cache"
COMPILED = "fp16_compiled"


def columns() -> list[str]:
    try:
        with (
            resources.files("ecolint.energy.data")
            .joinpath("measurements.csv")
            .open(encoding="utf-8") as handle
        ):
            header = next(csv.reader(handle))
        if header and header[0] == "row_id":
            return header
    except (OSError, StopIteration, ModuleNotFoundError):
        pass
    return list(FALLBACK_COLUMNS)


# Keys of gpus.csv, most specific first.
_GPU_KEYS = (
    "rtx5090",
    "rtx4090d",
    "rtx4090",
    "rtx3090",
    "a800",
    "a100",
    "h100",
    "h200",
    "v100",
    "l40s",
    "l4",
    "t4",
)


def gpu_key(name: str) -> str:
    """The dataset's GPU key for an NVML name: 'NVIDIA H100 80GB HBM3' -> 'h100'."""
    text = re.sub(r"[^a-z0-9]", "", name.lower().replace("nvidia", "").replace("geforce", ""))
    for key in _GPU_KEYS:
        if key in text:
            return "rtx4090d" if key == "rtx4090" and "4090d" in text else key
    return text or "unknown"


@dataclass
class ConfigResult:
    """The measured runs of one (architecture, precision, batch size) configuration."""

    architecture: str  # our architecture name, e.g. qwen2-1.5b
    model_id: str
    params_b: float
    precision: str
    batch_size: int
    input_tokens: int
    output_tokens: int  # new tokens per sequence
    runs: list = field(default_factory=list)  # Window.as_dict() of each measured run
    idle_w: float | None = None
    peak_memory_gb: float | None = None
    notes: list = field(default_factory=list)
    warmup_s: list = field(default_factory=list)  # duration of each unmeasured warm-up call
    calls_per_run: int = 1  # generate calls in each measured window

    def _values(self, key):
        return [run[key] for run in self.runs]

    def energy_per_1k(self):
        return summarize(self._values("j_per_1k_tokens"))

    def net_energy_per_1k(self):
        return summarize(self._values("net_j_per_1k_tokens"))

    def throughput(self):
        return summarize(self._values("tokens_per_s"))

    def power(self):
        return summarize(self._values("mean_power_w"))

    def energy_per_request(self):
        return summarize(
            [
                run["energy_j"] / (self.batch_size * run.get("calls", 1))
                if run["energy_j"] is not None
                else None
                for run in self.runs
            ]
        )

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _num(value, digits):
    if value is None:
        return ""
    return f"{value:.{digits}f}"


def make_rows(
    results: list[ConfigResult],
    *,
    gpu: str,
    gpu_architecture: str,
    gpu_name: str,
    software: str,
    date: str,
    source_file: str,
    experiment: str,
    protocol_note: str,
    row_prefix: str = "c",
    first_number: int = 1,
) -> list[dict]:
    """Rows in the dataset's format, one per configuration."""
    header = columns()
    fp16 = {
        (r.architecture, r.batch_size): r.energy_per_1k().mean
        for r in results
        if r.precision == "fp16" and r.energy_per_1k() is not None
    }
    rows = []
    for number, result in enumerate(results, first_number):
        energy = result.energy_per_1k()
        net = result.net_energy_per_1k()
        throughput = result.throughput()
        power = result.power()
        request = result.energy_per_request()
        base = fp16.get((result.architecture, result.batch_size))
        delta = None
        if energy is not None and base and result.precision != "fp16":
            delta = (energy.mean - base) / base * 100.0
        notes = [
            f"measured with ecolint calibrate on {gpu_name}",
            f"random weights with the architecture of {result.model_id} (config.json shapes; no trained weights)",
            protocol_note,
        ]
        if result.idle_w is not None:
            notes.append(f"idle_w={result.idle_w:.1f}")
        if net is not None:
            notes.append(
                f"net_j_per_1k={net.mean:.1f}"
                + (f" (std {net.std:.1f})" if net.std is not None else "")
            )
        if result.precision == NO_KV_CACHE:
            notes.append(
                "fp16 weights, generate(use_cache=False): every step recomputes the whole sequence"
            )
        if result.precision == COMPILED:
            notes.append(
                "fp16 weights, static KV cache, decoding compiled with torch.compile "
                "(mode reduce-overhead, fullgraph); compilation happened in the unmeasured warm-up"
            )
        if result.calls_per_run > 1:
            notes.append(f"{result.calls_per_run} generate calls per measured run")
        notes.extend(result.notes)
        row = {name: "" for name in header}
        row.update(
            {
                "row_id": f"{row_prefix}{number:03d}",
                "gpu": gpu,
                "architecture": gpu_architecture,
                "model_id": result.model_id,
                "params_b": f"{result.params_b:g}",
                "precision": result.precision,
                "batch_size": str(result.batch_size),
                "input_tokens": str(result.input_tokens),
                "output_tokens": str(result.output_tokens),
                "throughput_tok_s": _num(throughput and throughput.mean, 2),
                "throughput_std": _num(throughput and throughput.std, 2),
                "power_w": _num(power and power.mean, 2),
                "power_std": _num(power and power.std, 2),
                "energy_j_per_1k": _num(energy and energy.mean, 1),
                "energy_std": _num(energy and energy.std, 1),
                "energy_per_request_j": _num(request and request.mean, 2),
                "energy_per_request_std": _num(request and request.std, 2),
                "delta_vs_fp16_pct": _num(delta, 1),
                "n_runs": str(len(result.runs)),
                "cv_pct": _num(energy and energy.cv_pct, 2),
                "software": software,
                "date": date,
                "source_file": source_file,
                "source_table": "ecolint calibrate",
                "notes": "; ".join(notes),
                "model_label": f"{result.architecture} (random weights)",
                "experiment": experiment,
                "peak_memory_gb": _num(result.peak_memory_gb, 2),
            }
        )
        rows.append({name: row[name] for name in header})
    return rows


def write_rows(rows: list[dict], path) -> None:
    text = rows_to_csv(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def rows_to_csv(rows: list[dict]) -> str:
    header = columns()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()
