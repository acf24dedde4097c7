"""Equivalence tests run real generation on CPU: they need torch and transformers (the ``test`` extra).

Without them the tests are skipped, except in CI (``CI=true``), where a missing library fails.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


def require(name: str):
    """The module, or a skip (a failure in CI) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is required in CI for the equivalence tests: {error}")
        pytest.skip(f"{name} is not installed")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A folder holding a tiny random Llama and its fast tokenizer, saved with ``save_pretrained``."""
    torch = require("torch")
    require("transformers")
    require("tokenizers")
    torch.set_num_threads(1)  # small matrices: one thread is as fast and leaves the other cores alone
    from tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)
