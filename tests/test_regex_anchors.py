"""Literal anchors: the prefilter tries a pattern only where its literals let a match start, with the same
matches as scanning the whole text."""

from __future__ import annotations

import re

import pytest

from ecolint.prefilter import _Pattern
from ecolint.regex_anchors import Anchored, anchors, line_matches, matches, required

TEXT = """\
import torch  # from_pretrained in a comment
from transformers import pipeline
model = AutoModel.from_pretrained(name)
model2 = Other.from_pretrained (name)
xfrom_pretrained(1)
pipe = pipeline("text-generation")
p = TextGenerationPipeline(model)
torch_dtype = torch.float16
out = pipe(texts)[0]["generated_text"]
"""

PATTERNS = [
    r"\bfrom_pretrained\s*\(|\bpipeline\s*\(",
    r"\b(?:from_pretrained|pipeline|LLM)\b",
    r"\.generate\(|\.chat\(|\bpipeline\(|import[^\n]*\bpipeline\b",
    r"\b(?:torch_)?dtype\s*=",
    r"[\"']use_cache[\"']\s*:\s*False|\.from_pretrained",
    r"\bpipeline\(|\w+Pipeline\(",
    r"\]\s*\[\s*[\x27\"]generated_text",
    r"(?i:batch\w*)\s*=\s*1\b",
    r"^\s*[A-Za-z_]\w*\s*=\s*torch",
    r"(?<!\w)from_pretrained(?!\w)",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_anchored_matches_are_those_of_finditer(pattern):
    regex = re.compile(pattern, re.MULTILINE)
    found = anchors(regex)
    if found is not None:
        assert [m.span() for m in matches(regex, TEXT, found)] == [m.span() for m in regex.finditer(TEXT)]
    literals = required(regex)
    if literals is not None and not any(literal in TEXT for literal in literals):
        assert regex.search(TEXT) is None


def test_anchors_are_the_literals_at_a_bounded_distance_from_the_start():
    assert anchors(re.compile(r"\bfrom_pretrained\s*\(|\bpipeline\s*\(")) == (
        ("from_pretrained", 0, 0), ("pipeline", 0, 0))
    assert anchors(re.compile(r"\b(?:torch_)?dtype\s*=")) == (("dtype", 0, 6),)
    assert anchors(re.compile(r"[\"']use_cache")) == (("use_cache", 1, 1),)


def test_no_anchors_after_a_repeat_or_in_a_case_insensitive_part():
    assert anchors(re.compile(r"\w+Pipeline\(")) is None
    assert anchors(re.compile(r"(?i:batch)\w*")) is None
    assert anchors(re.compile(r"(?i:batch)_size")) == (("_size", 5, 5),)  # the case-insensitive part is skipped
    assert anchors(re.compile(r"batch", re.IGNORECASE)) is None
    assert anchors(re.compile(r"\bp\(|\bfrom_pretrained\(")) is None  # one branch has no literal long enough


def test_required_literals_may_sit_anywhere_in_the_match():
    assert required(re.compile(r"\bpipeline\(|\w+Pipeline\(")) == ("pipeline(", "Pipeline(")
    assert required(re.compile(r"\]\s*\[\s*[\x27\"]generated_text")) == ("generated_text",)
    assert required(re.compile(r"(?i:batch\w*)\s*=\s*1\b")) is None


def test_a_match_starting_inside_the_last_one_is_not_reported_as_finditer_would_not():
    regex = re.compile(r"aaa\w*|\baab")
    text = "aaab aab"
    found = anchors(regex)
    assert [m.span() for m in matches(regex, text, found)] == [m.span() for m in regex.finditer(text)]


def test_code_only_patterns_still_skip_comments_and_docstrings():
    pattern = _Pattern(r"code:\bfrom_pretrained\s*\(")
    assert pattern.anchors is not None
    assert not pattern.found_in('"""\nAutoModel.from_pretrained(x)\n"""\n# from_pretrained(y)\n')
    assert pattern.found_in('"""\nAutoModel.from_pretrained(x)\n"""\nm = M.from_pretrained(y)\n')


def test_line_matches_are_those_of_finditer_for_a_pattern_starting_a_line():
    pattern = re.compile(r"(?m)^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(?:\(([^)]*)\)|([^\n#;]*))")
    text = ("from a import b\nx = 'import'\n    from .c import (\n  d,\n  e)\n# from f import g\n"
            "from h import i; from j import k\nfrom l import m")
    assert [m.groups() for m in line_matches(pattern, text, "import")] == [m.groups() for m in pattern.finditer(text)]
    assert len(list(line_matches(pattern, text, "import"))) == 4


def test_an_anchored_pattern_searches_like_re():
    generation = Anchored(r"\.generate\s*\(|\bpipe\s*\(")
    assert generation.anchors is not None
    assert generation.search("out = model.generate (ids)").span() == (11, 22)
    assert generation.search("pipeline(x); mypipe(y)") is None
    assert Anchored(r"\w+Pipeline\(").search("p = TextGenerationPipeline(m)").group() == "TextGenerationPipeline("
