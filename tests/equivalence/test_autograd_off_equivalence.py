"""LLM304's fix keeps what the code computes: a script runs as written and as ``--fix --unsafe-fixes``
rewrites it, on CPU against the same tiny random Llama (built from a config, saved, loaded by the script),
and gives the same tokens and the same numbers, with autograd off where the fix put it.

Skipped where torch or transformers cannot be imported, except in CI (``CI`` set), which installs them
from tests/requirements-models.txt.
"""

from __future__ import annotations

import importlib.util
import json
import os
import textwrap

import pytest

from ecolint.config import select_codes
from ecolint.engine import LintOptions
from ecolint.fixes import fix_source

missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
if missing and not os.environ.get("CI"):
    pytest.skip(f"needs {', '.join(missing)}", allow_module_level=True)

import torch  # noqa: E402
import transformers  # noqa: E402

# the script passes past_key_values, as older code does
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SCRIPT = textwrap.dedent('''\
    import json

    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR)
    model.eval()


    def greedy(input_ids, steps=6):
        past = None
        for _ in range(steps):
            out = model(input_ids[:, -1:] if past is not None else input_ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            input_ids = torch.cat([input_ids, out.logits[:, -1:].argmax(-1)], dim=-1)
        return input_ids


    def write_losses(batches, path):
        losses = []
        for batch in batches:
            losses.append(model(batch, labels=batch).loss.item())
        with open(path, "w") as handle:
            json.dump(losses, handle)


    batches = [torch.tensor([[1, 5, 9, 3]]), torch.tensor([[7, 2, 2, 8, 4]])]
    logits = []
    for batch in batches:
        logits.append(model(batch).logits[0, -1])
    tokens = [greedy(batch).tolist() for batch in batches]
    write_losses(batches, LOSSES)
''')


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64)
    folder = tmp_path_factory.mktemp("tiny-llama")
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def run(source: str, model_dir, losses_path) -> dict:
    namespace = {"__name__": "__main__", "MODEL_DIR": str(model_dir), "LOSSES": str(losses_path)}
    exec(compile(source, "<script>", "exec"), namespace)  # noqa: S102  (the test's own script)
    return namespace


def test_autograd_off_keeps_the_results(model_dir, tmp_path):
    outcome = fix_source(SCRIPT, "script.py", LintOptions(select_codes(["LLM304"], [], [])), True)
    assert outcome.converged and len(outcome.fixed) == 3
    fixed = outcome.source
    assert "@torch.no_grad()\ndef greedy(" in fixed and "@torch.inference_mode()\ndef write_losses(" in fixed
    assert "with torch.no_grad():\n    for batch in batches:\n        logits.append(" in fixed

    before = run(SCRIPT, model_dir, tmp_path / "before.json")
    after = run(fixed, model_dir, tmp_path / "after.json")

    assert before["tokens"] == after["tokens"]
    assert json.loads((tmp_path / "before.json").read_text()) == json.loads((tmp_path / "after.json").read_text())
    for old, new in zip(before["logits"], after["logits"]):
        assert torch.equal(old, new)
        assert old.requires_grad and not new.requires_grad  # the graph was recorded before, not after
