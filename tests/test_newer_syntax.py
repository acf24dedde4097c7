"""Code written for a newer Python than the one running ecolint: where libcst's grammar reads it, it is
checked (as Ruff checks it); where nothing parses it, it keeps its E999."""

from __future__ import annotations

import sys

import pytest

from ecolint.engine import LintOptions, lint_text

CODES = frozenset({"LLM201", "E999"})
PER_ITEM = """\
from transformers import pipeline

generator = pipeline("text-generation", model="gpt2")
topics = {"a": ["x", "y"]}
for topic in topics:
    print(f"{topics[topic]["a"]}")  # PEP 701: the same quotes nested (Python 3.12)
    print(generator(f"Ask about {topic}", max_new_tokens=32)[0]["generated_text"])
"""


def codes(source: str) -> list[tuple[int, str]]:
    return [(d.location.row, d.code) for d in lint_text(source, "newer.py", LintOptions(CODES))]


def test_a_pep_701_f_string_does_not_stop_the_checks():
    assert codes(PER_ITEM) == [(7, "LLM201")]


def test_a_t_string_does_not_stop_the_checks():
    source = PER_ITEM.replace('print(f"{topics[topic]["a"]}")', "print(t'{topic}')")
    assert codes(source) == [(7, "LLM201")]


def test_a_file_with_only_newer_syntax_and_no_trigger_gets_no_error():
    assert codes('names = {"a": 1}\nprint(f"{names["a"]}")\n') == []


def test_a_file_nothing_parses_keeps_its_syntax_error():
    source = PER_ITEM.replace("for topic in topics:", "for topic in topics")
    assert codes(source) == [(5, "E999")]
    assert codes("print(f'{names['a']}'\n") == [(1, "E999")]  # the unclosed call, whatever the f-string


def test_a_text_too_deeply_nested_for_the_running_python_is_not_handed_to_libcst():
    assert codes("x = " + "(" * 300 + "1" + ")" * 300 + "\n") == [(1, "E999")]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the running Python reads PEP 701 f-strings")
def test_no_fix_is_offered_where_the_running_python_cannot_check_the_result():
    [finding] = lint_text(PER_ITEM, "newer.py", LintOptions(frozenset({"LLM201"})))
    assert finding.fix is None
