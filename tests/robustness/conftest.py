import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # robusthelpers
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # cli_helpers


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder (with a config that keeps the defaults) as the working directory."""
    (tmp_path / "pyproject.toml").write_text("[tool.ecolint]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path
