"""Every rule fixture gives exactly the diagnostics its .expected file lists (``row:col: CODE message``,
one line each; scripts/update_fixtures.py writes them), and every message placeholder gets a value."""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache

import pytest
import yaml

from cli_helpers import FIXTURES, ROOT, run_cli
from ecolint import rules as rules_module
from ecolint.energy.dataset import resolve_gpu
from ecolint.engine import LintOptions, lint_text
from ecolint.rules import RuleError, all_rules, parse_rule

CASES = sorted(FIXTURES.glob("LLM*/*.py"))


@lru_cache(maxsize=None)
def script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def strict_placeholders(monkeypatch):
    """A message placeholder that a finding leaves without a value fails these tests."""
    monkeypatch.setattr(rules_module, "STRICT_PLACEHOLDERS", True)


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(case):
    """Run scripts/update_fixtures.py after a deliberate change of the output, and review the diff."""
    code = case.parent.name
    expected = [line for line in case.with_suffix(".expected").read_text("utf-8").splitlines() if line.strip()]
    args = script("update_fixtures").fixture_args(case)
    result = run_cli("check", "--no-config", "--no-cache", "--select", code, "--output-format", "json",
                     *args, str(case))
    assert result.exit_code != 2, result.stderr
    found = [f"{d['location']['row']}:{d['location']['column']}: {d['code']} {d['message']}"
             for d in json.loads(result.stdout)]
    assert found == expected
    assert result.exit_code == (1 if expected else 0)


def test_an_unfilled_placeholder_is_detected():
    data = {"code": "LLM999", "name": "example", "summary": "An example.", "severity": "info", "default": False,
            "message": "{what} is slow; {penalty}", "fix": {"applicability": "none"}, "docs": {}}
    rule = parse_rule(data, rows={})
    assert rule.missing_placeholders({}) == ["what"]
    assert rule.missing_placeholders({"what": ""}) == []
    with pytest.raises(RuleError, match="what"):
        rule.format_message({})


def test_production_prints_an_unfilled_placeholder_as_empty(monkeypatch):
    monkeypatch.setattr(rules_module, "STRICT_PLACEHOLDERS", False)
    data = {"code": "LLM999", "name": "example", "summary": "An example.", "severity": "info", "default": False,
            "message": "slow{what}", "fix": {"applicability": "none"}, "docs": {}}
    assert parse_rule(data, rows={}).format_message({}) == "slow"


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_rule_examples(code):
    """The examples in each rule file (the docs' Example) are tested too: invalid ones fire, valid ones do not."""
    for example in all_rules()[code].examples:
        options = LintOptions(frozenset({code}), gpu=resolve_gpu(example.gpu) if example.gpu else None)
        found = lint_text(example.code, "example.py", options)
        if example.valid:
            assert not found, example.code
        else:
            assert any(d.code == code for d in found), example.code


def test_rule_files_list_the_documented_sections():
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        assert set(data["docs"]) >= {"what_it_does", "why_bad", "fix_safety"}, path.name
        assert "example" not in data["docs"], f"{path.name}: the Example is rendered from examples"
    for rule in all_rules().values():
        assert any(not example.valid and example.shown for example in rule.examples), f"{rule.code}: no Example"
        assert any(example.valid and example.shown for example in rule.examples), f"{rule.code}: no 'Use instead'"


def test_docs_example_is_rendered_from_the_examples():
    rule = all_rules()["LLM101"]
    example = rule.docs["example"]
    shown = [e for e in rule.examples if e.shown]
    assert all(e.code.rstrip() in example for e in shown)
    assert all(e.code.rstrip() not in example for e in rule.examples if not e.shown)
    assert example.index(rule.examples_invalid[0].rstrip()) < example.index("Use instead")
    assert example.index("Use instead") < example.index(rule.examples_valid[0].rstrip())


def test_demo_scripts_trigger_every_default_rule_with_a_pattern_in_them():
    result = run_cli("check", "--no-config", "--no-cache", str(FIXTURES / "demo"))
    codes = {line.split(": ")[1].split()[0] for line in result.found()}
    assert {"LLM101", "LLM102", "LLM104", "LLM105", "LLM106", "LLM201", "LLM202", "LLM301", "LLM303"} <= codes
    assert "train_sft.py" not in result.stdout and "vllm_offline.py" not in result.stdout


def test_rule_docs_and_readme_table_are_generated_from_the_rule_files():
    """docs/rules/*.md and README.md's rules table must match the rule files: run
    scripts/generate_rule_docs.py after editing rules/."""
    for path, text in script("generate_rule_docs").outputs().items():
        stale = not path.is_file() or path.read_text(encoding="utf-8") != text
        assert not stale, f"{path.name} is stale: run scripts/generate_rule_docs.py"
    for code, rule in all_rules().items():
        assert (ROOT / rule.url).is_file()


def test_readme_table_penalties_are_computed_from_the_rows():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- rules-table:start -->")[1].split("<!-- rules-table:end -->")[0]
    for rule in all_rules().values():
        assert f"| {rule.penalty_text()} |" in table, f"{rule.code}: run scripts/generate_rule_docs.py"
