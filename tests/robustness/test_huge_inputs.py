"""max-file-size: larger files (and stdin) get one E902 and are not read; long lines keep the prefilter linear."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_helpers import run_cli
from robusthelpers import GOOD, good_findings_in, run_ecolint, write

from ecolint.config import DEFAULT_MAX_FILE_SIZE, ConfigError, Settings, parse_size
from ecolint.prefilter import LONG_LINE, could_match


def big(project, size: int):
    return write(project, "big.py", GOOD + "# " + "x" * size + "\n")


@pytest.mark.parametrize("mode", [(), ("--fix",)])
def test_a_file_over_the_cli_limit_is_reported_not_skipped_silently(project, mode):
    path = big(project, 3000)
    text = path.read_text(encoding="utf-8")
    write(project, "good.py", GOOD)
    result = run_cli("check", "--no-cache", "--max-file-size", "2KB", *mode, ".")
    lines = [line for line in result.stdout.splitlines() if line.startswith("big.py:")]
    assert lines == ["big.py:1:1: E902 file skipped: 3.1 KB is over max-file-size (2 KB)"], result.stdout
    assert path.read_text(encoding="utf-8") == text  # not fixed either
    assert "good.py:2:" in result.stdout and " LLM101 " in result.stdout
    assert result.exit_code == 1


def test_the_limit_comes_from_pyproject_and_zero_turns_it_off(project):
    big(project, 3000)
    write(project, "pyproject.toml", '[tool.ecolint]\nmax-file-size = "2KB"\n')
    assert " E902 file skipped" in run_cli("check", "--no-cache", "big.py").stdout
    result = run_cli("check", "--no-cache", "--max-file-size", "0", "big.py")
    assert " E902 " not in result.stdout and "big.py:2:" in result.stdout


def test_the_default_limit_is_a_few_megabytes(project):
    assert Settings(root=project).max_file_size == DEFAULT_MAX_FILE_SIZE == 4 * 1024 * 1024
    big(project, 5 * 1024 * 1024)
    write(project, "good.py", GOOD)
    result = run_cli("check", "--no-cache", ".")
    assert "big.py:1:1: E902 file skipped: 5 MB is over max-file-size (4 MB)" in result.stdout
    assert good_findings_in(result.stdout)


@pytest.mark.parametrize("text, size", [("4MB", 4 << 20), ("512 KiB", 512 << 10), ("1g", 1 << 30), (100, 100),
                                        ("0", 0), ("77", 77)])
def test_sizes(text, size):
    assert parse_size(text, "x") == size


@pytest.mark.parametrize("value", ["4 parsecs", "-1", -1, True, 1.5, ""])
def test_bad_sizes_are_one_line_errors(project, value):
    with pytest.raises(ConfigError, match="must be a size"):
        parse_size(value, "max-file-size")
    assert run_cli("check", "--max-file-size", "4 parsecs", ".").exit_code == 2


def test_a_long_line_makes_the_prefilter_parse_rather_than_backtrack():
    # `\w+Pipeline\(` and `import[^\n]*\bpipeline\b` backtrack over a line once per position: on this
    # line that grows with its square; the prefilter parses such a text instead of trying them.
    assert could_match("pipeline = 1\nx = " + "a" * (LONG_LINE + 1) + "\n", frozenset({"LLM202"}))
    assert not could_match("pipeline = 1\nx = " + "a" * 80 + "\n", frozenset({"LLM202"}))


def test_one_long_line_with_trigger_words_is_checked(project):
    write(project, "long.py", "import transformers  # pipeline\nx = " + "a" * 200_000 + "\n")
    write(project, "good.py", GOOD)
    result = run_cli("check", "--no-cache", ".")
    assert good_findings_in(result.stdout) and "long.py" not in result.stdout


def test_stdin_over_the_limit_is_one_e902_and_is_not_read_to_the_end(project):
    """/dev/zero never ends: only the limit and one byte are read."""
    with open("/dev/zero", "rb") as endless:
        result = subprocess.run([sys.executable, "-m", "ecolint", "check", "--no-cache", "--max-file-size", "1KB",
                                 "-", "--stdin-filename", "a.py"], cwd=project, stdin=endless, capture_output=True,
                                timeout=60)
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "a.py:1:1: E902 file skipped: more than 1 KB, over max-file-size"
    assert result.returncode == 1


def test_stdin_under_the_limit_is_linted(project):
    result = run_ecolint("check", "--no-cache", "--max-file-size", "1KB", "-", "--stdin-filename", "a.py",
                         cwd=project, stdin=GOOD.encode())
    assert " LLM101 " in result.stdout.decode() and "E902" not in result.stdout.decode()


def test_fix_gives_stdin_over_the_limit_back_unchanged(project):
    text = ("x = 1\n" * 2000).encode()
    result = run_ecolint("check", "--no-cache", "--fix", "--max-file-size", "1KB", "-", cwd=project, stdin=text)
    assert result.stdout == text
    assert "E902 file skipped: more than 1 KB, over max-file-size" in result.stderr.decode()
