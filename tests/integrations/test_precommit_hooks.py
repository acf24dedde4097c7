"""The hooks of .pre-commit-hooks.yaml, run by the real ``pre-commit try-repo`` against this checkout.

``try-repo`` builds a virtual environment with ecolint installed from this repository (its
committed files plus tracked changes), which needs the package index for ecolint's
dependencies. It runs once for the module: both hooks in order on one staged fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ecolint.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = '''\
import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_compute_dtype=torch.float16)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
'''
FIXED = FIXTURE.replace(", bnb_4bit_compute_dtype=torch.float16", "")


def _pre_commit() -> list[str] | None:
    if shutil.which("git") is None:
        return None
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "pre_commit"]


def _has_fix_option() -> bool:
    return "--fix" in CliRunner().invoke(main, ["check", "--help"]).output


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_hook_definitions():
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) == {"ecolint", "ecolint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi", "jupyter"]
        assert hook["require_serial"] is True
    assert hooks["ecolint"]["entry"] == "ecolint check --force-exclude"
    assert hooks["ecolint-fix"]["entry"] == "ecolint check --fix --force-exclude"


@pytest.fixture(scope="module")
def try_repo(tmp_path_factory):
    command = _pre_commit()
    if command is None:
        pytest.skip("needs git and pre-commit")
    base = tmp_path_factory.mktemp("precommit")
    project = base / "project"
    project.mkdir()
    git("init", "-q", cwd=project)
    git("config", "user.email", "dev@example.com", cwd=project)
    git("config", "user.name", "Dev", cwd=project)
    (project / "serve.py").write_text(FIXTURE, encoding="utf-8")
    (project / "untouched.txt").write_text("load_in_8bit=True\n", encoding="utf-8")
    git("add", "serve.py", "untouched.txt", cwd=project)
    env = {**os.environ, "PRE_COMMIT_HOME": str(base / "cache"), "PRE_COMMIT_COLOR": "never",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    env.pop("VIRTUAL_ENV", None)
    completed = subprocess.run([*command, "try-repo", str(ROOT), "--verbose"], cwd=project, env=env,
                               capture_output=True, text=True, timeout=900)
    return completed, project


def hook_block(output: str, name: str) -> str:
    """The lines pre-commit printed for one hook: its status line up to the next hook's."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}...") or line.startswith(f"{name} ."))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("ecolint") and "..." in lines[i]),
               len(lines))
    return "\n".join(lines[start:end])


def test_check_hook_fails_on_the_fixture(try_repo):
    completed, _ = try_repo
    output = completed.stdout + completed.stderr
    assert "An unexpected error has occurred" not in output, output
    block = hook_block(output, "ecolint")
    assert "Failed" in block.splitlines()[0], output
    assert "serve.py:4:72: LLM105" in block, output
    assert "untouched.txt" not in output


@pytest.mark.skipif(not _has_fix_option(), reason="needs `ecolint check --fix` (the fix engine), not in this build")
def test_fix_hook_fixes_the_fixture(try_repo):
    completed, project = try_repo
    output = completed.stdout + completed.stderr
    block = hook_block(output, "ecolint (fix)")
    assert "Failed" in block.splitlines()[0], output
    assert "files were modified by this hook" in block, output
    assert (project / "serve.py").read_text(encoding="utf-8") == FIXED
    assert completed.returncode == 1
