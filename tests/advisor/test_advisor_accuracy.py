"""Leave-one-out error of the decode model on the shipped measurements (numbers in docs/accuracy.md).

The bounds are the errors measured on the shipped data, rounded up by half a point: a change to the
model or the data that makes it less accurate fails here.
"""

from __future__ import annotations

import statistics
from importlib import resources
from pathlib import Path

import pytest

from ecolint.energy.estimator import Estimator
from ecolint.energy.validation import leave_one_out, ranking_check


@pytest.fixture(scope="module")
def estimator() -> Estimator:
    return Estimator()


# kind: (held-out rows, median energy error, worst energy error,
#        groups in the measured order, groups with the measured best precision first, groups)
MEASURED = {
    "row": (59, 0.0523, 0.5161, 12, 12, 15),
    "model": (46, 0.0786, 0.5368, 9, 11, 12),
    "model_estimated_shape": (46, 0.1571, 0.4489, 8, 10, 12),
    "gpu": (55, 0.2179, 0.7649, 14, 14, 15),
}


@pytest.mark.parametrize("kind", sorted(MEASURED))
def test_leave_one_out_energy_error_and_ranking(estimator, kind):
    count, median, worst, preserved, best, groups = MEASURED[kind]
    summary = leave_one_out(estimator.rows, kind)
    assert len(summary.held_out) == count
    assert summary.median_error("energy") <= median + 0.005
    assert summary.worst_error("energy") <= worst + 0.005
    ranking = ranking_check(estimator.rows, summary)
    assert ranking["groups"] == groups
    assert ranking["preserved"] >= preserved
    assert ranking["best_preserved"] >= best


def test_throughput_and_power_errors_within_measured_gpus(estimator):
    summary = estimator.errors["row"]
    assert summary.median_error("throughput") <= 0.063
    assert summary.median_error("power") <= 0.056


def test_the_hopper_rows_are_predicted_as_well_as_the_published_ones(estimator):
    held = estimator.errors["row"].held_out
    hopper = [abs(h.ratio(2) - 1) for h in held if h.row_id.startswith("h")]
    published = [abs(h.ratio(2) - 1) for h in held if h.row_id.startswith("m")]
    assert len(hopper) == 24 and len(published) == 35
    assert statistics.median(hopper) <= 0.0536 + 0.005
    assert statistics.median(published) <= 0.0500 + 0.005


def test_fp32_rows_are_not_held_out_without_any_fp32_row_left(estimator):
    gpu = estimator.errors["gpu"]
    held = {h.row_id for h in gpu.held_out}
    assert not held & {"h005", "h006", "h019", "h020"}
    assert {"h005", "h006", "h019", "h020"} <= {h.row_id for h in estimator.errors["row"].held_out}


def test_error_ranges_cover_every_held_out_row(estimator):
    for kind, summary in estimator.errors.items():
        for held in summary.held_out:
            low, high = summary.band(held.predicted[2])
            assert low <= held.measured[2] * (1 + 1e-9) and held.measured[2] <= high * (1 + 1e-9), (
                kind,
                held.row_id,
            )


def _snapshot(folder: Path) -> dict:
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()
    }


def test_the_accuracy_computation_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = Path(str(resources.files("ecolint.energy.data")))
    before = _snapshot(data)
    fresh = Estimator()
    for kind in ("row", "model", "model_estimated_shape", "gpu"):
        leave_one_out(fresh.rows, kind)
    assert _snapshot(data) == before
    assert list(tmp_path.iterdir()) == []
