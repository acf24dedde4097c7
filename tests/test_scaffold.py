"""scripts/new_rule.py, run on a copy of the project's rule folders: valid stubs the tests then point at."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys

import pytest
import yaml

from cli_helpers import ROOT
from ecolint.rules import parse_rule

SCRIPT = ROOT / "scripts" / "new_rule.py"


def new_rule(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--root", str(root)], capture_output=True, text=True)


@pytest.fixture
def project(tmp_path):
    """A copy of the package and its rule files, laid out as installed (rules/ is ecolint/rule_files)."""
    shutil.copytree(ROOT / "ecolint", tmp_path / "ecolint", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "fixtures").mkdir()
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    return tmp_path


def installed(project) -> None:
    shutil.copytree(project / "rules", project / "ecolint" / "rule_files", dirs_exist_ok=True)


def test_new_rule_writes_a_valid_rule_file_a_rule_module_and_fixtures(project):
    done = new_rule(project, "LLM299", "--name", "some-name")
    assert done.returncode == 0, done.stderr

    rule = parse_rule(yaml.safe_load((project / "rules" / "LLM299.yaml").read_text(encoding="utf-8")), rows={})
    assert (rule.code, rule.name, rule.default_enabled) == ("LLM299", "some-name", False)
    assert rule.examples_invalid and rule.examples_valid  # test_rule_examples fails until the check finds them
    assert rule.missing_placeholders({}) == []

    checks = (project / "ecolint" / "checks" / "some_name.py").read_text(encoding="utf-8")
    [stub] = [node for node in ast.parse(checks).body
              if isinstance(node, ast.FunctionDef) and node.name == "some_name"]
    assert ast.unparse(stub.decorator_list[0]) == "check('LLM299')"
    lint = subprocess.run([sys.executable, "-m", "flake8", str(project / "ecolint" / "checks" / "some_name.py")],
                          cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    page = (project / "docs" / "rules" / "LLM299.md").read_text(encoding="utf-8")
    assert page.startswith("# some-name (LLM299)") and "Default: off" in page

    fixtures = project / "fixtures" / "LLM299"
    assert sorted(path.name for path in fixtures.iterdir()) == [
        "neg_basic.expected", "neg_basic.py", "pos_basic.expected", "pos_basic.py"]
    assert (fixtures / "neg_basic.expected").read_text(encoding="utf-8") == ""
    # the stub finds nothing, so the positive fixture fails until the check and its .expected are written
    assert "update_fixtures.py LLM299" in (fixtures / "pos_basic.expected").read_text(encoding="utf-8")


def test_new_rule_refuses_an_existing_code_an_existing_module_and_a_bad_name(project):
    assert new_rule(project, "LLM101", "--name", "again").returncode != 0
    taken = new_rule(project, "LLM299", "--name", "fp32-inference")
    assert taken.returncode != 0 and "fp32_inference.py" in taken.stderr
    assert new_rule(project, "LLM299", "--name", "Some_Name").returncode != 0
    assert not (project / "rules" / "LLM299.yaml").exists()


def test_the_new_rule_module_is_registered_without_an_import_list(project):
    assert new_rule(project, "LLM299", "--name", "some-name").returncode == 0
    installed(project)
    probe = ("import sys; sys.path.insert(0, '.'); from ecolint.checks import CHECKS; "
             "from ecolint.rules import all_rules; print(CHECKS['LLM299'].__module__, all_rules()['LLM299'].name)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True)
    assert done.stdout.split() == ["ecolint.checks.some_name", "some-name"], done.stderr
    lint = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); from ecolint.cli import main; "
                           "main(['check', '--no-cache', '--select', 'LLM299', 'fixtures/LLM299/pos_basic.py'])"],
                          cwd=project, capture_output=True, text=True)
    assert lint.returncode == 0 and "1 file checked" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
