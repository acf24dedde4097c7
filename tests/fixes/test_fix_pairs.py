"""The codemod pairs: fixtures/fixes/CODE/NAME.in.py must become NAME.out.py, byte for byte."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.rules import all_rules
from fixhelpers import FIXES, PAIRS, case_args, fix_case_text, output_of, read_text

IDS = [f"{case.parent.name}/{case.name[:-len('.in.py')]}" for case in PAIRS]


@pytest.mark.parametrize("case", PAIRS, ids=IDS)
def test_pair(case):
    result = fix_case_text(read_text(case), case_args(case))
    assert result.converged, result.error
    assert result.source == read_text(output_of(case))
    if case.name.startswith("nofix_"):
        assert not result.fixed
    else:
        assert result.fixed, "a pair that changes nothing must be named nofix_*"


@pytest.mark.parametrize("case", PAIRS, ids=IDS)
def test_pair_is_idempotent(case):
    """Fixing the expected output again changes nothing."""
    expected = read_text(output_of(case))
    again = fix_case_text(expected, case_args(case))
    assert again.converged
    assert again.source == expected
    assert not again.fixed


@pytest.mark.parametrize("case", PAIRS, ids=IDS)
def test_pair_through_the_command_line(case, tmp_path):
    """``ecolint check --fix`` writes exactly the expected bytes (encoding, BOM, line endings)."""
    target = tmp_path / "case.py"
    shutil.copyfile(case, target)
    outcome = CliRunner().invoke(main, ["check", "--no-config", "--no-cache", "--fix", *case_args(case), str(target)])
    assert outcome.exit_code in (0, 1), outcome.output
    assert target.read_bytes() == output_of(case).read_bytes()


def test_every_fixable_rule_has_pairs():
    for code, rule in all_rules().items():
        pairs = list((FIXES / code).glob("*.in.py"))
        if rule.fixable:
            assert pairs, f"{code} has a fix but no codemod pair in fixtures/fixes/{code}"
            assert all(output_of(pair).exists() for pair in pairs)
        else:
            assert not pairs, f"{code} has no fix but has codemod pairs"


def test_pairs_cover_line_endings_and_encodings():
    raw = [case.read_bytes() for case in PAIRS]
    assert any(b"\r\n" in data for data in raw)
    assert any(data.startswith(b"\xef\xbb\xbf") for data in raw)
    assert any(b"coding: latin-1" in data for data in raw)
    assert any(not data.endswith(b"\n") for data in raw)
