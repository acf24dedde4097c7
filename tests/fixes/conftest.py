import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def strict_fixers(monkeypatch):
    """A fixer that raises shows up as a test failure instead of silently offering no fix."""
    from ecolint.fixes import registry

    monkeypatch.setattr(registry, "STRICT", True)
