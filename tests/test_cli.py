"""The command line: exit codes, selection, config files, noqa, stdin, output and error paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_helpers import run_cli

EIGHT_BIT = "from transformers import BitsAndBytesConfig\ncfg = BitsAndBytesConfig(load_in_8bit=True)\n"
CLEAN = "from transformers import BitsAndBytesConfig\ncfg = BitsAndBytesConfig(load_in_4bit=True)\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- exit codes and output ---------------------------------------------------------------------
def test_findings_exit_1_with_flake8_style_lines_and_summary(project):
    write(project, "a.py", EIGHT_BIT)
    result = run_cli("check", "a.py")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("a.py:2:26: LLM101 8-bit bitsandbytes loading")
    assert "+40% to +60% on RTX 4090D, +122% to +147% on A800" in lines[0]
    assert "Found 1 diagnostic in 1 file checked." in lines


def test_clean_file_exits_0(project):
    write(project, "a.py", CLEAN)
    result = run_cli("check", "a.py")
    assert result.exit_code == 0
    assert result.stdout.strip() == "All checks passed (1 file checked)."


def test_shorthand_without_check_and_exit_zero_and_quiet(project):
    write(project, "a.py", EIGHT_BIT)
    result = run_cli("a.py", "--exit-zero", "--quiet")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [line for line in result.stdout.splitlines() if "LLM101" in line]


def test_default_path_is_the_current_directory(project):
    write(project, "pkg/a.py", EIGHT_BIT)
    assert run_cli().exit_code == 1


def test_json_output_has_ruff_field_names_and_measured_penalty(project):
    write(project, "a.py", EIGHT_BIT)
    result = run_cli("check", "a.py", "--output-format", "json")
    [item] = json.loads(result.stdout)
    assert {
        "code",
        "message",
        "filename",
        "location",
        "end_location",
        "fix",
        "url",
        "name",
        "severity",
        "penalty",
        "evidence",
    } <= set(item)
    assert item["location"] == {"row": 2, "column": 26}
    assert item["name"] == "bnb-int8-outlier-threshold"
    group = item["penalty"]["groups"][0]
    assert (group["min_pct"], group["max_pct"]) == (40.1, 404.0)  # gross board energy
    assert "m048" in item["evidence"] and "m047" in item["evidence"]
    assert item["penalty"]["measured_on"] == ["RTX 4090D", "A800", "H200"]


def test_not_measured_penalty_says_so():
    from ecolint.rules import parse_rule

    rule = parse_rule(
        {
            "code": "LLM999",
            "name": "example",
            "summary": "An example.",
            "severity": "info",
            "default": False,
            "message": "pattern; {penalty}",
            "penalty": {"measured": False, "note": "No row yet."},
            "fix": {"applicability": "none"},
            "docs": {},
        },
        rows={},
    )
    assert rule.to_dict()["penalty"] == {"measured": False, "note": "No row yet."}
    assert rule.format_message({}) == "pattern; energy penalty not measured yet"


def test_torch_compile_penalty_comes_from_the_hopper_rows(project):
    write(project, "a.py", "for batch in batches:\n    model.generate(**batch)\n")
    [item] = json.loads(run_cli("check", "a.py", "--select", "LLM302", "--output-format", "json").stdout)
    expected = "+74% to +312% energy per token without torch.compile on H200 (measured, gross board energy)"
    assert expected in item["message"]
    assert item["evidence"] == ["h029", "h031", "h030", "h032", "h033", "h035", "h034", "h036"]


def test_kv_cache_penalty_comes_from_the_hopper_rows(project):
    write(project, "a.py", "out = model.generate(ids, use_cache=False)\n")
    [item] = json.loads(run_cli("check", "a.py", "--output-format", "json").stdout)
    expected = "+26% to +379% energy per token with the KV cache off on H200 (measured, gross board energy)"
    assert expected in item["message"]
    assert item["evidence"] == ["h002", "h001", "h004", "h003", "h016", "h015", "h018", "h017"]


CALIBRATION_HEADER = "row_id,gpu,model_id,params_b,precision,batch_size,throughput_tok_s,power_w,energy_j_per_1k\n"


def test_calibration_file_gives_the_penalties_and_says_so(project):
    write(
        project,
        "cal.csv",
        CALIBRATION_HEADER + "c1,h100,org/m-7B,7,fp16,1,40,200,5000\nc2,h100,org/m-7B,7,int8_default,1,10,150,15000\n",
    )
    write(project, "a.py", EIGHT_BIT)
    out = run_cli("check", "a.py", "--calibration", "cal.csv").stdout
    assert "+200% energy per token vs FP16 on H100 (calibrated: cal.csv, gross board energy)" in out
    [item] = json.loads(run_cli("check", "a.py", "--calibration", "cal.csv", "--output-format", "json").stdout)
    assert item["evidence"] == ["c2", "c1"] and item["penalty"]["source"] == "cal.csv"
    # the config key does the same; a rule the file does not cover keeps the shipped penalty
    write(project, "pyproject.toml", '[tool.ecolint]\ncalibration = "cal.csv"\n')
    write(project, "b.py", "for p in prompts:\n    model.generate(p)\n")
    out = run_cli("check", ".", "-q").stdout
    assert "(calibrated: cal.csv, gross board energy)" in out and "-96% at batch 64 on A800" in out


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read calibration file"),
        ("gpu,model_id\nh100,x\n", "missing column"),
    ],
)
def test_bad_calibration_file_is_a_one_line_error(project, content, message):
    if content is not None:
        write(project, "cal.csv", content)
    write(project, "a.py", EIGHT_BIT)
    result = run_cli("check", "a.py", "--calibration", "cal.csv")
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_statistics_counts_per_rule(project):
    write(project, "a.py", EIGHT_BIT + "cfg2 = BitsAndBytesConfig(load_in_8bit=True)\n")
    result = run_cli("check", "a.py", "--statistics")
    assert result.stdout.split() == ["2", "LLM101", "bnb-int8-outlier-threshold"]
    stats = json.loads(run_cli("check", "a.py", "--statistics", "--output-format", "json").stdout)
    assert stats == [
        {"code": "LLM101", "name": "bnb-int8-outlier-threshold", "count": 2, "fixable": stats[0]["fixable"]}
    ]


def test_sorted_by_file_line_column(project):
    write(project, "b.py", EIGHT_BIT)
    write(project, "a.py", "x = 1\n" + EIGHT_BIT + "y = model.generate(ids, use_cache=False)\n")
    found = [line.split(": ")[0] for line in run_cli("check", ".", "-q").stdout.splitlines()]
    assert found == ["a.py:3:26", "a.py:4:25", "b.py:2:26"]


# -- selection -----------------------------------------------------------------------------
def test_select_ignore_extend_select_and_all(project):
    write(project, "a.py", EIGHT_BIT + "for p in prompts:\n    model.generate(p)\n")

    def codes(*args):
        return {line.split(": ")[1].split()[0] for line in run_cli("check", "a.py", "-q", *args).stdout.splitlines()}

    assert codes() == {"LLM101", "LLM201"}
    assert codes("--select", "LLM2") == {"LLM201"}
    assert codes("--ignore", "LLM101") == {"LLM201"}
    assert codes("--extend-select", "LLM302") == {"LLM101", "LLM201", "LLM302"}
    assert codes("--select", "ALL") == {"LLM101", "LLM201", "LLM302"}
    assert codes("--select", "LLM1,LLM2", "--ignore", "LLM101") == {"LLM201"}


def test_unknown_selector_is_a_one_line_error(project):
    write(project, "a.py", CLEAN)
    result = run_cli("check", "a.py", "--select", "LLM999")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown rule selector 'LLM999'" in result.stderr


def test_unknown_gpu_is_an_error_with_the_valid_names(project):
    write(project, "a.py", CLEAN)
    result = run_cli("check", "a.py", "--gpu", "gtx1080")
    assert result.exit_code == 2
    assert "unknown GPU 'gtx1080'" in result.stderr and "rtx4090d" in result.stderr


def test_gpu_enables_size_rules_when_selected(project):
    write(
        project,
        "a.py",
        """\
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
        q = BitsAndBytesConfig(load_in_4bit=True)
        m = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=q)
        """,
    )
    assert run_cli("check", "a.py", "--select", "LLM103").exit_code == 0  # no GPU: no finding
    result = run_cli("check", "a.py", "--select", "LLM103", "--gpu", "A800")
    assert (
        "LLM103 4-bit quantization of mistralai/Mistral-7B-v0.1 (7B, about 14 GB in FP16) on a800 (80 GB)"
        in result.stdout
    )


# -- configuration -------------------------------------------------------------------------
def test_pyproject_settings_apply_and_flags_win(project):
    write(
        project,
        "pyproject.toml",
        """\
        [tool.ecolint]
        extend-select = ["LLM302"]
        ignore = ["LLM101"]
        """,
    )
    write(project, "a.py", EIGHT_BIT + "for p in prompts:\n    model.generate(p)\n")
    assert "LLM101" not in run_cli("check", "a.py").stdout
    assert "LLM302" in run_cli("check", "a.py").stdout
    assert run_cli("check", "a.py", "--no-config", "-q").stdout.count("LLM302") == 0
    assert "LLM101" in run_cli("check", "a.py", "--select", "LLM101").stdout


def test_config_found_from_a_subdirectory(project):
    write(project, "pyproject.toml", '[tool.ecolint]\nignore = ["LLM1"]\n')
    write(project, "src/pkg/a.py", EIGHT_BIT)
    assert run_cli("check", "src/pkg/a.py").exit_code == 0


def test_explicit_config_file(project):
    write(project, "conf/custom.toml", '[tool.ecolint]\nignore = ["LLM101"]\n')
    write(project, "a.py", EIGHT_BIT)
    assert run_cli("check", "a.py", "--config", "conf/custom.toml").exit_code == 0
    assert "cannot be used together" in run_cli("check", "a.py", "--config", "conf/custom.toml", "--no-config").stderr


@pytest.mark.parametrize(
    "table, message",
    [
        ('selekt = ["LLM1"]', "unknown key 'selekt' (did you mean 'select'?)"),
        ('select = ["LLM1", "XYZ9"]', "unknown rule selector 'XYZ9'"),
        ('gpu = "gtx1080"', "unknown GPU 'gtx1080'"),
        ('select = "LLM1"', "select must be a list of strings"),
        ("[tool.ecolint.options.LLM102]\nmax-param = 3", "unknown option 'max-param' for LLM102 (valid: max-params-b)"),
        ('[tool.ecolint.options.LLM102]\nmax-params-b = "3B"', "must be a number"),
        ("[tool.ecolint.options.LLM999]\nx = 1", "options for unknown rule 'LLM999'"),
        ("select = [", "is not valid TOML"),
    ],
)
def test_bad_config_is_a_one_line_error_naming_the_problem(project, table, message):
    write(project, "pyproject.toml", "[tool.ecolint]\n" + table + "\n")
    write(project, "a.py", CLEAN)
    result = run_cli("check", "a.py")
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_rule_options_change_thresholds(project):
    write(
        project,
        "a.py",
        """\
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
        q = BitsAndBytesConfig(load_in_4bit=True)
        m = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-7B", quantization_config=q)
        """,
    )
    assert run_cli("check", "a.py").exit_code == 0
    write(project, "pyproject.toml", "[tool.ecolint.options.LLM102]\nmax-params-b = 8\n")
    assert "LLM102" in run_cli("check", "a.py").stdout


def test_per_file_ignores(project):
    write(project, "pyproject.toml", '[tool.ecolint.per-file-ignores]\n"scripts/*.py" = ["LLM101"]\n')
    write(project, "scripts/a.py", EIGHT_BIT)
    write(project, "src/a.py", EIGHT_BIT)
    out = run_cli("check", ".", "-q").stdout
    assert "src/a.py" in out and "scripts/a.py" not in out


def test_exclude_extend_exclude_gitignore_and_default_skips(project):
    write(project, "pyproject.toml", '[tool.ecolint]\nextend-exclude = ["generated/"]\n')
    write(project, ".gitignore", "ignored_by_git.py\n")
    for name in [
        "keep.py",
        "generated/a.py",
        "ignored_by_git.py",
        ".venv/lib/a.py",
        "build/a.py",
        "node_modules/x/a.py",
        "__pycache__/a.py",
        "env/lib/a.py",
    ]:
        write(project, name, EIGHT_BIT)
    write(project, "env/pyvenv.cfg", "home = /usr\n")
    out = run_cli("check", ".", "-q").stdout
    assert [line.split(":")[0] for line in out.splitlines()] == ["keep.py"]
    # a path named explicitly is linted even when excluded
    assert "generated/a.py" in run_cli("check", "generated/a.py", "-q").stdout


def test_exclude_replaces_the_default_list(project):
    write(project, "pyproject.toml", '[tool.ecolint]\nexclude = ["other"]\n')
    write(project, "build/a.py", EIGHT_BIT)
    assert "build/a.py" in run_cli("check", ".", "-q").stdout


# -- noqa ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "comment, reported",
    [
        ("# noqa", False),
        ("# noqa: LLM101", False),
        ("# NOQA:LLM101,LLM201", False),
        ("# noqa: LLM201", True),
        ("# a comment", True),
    ],
)
def test_line_noqa(project, comment, reported):
    write(
        project,
        "a.py",
        f"from transformers import BitsAndBytesConfig\ncfg = BitsAndBytesConfig(load_in_8bit=True)  {comment}\n",
    )
    assert ("LLM101" in run_cli("check", "a.py").stdout) == reported


def test_file_level_noqa(project):
    write(project, "a.py", "# ecolint: noqa\n" + EIGHT_BIT)
    write(project, "b.py", "# ecolint: noqa: LLM201\n" + EIGHT_BIT)
    out = run_cli("check", ".", "-q").stdout
    assert "a.py" not in out.replace("b.py", "") and "b.py" in out


# -- stdin ---------------------------------------------------------------------------------
def test_stdin_with_filename(project):
    result = run_cli("check", "-", "--stdin-filename", "pkg/model.py", stdin=EIGHT_BIT)
    assert result.exit_code == 1
    assert result.stdout.startswith("pkg/model.py:2:26: LLM101")


def test_stdin_honours_per_file_ignores_of_the_given_name(project):
    write(project, "pyproject.toml", '[tool.ecolint.per-file-ignores]\n"tests/*" = ["LLM1"]\n')
    assert run_cli("check", "-", "--stdin-filename", "tests/t.py", stdin=EIGHT_BIT).exit_code == 0


# -- bad files never stop the run ----------------------------------------------------------
def test_syntax_error_is_e999_and_other_files_still_linted(project):
    write(project, "broken.py", "def f(:\n    pass\n")
    write(project, "ok.py", EIGHT_BIT)
    result = run_cli("check", ".", "-q")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("broken.py:1:") and " E999 SyntaxError" in lines[0]
    assert lines[1].startswith("ok.py:2:26: LLM101")


def test_unreadable_inputs_get_one_clear_diagnostic_each(project):
    (project / "latin1.py").write_bytes("x = 'caf\xe9'\nload_in_8bit = 1\n".encode("latin-1"))
    (project / "declared.py").write_bytes(
        "# -*- coding: latin-1 -*-\nx = 'caf\xe9'\n".encode("latin-1") + EIGHT_BIT.encode()
    )
    (project / "binary.py").write_bytes(b"\x00\x01\x02load_in_8bit")
    (project / "dangling.py").symlink_to(project / "missing-target.py")
    (project / "loop").mkdir()
    (project / "loop" / "again").symlink_to(project / "loop")
    result = run_cli("check", ".", "-q")
    out = result.stdout
    assert "latin1.py:1:1: E902 cannot decode as utf-8: the file is not UTF-8" in out
    assert "declared.py:4:26: LLM101" in out  # a coding declaration is honoured
    assert "binary.py:1:1: E902 binary file" in out
    assert "dangling.py:1:1: E902 broken symbolic link" in out
    assert "again" not in out  # a link to a folder found while walking is not followed (as Ruff and flake8)
    assert "Traceback" not in out + result.stderr


def test_missing_path_is_reported(project):
    result = run_cli("check", "nope.py")
    assert "nope.py:1:1: E902 no such file or directory" in result.stdout
    assert result.exit_code == 1


def test_comments_strings_and_docstrings_never_count(project):
    write(
        project,
        "a.py",
        '''\
        """BitsAndBytesConfig(load_in_8bit=True) in a docstring."""
        # cfg = BitsAndBytesConfig(load_in_8bit=True)
        text = "model.generate(use_cache=False)"
        ''',
    )
    assert run_cli("check", "a.py", "--select", "ALL").exit_code == 0


# -- rules and docs --------------------------------------------------------------------------
def test_rule_prints_documentation_with_ruff_headings_and_measured_rows():
    result = run_cli("rule", "LLM101")
    for heading in (
        "# bnb-int8-outlier-threshold (LLM101)",
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Fix safety",
    ):
        assert heading in result.stdout
    assert "| m048 | m047 | A800 |" in result.stdout
    assert run_cli("rule", "nf4-small-model").stdout.startswith("# nf4-small-model (LLM102)")
    assert json.loads(run_cli("rule", "LLM201", "--json").stdout)["default_enabled"] is True


def test_rule_unknown_code_is_an_error():
    result = run_cli("rule", "LLM999")
    assert result.exit_code == 2 and "unknown rule 'LLM999'" in result.stderr


def test_rules_lists_every_rule_with_default_and_fix():
    table = run_cli("rules").stdout.splitlines()
    assert table[0].split() == ["code", "name", "default", "fix", "summary"]
    assert any(line.startswith("LLM103  quantized-without-memory-pressure   off") for line in table)
    listed = json.loads(run_cli("rules", "--json").stdout)
    assert [rule["code"] for rule in listed] == sorted(rule["code"] for rule in listed)
    assert len(listed) == len(list((Path(__file__).resolve().parent.parent / "rules").glob("LLM*.yaml")))


# -- cache ---------------------------------------------------------------------------------
def test_cache_reuses_results_until_the_file_changes(project, monkeypatch):
    from ecolint.config import Settings
    from ecolint.workspace import Workspace

    def run():
        return Workspace(Settings(root=project)).lint(["."])

    write(project, "a.py", EIGHT_BIT)
    first = run()
    again = run()
    assert (first.files_from_cache, again.files_from_cache) == (0, 1)
    assert [d.to_dict() for d in again.diagnostics] == [d.to_dict() for d in first.diagnostics]
    assert (project / ".ecolint_cache" / ".gitignore").exists()
    write(project, "a.py", CLEAN + "\n")
    changed = run()
    assert changed.files_from_cache == 0 and changed.diagnostics == []
    assert "Removed" in run_cli("clean").stdout
    assert not (project / ".ecolint_cache").exists()


def test_cache_is_shared_between_processes(project):
    """The cache key must not depend on per-process hashing (a warm run in a new process hits it)."""
    write(project, "a.py", EIGHT_BIT)
    exe = Path(sys.executable).with_name("ecolint")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ecolint"]
    subprocess.run([*command, "a.py"], capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "1"})
    code = (
        "from pathlib import Path; from ecolint.config import Settings; from ecolint.workspace import Workspace; "
        "r = Workspace(Settings(root=Path.cwd())).lint(['a.py']); print(r.files_from_cache)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "2"}
    )
    assert done.stdout.strip() == "1", done.stderr


def test_parallel_run_matches_serial_run(project):
    from ecolint.config import Settings
    from ecolint.workspace import Workspace
    from ecolint.workspace.pool import PARALLEL_THRESHOLD

    for index in range(PARALLEL_THRESHOLD + 4):
        write(project, f"m{index}.py", EIGHT_BIT if index % 2 else CLEAN)
    serial = Workspace(Settings(root=project), use_cache=False, jobs=1).lint(["."])
    parallel = Workspace(Settings(root=project), use_cache=False, jobs=2).lint(["."])
    assert [d.to_dict() for d in parallel.diagnostics] == [d.to_dict() for d in serial.diagnostics]
    assert len(serial.diagnostics) == (PARALLEL_THRESHOLD + 4) // 2


def test_console_script_runs_as_a_process(project):
    write(project, "a.py", EIGHT_BIT)
    exe = Path(sys.executable).with_name("ecolint")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ecolint"]
    done = subprocess.run([*command, "a.py", "--no-cache"], capture_output=True, text=True)
    assert done.returncode == 1 and "LLM101" in done.stdout
    done = subprocess.run([*command, "a.py", "--select", "NOPE"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("ecolint: error:") and "Traceback" not in done.stderr


def test_permission_denied_is_a_clear_diagnostic(project, monkeypatch):
    write(project, "secret.py", EIGHT_BIT)
    write(project, "open.py", EIGHT_BIT)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    out = run_cli("check", ".", "-q", "--no-cache").stdout
    assert "secret.py:1:1: E902 cannot read file: Permission denied" in out
    assert "open.py:2:26: LLM101" in out


def test_force_exclude_applies_exclusions_to_named_files(project):
    write(project, "pyproject.toml", '[tool.ecolint]\nextend-exclude = ["generated/"]\n')
    write(project, "generated/a.py", EIGHT_BIT)
    write(project, "src/b.py", EIGHT_BIT)
    assert "generated/a.py" in run_cli("check", "generated/a.py", "src/b.py", "-q").stdout
    out = run_cli("check", "--force-exclude", "generated/a.py", "src/b.py", "-q").stdout
    assert "generated/a.py" not in out and "src/b.py" in out
