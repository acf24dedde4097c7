"""Output that does not depend on the test environment: the transformers installed there (CI installs one for
the tiny-model tests) is not read as the version to lint for (ecolint and the flake8 subprocesses alike)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _ignore_installed_versions(monkeypatch):
    monkeypatch.setenv("ECOLINT_IGNORE_INSTALLED", "1")
