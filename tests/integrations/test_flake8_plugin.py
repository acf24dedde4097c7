"""The flake8 plugin, run through the real ``flake8`` command and compared with ``ecolint check``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.rules import all_rules

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
RULE_FIXTURES = sorted(FIXTURES.glob("LLM*/*.py"))
DEMO = sorted((FIXTURES / "demo").glob("*.py"))
LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<column>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*?)( \[\*\])?$")
EIGHT_BIT = """\
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

config = BitsAndBytesConfig(load_in_8bit=True)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
"""


def parse(output: str, cwd: Path, codes: str = "LLM") -> list[tuple[str, int, int, str, str]]:
    found = []
    for line in output.splitlines():
        match = LINE.match(line)
        if match and match["code"].startswith(codes):
            path = (cwd / match["path"]).resolve().as_posix()
            found.append((path, int(match["row"]), int(match["column"]), match["code"], match["message"]))
    return sorted(found)


def flake8(*args: str, cwd: Path = ROOT) -> list[tuple]:
    completed = subprocess.run([sys.executable, "-m", "flake8", *args], cwd=cwd, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode in (0, 1), completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    return parse(completed.stdout, cwd)


def ecolint(*args: str, cwd: Path = ROOT, monkeypatch=None) -> list[tuple]:
    if monkeypatch is not None:
        monkeypatch.chdir(cwd)
    result = CliRunner().invoke(main, ["check", "--no-cache", "-q", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return parse(result.stdout, cwd)


def fixture_gpu(path: Path) -> str | None:
    match = re.match(r"#\s*ecolint-args:\s*--gpu\s+(\S+)", path.read_text(encoding="utf-8").splitlines()[0])
    return match.group(1) if match else None


def test_plugin_is_registered_under_eco():
    completed = subprocess.run([sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True)
    assert "ecolint:" in completed.stdout


def test_select_eco_reports_what_check_select_eco_reports_on_every_rule_fixture(monkeypatch):
    paths = [str(p) for p in RULE_FIXTURES + DEMO if fixture_gpu(p) is None]
    from_flake8 = flake8("--isolated", "--select", "LLM", *paths)
    from_check = ecolint("--no-config", "--select", "LLM", *paths, monkeypatch=monkeypatch)
    assert from_flake8 == from_check
    assert len({code for _, _, _, code, _ in from_flake8}) >= 10  # the comparison covers most rules


@pytest.mark.parametrize("gpu", sorted({fixture_gpu(p) for p in RULE_FIXTURES if fixture_gpu(p)}))
def test_eco_gpu_option_matches_check_gpu(gpu, monkeypatch):
    paths = [str(p) for p in RULE_FIXTURES if fixture_gpu(p) == gpu]
    from_flake8 = flake8("--isolated", "--select", "LLM", "--eco-gpu", gpu, *paths)
    from_check = ecolint("--no-config", "--select", "LLM", "--gpu", gpu, *paths, monkeypatch=monkeypatch)
    assert from_flake8 == from_check
    assert any(code in ("LLM103", "LLM107") for _, _, _, code, _ in from_flake8)


def test_default_run_keeps_off_by_default_rules_off(monkeypatch):
    paths = [str(p) for p in DEMO]
    off = {code for code, rule in all_rules().items() if not rule.default_enabled}
    from_flake8 = flake8("--isolated", *paths)
    assert from_flake8 == ecolint("--no-config", *paths, monkeypatch=monkeypatch)
    assert not off & {code for _, _, _, code, _ in from_flake8}
    everything = flake8("--isolated", "--select", "LLM", *paths)
    assert "LLM302" in {code for _, _, _, code, _ in everything}  # so the default run did leave it out
    extended = flake8("--isolated", "--extend-select", "LLM302", *paths)
    assert extended == ecolint("--no-config", "--extend-select", "LLM302", *paths, monkeypatch=monkeypatch)


def test_flake8_ignore_per_file_ignores_and_noqa_apply(tmp_path):
    (tmp_path / "plain.py").write_text(EIGHT_BIT, encoding="utf-8")
    (tmp_path / "silenced.py").write_text(EIGHT_BIT.replace("load_in_8bit=True)", "load_in_8bit=True)  # noqa:LLM101"),
                                          encoding="utf-8")
    (tmp_path / "legacy.py").write_text(EIGHT_BIT, encoding="utf-8")
    found = flake8("--isolated", "--select", "LLM", ".", cwd=tmp_path)
    assert [(Path(p).name, row, col, code) for p, row, col, code, _ in found] == [
        ("legacy.py", 3, 29, "LLM101"), ("plain.py", 3, 29, "LLM101")]
    assert flake8("--isolated", "--select", "LLM", "--extend-ignore", "LLM101", ".", cwd=tmp_path) == []
    found = flake8("--isolated", "--select", "LLM", "--per-file-ignores", "legacy.py:LLM1", ".", cwd=tmp_path)
    assert [Path(p).name for p, *_ in found] == ["plain.py"]
    assert flake8("--isolated", "--select", "LLM", "silenced.py", cwd=tmp_path) == []


def test_options_from_the_flake8_config_file(tmp_path, monkeypatch):
    source = (FIXTURES / "LLM103" / "pos_a800_int8.py").read_text(encoding="utf-8")
    (tmp_path / "serve.py").write_text(source, encoding="utf-8")
    assert "LLM103" not in {code for *_, code, _ in flake8("serve.py", cwd=tmp_path)}  # off by default, needs a GPU
    (tmp_path / ".flake8").write_text("[flake8]\nextend-select = LLM103\neco-gpu = a800\n", encoding="utf-8")
    from_flake8 = flake8("serve.py", cwd=tmp_path)
    assert "LLM103" in {code for *_, code, _ in from_flake8}
    assert from_flake8 == ecolint("--no-config", "--extend-select", "LLM103", "--gpu", "a800", "serve.py",
                                  cwd=tmp_path, monkeypatch=monkeypatch)


def test_rule_options_come_from_the_ecolint_table(tmp_path, monkeypatch):
    source = ('from transformers import AutoModelForCausalLM\n'
              'm = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-7B", load_in_4bit=True)\n')
    (tmp_path / "small.py").write_text(source, encoding="utf-8")
    assert "LLM102" not in {code for *_, code, _ in flake8("--select", "LLM", "small.py", cwd=tmp_path)}
    option = next(name for name in all_rules()["LLM102"].options)
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.ecolint.options.LLM102]\n{option.replace('_', '-')} = 8\n", encoding="utf-8")
    from_flake8 = flake8("--select", "LLM", "small.py", cwd=tmp_path)
    assert "LLM102" in {code for *_, code, _ in from_flake8}
    assert from_flake8 == ecolint("--select", "LLM", "small.py", cwd=tmp_path, monkeypatch=monkeypatch)


def test_bad_gpu_name_is_reported_by_flake8(tmp_path):
    (tmp_path / "x.py").write_text("x = 1\n", encoding="utf-8")
    completed = subprocess.run([sys.executable, "-m", "flake8", "--eco-gpu", "no-such-gpu", "x.py"], cwd=tmp_path,
                               capture_output=True, text=True)
    assert completed.returncode != 0
    assert "eco-gpu" in completed.stderr


def test_selecting_pycodestyle_families_reports_no_ecolint_code(tmp_path):
    (tmp_path / "serve.py").write_text(EIGHT_BIT, encoding="utf-8")
    completed = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "E,W,F", "serve.py"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "E501" in completed.stdout  # pycodestyle ran
    assert "LLM" not in completed.stdout
    assert [code for *_, code, _ in flake8("--isolated", "--select", "E,W,F,LLM", "serve.py", cwd=tmp_path)] == [
        "LLM101"]
    assert [code for *_, code, _ in flake8("--isolated", "--extend-select", "LLM", "serve.py", cwd=tmp_path)] == [
        "LLM101"]


def test_a_legacy_eco_noqa_still_silences_with_a_warning(tmp_path):
    (tmp_path / "serve.py").write_text(
        EIGHT_BIT.replace("load_in_8bit=True)", "load_in_8bit=True)  # noqa: ECO101"), encoding="utf-8")
    completed = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "LLM", "serve.py"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert completed.stdout == ""
    assert "ECO101 is deprecated, write LLM101" in completed.stderr


def libcst_loaded_by_flake8(*args: str, cwd: Path) -> tuple[bool, str]:
    """Run flake8 in a fresh interpreter (one file: in-process); whether libcst got imported, and the output."""
    code = ("import sys\nfrom flake8.main.cli import main\n"
            f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
            "print('libcst loaded:', 'libcst' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed.stdout.rstrip().endswith("libcst loaded: True"), completed.stdout


def test_the_plugin_loads_no_libcst_for_a_file_without_triggers_or_a_selection_without_llm(tmp_path):
    (tmp_path / "plain.py").write_text("import os\n\nprint(os.sep)\n", encoding="utf-8")
    (tmp_path / "serve.py").write_text(EIGHT_BIT, encoding="utf-8")
    assert libcst_loaded_by_flake8("--isolated", "plain.py", cwd=tmp_path) == (False, "libcst loaded: False\n")
    loaded, output = libcst_loaded_by_flake8("--isolated", "--select", "E,W,F", "serve.py", cwd=tmp_path)
    assert not loaded and "E501" in output
    loaded, output = libcst_loaded_by_flake8("--isolated", "--select", "E,L", "serve.py", cwd=tmp_path)
    assert loaded and "LLM101" in output


@pytest.mark.parametrize("select, extend_select, may", [
    (None, None, True), (["E", "W"], None, False), (["E"], ["LLM"], True), (["LLM1"], None, True),
    (["L"], None, True), (["LLM101"], None, True), (["LLM9"], None, False), (["ALL"], None, False),
])
def test_selection_that_can_report_an_llm_code(select, extend_select, may):
    from ecolint.flake8_plugin import _may_select_a_rule

    assert _may_select_a_rule(select, extend_select) is may


def test_eco_transformers_version_option_matches_check(tmp_path, monkeypatch):
    (tmp_path / "serve.py").write_text(
        'from transformers import AutoModelForCausalLM\n'
        'm = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B", device_map="auto")\n', encoding="utf-8")
    v4 = flake8("--isolated", "--select", "LLM", "--eco-transformers-version", "4.57", "serve.py", cwd=tmp_path)
    assert v4 == ecolint("--no-config", "--transformers-version", "4.57", "serve.py", cwd=tmp_path,
                         monkeypatch=monkeypatch)
    assert "(the transformers-version setting)" in v4[0][-1]
    assert flake8("--isolated", "--select", "LLM", "--eco-transformers-version", "5.2", "serve.py", cwd=tmp_path) == []
