"""Every rule fixture gives exactly the diagnostics its .expected file lists (code, line, column)."""

from __future__ import annotations

import re

import pytest
import yaml

from cli_helpers import FIXTURES, ROOT, run_cli
from ecolint.engine import LintOptions, lint_text
from ecolint.rules import all_rules

CASES = sorted(FIXTURES.glob("ECO*/*.py"))


def fixture_args(path) -> list[str]:
    match = re.match(r"#\s*ecolint-args:\s*(.*)", path.read_text(encoding="utf-8").splitlines()[0])
    return match.group(1).split() if match else []


def test_every_rule_has_positive_and_negative_fixtures():
    for code in all_rules():
        names = [case.name for case in CASES if case.parent.name == code]
        assert any(name.startswith("pos_") for name in names), f"{code} has no positive fixture"
        assert any(name.startswith("neg_") for name in names), f"{code} has no negative fixture"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(case):
    code = case.parent.name
    expected = [line for line in case.with_suffix(".expected").read_text().splitlines() if line.strip()]
    result = run_cli("check", "--no-config", "--no-cache", "--select", code, "-q", *fixture_args(case), str(case))
    assert result.found() == expected
    assert result.exit_code == (1 if expected else 0)


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_rule_examples(code):
    """The examples in each rule file (the docs) are tested too: invalid ones fire, valid ones do not."""
    rule = all_rules()[code]
    options = LintOptions(frozenset({code}))
    for example in rule.examples_invalid:
        assert any(d.code == code for d in lint_text(example, "example.py", options)), example
    for example in rule.examples_valid:
        assert not lint_text(example, "example.py", options), example


def test_rule_files_list_the_documented_sections():
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        assert set(data["docs"]) >= {"what_it_does", "why_bad", "example", "fix_safety"}, path.name


def test_demo_scripts_trigger_every_default_rule_with_a_pattern_in_them():
    result = run_cli("check", "--no-config", "--no-cache", str(FIXTURES / "demo"))
    codes = {line.split(": ")[1].split()[0] for line in result.found()}
    assert {"ECO101", "ECO102", "ECO104", "ECO105", "ECO106", "ECO201", "ECO202", "ECO301", "ECO303"} <= codes
    assert "train_sft.py" not in result.stdout and "vllm_offline.py" not in result.stdout


def test_rule_docs_pages_are_generated_from_the_rule_files():
    """docs/rules/*.md must match the rule files: run scripts/generate_rule_docs.py after editing rules/."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_rule_docs", ROOT / "scripts" / "generate_rule_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.rendered().items():
        assert (ROOT / "docs" / "rules" / name).read_text(encoding="utf-8") == text, name
    for code, rule in all_rules().items():
        assert (ROOT / rule.url).is_file()
