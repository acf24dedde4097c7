"""What a run imports: linting a file no rule can match loads neither libcst nor the heavy data.

Each check runs in a fresh interpreter, so that modules imported by other tests do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

CLEAN = "import os\n\n\ndef join(folder, name):\n    return os.path.join(folder, name)\n"
FINDING = ('from transformers import AutoModelForCausalLM\n'
           'm = AutoModelForCausalLM.from_pretrained("x", load_in_8bit=True)\n')
# The project index (ecolint.analysis.project_index) is read for a file's project imports and stays light;
# the analysis proper (facts, the collector, the resolver) comes with libcst.
HEAVY = ("libcst", "yaml", "pynvml", "ecolint.advisor", "ecolint.measure", "ecolint.energy.estimator",
         "ecolint.fixes", "ecolint.checks", "ecolint.analysis.facts", "ecolint.analysis.collector")


def loaded_after(code: str, cwd, watched: tuple[str, ...] = HEAVY) -> dict:
    """Which of the ``watched`` modules are in sys.modules once ``code`` has run (and its exit status)."""
    program = (  # printed with repr: the program itself imports nothing that could be watched (json)
        "import sys\n"
        "status = 0\n"
        "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) +
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        f"print(repr({{'status': status, 'loaded': [m for m in {watched!r} if m in sys.modules]}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def run_cli(*args: str) -> str:
    return f"from ecolint.cli import main\nmain({list(args)!r})"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "clean.py").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "finding.py").write_text(FINDING, encoding="utf-8")
    return tmp_path


def test_version_loads_neither_the_rules_nor_libcst(files):
    outcome = loaded_after(run_cli("--version"), files)
    assert outcome == {"status": 0, "loaded": []}


@pytest.mark.parametrize("cache", [[], ["--no-cache"]])
def test_a_file_no_rule_can_match_is_linted_without_libcst(files, cache):
    outcome = loaded_after(run_cli("check", *cache, "clean.py"), files)
    assert outcome["status"] == 0
    assert set(outcome["loaded"]) <= {"yaml"}  # the rule files' triggers are read; nothing else is loaded


# What a run on a clean file has no use for, in a folder without a pyproject.toml: pattern matching (no
# diagnostic to drop), the rules with their penalties and data (no calibration), importlib.resources (the
# rule files are listed from their folder), importlib.metadata (the installed transformers version in the
# cache's key is read from its dist-info folder), pickle, TOML, difflib (error hints only).
NOT_FOR_A_CLEAN_FILE = ("pathspec", "ecolint.rules", "ecolint.penalties", "ecolint.energy.dataset",
                        "importlib.resources", "importlib.metadata", "zipfile", "email", "pickle", "tomllib",
                        "difflib")
# Without the cache, nothing is hashed (OpenSSL), read or written as JSON, or written through a temporary file.
NOT_WITHOUT_THE_CACHE = ("_hashlib", "json", "tempfile")


@pytest.mark.parametrize("cache", [[], ["--no-cache"]])
def test_a_clean_file_loads_only_what_its_run_needs(files, cache):
    watched = (*NOT_FOR_A_CLEAN_FILE, *(NOT_WITHOUT_THE_CACHE if cache else ()))
    outcome = loaded_after(run_cli("check", *cache, "clean.py"), files, watched)
    assert outcome == {"status": 0, "loaded": []}


def test_a_clean_file_under_a_pyproject_reads_it_with_tomllib(files):
    (files / "pyproject.toml").write_text("[tool.ecolint]\nignore = ['LLM101']\n", encoding="utf-8")
    outcome = loaded_after(run_cli("check", "--no-cache", "clean.py"), files, ("tomllib", "pathspec"))
    assert outcome == {"status": 0, "loaded": ["tomllib"]}


def test_a_finding_in_test_code_is_dropped_by_its_pattern(files):
    (files / "tests").mkdir()
    (files / "tests" / "finding.py").write_text(FINDING, encoding="utf-8")
    outcome = loaded_after(run_cli("check", "--no-cache", "tests/finding.py"), files, ("pathspec",))
    assert outcome == {"status": 0, "loaded": ["pathspec"]}


def test_a_file_with_a_finding_loads_the_engine(files):
    outcome = loaded_after(run_cli("check", "--no-cache", "finding.py"), files)
    assert outcome["status"] == 1
    assert {"libcst", "ecolint.checks"} <= set(outcome["loaded"])


@pytest.mark.parametrize("output_format", ["json", "sarif", "github", "junit"])
def test_machine_formats_of_a_clean_file_load_no_libcst(files, output_format):
    outcome = loaded_after(run_cli("check", "--no-cache", "--output-format", output_format, "clean.py"), files)
    assert outcome["status"] == 0
    assert "libcst" not in outcome["loaded"]


def test_flake8_plugin_on_a_file_no_rule_can_match_loads_no_libcst(files):
    code = ("from ecolint.flake8_plugin import EcolintChecker\n"
            f"assert list(EcolintChecker(None, {CLEAN.splitlines(keepends=True)!r}, 'clean.py').run()) == []")
    outcome = loaded_after(code, files)
    assert set(outcome["loaded"]) <= {"yaml"}


def test_flake8_plugin_on_a_file_with_a_finding_loads_the_engine(files):
    code = ("from ecolint.flake8_plugin import EcolintChecker\n"
            f"assert list(EcolintChecker(None, {FINDING.splitlines(keepends=True)!r}, 'finding.py').run())")
    outcome = loaded_after(code, files)
    assert "libcst" in outcome["loaded"]
