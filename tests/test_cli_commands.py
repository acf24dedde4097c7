"""A mistyped command is named as such, with the command it was probably meant to be."""

from __future__ import annotations

import pytest

from cli_helpers import run_cli


@pytest.mark.parametrize("args, message", [
    (["chekc", "file.py"], "unknown command 'chekc' (did you mean 'check'?)"),
    (["estimat", "-m", "7B"], "unknown command 'estimat' (did you mean 'estimate'?)"),
    (["clena"], "unknown command 'clena' (did you mean 'clean'?)"),
    (["calibrat", "--list"], "unknown command 'calibrat' (did you mean 'calibrate'?)"),
])
def test_a_mistyped_command_is_an_error_that_names_the_close_command(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"ecolint: error: {message}"
    assert result.stdout == ""


def test_an_existing_path_named_like_a_command_is_linted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chekc").mkdir()
    (tmp_path / "chekc" / "a.py").write_text("x = 1\n", encoding="utf-8")
    result = run_cli("chekc")
    assert result.exit_code == 0, result.stderr
    assert "1 file checked" in result.stdout


@pytest.mark.parametrize("word", ["zzzzzz", "missing.py", "src/chekc"])
def test_a_missing_path_unlike_any_command_is_still_reported_as_a_path(word, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli(word)
    assert result.exit_code == 1
    assert "E902" in result.stdout and "unknown command" not in result.stderr


@pytest.mark.parametrize("option", ["--quiet", "--exit-zero"])
def test_options_before_the_paths_are_not_taken_for_commands(option, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    result = run_cli(option, "a.py")
    assert result.exit_code == 0, result.stderr
