"""LLM201's fixes of per-item pipeline and vLLM calls keep every greedy output, token for token.

Each script runs as written and as ``ecolint check --fix --unsafe-fixes`` rewrites it, against the
same tiny random Llama: ten prompts of 1 to 9 words (so a batch is padded) with ``fix-batch-size``
3 (so the last batch holds one prompt), and a tokenizer without a pad token, as many decoder-only
checkpoints ship. vLLM does not run on CPU: its scripts run against a stand-in ``vllm`` module that
keeps vLLM's contract (one ``RequestOutput`` per prompt, in the order given) and generates greedily
with the same tiny model one prompt at a time, so they check the rewrite's reading of the results.
"""

from __future__ import annotations

import sys
import types

import pytest

from runner import assert_same_generations, run_script

PROMPTS = [
    "the cat", "what is the old river and the sky", "tell a story", "one two three four five six seven the dog",
    "why", "red green blue", "the moon and the star", "write a song of fire", "how fast is a car", "name a city",
]

PIPELINE = f'''\
from transformers import pipeline

generator = pipeline("text-generation", model=MODEL_DIR, device="cpu")
prompts = {PROMPTS!r}
'''

PIPELINE_SCRIPTS = {
    "for loop, result named in the body": '''
results = []
for p in prompts:
    out = generator(p, max_new_tokens=8, do_sample=False)
    results.append(out[0]["generated_text"])
''',
    "comprehension, only the new text": '''
results = [generator(p, max_new_tokens=8, return_full_text=False)[0]["generated_text"] for p in prompts]
''',
    "enumerate, input built in the loop, keyed by index": '''
results = {}
for i, topic in enumerate(prompts):
    prompt = f"tell a story of {topic}"
    reply = generator(prompt, max_new_tokens=6)
    results[i] = (topic, reply[0]["generated_text"])
''',
}

VLLM = f'''\
from vllm import LLM, SamplingParams

llm = LLM(model=MODEL_DIR)
params = SamplingParams(temperature=0.0, max_tokens=8)
prompts = {PROMPTS!r}
'''

VLLM_SCRIPTS = {
    "generate on a one-prompt list": '''
results = []
for p in prompts:
    results.append(llm.generate([p], params)[0].outputs[0].text)
''',
    "generate on a prompt built in the loop, output kept": '''
results = []
for row in prompts:
    prompt = f"answer {row}"
    result = llm.generate(prompt, params)
    results.append((row, result[0].outputs[0].text))
''',
    "comprehension": '''
results = [llm.generate(p, params)[0].outputs[0].text for p in prompts]
''',
}


def fixed(source: str) -> str:
    from ecolint.config import select_codes
    from ecolint.engine import LintOptions
    from ecolint.fixes import fix_source

    options = LintOptions(select_codes(["LLM201"], [], []), fix_batch_size=3)
    outcome = fix_source(source, "script.py", options, True)
    assert outcome.converged, outcome.error
    assert [d.code for d in outcome.fixed] == ["LLM201"], "the script's loop must be fixed"
    assert not [d for d in outcome.remaining if d.code == "LLM201"]
    return outcome.source


@pytest.mark.parametrize("body", list(PIPELINE_SCRIPTS.values()), ids=list(PIPELINE_SCRIPTS))
def test_batched_pipeline_generates_what_the_loop_did(tiny_model_dir, tiny_tokenizer, body):
    source = PIPELINE + body
    after = fixed(source)
    assert "batch_size=3" in after
    assert_same_generations(run_script(source, tiny_model_dir), run_script(after, tiny_model_dir), tiny_tokenizer)


@pytest.fixture
def stand_in_vllm(tiny_model_dir, monkeypatch):
    """A ``vllm`` module whose ``LLM.generate`` answers each prompt greedily with the tiny model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    class SamplingParams:
        def __init__(self, temperature: float = 1.0, max_tokens: int = 16):
            assert temperature == 0.0, "the stand-in generates greedily only"
            self.max_tokens = max_tokens

    class LLM:
        calls: list[int] = []

        def __init__(self, model: str):
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = AutoModelForCausalLM.from_pretrained(model).eval()

        def generate(self, prompts, params):
            prompts = [prompts] if isinstance(prompts, str) else list(prompts)
            LLM.calls.append(len(prompts))
            outputs = []
            for prompt in prompts:  # one at a time: the reference greedy output of each prompt
                inputs = self.tokenizer(prompt, return_tensors="pt")
                with torch.no_grad():
                    ids = self.model.generate(**inputs, max_new_tokens=params.max_tokens, do_sample=False)
                text = self.tokenizer.decode(ids[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
                completion = types.SimpleNamespace(text=text)
                outputs.append(types.SimpleNamespace(prompt=prompt, outputs=[completion]))
            return outputs

    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = LLM, SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    return LLM


@pytest.mark.parametrize("body", list(VLLM_SCRIPTS.values()), ids=list(VLLM_SCRIPTS))
def test_one_vllm_call_reads_back_what_the_loop_did(tiny_model_dir, tiny_tokenizer, stand_in_vllm, body):
    source = VLLM + body
    after = fixed(source)
    stand_in_vllm.calls.clear()
    before = run_script(source, tiny_model_dir)
    assert stand_in_vllm.calls == [1] * len(PROMPTS)
    stand_in_vllm.calls.clear()
    assert_same_generations(before, run_script(after, tiny_model_dir), tiny_tokenizer)
    assert stand_in_vllm.calls == [len(PROMPTS)]  # one call on every prompt
