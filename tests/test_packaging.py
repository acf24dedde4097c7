"""The wheel ships the rules and data: installed on its own, ecolint works from another directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cli_helpers import ROOT

SKIP = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "bench",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".ecolint_cache",
    ".pytest_cache",
    ".hypothesis",
    ".whl",
    "tests",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source") / "ecolint"
    shutil.copytree(ROOT, source, ignore=SKIP)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    [built] = out.glob("ecolint-*.whl")
    return built


def test_wheel_contains_rules_and_measurement_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for code in ("LLM101", "LLM201", "LLM303"):
        assert f"ecolint/rule_files/{code}.yaml" in names
    for table in ("measurements.csv", "gpus.csv", "model_sizes.csv", "SOURCES.md"):
        assert f"ecolint/energy/data/{table}" in names
    assert not any(name.startswith(("fixtures/", "tests/", "rules/")) for name in names)


def test_installed_wheel_lints_from_another_directory(wheel, tmp_path):
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    work = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "fixtures" / "demo", work / "demo")
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); import ecolint; "
        "assert ecolint.__file__.startswith(sys.argv[1]), ecolint.__file__; "
        "from ecolint.cli import main; sys.argv = ['ecolint', *sys.argv[2:]]; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", program, str(target), "check", "--no-cache", "demo"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stderr
    assert "demo/chat_server.py:24:5: LLM101" in run.stdout
    docs = subprocess.run(
        [sys.executable, "-c", program, str(target), "rule", "LLM102"], cwd=work, capture_output=True, text=True
    )
    assert "| m005 | m003 | RTX 5090 |" in docs.stdout
