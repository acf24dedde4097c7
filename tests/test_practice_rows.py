"""The inference-practice rows measured on an H200 (p001..., docs/measurements/practices.py) load
with the other measurement rows, stay out of the estimator, and pair with a baseline of their run."""

from __future__ import annotations

import re

from cli_helpers import ROOT

from ecolint.energy.curation import curated_rows
from ecolint.energy.dataset import measurements

# variant -> the row it is compared with (same model, batch size and run)
BASELINES = {
    "bf16_load_per_request": "bf16_resident",
    "bf16_load_per_request_cold": "bf16_resident",
    "bf16_beam4": "bf16_greedy",
    "bf16_loop_autograd": "bf16_loop_inference_mode",
    "bf16_score_autograd": "bf16_score_inference_mode",
    "bf16_cpu_offload_25": "bf16_cpu_offload_0",
    "bf16_cpu_offload_50": "bf16_cpu_offload_0",
}


def practice_rows():
    return {k: v for k, v in measurements().items() if k.startswith("p")}


def test_practice_rows_load_and_are_kept_out_of_the_estimator():
    rows = practice_rows()
    assert sorted(rows) == [f"p{n:03d}" for n in range(1, 31)]
    curated = curated_rows()
    for row_id, row in rows.items():
        assert curated[row_id].status == "excluded", row_id
        assert row.gpu == "h200" and row.energy_j_per_1k and row.n_runs == 3
        assert (ROOT / row.source_file).is_file(), row.source_file
        assert row.precision in BASELINES or row.precision in BASELINES.values()


def test_every_variant_has_its_baseline_from_the_same_run_and_its_stated_change():
    rows = practice_rows().values()
    pairs = 0
    for row in rows:
        if row.precision not in BASELINES:
            continue
        baseline = [
            b for b in rows
            if b.precision == BASELINES[row.precision] and b.model_id == row.model_id
            and b.batch_size == row.batch_size and b.source_file == row.source_file
        ]
        assert len(baseline) == 1, row.row_id
        stated = re.search(r"same run\): ([+-][0-9.]+)% energy per token", row.notes)
        energy, base = row.energy_j_per_1k, baseline[0].energy_j_per_1k
        change = (energy / base - 1) * 100
        rounding = 100 * energy / base * (0.05 / energy + 0.05 / base)  # both written to 0.1 J
        if stated:  # the beam, autograd and offload rows state it; the load rows state the load's share
            assert abs(float(stated.group(1)) - change) < rounding + 0.05, row.row_id
        pairs += 1
    assert pairs == 16
