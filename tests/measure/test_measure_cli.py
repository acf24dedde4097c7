"""``ecolint measure`` end to end with a fake NVML and real child processes."""

import json
import os
import sys

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from fakenvml import FakeGpu

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAST = ["--idle-seconds", "0.2", "--interval", "0.005", "--quiet"]


def busy_child(marker, seconds=0.3, extra=""):
    """A Python child that keeps the fake GPU busy (by a marker file) for ``seconds``."""
    code = (
        "import os, sys, time\n"
        f"open({str(marker)!r}, 'w').close()\n"
        f"time.sleep({seconds})\n"
        f"os.remove({str(marker)!r})\n"
        f"{extra}\n"
    )
    return [sys.executable, "-c", code]


def invoke(args, env=None):
    environment = {"PYTHONPATH": REPO}
    environment.update(env or {})
    return CliRunner().invoke(main, ["measure", *args], env=environment)


def test_measure_reports_gross_idle_net_and_tokens(fake_nvml, tmp_path):
    fake = fake_nvml([FakeGpu(idle_w=60.0, busy_w=300.0)])
    fake.busy_file = str(tmp_path / "busy")
    out = tmp_path / "result.json"
    child = busy_child(fake.busy_file, 0.4, "print('hello'); print('ECOLINT_TOKENS=2000')")
    result = invoke([*FAST, "--json", str(out), "--", *child])
    assert result.exit_code == 0, result.output + result.stderr
    assert "hello" in result.stdout and "ECOLINT_TOKENS=2000" in result.stdout
    assert (
        "energy (gross)" in result.stderr
        and "energy (net)" in result.stderr
        and "J/1k tokens" in result.stderr
    )
    document = json.loads(out.read_text())
    run = document["runs"][0]
    assert run["tokens"] == 2000 and run["exit_code"] == 0
    assert document["idle"]["power_w"][0] == pytest.approx(60.0, rel=0.05)
    # The child is busy 0.4 s (240 W over idle); interpreter start-up is idle time.
    assert run["net_energy_j"] == pytest.approx(240.0 * 0.4, rel=0.15)
    assert run["energy_j"] == pytest.approx(
        run["net_energy_j"] + 60.0 * run["duration_s"], rel=0.02
    )
    assert run["j_per_1k_tokens"] == pytest.approx(run["energy_j"] / 2.0)
    assert run["tokens_per_j"] == pytest.approx(2000 / run["energy_j"])
    assert run["peak_power_w"] == pytest.approx(300.0)
    gpu = document["environment"]["gpus"][0]
    assert (
        gpu["name"] == "NVIDIA H100 80GB HBM3"
        and gpu["power_limit_w"] == 700.0
        and gpu["temperature_c"] == 41
    )
    assert document["environment"]["driver"] == "580.159.04"
    assert set(document["environment"]["software"]) >= {"torch", "transformers", "bitsandbytes"}
    assert document["summary"] is None


def test_tokens_option_and_report_tokens_api(fake_nvml, tmp_path):
    fake_nvml()
    child = [
        sys.executable,
        "-c",
        "from ecolint.measure import report_tokens; report_tokens(300); report_tokens(200)",
    ]
    out = tmp_path / "r.json"
    result = invoke([*FAST, "--json", str(out), "--", *child])
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["runs"][0]["tokens"] == 500
    result = invoke([*FAST, "--tokens", "64", "--json", str(out), "--", *child])
    assert json.loads(out.read_text())["runs"][0]["tokens"] == 64


def test_repeats_give_mean_std_interval_and_cv(fake_nvml, tmp_path):
    fake = fake_nvml()
    fake.busy_file = str(tmp_path / "busy")
    out = tmp_path / "r.json"
    child = busy_child(fake.busy_file, 0.1, "print('ECOLINT_TOKENS=100')")
    result = invoke([*FAST, "--repeat", "3", "--cooldown", "0", "--json", str(out), "--", *child])
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text())
    assert len(document["runs"]) == 3
    summary = document["summary"]["energy_j"]
    values = [run["energy_j"] for run in document["runs"]]
    assert summary["n"] == 3 and summary["mean"] == pytest.approx(sum(values) / 3)
    assert summary["ci95_low"] < summary["mean"] < summary["ci95_high"]
    assert summary["cv_pct"] == pytest.approx(summary["std"] / summary["mean"] * 100)
    assert "95% interval" in result.stderr and "CV" in result.stderr
    # every run is short: the flag is reported once per run
    assert "shorter than 1 s" in result.stderr


def test_json_to_stdout_moves_command_output_to_stderr(fake_nvml):
    fake_nvml()
    result = invoke(
        [
            *FAST,
            "--idle-seconds",
            "0",
            "--json",
            "-",
            "--",
            sys.executable,
            "-c",
            "print('child says')",
        ]
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["runs"][0]["net_energy_j"] is None and document["idle"]["total_w"] is None
    assert "child says" in result.stderr


def test_cuda_visible_devices_selects_and_sums_gpus(fake_nvml, tmp_path):
    fake_nvml(
        [
            FakeGpu(name="GPU zero", uuid="GPU-0000", idle_w=50.0, busy_w=50.0),
            FakeGpu(name="GPU one", uuid="GPU-1111", idle_w=80.0, busy_w=80.0),
        ]
    )
    out = tmp_path / "r.json"
    child = [sys.executable, "-c", "import time; time.sleep(0.2)"]
    result = invoke([*FAST, "--json", str(out), "--", *child], env={"CUDA_VISIBLE_DEVICES": "1"})
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text())
    assert [g["name"] for g in document["environment"]["gpus"]] == ["GPU one"]
    assert document["environment"]["cuda_visible_devices"] == "1"
    result = invoke([*FAST, "--json", str(out), "--", *child], env={"CUDA_VISIBLE_DEVICES": "1,0"})
    document = json.loads(out.read_text())
    run = document["runs"][0]
    assert [g["name"] for g in run["gpus"]] == ["GPU one", "GPU zero"]
    assert run["energy_j"] == pytest.approx(sum(g["energy_j"] for g in run["gpus"]))
    assert run["mean_power_w"] == pytest.approx(130.0, rel=0.02)
    assert "all GPUs" in result.stderr


def test_missing_counter_uses_sampled_power_and_says_so(fake_nvml, tmp_path):
    fake_nvml(
        [
            FakeGpu(
                energy_counter=False, instant_power=False, architecture=8, idle_w=40.0, busy_w=40.0
            )
        ]
    )
    out = tmp_path / "r.json"
    result = invoke(
        [*FAST, "--json", str(out), "--", sys.executable, "-c", "import time; time.sleep(0.2)"]
    )
    assert result.exit_code == 0, result.stderr
    run = json.loads(out.read_text())["runs"][0]
    assert run["gpus"][0]["energy_source"] == "sampled"
    assert run["energy_j"] == pytest.approx(40.0 * run["duration_s"], rel=0.03)
    assert "no total-energy counter" in result.stderr and "one-second average" in result.stderr


@pytest.mark.parametrize(
    "setup, message",
    [
        (dict(init_error="Driver Not Loaded"), "no NVIDIA driver found"),
        (dict(gpus=[]), "no NVIDIA GPU found"),
    ],
)
def test_no_driver_or_gpu_is_one_line_and_exit_2(fake_nvml, setup, message):
    fake_nvml(**setup)
    result = invoke([*FAST, "--", sys.executable, "-c", "pass"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_no_pynvml_is_one_line_and_exit_2(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    result = invoke([*FAST, "--", "true"])
    assert (
        result.exit_code == 2 and result.stderr.count("\n") == 1 and "nvidia-ml-py" in result.stderr
    )


def test_hidden_gpus_is_one_line_and_exit_2(fake_nvml):
    fake_nvml()
    result = invoke([*FAST, "--", "true"], env={"CUDA_VISIBLE_DEVICES": ""})
    assert (
        result.exit_code == 2
        and "no GPU visible" in result.stderr
        and result.stderr.count("\n") == 1
    )


def test_command_not_found_and_failing_command(fake_nvml):
    fake_nvml()
    result = invoke([*FAST, "--", "ecolint-no-such-command-xyz"])
    assert (
        result.exit_code == 127
        and "command not found" in result.stderr
        and result.stderr.count("\n") == 1
    )
    result = invoke([*FAST, "--", sys.executable, "-c", "raise SystemExit(3)"])
    assert result.exit_code == 3 and "exited with status 3" in result.stderr


def test_no_command_is_a_usage_error(fake_nvml):
    result = invoke([])
    assert result.exit_code == 2


def test_gpu_option_out_of_range_and_unwritable_json(fake_nvml, tmp_path):
    fake_nvml()
    result = invoke([*FAST, "--gpu", "1", "--", "true"])
    assert result.exit_code == 2 and "no GPU 1" in result.stderr and result.stderr.count("\n") == 1
    result = invoke([*FAST, "--json", str(tmp_path / "missing" / "r.json"), "--", "true"])
    assert result.exit_code == 2 and "cannot write" in result.stderr
    assert "Traceback" not in result.stderr
