"""Read a user's own measurements (``ecolint calibrate`` output) in the ``measurements.csv`` format."""

from __future__ import annotations

import csv
from pathlib import Path

from ecolint.energy.dataset import Measurement, UnknownGpuError, resolve_gpu

PRECISIONS = ("fp16", "bf16", "fp32", "nf4", "int8_default", "int8_pure")
# Written by ``ecolint calibrate`` but outside what the estimator models: loaded, then reported unused.
OTHER_PRECISIONS = ("fp16_no_kv_cache", "fp16_compiled")
REQUIRED = ("gpu", "model_id", "precision", "batch_size", "throughput_tok_s")


class CalibrationError(ValueError):
    """A calibration file that cannot be read or has an unusable row."""


def _number(record: dict, column: str, where: str, required: bool = False) -> float | None:
    text = (record.get(column) or "").strip()
    if not text:
        if required:
            raise CalibrationError(f"{where}: column {column!r} is empty")
        return None
    try:
        return float(text)
    except ValueError:
        raise CalibrationError(f"{where}: {column}={text!r} is not a number") from None


def load_calibration(path: str | Path) -> list[Measurement]:
    """The rows of a calibration CSV as measurements, energy on the gross board-power basis.

    Required columns: gpu, model_id, precision, batch_size, throughput_tok_s, and power_w or
    energy_j_per_1k (the missing one is computed from the other). Every other column of
    ``measurements.csv`` is optional. Row ids default to ``c001``, ``c002``, ...

    A GPU must resolve like ``--gpu`` does: an unknown or ambiguous name (``4090``: the RTX 4090D is
    another card) is a CalibrationError with the did-you-mean of ``--gpu``. The ``fp16_no_kv_cache``
    precision is kept as is: such rows are loaded, and the estimator reports them as unused.
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as error:
        raise CalibrationError(
            f"cannot read calibration file {path}: {error.strerror or error}"
        ) from None
    rows: list[Measurement] = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise CalibrationError(f"{path}: missing column(s) {', '.join(missing)}")
        for number, record in enumerate(reader, start=1):
            where = f"{path}:{number + 1}"
            if not (record["gpu"] or "").strip():
                raise CalibrationError(f"{where}: column 'gpu' is empty")
            try:
                gpu = resolve_gpu(record["gpu"]).key
            except UnknownGpuError as error:
                raise CalibrationError(f"{where}: {error}") from None
            precision = record["precision"].strip().lower()
            if precision not in PRECISIONS + OTHER_PRECISIONS:
                raise CalibrationError(
                    f"{where}: precision {precision!r} is not one of "
                    f"{', '.join(PRECISIONS + OTHER_PRECISIONS)}"
                )
            throughput = _number(record, "throughput_tok_s", where, required=True)
            batch = _number(record, "batch_size", where, required=True)
            power = _number(record, "power_w", where)
            energy = _number(record, "energy_j_per_1k", where)
            if not throughput or throughput <= 0 or not batch or batch < 1:
                raise CalibrationError(f"{where}: throughput_tok_s and batch_size must be positive")
            if power is None and energy is None:
                raise CalibrationError(f"{where}: give power_w or energy_j_per_1k")
            if power is None:
                power = energy * throughput / 1000.0
            if energy is None:
                energy = 1000.0 * power / throughput
            output_tokens = _number(record, "output_tokens", where)
            rows.append(
                Measurement(
                    row_id=(record.get("row_id") or "").strip() or f"c{number:03d}",
                    gpu=gpu,
                    model_id=record["model_id"].strip(),
                    params_b=_number(record, "params_b", where),
                    precision=precision,
                    batch_size=int(batch),
                    output_tokens=int(output_tokens) if output_tokens else None,
                    throughput_tok_s=throughput,
                    power_w=power,
                    energy_j_per_1k=energy,
                    energy_per_request_j=_number(record, "energy_per_request_j", where),
                    delta_vs_fp16_pct=None,
                    n_runs=int(_number(record, "n_runs", where) or 0) or None,
                    software=(record.get("software") or "").strip(),
                    date=(record.get("date") or "").strip(),
                    source_file=str(path),
                    source_table="calibration",
                    notes=(record.get("notes") or "").strip(),
                    experiment=(record.get("experiment") or "").strip()
                    or f"calibration:{path.name}",
                    raw=dict(record),
                )
            )
    return rows
