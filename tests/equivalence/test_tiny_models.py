"""The equivalence-test tools themselves: the tiny checkpoint loads like a real one, and the
comparison sees a difference when there is one."""

from __future__ import annotations

import pytest

from runner import assert_same_generations, run_script

PROMPTS = ["the cat", "what is the old river and the sky", "tell a story", "why", "red green blue"]

PER_ITEM = f'''
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR)
results = []
for prompt in {PROMPTS!r}:
    inputs = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=MAX_NEW)
    results.append(tokenizer.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True))
'''

HAND_BATCHED = f'''
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
tokenizer.pad_token = tokenizer.eos_token
tokenizer.padding_side = "left"
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR)
prompts = {PROMPTS!r}
results = []
for start in range(0, len(prompts), 2):
    inputs = tokenizer(prompts[start:start + 2], return_tensors="pt", padding=True)
    out = model.generate(**inputs, max_new_tokens=MAX_NEW)
    results.extend(tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
'''


def script(text: str, max_new: int = 10) -> str:
    return text.replace("MAX_NEW", str(max_new))


def test_the_checkpoint_loads_like_a_downloaded_one(tiny_model_dir):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert tokenizer.is_fast
    assert tokenizer.pad_token is None  # as many decoder-only checkpoints ship
    assert not AutoConfig.from_pretrained(tiny_model_dir).is_encoder_decoder
    assert model.config.num_hidden_layers == 2
    words = tokenizer.convert_tokens_to_ids(["the", "cat"])
    assert tokenizer("the cat")["input_ids"] == [tokenizer.bos_token_id, *words]


def test_greedy_generation_is_repeatable(tiny_model_dir, tiny_tokenizer):
    first = run_script(script(PER_ITEM), tiny_model_dir)
    second = run_script(script(PER_ITEM), tiny_model_dir)
    assert len(first) == len(PROMPTS) and all(isinstance(text, str) for text in first)
    assert_same_generations(first, second, tiny_tokenizer)


def test_some_prompt_stops_early_so_padding_after_the_end_is_exercised(tiny_model_dir, tiny_tokenizer):
    results = run_script(script(PER_ITEM), tiny_model_dir)
    lengths = [len(tiny_tokenizer(text, add_special_tokens=False)["input_ids"]) for text in results]
    assert min(lengths) < 10 <= max(lengths)


def test_left_padded_chunks_generate_what_single_prompts_do(tiny_model_dir, tiny_tokenizer):
    """The target of the batching fixes, written by hand: prompts of several lengths, a partial last chunk."""
    per_item = run_script(script(PER_ITEM), tiny_model_dir)
    batched = run_script(script(HAND_BATCHED), tiny_model_dir)
    assert_same_generations(per_item, batched, tiny_tokenizer)


def test_the_comparison_sees_a_different_generation(tiny_model_dir, tiny_tokenizer):
    shorter = run_script(script(PER_ITEM, max_new=4), tiny_model_dir)
    longer = run_script(script(PER_ITEM, max_new=10), tiny_model_dir)
    with pytest.raises(AssertionError, match="result"):
        assert_same_generations(shorter, longer, tiny_tokenizer)
    with pytest.raises(AssertionError, match="results became"):
        assert_same_generations(longer, longer[:-1], tiny_tokenizer)
