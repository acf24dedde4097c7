"""The end-to-end measurement harness and its scripts run (CPU, tiny model, simulated energy counter).

A check of docs/measurements/e2e/run_e2e.py and of the fp32 section of docs/measurements/practices.py,
not a measurement. Skipped where torch, transformers, tokenizers, fastapi or httpx cannot be
imported, except in CI (``CI`` set), which must install them: fastapi and httpx come with the
``test`` extra; torch and transformers are installed apart (``pip install torch==2.13.0
transformers``), since naming them in pyproject.toml would give every fixture a transformers pin.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("torch", "transformers", "tokenizers", "fastapi", "httpx")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
if missing and not os.environ.get("CI"):
    pytest.skip(f"needs {', '.join(missing)}", allow_module_level=True)


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness():
    return load(ROOT / "docs" / "measurements" / "e2e" / "run_e2e.py", "run_e2e")


def test_every_script_runs_and_its_generated_tokens_are_counted(harness, tmp_path):
    code = harness.main(["--device", "cpu", "--tiny", "--in-process", "--out", str(tmp_path / "out"),
                         "--work", str(tmp_path / "work"), "--runs", "1", "--warmup", "0", "--prompts", "3",
                         "--requests", "2", "--new-tokens", "4", "--idle-seconds", "0.2"])
    log = json.loads((tmp_path / "out" / "e2e_runs.json").read_text())
    failures = [(r["script"], r["stderr_tail"]) for r in log["runs"] if r["exit"] != 0]
    assert code == 0 and not failures, failures
    assert log["simulated_energy"] is True
    assert not hasattr(sys.modules.get("pynvml"), "replaced")  # the fake NVML is gone again
    with open(tmp_path / "out" / "e2e_summary.csv") as handle:
        rows = {(r["family"], r["variant"]): r for r in csv.DictReader(handle)}
    scripts = ROOT / "docs" / "measurements" / "e2e"
    variants = {(family, variant) for family in harness.FAMILIES for variant, suffix in
                (("base", ""), ("fixed", "_fixed"), ("hand", "_hand")) if (scripts / f"{family}{suffix}.py").exists()}
    assert {("eval_pipeline", "base"), ("eval_pipeline", "hand")} <= variants  # the files the harness needs
    assert set(rows) == variants  # every variant present ran, the --fix ones included
    expected = {"eval_pipeline": 12, "generate_and_score": 12, "serve_fastapi": 8}
    for (family, _), row in rows.items():
        assert int(row["generated_tokens"]) == expected[family] == int(row["expected_tokens"])
        assert float(row["j_per_token_mean"]) > 0
    assert all(row["saving_vs_base_pct"] for (_, variant), row in rows.items() if variant == "hand")
    counted = {r["script"]: r["tokens_counted_by"] for r in log["runs"]}
    assert counted["generate_and_score.py"].startswith("script") and counted["eval_pipeline.py"].startswith("records")
    assert "| eval_pipeline | hand |" in (tmp_path / "out" / "e2e_table.md").read_text()


def test_the_fix_captures_its_share_of_the_hand_saving(harness):
    runs = [{"family": "eval_pipeline", "variant": variant, "round": number, "exit": 0, "duration_s": 1.0,
             "energy_j": energy, "mean_power_w": energy, "generated_tokens": 100, "expected_tokens": 100,
             "j_per_token": energy / 100}
            for number in (1, 2) for variant, energy in (("base", 400.0), ("fixed", 250.0), ("hand", 100.0))]
    runs.append(dict(runs[0], round="warm-up 1", energy_j=9999.0, j_per_token=99.99))
    runs.append(dict(runs[1], exit=1, j_per_token=None, generated_tokens=None))
    rows = {r["variant"]: r for r in harness.summarize(runs, ["eval_pipeline"])}
    assert rows["base"]["j_per_token_mean"] == 4.0 and rows["base"]["saving_vs_base_pct"] is None
    assert rows["fixed"]["saving_vs_base_pct"] == pytest.approx(37.5)
    assert rows["fixed"]["runs_ok"] == 2 and rows["fixed"]["runs_failed"] == 1  # a failed run counts apart
    assert rows["hand"]["saving_vs_base_pct"] == pytest.approx(75.0)
    assert rows["fixed"]["share_of_hand_saving_pct"] == pytest.approx(50.0)


def test_a_script_without_per_record_counts_is_counted_at_max_new_tokens(harness):
    args = harness.parse(["--device", "cpu", "--new-tokens", "32"])
    counter = harness.Harness(args, None, None, None, None)
    assert counter.generated_tokens([{"id": 1}, {"id": 2}]) == (64, "records x max_new_tokens")
    assert counter.generated_tokens([{"new_tokens": 5}, {"new_tokens": 7}])[0] == 12


def test_the_fp32_section_writes_a_row_per_dtype_and_pass(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "measure"))
    practices = load(ROOT / "docs" / "measurements" / "practices.py", "practices")
    monkeypatch.setitem(sys.modules, "pynvml", sys.modules.get("pynvml"))  # restored after the fake
    code = practices.main(["--sections", "fp32", "--arch", "qwen2-1.5b", "--device", "cpu", "--fake-nvml", "--tiny",
                           "--out", str(tmp_path / "fp32"), "--fp32-tokens", "16", "--fp32-batch", "2", "--runs", "1",
                           "--warmup", "0", "--min-run-s", "0", "--pause", "0", "--idle-seconds", "0",
                           "--row-prefix", "f", "--first-row", "9"])
    with open(tmp_path / "fp32.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert code == 0
    assert [r["row_id"] for r in rows] == [f"f{n:03d}" for n in range(9, 17)]
    dtypes = ("fp32", "fp32_tf32", "fp16", "bf16")
    assert [r["precision"] for r in rows] == [f"{d}_{kind}" for kind in ("prefill", "score") for d in dtypes]
    for row in rows:
        assert float(row["energy_j_per_1k"]) > 0 and row["input_tokens"] == "16" and row["batch_size"] == "2"
        assert (row["delta_vs_fp16_pct"] == "") == row["precision"].startswith("fp16_")


def test_the_repeats_section_writes_the_rows_of_the_three_wastes(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "measure"))
    practices = load(ROOT / "docs" / "measurements" / "practices.py", "practices")
    monkeypatch.setitem(sys.modules, "pynvml", sys.modules.get("pynvml"))  # restored after the fake
    code = practices.main(["--sections", "repeats", "--arch", "qwen2-1.5b", "--device", "cpu", "--fake-nvml",
                           "--tiny", "--out", str(tmp_path / "repeats"), "--model-dir", str(tmp_path / "models"),
                           "--repeat-counts", "2", "--new-tokens", "4", "--runs", "1", "--warmup", "0",
                           "--min-run-s", "0", "--pause", "0", "--idle-seconds", "0", "--row-prefix", "r"])
    with open(tmp_path / "repeats.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert code == 0
    assert [r["precision"] for r in rows] == ["bf16_one_copy", "bf16_two_copies", "bf16_generate_once",
                                              "bf16_generate_twice", "bf16_num_return_sequences_2", "bf16_loop_2_calls"]
    assert all(float(row["energy_j_per_1k"]) > 0 for row in rows)
    log = json.loads((tmp_path / "repeats.json").read_text())
    [second_load] = [event for event in log["events"] if event["what"] == "second_load"]
    assert second_load["energy_j"] > 0


def test_the_repeats_section_measures_only_the_parts_asked_for(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "measure"))
    practices = load(ROOT / "docs" / "measurements" / "practices.py", "practices")
    monkeypatch.setitem(sys.modules, "pynvml", sys.modules.get("pynvml"))  # restored after the fake
    code = practices.main(["--sections", "repeats", "--repeat-parts", "samples", "--arch", "qwen2-1.5b",
                           "--device", "cpu", "--fake-nvml", "--tiny", "--out", str(tmp_path / "samples"),
                           "--model-dir", str(tmp_path / "models"), "--repeat-counts", "2", "--new-tokens", "4",
                           "--runs", "1", "--warmup", "0", "--min-run-s", "0", "--pause", "0", "--idle-seconds", "0",
                           "--row-prefix", "r", "--first-row", "5"])
    with open(tmp_path / "samples.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert code == 0
    assert [(r["row_id"], r["precision"]) for r in rows] == [("r005", "bf16_num_return_sequences_2"),
                                                             ("r006", "bf16_loop_2_calls")]
