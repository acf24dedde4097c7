"""Property-based tests: whatever the program, fixing never crashes, never breaks the code, never
drops a comment, and fixing twice is the same as fixing once.

Programs come from two places: hypothesmith (random programs from Python's grammar, also glued
to a codemod input so that the fixes have something to do) and mutations of the codemod inputs
(comments and line breaks inside calls, other flag values, duplicated lines, CRLF line endings,
everything wrapped in a function). ``ECOLINT_HYPOTHESIS_EXAMPLES`` scales the number of examples.
"""

from __future__ import annotations

import io
import os
import tokenize
from collections import Counter

import hypothesmith
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from ecolint.config import select_codes
from ecolint.engine import LintOptions
from ecolint.fixes import fix_source
from ecolint.fixes.registry import parses
from fixhelpers import PAIRS, read_text

EXAMPLES = int(os.environ.get("ECOLINT_HYPOTHESIS_EXAMPLES", "60"))
ALL = LintOptions(select_codes(["ALL"], [], []))
SOURCES = [read_text(case) for case in PAIRS]
FLAG_VALUES = ["True", "False", "(True)", "flag", "cfg.quantize", "not False", "1", "None", "args.load_8bit"]
# In CI the examples are derived from each test's name, so a run is repeatable; locally they vary.
COMMON = settings(max_examples=EXAMPLES, deadline=None, derandomize=bool(os.environ.get("CI")),
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


def comments(text: str) -> Counter:
    try:
        return Counter(token.string for token in tokenize.generate_tokens(io.StringIO(text).readline)
                       if token.type == tokenize.COMMENT)
    except (tokenize.TokenError, SyntaxError):
        return Counter()


def check_fix_properties(text: str, unsafe: bool = True) -> None:
    result = fix_source(text, "case.py", ALL, unsafe)
    event("did not converge" if not result.converged else "fixes applied" if result.fixed else "nothing to fix")
    if parses(text):
        assert parses(result.source), "fixing produced code that does not parse"
    if not result.converged or not result.fixed:
        assert result.source == text, "a file that was not fixed must come back unchanged"
        return
    missing = comments(text) - comments(result.source)
    assert not missing, f"fixing dropped comments: {missing}"
    again = fix_source(result.source, "case.py", ALL, unsafe)
    assert again.converged
    assert again.source == result.source, "fixing twice changed more than fixing once"
    assert not again.fixed


# -- hypothesmith ---------------------------------------------------------------------------
@COMMON
@given(hypothesmith.from_grammar())
def test_random_programs(source):
    check_fix_properties(source)


@COMMON
@given(hypothesmith.from_grammar(), st.sampled_from(SOURCES), st.booleans())
def test_random_programs_next_to_fixable_code(program, fixable, program_first):
    text = program.rstrip("\\\n") + "\n" + fixable if program_first else fixable + "\n" + program
    assume(parses(text))
    check_fix_properties(text)


# -- mutations of the codemod inputs --------------------------------------------------------
def _tokens(text: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(text).readline))


def _offsets(text: str) -> list[int]:
    starts, position = [0], 0
    for line in text.splitlines(keepends=True):
        position += len(line)
        starts.append(position)
    return starts


def mutate(text: str, kind: str, choice: int, value: str) -> str:
    try:
        tokens = _tokens(text)
    except (tokenize.TokenError, SyntaxError):
        return text  # an earlier mutation broke the program; assume() drops it
    starts = _offsets(text)

    def offset(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    if kind == "crlf":
        return text.replace("\r\n", "\n").replace("\n", "\r\n")
    if kind == "wrap":
        body = "".join("    " + line if line.strip() else line for line in text.splitlines(keepends=True))
        return "def wrapper():\n" + body + ("\n" if not text.endswith("\n") else "")
    if kind == "duplicate_line":
        lines = text.splitlines(keepends=True)
        index = choice % len(lines)
        return "".join(lines[:index + 1] + [lines[index] if lines[index].endswith("\n") else lines[index] + "\n"]
                       + lines[index + 1:])
    if kind == "flag_value":
        names = [token for token in tokens if token.type == tokenize.NAME and token.string in ("True", "False")]
        if not names:
            return text
        token = names[choice % len(names)]
        start, end = offset(token.start), offset(token.end)
        return text[:start] + value + text[end:]
    ends = [token for token in tokens if token.type in (tokenize.NL, tokenize.NEWLINE) and token.string]
    if kind == "comment_at_line_end":
        candidates = [token for token in ends if "#" not in token.line]
        if not candidates:
            return text
        token = candidates[choice % len(candidates)]
        at = offset(token.start)
        return text[:at] + f"  # m{choice}" + text[at:]
    if kind == "comment_line":
        token = ends[choice % len(ends)]
        at = offset(token.end)
        return text[:at] + " " * (choice % 9) + f"# note {choice}\n" + text[at:]
    depth, inside = 0, []
    for token in tokens:
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        if depth > 0 and token.type == tokenize.OP and token.string in ",(=:":
            inside.append(token)
    if not inside:
        return text
    token = inside[choice % len(inside)]
    at = offset(token.end)
    if kind == "spaces":
        return text[:at] + " " * (1 + choice % 3) + text[at:]
    if kind == "break_line":
        return text[:at] + "\n" + " " * (choice % 13) + text[at:]
    if kind == "comment_in_brackets":
        return text[:at] + f"  # inner {choice}\n" + " " * (choice % 7) + text[at:]
    if kind == "backslash":
        return text[:at] + " \\\n" + " " * (choice % 5) + text[at:]
    raise AssertionError(kind)


KINDS = ["comment_at_line_end", "comment_line", "spaces", "break_line", "comment_in_brackets", "backslash",
         "flag_value", "duplicate_line", "crlf", "wrap"]
MUTATION = st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=10_000), st.sampled_from(FLAG_VALUES))


@COMMON
@given(st.sampled_from(SOURCES), st.lists(MUTATION, min_size=1, max_size=4), st.booleans())
def test_mutated_fixtures(source, mutations, unsafe):
    text = source
    for kind, choice, value in mutations:
        text = mutate(text, kind, choice, value)
    assume(parses(text))
    check_fix_properties(text, unsafe)


@pytest.mark.parametrize("kind", KINDS)
def test_each_mutation_keeps_most_fixtures_valid(kind):
    """The mutations are meant to produce valid programs; make sure they mostly do."""
    valid = sum(parses(mutate(source, kind, 7, "flag")) for source in SOURCES)
    assert valid >= len(SOURCES) * 0.8


# -- **splat calls next to fixable configs --------------------------------------------------
SPLAT_KEYS = ["device_map", "llm_int8_threshold", "trust_remote_code", "torch_dtype", "dtype", "quantization_config",
              "low_cpu_mem_usage", "load_in_8bit"]
# (code, the keys it may add, or None when it may add any key)
SPLAT_CHANGES = [
    ('cfg["{key}"] = 1', "key"),
    ('if flag:\n    cfg["{key}"] = 1', "key"),
    ("cfg.update({key}=1)", "key"),
    ('cfg.setdefault("{key}", 1)', "key"),
    ('cfg.update({{"{key}": 1}})', "key"),
    ("cfg.update(user_settings)", None),
    ("tweak(cfg)", None),
    ("cfg[name] = 1", None),
    ('print(cfg.get("{key}"), "{key}" in cfg)', ""),
]
SPLAT_CALLS = [  # the call that receives **cfg, with its own keywords
    ('q = BitsAndBytesConfig(load_in_8bit=True, **cfg)\n'
     'model = AutoModelForCausalLM.from_pretrained("gpt2", quantization_config=q)', {"load_in_8bit"}),
    ('model = AutoModelForCausalLM.from_pretrained("gpt2", load_in_8bit=True, **cfg)', {"load_in_8bit"}),
    ('model = AutoModelForCausalLM.from_pretrained("gpt2", quantization_config=BitsAndBytesConfig(load_in_4bit=True),'
     ' **cfg)', {"quantization_config"}),
]


@st.composite
def splat_programs(draw):
    """A program whose ``cfg`` dict is splatted into a fixable call, and the keys ``cfg`` may carry (None: any)."""
    call, own = draw(st.sampled_from(SPLAT_CALLS))
    allowed = [key for key in SPLAT_KEYS if key not in own]
    keys = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=3))
    literal = (f"dict({', '.join(f'{key}=1' for key in keys)})" if draw(st.booleans())
               else "{" + ", ".join(f'"{key}": 1' for key in keys) + "}")
    lines = ["from transformers import AutoModelForCausalLM, BitsAndBytesConfig", f"cfg = {literal}"]
    carried: set[str] | None = set(keys)
    for template, adds in draw(st.lists(st.sampled_from(SPLAT_CHANGES), max_size=3)):
        key = draw(st.sampled_from(allowed))
        lines.append(template.format(key=key))
        if adds is None:
            carried = None
        elif adds and carried is not None:
            carried.add(key)
    lines.append(call)
    if draw(st.booleans()):  # everything in a function: module-level names stay module-level
        lines = [lines[0], "def load(flag, user_settings, name):"] + [
            "    " + line.replace("\n", "\n    ") for line in lines[1:]]
    return "\n".join(lines) + "\n", carried


def _splat_call_keywords(text: str) -> set[str]:
    """The explicit keywords of the call that receives ``**cfg``."""
    import ast

    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == "cfg"
                                              for k in node.keywords):
            names = [k.arg for k in node.keywords if k.arg]
            assert len(names) == len(set(names)), "a keyword written twice"
            return set(names)
    raise AssertionError("the **cfg call is gone")


@COMMON
@given(splat_programs())
def test_fixes_never_give_a_splat_call_a_keyword_twice(case):
    text, carried = case
    result = fix_source(text, "case.py", ALL, True)
    event("fixes applied" if result.fixed else "nothing to fix")
    compile(result.source, "case.py", "exec")
    before, after = _splat_call_keywords(text), _splat_call_keywords(result.source)
    added = after - before
    if carried is None:
        assert not added, f"{added} added next to a **splat whose keys are unknown"
    else:
        assert not (after & carried), f"{after & carried} given both as keywords and through **cfg"
    check_fix_properties(text)
