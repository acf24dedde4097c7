"""Deeply nested code: one E999 for that file, the run goes on (check and --fix)."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli
from robusthelpers import GOOD, good_findings_in, write

HEADER = ("from transformers import AutoModelForCausalLM\n"
          "m = AutoModelForCausalLM.from_pretrained('x', load_in_8bit=True)\n")
DEEP = {
    "calls": HEADER + "x = " + "f(" * 500 + "1" + ")" * 500 + "\n",
    "lists": HEADER + "x = " + "[" * 1000 + "]" * 1000 + "\n",
    "binary": HEADER + "x = " + " + ".join(["a"] * 5000) + "\n",
    "strings": HEADER + "x = (" + " ".join(['"a"'] * 6000) + ")\n",  # valid Python past libcst's parser
}


def _deep_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("deep.py:")]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deep_file_gets_one_e999_and_the_run_goes_on(project, shape):
    write(project, "deep.py", DEEP[shape])
    write(project, "good.py", GOOD)
    result = run_cli("check", "--no-cache", "deep.py", "good.py")
    assert result.exit_code == 1, result.stderr
    assert "internal error" not in result.stderr
    line = _deep_line(result.stdout)
    assert " E999 SyntaxError: " in line and ("nested" in line), line
    assert good_findings_in(result.stdout)


def test_adjacent_strings_past_libcsts_parser_are_too_deeply_nested_not_a_parser_error(project):
    write(project, "deep.py", DEEP["strings"])
    result = run_cli("check", "--no-cache", "deep.py")
    assert _deep_line(result.stdout) == "deep.py:1:1: E999 SyntaxError: too deeply nested to analyze"


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deep_file_with_fix_is_left_alone_and_others_are_fixed(project, shape):
    deep = write(project, "deep.py", DEEP[shape])
    good = write(project, "good.py", GOOD)
    result = run_cli("check", "--no-cache", "--fix", "deep.py", "good.py")
    assert "internal error" not in result.stderr
    assert " E999 " in _deep_line(result.stdout)
    assert deep.read_text(encoding="utf-8") == DEEP[shape]
    assert good.read_text(encoding="utf-8") != GOOD  # its safe fix was applied
    assert "good.py:2:" in result.stdout and " LLM101 " in result.stdout


def test_long_chain_within_the_limit_is_analyzed(project):
    write(project, "chain.py", HEADER + "x = " + " + ".join(["a"] * 400) + "\n")
    result = run_cli("check", "--no-cache", "chain.py")
    assert "chain.py:2:" in result.stdout and " LLM106 " in result.stdout
    assert " E999 " not in result.stdout


PARENS = HEADER + "x = " + "(" * 250 + "1" + ")" * 250 + "\n"  # libcst parses it, CPython does not


def test_code_cpython_rejects_gets_e999_from_cpython(project):
    write(project, "parens.py", PARENS)
    write(project, "good.py", GOOD)
    result = run_cli("check", "--no-cache", "parens.py", "good.py")
    assert "parens.py:3:" in result.stdout and " E999 SyntaxError: too many nested parentheses" in result.stdout
    assert "parens.py:2:" not in result.stdout  # not analyzed as if it were valid Python
    assert good_findings_in(result.stdout)


def test_fix_says_why_it_did_not_write_a_file_that_does_not_parse(project):
    parens = write(project, "parens.py", PARENS)
    result = run_cli("check", "--no-cache", "--fix", "parens.py")
    assert parens.read_text(encoding="utf-8") == PARENS
    assert "parens.py: not fixed: the file does not parse (E999 SyntaxError: too many nested parentheses)" in \
        result.stderr
