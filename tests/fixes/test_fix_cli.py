"""``ecolint check`` with --fix, --unsafe-fixes, --diff, --show-fixes, stdin, and how fixes are shown."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecolint.cli import main

DIRECT_8BIT = textwrap.dedent('''\
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained("gpt2", load_in_8bit=True)
''')
DIRECT_8BIT_FIXED = textwrap.dedent('''\
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    model = AutoModelForCausalLM.from_pretrained("gpt2", quantization_config=BitsAndBytesConfig(load_in_8bit=True))
''')
DIRECT_8BIT_ALL = DIRECT_8BIT_FIXED.replace("load_in_8bit=True)", "load_in_8bit=True, llm_int8_threshold=0.0)")
CLEAN = "print('nothing to see')\n"
BASE = ["check", "--no-config", "--no-cache"]


def run(*args, stdin=None):
    outcome = CliRunner().invoke(main, [*BASE, *args], input=stdin, catch_exceptions=False)
    return outcome


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


# -- applying -------------------------------------------------------------------------------
def test_fix_applies_safe_fixes_only(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    outcome = run("--fix", str(path))
    assert path.read_text() == DIRECT_8BIT_FIXED
    assert outcome.exit_code == 1  # LLM101 remains: its fix is unsafe
    assert "Found 2 diagnostics (1 fixed, 1 remaining) in 1 file checked." in outcome.stdout
    assert "1 more fixable with the `--unsafe-fixes` option." in outcome.stdout


def test_unsafe_fixes_apply_everything_and_exit_zero(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    outcome = run("--fix", "--unsafe-fixes", str(path))
    assert path.read_text() == DIRECT_8BIT_ALL
    assert outcome.exit_code == 0
    assert "Found 2 diagnostics (2 fixed, 0 remaining)" in outcome.stdout
    assert "All checks passed" in outcome.stdout


def test_unsafe_fixes_setting_in_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ecolint]\nunsafe-fixes = true\n")
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    outcome = CliRunner().invoke(main, ["check", "--no-cache", "--fix", str(path)], catch_exceptions=False)
    assert path.read_text() == DIRECT_8BIT_ALL
    assert outcome.exit_code == 0
    outcome = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "--no-unsafe-fixes", str(path)])
    assert outcome.exit_code == 0


@pytest.mark.parametrize("setting, expected", [
    ('unfixable = ["LLM106"]', DIRECT_8BIT),
    ('fixable = ["LLM101"]', DIRECT_8BIT),  # LLM101 alone has no fix before LLM106 ran
    ('fixable = ["LLM1"]', DIRECT_8BIT_FIXED),
])
def test_fixable_and_unfixable_settings(tmp_path, setting, expected):
    (tmp_path / "pyproject.toml").write_text(f"[tool.ecolint]\n{setting}\n")
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    CliRunner().invoke(main, ["check", "--no-cache", "--fix", str(path)], catch_exceptions=False)
    assert path.read_text() == expected


def test_per_file_ignores_are_not_fixed(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.ecolint.per-file-ignores]\n"legacy_*.py" = ["LLM106"]\n')
    legacy = write(tmp_path, "legacy_load.py", DIRECT_8BIT)
    fresh = write(tmp_path, "load.py", DIRECT_8BIT)
    CliRunner().invoke(main, ["check", "--no-cache", "--fix", str(tmp_path)], catch_exceptions=False)
    assert legacy.read_text() == DIRECT_8BIT
    assert fresh.read_text() == DIRECT_8BIT_FIXED


def test_show_fixes_lists_what_was_fixed(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    outcome = run("--fix", "--unsafe-fixes", "--show-fixes", str(path))
    assert "Fixed 2 diagnostics:" in outcome.stdout
    assert "1 \u00d7 LLM106 (removed-load-in-kwarg)" in outcome.stdout
    assert "1 \u00d7 LLM101 (bnb-int8-outlier-threshold)" in outcome.stdout


def test_many_files_in_parallel(tmp_path):
    paths = [write(tmp_path, f"m{index}.py", DIRECT_8BIT) for index in range(12)]
    clean = write(tmp_path, "clean.py", CLEAN)
    outcome = run("--fix", "--jobs", "4", str(tmp_path))
    assert all(path.read_text() == DIRECT_8BIT_FIXED for path in paths)
    assert clean.read_text() == CLEAN
    assert "(12 fixed, 12 remaining) in 13 files checked" in outcome.stdout


# -- showing --------------------------------------------------------------------------------
def test_marker_and_json_follow_the_settings(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    concise = run(str(path)).stdout.splitlines()
    assert [line.endswith("[*]") for line in concise[:2]] == [False, True]  # LLM101 (unsafe), LLM106 (safe)
    assert "[*] 1 fixable with the `--fix` option." in concise
    data = json.loads(run("--output-format", "json", str(path)).stdout)
    fixes = {item["code"]: item["fix"] for item in data}
    assert fixes["LLM101"] is None  # only with --unsafe-fixes
    fix = fixes["LLM106"]
    assert fix["applicability"] == "safe"
    assert fix["message"].startswith("Move the keyword into quantization_config")
    assert fix["edits"] == [
        {"content": ", BitsAndBytesConfig", "location": {"row": 1, "column": 46},
         "end_location": {"row": 1, "column": 46}},
        {"content": "quantization_config=BitsAndBytesConfig(load_in_8bit=True)", "location": {"row": 2, "column": 54},
         "end_location": {"row": 2, "column": 71}},
    ]


def test_unsafe_fixes_flag_shows_unsafe_fixes(tmp_path):
    path = write(tmp_path, "m.py", textwrap.dedent('''\
        from transformers import BitsAndBytesConfig
        config = BitsAndBytesConfig(load_in_8bit=True)
    '''))
    plain = run(str(path))
    assert "[*]" not in plain.stdout.splitlines()[0]
    assert "1 more fixable with the `--unsafe-fixes` option." in plain.stdout
    data = json.loads(run("--output-format", "json", "--unsafe-fixes", str(path)).stdout)
    assert data[0]["fix"]["applicability"] == "unsafe"
    assert data[0]["fix"]["edits"][0]["content"] == ", llm_int8_threshold=0.0"
    assert run("--unsafe-fixes", str(path)).stdout.splitlines()[0].endswith("[*]")


def test_fix_dicts_survive_the_cache(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    cache = tmp_path / "cache"
    args = ["check", "--no-config", "--cache-dir", str(cache), "--output-format", "json", "--unsafe-fixes", str(path)]
    first = CliRunner().invoke(main, args, catch_exceptions=False).stdout
    assert any(cache.rglob("*.json"))
    second = CliRunner().invoke(main, args, catch_exceptions=False).stdout
    assert json.loads(first) == json.loads(second)
    assert [item["code"] for item in json.loads(second) if item["fix"]] == ["LLM106"]


def test_fix_uses_the_cache_and_updates_it(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    CliRunner().invoke(main, ["check", "--no-config", *cache, str(path)], catch_exceptions=False)
    CliRunner().invoke(main, ["check", "--no-config", *cache, "--fix", str(path)], catch_exceptions=False)
    assert path.read_text() == DIRECT_8BIT_FIXED
    after = CliRunner().invoke(main, ["check", "--no-config", *cache, "--output-format", "json", str(path)],
                               catch_exceptions=False)
    assert [item["code"] for item in json.loads(after.stdout)] == ["LLM101"]


# -- --diff -----------------------------------------------------------------------------------
def test_diff_prints_and_writes_nothing(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    before = path.stat().st_mtime_ns
    outcome = run("--diff", str(path))
    assert outcome.exit_code == 1
    assert path.read_text() == DIRECT_8BIT and path.stat().st_mtime_ns == before
    assert f"--- a/{path}" in outcome.stdout or "--- a/" in outcome.stdout
    assert "-model = AutoModelForCausalLM.from_pretrained(\"gpt2\", load_in_8bit=True)" in outcome.stdout
    assert "+from transformers import AutoModelForCausalLM, BitsAndBytesConfig" in outcome.stdout
    assert "Would fix 1 diagnostic (1 remaining; 1 unsafe fix available with --unsafe-fixes)." in outcome.stderr


def test_diff_without_changes_exits_zero(tmp_path):
    path = write(tmp_path, "clean.py", CLEAN)
    outcome = run("--diff", str(path))
    assert outcome.exit_code == 0
    assert outcome.stdout == ""


# -- stdin ------------------------------------------------------------------------------------
def test_stdin_fix_prints_the_fixed_source(tmp_path):
    outcome = run("--fix", "-", "--stdin-filename", "x.py", stdin=DIRECT_8BIT)
    assert outcome.stdout == DIRECT_8BIT_FIXED
    assert "x.py:2:" in outcome.stderr and "LLM101" in outcome.stderr
    assert outcome.exit_code == 1


def test_stdin_fix_keeps_bytes_crlf_and_bom():
    data = b"\xef\xbb\xbf" + DIRECT_8BIT.replace("\n", "\r\n").encode()
    outcome = CliRunner().invoke(main, [*BASE, "--fix", "-", "--stdin-filename", "x.py"], input=data)
    expected = b"\xef\xbb\xbf" + DIRECT_8BIT_FIXED.replace("\n", "\r\n").encode()
    assert outcome.stdout_bytes == expected


@pytest.mark.parametrize("text", [CLEAN, "def broken(:\n", "x = 1  # no final newline"])
def test_stdin_fix_echoes_what_it_cannot_fix(text):
    outcome = run("--fix", "-", "--stdin-filename", "x.py", stdin=text)
    assert outcome.stdout == text


def test_stdin_fix_echoes_undecodable_input():
    data = b"# -*- coding: ascii -*-\nname = '\xe9'\n"
    outcome = CliRunner().invoke(main, [*BASE, "--fix", "-", "--stdin-filename", "x.py"], input=data)
    assert outcome.stdout_bytes == data
    assert "E902" in outcome.stderr
    assert outcome.exit_code == 1


def test_stdin_diff():
    outcome = run("--diff", "-", "--stdin-filename", "x.py", stdin=DIRECT_8BIT)
    assert outcome.stdout.startswith("--- a/x.py\n+++ b/x.py\n")
    assert outcome.exit_code == 1


# -- nothing is ever lost ---------------------------------------------------------------------
def test_files_without_fixes_are_not_rewritten(tmp_path):
    clean = write(tmp_path, "clean.py", CLEAN)
    unfixable = write(tmp_path, "unfixable.py", textwrap.dedent('''\
        from transformers import BitsAndBytesConfig
        config = BitsAndBytesConfig(load_in_8bit=True, load_in_4bit=True)
    '''))
    old = {path: (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_ino) for path in (clean, unfixable)}
    run("--fix", str(tmp_path))
    for path, (data, mtime, inode) in old.items():
        assert (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_ino) == (data, mtime, inode)


def test_permissions_kept_and_no_temporary_files_left(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    os.chmod(path, 0o640)
    run("--fix", str(path))
    assert path.read_text() == DIRECT_8BIT_FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]


def test_symbolic_link_stays_a_link(tmp_path):
    target = write(tmp_path, "real.py", DIRECT_8BIT)
    link = tmp_path / "link.py"
    link.symlink_to(target.name)
    run("--fix", str(link))
    assert link.is_symlink()
    assert target.read_text() == DIRECT_8BIT_FIXED


def test_read_only_file_gets_a_clear_error(tmp_path):
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    os.chmod(path, 0o444)
    try:
        outcome = run("--fix", str(path))
        assert path.read_text() == DIRECT_8BIT
        assert "m.py: file is read-only; fixes were not written" in outcome.stderr
        assert outcome.exit_code == 1
        assert "LLM106" in outcome.stdout  # still reported, not fixed
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]
    finally:
        os.chmod(path, 0o644)


def test_file_changed_during_the_run_is_not_overwritten(tmp_path, monkeypatch):
    from ecolint.fixes import files

    path = write(tmp_path, "m.py", DIRECT_8BIT)
    edited = DIRECT_8BIT + "# edited in the editor meanwhile\n"
    real = files.fix_with_policy

    def slow_fix(*args, **kwargs):
        result = real(*args, **kwargs)
        path.write_text(edited)  # someone saves the file while ecolint works on it
        return result

    monkeypatch.setattr(files, "fix_with_policy", slow_fix)
    outcome = run("--fix", str(path))
    assert path.read_text() == edited
    assert "file changed on disk while it was being fixed; not overwritten" in outcome.stderr
    assert outcome.exit_code == 1


def test_non_converging_fix_leaves_the_file_untouched(tmp_path, monkeypatch):
    from ecolint.fixes import registry
    from ecolint.fixes.context import Proposal
    from ecolint.fixes.edits import Edit

    def restless(ctx, finding):  # adds a blank line each time and never removes the finding
        return Proposal([Edit(len(ctx.source), len(ctx.source), "\n")])

    monkeypatch.setitem(registry.FIXERS, "LLM106", restless)
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    outcome = run("--fix", str(path))
    assert path.read_text() == DIRECT_8BIT
    assert "fixes did not settle after 20 passes; the file was left unchanged" in outcome.stderr
    assert outcome.exit_code == 1
    assert "LLM106" in outcome.stdout


def test_fixes_that_undo_each_other_are_reported(tmp_path, monkeypatch):
    from ecolint.fixes import registry
    from ecolint.fixes.context import Proposal
    from ecolint.fixes.edits import Edit

    def flip(ctx, finding):  # adds and removes a final ``pass`` forever
        end = len(ctx.source)
        if ctx.source.endswith("pass\n"):
            return Proposal([Edit(end - 5, end, "")])
        return Proposal([Edit(end, end, "pass\n")])

    monkeypatch.setitem(registry.FIXERS, "LLM106", flip)
    path = write(tmp_path, "m.py", DIRECT_8BIT)
    outcome = run("--fix", str(path))
    assert path.read_text() == DIRECT_8BIT
    assert "fixes undo each other" in outcome.stderr
