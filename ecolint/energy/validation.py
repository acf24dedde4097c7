"""How well the decode model predicts rows it was not fitted on.

Leave-one-out errors (one row, one model or one GPU held out at a time) give the ranges printed next
to extrapolated figures; ``ranking_check`` says whether held-out predictions order the precisions of
each (GPU, model, batch) like the measurements. See ``docs/accuracy.md``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from ecolint.energy.architectures import architectures, estimated_architecture
from ecolint.energy.decode_model import fit_model
from ecolint.energy.training_rows import TrainingRow

LOO_KINDS = {
    "row": "one measured row held out at a time",
    "model": "all rows of one model held out; its shape known from config.json",
    "model_estimated_shape": "all rows of one model held out; its shape estimated from the parameter count",
    "gpu": "all rows of one GPU held out",
}


@dataclass(frozen=True)
class HeldOut:
    row_id: str
    group: str
    measured: tuple[float, float, float]  # throughput, power, energy
    predicted: tuple[float, float, float]

    def ratio(self, metric: int) -> float:
        return self.predicted[metric] / self.measured[metric]


METRICS = {"throughput": 0, "power": 1, "energy": 2}


@dataclass(frozen=True)
class ErrorSummary:
    kind: str
    held_out: tuple[HeldOut, ...]

    def ratios(self, metric: str) -> list[float]:
        return [h.ratio(METRICS[metric]) for h in self.held_out]

    def median_error(self, metric: str = "energy") -> float:
        return statistics.median(abs(r - 1.0) for r in self.ratios(metric))

    def worst_error(self, metric: str = "energy") -> float:
        return max(abs(r - 1.0) for r in self.ratios(metric))

    def worst_row(self, metric: str = "energy") -> HeldOut:
        return max(self.held_out, key=lambda h: abs(h.ratio(METRICS[metric]) - 1.0))

    def band(self, value: float, metric: str = "energy") -> tuple[float, float]:
        """The range the true value fell in, relative to the prediction, over the held-out rows."""
        ratios = self.ratios(metric)
        return value / max(ratios), value / min(ratios)


def _group_key(row: TrainingRow, kind: str) -> str:
    if kind == "row":  # one configuration: duplicates of it (calibration, other experiments) go too
        w = row.workload
        return f"{w.gpu.key}|{w.arch.key}|{w.quantization}|{w.batch_size}"
    if kind in ("model", "model_estimated_shape"):
        return row.workload.arch.key
    return row.workload.gpu.key


def leave_one_out(rows: list[TrainingRow], kind: str = "row") -> ErrorSummary:
    """Refit without each group (row, model or GPU) and predict the held-out rows."""
    if kind not in LOO_KINDS:
        raise ValueError(f"unknown leave-one-out kind {kind!r}")
    held: list[HeldOut] = []
    groups = sorted({_group_key(r, kind) for r in rows})
    for group in groups:
        train = [r for r in rows if _group_key(r, kind) != group]
        test = [r for r in rows if _group_key(r, kind) == group]
        if not train:
            continue
        model = fit_model(train)
        for r in test:
            workload = r.workload
            if kind != "gpu" and workload.gpu.key not in model.launch:
                continue  # that row now tests a GPU without measurements: the "gpu" kind covers it
            if workload.family not in model.factor:
                continue  # no row of its precision is left: that tests a precision never measured
            if kind == "model_estimated_shape":
                known = [a for a in architectures().values() if a.key != workload.arch.key]
                workload = replace(workload, arch=estimated_architecture(workload.arch.params_b, "held out", known))
            p = model.predict(workload)
            held.append(
                HeldOut(
                    r.row_id,
                    group,
                    (r.throughput, r.power, r.energy),
                    (p.throughput, p.power, p.energy),
                )
            )
    return ErrorSummary(kind, tuple(held))


def ranking_check(rows: list[TrainingRow], summary: ErrorSummary) -> dict:
    """Whether held-out predictions order the precisions of each (GPU, model, batch) like the data."""
    by_id = {h.row_id: h for h in summary.held_out}
    groups: dict[tuple, list[TrainingRow]] = {}
    for r in rows:
        key = (r.workload.gpu.key, r.workload.arch.key, r.workload.batch_size)
        groups.setdefault(key, []).append(r)
    preserved, total, pairs_ok, pairs, best = 0, 0, 0, 0, 0
    broken = []
    for key, members in sorted(groups.items()):
        members = [m for m in members if m.row_id in by_id]
        if len(members) < 2:
            continue
        total += 1
        measured = sorted(members, key=lambda m: m.energy)
        predicted = sorted(members, key=lambda m: by_id[m.row_id].predicted[2])
        best += measured[0].row_id == predicted[0].row_id
        if [m.row_id for m in measured] == [m.row_id for m in predicted]:
            preserved += 1
        else:
            broken.append(
                {
                    "gpu": key[0],
                    "model": key[1],
                    "batch_size": key[2],
                    "measured_order": [m.workload.quantization for m in measured],
                    "predicted_order": [m.workload.quantization for m in predicted],
                }
            )
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pairs += 1
                if (a.energy < b.energy) == (by_id[a.row_id].predicted[2] < by_id[b.row_id].predicted[2]):
                    pairs_ok += 1
    return {
        "groups": total,
        "preserved": preserved,
        "best_preserved": best,
        "pairs": pairs,
        "pairs_in_order": pairs_ok,
        "broken": broken,
    }
