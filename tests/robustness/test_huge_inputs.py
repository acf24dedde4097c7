"""max-file-size: larger files get one E902 and are not read; long lines keep the prefilter linear."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli
from robusthelpers import GOOD, good_findings_in, write

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
