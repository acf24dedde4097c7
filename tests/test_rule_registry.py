"""The parts of a rule agree: its rule file (with triggers), its check, its fixer and its fixtures.

A new rule needs rules/CODE.yaml, its module ecolint/checks/<name>.py with a ``@check("CODE")``,
fixtures/CODE/pos_*.py and neg_*.py with .expected files, and a ``@fixer("CODE")`` in its module when
its file says it has a fix; ``python scripts/new_rule.py CODE --name NAME`` makes the stubs.
"""

from __future__ import annotations

import subprocess
import sys

import libcst as cst
import pytest

from cli_helpers import FIXTURES
from ecolint.checks import CHECKS
from ecolint.fixes import registry
from ecolint.prefilter import could_match, matching_codes, triggers
from ecolint.rule_schema import rule_data
from ecolint.rules import all_rules

NEW_RULE = "scripts/new_rule.py makes the stubs"


def fixers() -> dict:
    """The fixers, registered the way linting registers them."""
    registry.fixes_for(cst.parse_module(""), "", {})
    return registry.FIXERS


def test_every_check_has_a_rule_file():
    missing = sorted(set(CHECKS) - set(all_rules()))
    assert not missing, f"checks without rules/CODE.yaml: {missing} ({NEW_RULE})"


def test_every_rule_file_has_a_check():
    missing = sorted(set(all_rules()) - set(CHECKS))
    assert not missing, f"rules/*.yaml without a @check(CODE) in ecolint/checks/: {missing} ({NEW_RULE})"


def test_every_rule_file_has_triggers():
    missing = sorted(code for code in rule_data() if code not in triggers())
    assert not missing, f"rule files without triggers (the prefilter would parse every file for them): {missing}"


def test_the_prefilter_reads_only_the_rule_files():
    """Deciding that a file needs no parse must stay cheap: no libcst, no measurement tables."""
    probe = ("import sys; from ecolint.prefilter import could_match; could_match('x = 1', frozenset({'LLM101'})); "
             "print(sorted({'libcst', 'ecolint.energy.dataset', 'ecolint.rules'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_triggers_let_the_reported_code_through(code):
    """Each positive fixture and invalid example passes the prefilter, or the rule could never fire on it."""
    texts = [case.read_text(encoding="utf-8") for case in sorted((FIXTURES / code).glob("pos_*.py"))]
    texts += list(all_rules()[code].examples_invalid)
    for text in texts:
        assert could_match(text, frozenset({code})), f"{code}: triggers in rules/{code}.yaml miss:\n{text}"


def test_matching_codes_answers_could_match_for_each_code():
    """The one-pass answer for all rules is the per-rule answer, on every fixture (positive and negative)."""
    codes = frozenset(all_rules()) | {"E999"}
    texts = [case.read_text(encoding="utf-8") for case in sorted(FIXTURES.glob("LLM*/*.py"))]
    assert len(texts) > 100
    matched_somewhere = set()
    for text in texts:
        matched = matching_codes(text, codes)
        assert matched == {code for code in codes if could_match(text, frozenset({code}))}
        matched_somewhere |= matched
    assert matched_somewhere == set(all_rules())  # the comparison saw every rule match, not only misses


def test_a_rule_with_a_fix_has_a_fixer():
    missing = sorted(code for code, rule in all_rules().items()
                     if rule.fix_applicability != "none" and code not in fixers())
    assert not missing, f"rules with a fix.applicability but no @fixer(CODE) in its rule module: {missing}"


def test_a_fixer_has_a_rule_that_says_it_fixes():
    rules = all_rules()
    stray = sorted(code for code in fixers() if code not in rules or rules[code].fix_applicability == "none")
    assert not stray, f"fixers whose rule file has no fix (set fix.applicability and fix.title): {stray}"
    untitled = sorted(code for code in fixers() if not rules[code].fix_title)
    assert not untitled, f"rules with a fixer but no fix.title: {untitled}"


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_every_rule_has_positive_and_negative_fixtures(code):
    for prefix in ("pos_", "neg_"):
        cases = sorted((FIXTURES / code).glob(f"{prefix}*.py"))
        assert cases, f"fixtures/{code}/ has no {prefix}*.py fixture ({NEW_RULE})"
        for case in cases:
            assert case.with_suffix(".expected").is_file(), f"{case.name} has no .expected file"
