"""Which measurement rows the estimator uses, and every energy figure on one basis.

``data/curation.csv`` gives each row of ``measurements.csv`` a status:

- ``canonical``: an experiment record; used for measured answers and for fitting the model;
- ``alternative``: the same configuration measured again in another experiment; shown beside the
  canonical row, not used for fitting;
- ``duplicate``: the same measurement copied into another file;
- ``excluded``: a figure that conflicts with the experiment records or cannot be used, or a valid
  measurement of a configuration the estimator does not model (KV cache off).

Energy is normalised to gross GPU board power: ``1000 x power / throughput`` J per 1000 tokens.
Rows whose stated energy subtracted an idle baseline keep their stated value beside the gross one.
See ``docs/data.md`` for the reasoning behind each decision.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ecolint.energy.dataset import Measurement, measurements

STATUSES = ("canonical", "alternative", "duplicate", "excluded")


@dataclass(frozen=True)
class CuratedRow:
    """A measurement row with its curation decision and its gross energy."""

    measurement: Measurement
    status: str
    energy_basis: str  # "gross", "idle_subtracted" or "" (no energy figure)
    reason: str

    @property
    def row_id(self) -> str:
        return self.measurement.row_id

    @property
    def stated_energy_j_per_1k(self) -> float | None:
        return self.measurement.energy_j_per_1k

    @property
    def gross_energy_j_per_1k(self) -> float | None:
        return gross_energy_j_per_1k(self.measurement)

    @property
    def normalised(self) -> bool:
        """True when the stated energy was on another basis and the gross value differs."""
        return self.energy_basis == "idle_subtracted"


def gross_energy_j_per_1k(row: Measurement) -> float | None:
    """Gross board energy per 1000 generated tokens: ``1000 x W / (tok/s)``.

    Falls back to the stated energy when the row has no power or throughput.
    """
    if row.power_w and row.throughput_tok_s:
        return 1000.0 * row.power_w / row.throughput_tok_s
    return row.energy_j_per_1k


@lru_cache(maxsize=None)
def curated_rows() -> dict[str, CuratedRow]:
    """Every measurement row with its curation decision, by row id."""
    table = resources.files("ecolint.energy.data").joinpath("curation.csv")
    rows = measurements()
    curated: dict[str, CuratedRow] = {}
    with table.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            row_id = record["row_id"]
            if row_id not in rows:
                raise ValueError(f"curation.csv names unknown row {row_id}")
            if record["status"] not in STATUSES:
                raise ValueError(f"curation.csv: {row_id} has unknown status {record['status']!r}")
            curated[row_id] = CuratedRow(
                rows[row_id], record["status"], record["energy_basis"], record["reason"]
            )
    missing = sorted(set(rows) - set(curated))
    if missing:
        raise ValueError(f"curation.csv has no decision for rows {', '.join(missing)}")
    return curated


def canonical_rows() -> list[CuratedRow]:
    """The rows the estimator answers from and fits on, in row-id order."""
    return [row for row in curated_rows().values() if row.status == "canonical"]


def measured_gpus() -> tuple[str, ...]:
    """Keys of the GPUs with canonical rows, in the order their first row appears."""
    return tuple(dict.fromkeys(row.measurement.gpu for row in canonical_rows()))


def alternatives_for(row_id: str) -> list[CuratedRow]:
    """Other measurements of the same configuration as a canonical row (another experiment)."""
    target = curated_rows()[row_id].measurement
    found = []
    for row in curated_rows().values():
        m = row.measurement
        if (
            row.status == "alternative"
            and row.row_id != row_id
            and (
                m.gpu,
                m.precision,
                m.batch_size,
            )
            == (target.gpu, target.precision, target.batch_size)
            and _same_family(m.model_id, target.model_id)
        ):
            found.append(row)
    return found


def _same_family(first: str, second: str) -> bool:
    from ecolint.energy.architectures import architecture_for_id

    a, b = architecture_for_id(first), architecture_for_id(second)
    return a is not None and b is not None and a.key == b.key
