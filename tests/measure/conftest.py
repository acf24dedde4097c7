"""Fixtures of the measure tests."""

from __future__ import annotations

import sys

import pytest

from fakenvml import FakePynvml


@pytest.fixture
def fake_nvml(monkeypatch):
    """Install a fake pynvml (one H100 by default); returns a function to install another."""

    def install(gpus=None, init_error=None) -> FakePynvml:
        module = FakePynvml(gpus, init_error)
        monkeypatch.setitem(sys.modules, "pynvml", module)
        return module

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("ECOLINT_TOKENS_FILE", raising=False)
    install.default = install()
    return install
