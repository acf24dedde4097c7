"""Leave-one-out error of the decode model on the shipped measurements (numbers in docs/accuracy.md).

The bounds are the errors measured on the shipped data, rounded up by half a point: a change to the
model or the data that makes it less accurate fails here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from ecolint.energy.estimator import Estimator, leave_one_out, ranking_check


@pytest.fixture(scope="module")
def estimator() -> Estimator:
    return Estimator()


# kind: (held-out rows, median energy error, worst energy error,
#        groups in the measured order, groups with the measured best precision first, groups)
MEASURED = {
    "row": (35, 0.0821, 0.3545, 9, 11, 11),
    "model": (22, 0.0860, 0.3069, 8, 8, 8),
    "model_estimated_shape": (22, 0.0830, 0.3162, 7, 7, 8),
    "gpu": (35, 0.2288, 1.0480, 11, 11, 11),
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


def test_throughput_is_predicted_better_than_power_within_measured_gpus(estimator):
    summary = estimator.errors["row"]
    assert summary.median_error("throughput") <= 0.045
    assert summary.median_error("power") <= 0.09


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
