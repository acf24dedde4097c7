"""Inputs for the robustness tests, made on the fly, and a way to run ecolint that cannot hang the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Two findings (LLM101 and LLM106) on line 2: the file every multi-file case expects to keep its results.
GOOD = (
    "from transformers import AutoModelForCausalLM\n"
    "model = AutoModelForCausalLM.from_pretrained('facebook/opt-1.3b', load_in_8bit=True)\n"
)
GOOD_FINDINGS = ("good.py:2:", "LLM101", "LLM106")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def good_findings_in(output: str) -> bool:
    """Whether the concise output still holds both findings of good.py."""
    lines = [line for line in output.splitlines() if line.startswith("good.py:2:")]
    return any(" LLM101 " in line for line in lines) and any(" LLM106 " in line for line in lines)


def run_ecolint(*args: str, cwd: Path, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``ecolint ARGS`` in a child process; a hang fails the test (``TimeoutExpired``) instead of the suite."""
    return subprocess.run([sys.executable, "-m", "ecolint", *args], cwd=cwd, input=stdin, capture_output=True,
                          timeout=timeout)
