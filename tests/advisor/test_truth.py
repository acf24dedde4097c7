"""The advisor states only what its rows support: each behaviour below was once printed wrongly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecolint.energy.dataset import GPU_ALIASES, NEAR_MISSES, resolve_gpu

DOCS = Path(__file__).resolve().parents[2] / "docs"


# --- GPU aliases: every alias promised works and names one card; `4090` is not promised


def test_every_alias_in_the_help_resolves_to_exactly_its_card(advisor):
    help_text = " ".join(advisor("estimate", "--help").stdout.split())
    promised = re.search(r"aliases: ([^;]+);", help_text).group(1).split(", ")
    assert promised == list(GPU_ALIASES)
    for alias in promised:
        assert resolve_gpu(alias).key == GPU_ALIASES[alias]
        assert alias not in NEAR_MISSES


def test_docs_promise_only_aliases_that_work(advisor):
    text = (DOCS / "advisor.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `--gpu`"))
    promised = re.search(r"Aliases (.*?), each naming", row).group(1)
    for alias in re.findall(r"`([^`]+)`", promised):
        assert advisor("estimate", "-m", "7B", "-g", alias).exit_code == 0, alias
    assert "--gpu 4090 " not in text


def test_the_plain_4090_is_refused_in_one_line(advisor):
    run = advisor("estimate", "-m", "7B", "-g", "4090")
    assert run.exit_code == 2
    assert "not in the data" in run.stderr and len(run.stderr.strip().splitlines()) == 1


# --- 8-bit advice: FP16/BF16 first, NF4 next, threshold 0.0 last with its risk, everywhere


def _in_order(text: str) -> None:
    """Every mention of threshold 0.0 as advice comes after FP16/BF16 and NF4, with the quality risk."""
    for sentence in re.split(r"(?<=\.)\s", text):
        if "set llm_int8_threshold=0.0" in sentence or "If 8-bit is required" in sentence:
            at = sentence.index("llm_int8_threshold=0.0")
            assert -1 < sentence.find("FP16") < at or "If 8-bit is required" in sentence, sentence
    assert "risks output quality" in text


def test_every_advisor_command_orders_the_8bit_advice(advisor):
    for command in ("estimate", "optimize", "compare"):
        run = advisor(command, "-m", "mistral-7b", "-g", "a800", "-q", "int8_default")
        assert run.exit_code == 0
        assert "Set llm_int8_threshold=0.0 or use FP16/NF4" not in run.stdout
        _in_order(run.stdout)
    run = advisor("diagnose", "-m", "mistral-7b", "-g", "a800", "-q", "int8_default", "--observed-throughput", "9.9")
    fixes = run.stdout[run.stdout.index("Load in FP16"):]
    assert fixes.index("Load in FP16") < fixes.index("NF4") < fixes.index("If 8-bit is required")
    _in_order(run.stdout)


def test_the_llm101_message_docs_and_fix_title_share_one_text():
    from ecolint.advice import EIGHT_BIT_TITLE, eight_bit
    from ecolint.rules import all_rules

    rule = all_rules()["LLM101"]
    assert eight_bit() in rule.message and eight_bit() in rule.docs["why_bad"]
    assert rule.fix_title == EIGHT_BIT_TITLE
    assert rule.fix_title.index("FP16") < rule.fix_title.index("NF4") < rule.fix_title.index("0.0")
    page = (DOCS / "rules" / "LLM101.md").read_text()
    assert " ".join(eight_bit().split()) in " ".join(page.split())


def test_audit_heading_and_diff_put_threshold_zero_last(tmp_path):
    from click.testing import CliRunner

    from ecolint.cli import main

    path = tmp_path / "load.py"
    path.write_text(
        "from transformers import BitsAndBytesConfig\n\nconfig = BitsAndBytesConfig(load_in_8bit=True)\n"
    )
    audit = CliRunner().invoke(main, ["check", "--output-format", "audit", str(path)]).stdout
    heading = next(line for line in audit.splitlines() if line.startswith("1. **"))
    assert heading.index("FP16/BF16") < heading.index("NF4") < heading.index("llm_int8_threshold=0.0")
    diff = CliRunner().invoke(main, ["check", "--diff", "--unsafe-fixes", str(path)])
    assert "+config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)" in diff.stdout
    note = next(line for line in diff.stderr.splitlines() if line.startswith("LLM101 (unsafe fix"))
    assert note.index("FP16/BF16") < note.index("NF4") < note.rindex("llm_int8_threshold=0.0")
    assert "risks output quality" in note


# --- fit: a plan that does not fit is never recommended, called a fit, or priced without saying so first


def test_nothing_fits_is_refused_by_compare_and_optimize_like_estimate(advisor):
    for command in ("estimate", "optimize", "compare"):
        run = advisor(command, "-m", "70B", "-g", "rtx4090d")
        assert run.exit_code != 0 and "cannot run" in run.stderr, command
        assert not run.stdout and "$" not in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1


def test_estimate_says_a_plan_does_not_fit_before_pricing_it(advisor):
    text = advisor("estimate", "-m", "13B", "-g", "t4").stdout
    said = text.index("## Does not fit")
    assert said < text.index("$") and said < text.index("## Monthly estimate")
    assert "needs FP16 26.1 GB" in text[said:text.index("## Configuration")]
    assert "Current (FP16, BS=1, does not fit)" in text
    assert advisor("estimate", "-m", "13B", "-g", "t4", "--json").json()["fits"] is False
    assert "Does not fit" not in advisor("estimate", "-m", "7B", "-g", "a800").stdout


def test_compare_marks_misfits_before_the_table_and_in_the_benefits(advisor):
    text = advisor("compare", "-m", "13B", "-g", "t4").stdout
    table = text.index("| Metric |")
    assert text.index("Does not fit 16 GB") < table
    assert "vs FP16 (does not fit; as if it ran)" in text
    assert "Nothing fits" not in text
    assert "**Use NF4" in text  # the only precision that fits 12.8 GB


# --- diagnose: observations outside what the card can do are refused, naming the bound


def _refused(run, bound: str) -> None:
    assert run.exit_code == 2 and not run.stdout
    assert bound in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_diagnose_refuses_power_below_idle_and_above_the_limit(advisor):
    base = ("diagnose", "-m", "7B", "-g", "a800", "--observed-throughput", "30")
    _refused(advisor(*base, "--observed-power", "1"), "below 65.0 W")
    _refused(advisor(*base, "--observed-power", "401"), "above the 400 W power limit")
    assert advisor(*base, "--observed-power", "150").exit_code == 0


def test_diagnose_refuses_throughput_above_the_roofline_or_absurdly_low(advisor):
    base = ("diagnose", "-m", "7B", "-g", "a800")
    _refused(advisor(*base, "--observed-throughput", "3000"), "allows at most 142 tok/s")
    _refused(advisor(*base, "--observed-throughput", "1e-300"), "below 0.500 tok/s")
    assert advisor(*base, "--observed-throughput", "0.6").exit_code == 0  # CPU offload is that slow


def test_idle_floor_comes_from_the_data():
    from ecolint.energy.bounds import idle_floor
    from ecolint.energy.dataset import gpus

    assert idle_floor(gpus()["a800"]).value == 65
    h200 = idle_floor(gpus()["h200"])
    assert 119 < h200.value < 125 and "row h" in h200.source  # the idle recorded with the H200 rows
    t4 = idle_floor(gpus()["t4"])
    assert t4.value < 5 and "not in the data" in t4.source


def test_diagnose_reports_a_setup_that_cannot_load(advisor):
    run = advisor("diagnose", "-m", "13B", "-g", "t4", "--observed-throughput", "3")
    assert run.exit_code != 0 and "cannot load" in run.stderr and "26.1 GB" in run.stderr and not run.stdout


# --- "measured" only at the row's own lengths; elsewhere "measured at X, adjusted to Y" with its error


def test_a_row_used_at_other_lengths_is_labelled_adjusted(advisor):
    text = advisor("estimate", "-m", "mistral-7b", "-g", "h200", "--sequence-length", "512",
                   "--generation-length", "256").stdout
    assert "(measured h015)" not in text and "measured h015 " not in text
    assert "Energy per 1k tokens: 4,7" in text and "(measured at 64/128, adjusted to 512/256: x1.01, h015; band" in text
    assert re.search(r"differ from this adjustment by up to 36% in energy \(pairs [^)]*m055/m065", text)
    a800 = advisor("estimate", "-m", "mistral-7b", "-g", "a800", "-q", "int8_default").stdout
    assert "measured at 128 generated tokens (prompt length not recorded), adjusted to 512/256" in a800
    own = advisor("estimate", "-m", "mistral-7b", "-g", "a800", "-q", "int8_default", "--generation-length", "128")
    assert "(measured m048 (128 generated tokens; prompt length not recorded); band" in own.stdout


def test_the_adjustment_error_is_the_worst_length_pair():
    from ecolint.energy.dataset import measurements
    from ecolint.energy.remeasure import adjustment_error, pairs

    length = [p for p in pairs() if p.kind == "length"]
    assert adjustment_error().value == max(abs(p.energy) for p in length)
    rows = measurements()
    m055, m065 = rows["m055"], rows["m065"]
    raw = m065.energy_j_per_1k / m055.energy_j_per_1k - 1  # 827 -> 1108 J/1k, 128 vs 256 + 256 tokens
    found = next(p for p in length if (p.row, p.again) == ("m055", "m065"))
    assert raw == pytest.approx(0.34, abs=0.01) and abs(found.energy - raw) < 0.03  # the model moves it little


# --- per-request energy includes the prompt's prefill


def test_a_long_prompt_with_one_token_costs_its_prefill(advisor):
    from ecolint.energy.prefill import errors, prefill_model, scoring_rows

    data = advisor("estimate", "-m", "mistral-7b", "-g", "h200", "--sequence-length", "512",
                   "--generation-length", "1", "--json").json()
    per_request = data["current"]["energy_j_per_request"]["value"]
    p012 = next(m for m in scoring_rows() if m.row_id == "p012")  # 512 scored tokens, 7B, batch 1: 14 J
    assert p012.energy_per_request_j == pytest.approx(14.0, abs=0.1)
    decode = 4.7  # h015: 4,707 J per 1000 generated tokens
    assert per_request == pytest.approx(decode + prefill_model().joules(7.0, 512), rel=0.05)
    assert per_request > decode + p012.energy_per_request_j * (1 - errors().fitted)


def test_the_prefill_model_is_within_its_stated_error_of_the_scoring_rows():
    from ecolint.energy.prefill import errors, prefill_model, scoring_rows

    rows = scoring_rows()
    assert {m.row_id for m in rows} == {"p012", "p014", "p023", "p025"}
    worst = max(abs(prefill_model().joules_per_token(m.params_b, m.batch_size) * 1000 / m.energy_j_per_1k - 1)
                for m in rows)
    assert worst == pytest.approx(errors().fitted) and worst < 0.2
    assert errors().held_out >= errors().fitted


# --- bands cover what measuring again finds


def test_the_band_of_a_measured_row_covers_its_remeasurements():
    from ecolint.energy.curation import gross_energy_j_per_1k
    from ecolint.energy.dataset import measurements
    from ecolint.energy.estimator import Estimator
    from ecolint.energy.remeasure import _workload, band, pairs

    estimator = Estimator()
    rows = measurements()
    checked = 0
    for pair in pairs():
        first, again = rows[pair.row], rows[pair.again]
        w = _workload(again, first.precision)
        if estimator.measured_row(w) is None or estimator.measured_row(w).row_id != pair.row:
            continue
        figure = estimator.estimate(w).energy_per_1k
        assert figure.low <= gross_energy_j_per_1k(again) <= figure.high, (pair, figure)
        checked += 1
    assert checked >= 10
    assert band("h200").value > 0.35 and band("a800").value > 0.3  # not the ~5% of 3 runs' SD
    assert not band("rtx4090d").on_gpu  # no RTX 4090D row was measured twice: every GPU's pairs


# --- memory: one function for LLM103/LLM107/LLM108 and the advisor; known ids and sizes get measured shapes


def test_llm107_and_llm108_give_the_same_memory_for_one_load(tmp_path):
    from click.testing import CliRunner

    from ecolint.cli import main

    path = tmp_path / "serve.py"
    path.write_text(
        "import torch\nfrom transformers import AutoModelForCausalLM\n\n"
        'model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-70b-hf", dtype=torch.float16, '
        'device_map="auto")\n'
    )
    run = CliRunner().invoke(main, ["check", "--select", "LLM107,LLM108", "--gpu", "rtx4090d",
                                    "--output-format", "concise", str(path)])
    llm107 = re.search(r"LLM107 .*?FP16 ([0-9.]+) GB \(([0-9.]+) weights", run.stdout)
    llm108 = re.search(r"LLM108 .*?weights of about ([0-9]+) GB", run.stdout)
    assert llm107 and llm108, run.stdout
    assert round(float(llm107.group(2))) == int(llm108.group(1)) == 138


def test_mistral_ids_and_a_bare_size_get_the_measured_shape(advisor):
    from ecolint.energy.architectures import find_architecture

    for model_id in ("mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.1", "mistralai/Mistral-7B-v0.3"):
        assert find_architecture(model_id).key == "Mistral-7B-Instruct"
    for model in ("mistralai/Mistral-7B-v0.1", "7B"):
        data = advisor("estimate", "-m", model, "-g", "h200", "--json").json()
        assert data["current"]["energy_j_per_1k_tokens"]["rows"] == ["h015"], model
    text = advisor("estimate", "-m", "7B", "-g", "h200").stdout
    assert "shape of the measured Mistral-7B-Instruct" in text and "a size alone names no shape" in text


# --- fp32 compute-bound rows (hopper_fp32.csv): shown by LLM303/LLM306, the prefill term and the fp32 warning


def _without_fp32_rows() -> dict:
    from ecolint.energy.dataset import measurements

    return {row_id: row for row_id, row in measurements().items() if not row_id.startswith("f")}


def _pairs_of(penalty, words: str) -> list[tuple[str, str]]:
    group = next(group for group in penalty.groups if words in group.label)
    return [(pair.row.row_id, pair.baseline.row_id) for pair in group.pairs]


def test_fp32_penalty_groups_come_from_the_rows_in_the_data():
    from ecolint.rule_schema import rule_data
    from ecolint.rules import all_rules, parse_rule

    for code in ("LLM303", "LLM306"):
        penalty = all_rules()[code].penalty
        assert _pairs_of(penalty, "prefill in float32 (TF32 off") == [("f001", "f003"), ("f009", "f011")]
        assert _pairs_of(penalty, "scoring pass in float32 (TF32 off)") == [("f005", "f007"), ("f013", "f015")]
        assert _pairs_of(penalty, "prefill in float32 with TF32 on") == [("f002", "f003"), ("f010", "f011")]
        text = penalty.describe()
        assert "+595% to +865% energy per prompt token of a prefill" in text and "on H100" in text
        assert "+26% to +141% energy per token in float32 vs FP16 on H200" in text  # decoding, unchanged
        without = parse_rule(rule_data()[code], _without_fp32_rows()).penalty
        assert [group.label for group in without.groups] == ["energy per token in float32 vs FP16"]


def test_fp32_prefill_scales_the_prefill_term_by_its_rows(monkeypatch):
    from ecolint.energy import prefill

    factor = prefill.precision_factor("fp32")
    assert factor.value == pytest.approx((43.5 / 6.2 + 208.6 / 21.6) / 2, rel=0.02)  # f001/f003, f009/f011
    assert "median of rows f001/f003, f009/f011" in factor.note
    model = prefill.prefill_model()
    assert model.joules(7.0, 512, 1, "fp32") == pytest.approx(factor.value * model.joules(7.0, 512, 1))
    monkeypatch.setattr(prefill, "measurements", _without_fp32_rows)
    prefill.precision_factor.cache_clear()
    try:
        assert prefill.precision_factor("fp32").value == 1.0
        assert "not measured yet" in prefill.precision_factor("fp32").note
    finally:
        prefill.precision_factor.cache_clear()


def test_the_fp32_warning_shows_the_compute_bound_rows(advisor, monkeypatch):
    from ecolint.energy import dataset

    text = advisor("estimate", "-m", "mistral-7b", "-g", "h200", "-q", "fp32").stdout
    assert "decoding measured 26-141% more energy per token than FP16" in text
    assert "prefill 595-865% more (rows f003/f001, f011/f009)" in text
    assert "scoring with TF32 on 69-88% more" in text
    rows = _without_fp32_rows()
    monkeypatch.setattr(dataset, "measurements", lambda: rows)
    text = advisor("estimate", "-m", "mistral-7b", "-g", "h200", "-q", "fp32").stdout
    assert "compute-bound work (prefill, scoring) in FP32 is not measured yet" in text


def test_add_fp32_rows_reproduces_the_shipped_table_and_curation(tmp_path):
    import importlib.util
    import shutil

    root = Path(__file__).resolve().parents[2]
    data = root / "ecolint" / "energy" / "data"
    shipped_table = (data / "hopper_fp32.csv").read_text()
    shipped_curation = (data / "curation.csv").read_text()
    shutil.copy(data / "measurements.csv", tmp_path / "measurements.csv")
    (tmp_path / "hopper_fp32.csv").write_text(shipped_table.splitlines(keepends=True)[0])
    lines = shipped_curation.splitlines(keepends=True)
    others = "".join(line for line in lines if not line.startswith("f0"))
    (tmp_path / "curation.csv").write_text(others)
    shipped_curation = others + "".join(line for line in lines if line.startswith("f0"))  # appended last
    spec = importlib.util.spec_from_file_location("add_fp32_rows", root / "scripts" / "add_fp32_rows.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rows = tmp_path / "rows.csv"
    rows.write_text(shipped_table)
    assert script.main([str(rows)], tmp_path) == 0
    assert (tmp_path / "hopper_fp32.csv").read_text() == shipped_table
    assert (tmp_path / "curation.csv").read_text() == shipped_curation
    assert script.main([str(rows)], tmp_path) == 0  # again: rows replaced, no curation line repeated
    assert (tmp_path / "curation.csv").read_text() == shipped_curation
    bad = tmp_path / "bad.csv"
    bad.write_text(shipped_table.replace("\nf001,", "\np901,", 1))
    assert script.main([str(bad)], tmp_path) == 2


def test_add_repeat_rows_reproduces_the_shipped_table_and_curation(tmp_path):
    import importlib.util
    import shutil

    root = Path(__file__).resolve().parents[2]
    data = root / "ecolint" / "energy" / "data"
    shipped_table = (data / "hopper_repeats.csv").read_text()
    shipped_curation = (data / "curation.csv").read_text()
    shutil.copy(data / "measurements.csv", tmp_path / "measurements.csv")
    (tmp_path / "hopper_repeats.csv").write_text(shipped_table.splitlines(keepends=True)[0])
    lines = shipped_curation.splitlines(keepends=True)
    others = "".join(line for line in lines if not line.startswith("r0"))
    (tmp_path / "curation.csv").write_text(others)
    shipped_curation = others + "".join(line for line in lines if line.startswith("r0"))  # appended last
    spec = importlib.util.spec_from_file_location("add_repeat_rows", root / "scripts" / "add_repeat_rows.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rows = tmp_path / "rows.csv"
    rows.write_text(shipped_table)
    assert script.main([str(rows)], tmp_path) == 0
    assert (tmp_path / "hopper_repeats.csv").read_text() == shipped_table
    assert (tmp_path / "curation.csv").read_text() == shipped_curation
    bad = tmp_path / "bad.csv"
    bad.write_text(shipped_table.replace("\nr001,", "\nf901,", 1))
    assert script.main([str(bad)], tmp_path) == 2
