"""Measured rows as the decode model sees them: a workload and its throughput, power and energy."""

from __future__ import annotations

from dataclasses import dataclass

from ecolint.energy.architectures import Architecture, estimated_architecture, find_architecture
from ecolint.energy.curation import canonical_rows
from ecolint.energy.dataset import Measurement, gpus
from ecolint.energy.model_size import resolve_model_size
from ecolint.energy.workload import KERNEL_FAMILY, Workload

DEFAULT_PROMPT_TOKENS = 256  # prompt length assumed for rows that do not record one


@dataclass(frozen=True)
class TrainingRow:
    """A measured row as the model sees it."""

    row_id: str
    workload: Workload
    throughput: float
    power: float
    energy: float  # gross J per 1000 tokens
    measurement: Measurement
    calibration: bool = False


def _arch_for(model_id: str, params_b: float | None) -> Architecture | None:
    found = find_architecture(model_id)
    if found:
        return found
    size = params_b or (resolve_model_size(model_id).params_b if resolve_model_size(model_id) else None)
    return estimated_architecture(size, model_id) if size else None


def training_row(m: Measurement, calibration: bool = False) -> TrainingRow | None:
    """A measurement in model terms, or None when it lacks power, throughput or a known shape."""
    if not (m.power_w and m.throughput_tok_s and m.batch_size) or m.precision not in KERNEL_FAMILY:
        return None
    gpu = gpus().get(m.gpu)
    arch = _arch_for(m.model_id, m.params_b)
    if gpu is None or arch is None:
        return None
    prompt = m.raw.get("input_tokens") if m.raw else None
    workload = Workload(
        gpu=gpu,
        arch=arch,
        quantization=m.precision,
        batch_size=m.batch_size,
        input_tokens=int(float(prompt)) if prompt else DEFAULT_PROMPT_TOKENS,
        output_tokens=m.output_tokens or 256,
    )
    energy = 1000.0 * m.power_w / m.throughput_tok_s
    return TrainingRow(m.row_id, workload, m.throughput_tok_s, m.power_w, energy, m, calibration)


def why_unusable(m: Measurement) -> str:
    """Why a measurement cannot join the model."""
    if m.gpu not in gpus():
        return f"GPU {m.gpu!r} has no specification in gpus.csv"
    if m.precision not in KERNEL_FAMILY:
        return f"precision {m.precision!r} is not modelled"
    if not (m.power_w and m.throughput_tok_s and m.batch_size):
        return "no power, throughput or batch size"
    return "model size unknown"


def dataset_training_rows() -> list[TrainingRow]:
    rows = [training_row(r.measurement) for r in canonical_rows()]
    return [r for r in rows if r is not None]
