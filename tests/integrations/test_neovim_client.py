"""``ecolint lsp`` in a real editor: Neovim's built-in LSP client, headless, on the demo scripts.

Neovim comes from the distribution's packages (Debian 12 has 0.7.2; ``.ci/run`` installs it).
Without ``nvim`` these tests are skipped, except in CI, where that is a failure (editor_tools.py).
Neovim 0.7 cannot send notebook documents: test_lsp_notebook_documents.py covers those.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from editor_tools import program

pytest.importorskip("pygls")

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).parent / "neovim" / "drive_ecolint.lua"
DEMO = ROOT / "fixtures" / "demo" / "chat_server.py"


def nvim() -> str:
    return program("nvim", "apt-get install neovim")


def drive(folder: Path, name: str) -> dict:
    """Open ``folder/name`` in headless Neovim with ecolint's server, as drive_ecolint.lua does."""
    env = {**os.environ, "ECOLINT_FILE": str(folder / name), "ECOLINT_OUT": str(folder / "nvim.json"),
           "ECOLINT_CMD": json.dumps([sys.executable, "-m", "ecolint", "lsp"])}
    completed = subprocess.run([nvim(), "--headless", "--clean", "-c", f"luafile {DRIVER}"], env=env, cwd=folder,
                               capture_output=True, text=True, timeout=180)
    assert (folder / "nvim.json").exists(), completed.stderr
    result = json.loads((folder / "nvim.json").read_text(encoding="utf-8"))
    assert result["failure"] is None, (result["failure"], result["steps"])
    return result


def ecolint(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecolint", "check", *args], cwd=folder, capture_output=True,
                          text=True, timeout=120)


def positions(found: list[dict]) -> list[tuple]:
    """Diagnostics as (code, line, column, end line, end column), 0-based as in LSP."""
    return sorted((d["code"], d["lnum"], d["col"], d["end_lnum"], d["end_col"]) for d in found)


def cli_positions(folder: Path, name: str) -> list[tuple]:
    report = json.loads(ecolint(folder, "--output-format", "json", name).stdout)
    return sorted((d["code"], d["location"]["row"] - 1, d["location"]["column"] - 1, d["end_location"]["row"] - 1,
                   d["end_location"]["column"] - 1) for d in report)


def fixed_by_cli(folder: Path, name: str, *args: str) -> str:
    """The text ``ecolint check --fix`` writes for a copy of ``name`` in the same folder."""
    copy = f"cli_{name}"
    shutil.copy(folder / name, folder / copy)
    ecolint(folder, "--fix", *args, copy)
    return (folder / copy).read_text(encoding="utf-8")


def test_diagnostics_quick_fix_and_one_fix_all_in_neovim(tmp_path):
    shutil.copy(DEMO, tmp_path / DEMO.name)
    (tmp_path / "pyproject.toml").write_text("[tool.ecolint]\n", encoding="utf-8")
    result = drive(tmp_path, DEMO.name)

    # what Neovim shows is what `ecolint check` reports, at the same places
    assert positions(result["diagnostics"]) == cli_positions(tmp_path, DEMO.name)
    assert {d["code"] for d in result["diagnostics"]} >= {"LLM101", "LLM106", "LLM301", "LLM201"}
    assert all(d["source"] == "ecolint" for d in result["diagnostics"])
    for offered in result["actions"]:
        titles = [action["title"] for action in offered["offered"]]
        assert f"ecolint: Disable {offered['code']} for this line" in titles
        assert [a["kind"] for a in offered["offered"] if "Fix all" in a["title"]] == ["source.fixAll.ecolint"]
        assert not any("(unsafe)" in title for title in titles)  # unsafe-fixes is off

    # the quick fix changes what `ecolint check --fix` changes for that rule, and its diagnostic goes
    code = result["quick_fix"]["code"]
    assert code == "LLM106"
    assert result["quick_fix"]["text"] == fixed_by_cli(tmp_path, DEMO.name, "--select", code)
    assert code not in {d["code"] for d in result["after_quick_fix"]}
    assert result["fix_all"] == {"offered": 0}  # no safe fix is left


def test_fix_all_with_unsafe_fixes_on_in_neovim(tmp_path):
    shutil.copy(DEMO, tmp_path / DEMO.name)
    (tmp_path / "pyproject.toml").write_text("[tool.ecolint]\nunsafe-fixes = true\n", encoding="utf-8")
    result = drive(tmp_path, DEMO.name)

    on_llm301 = next(offered for offered in result["actions"] if offered["code"] == "LLM301")
    assert any(a["title"].endswith("(unsafe) (LLM301)") for a in on_llm301["offered"]), on_llm301
    assert result["fix_all"]["offered"] == 1
    assert result["fix_all"]["title"] == "ecolint: Fix all problems (unsafe fixes included)"
    # the quick fix, then fix-all: the file `ecolint check --fix` writes with the same configuration
    assert result["fix_all"]["text"] == fixed_by_cli(tmp_path, DEMO.name)
    assert positions(result["after_fix_all"]) == cli_positions(tmp_path, f"cli_{DEMO.name}")
    assert "LLM301" not in {d["code"] for d in result["after_fix_all"]}
