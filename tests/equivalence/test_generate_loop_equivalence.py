"""LLM201's fix of the tokenizer -> generate -> decode loop keeps every greedy output, token for token.

Each script runs as written and as ``ecolint check --fix --unsafe-fixes`` rewrites it, against the
same tiny random Llama: ten prompts of 1 to 9 words (so the chunks are padded) in chunks of 3 (so
the last chunk holds one prompt), a tokenizer without a pad token, and prompts that stop early at
the end-of-sequence token while others run to ``max_new_tokens``.
"""

from __future__ import annotations

import pytest

from runner import assert_same_generations, fixed_by_ecolint, run_script

PROMPTS = [
    "the cat", "what is the old river and the sky", "tell a story", "one two three four five six seven the dog",
    "why", "red green blue", "the moon and the star", "write a song of fire", "how fast is a car", "name a city",
]

LOAD = f'''\
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR).eval()
prompts = {PROMPTS!r}
'''

SCRIPTS = {
    "slice by the prompt length": '''
results = []
for prompt in prompts:
    inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=10, do_sample=False)
    text = tokenizer.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    results.append(text)
''',
    "input ids only, the whole row decoded": '''
results = []
for p in prompts:
    enc = tokenizer([p], return_tensors="pt")
    out = model.generate(enc.input_ids, max_new_tokens=10)
    results.append(tokenizer.decode(out[0], skip_special_tokens=True))
''',
    "read in place, keyed by prompt": '''
results = {}
for question in prompts:
    inputs = tokenizer(question, return_tensors="pt")
    results[question] = tokenizer.decode(
        model.generate(**inputs, max_new_tokens=10)[0][len(inputs["input_ids"][0]):],
        skip_special_tokens=True,
    ).strip()
''',
    "the new tokens held in a name": '''
results = []
for prompt in prompts:
    inputs = tokenizer(prompt, return_tensors="pt")
    output_ids = model.generate(**inputs, max_new_tokens=10, do_sample=False)
    new_ids = output_ids[0][inputs["input_ids"].shape[-1]:]
    results.append(tokenizer.decode(new_ids, skip_special_tokens=True))
''',
    "chat template as text": '''
results = []
for question in prompts:
    messages = [{"role": "user", "content": question}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = tokenizer([text], return_tensors="pt", add_special_tokens=True)
    out = model.generate(**inputs, max_new_tokens=10)
    reply = tokenizer.decode(out[0][len(inputs.input_ids[0]):], skip_special_tokens=True)
    results.append({"prompt": text, "reply": reply})
''',
    "an evaluation loop: a prompt helper, a progress bar, a score": '''
from tqdm import tqdm


def prompt_for(question):
    messages = [{"role": "user", "content": question + " answer"}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def evaluate(dataset):
    correct = 0
    predictions = []
    for example in tqdm(dataset, disable=True):
        enc = tokenizer(prompt_for(example["question"]), return_tensors="pt").to(model.device)
        out = model.generate(**enc, max_new_tokens=10, do_sample=False)
        prediction = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        predictions.append(prediction)
        correct += prediction.split()[:1] == example["answer"].split()[:1]
    return predictions, correct / len(dataset)


results = evaluate([{"question": p, "answer": "the"} for p in prompts])
''',
    "inside a function, rows collected as records": '''
def answer_all(items):
    records = []
    for item in items:
        encoded = tokenizer(item, return_tensors="pt")
        generated = model.generate(**encoded, max_new_tokens=10, num_beams=1)
        completion = tokenizer.decode(generated[0][encoded.input_ids.shape[-1]:], skip_special_tokens=True)
        records.append({"prompt": item, "completion": completion, "words": len(completion.split())})
    return records


results = answer_all(prompts)
''',
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_greedy_outputs_are_the_same_before_and_after_the_fix(name, tiny_model_dir, tiny_tokenizer):
    original = LOAD + SCRIPTS[name]
    fixed = fixed_by_ecolint(original, batch_size=3)
    assert "padding=True" in fixed and "range(0, len(" in fixed, f"the loop was not fixed:\n{fixed}"
    assert_same_generations(run_script(original, tiny_model_dir), run_script(fixed, tiny_model_dir), tiny_tokenizer)


def test_the_fix_leaves_the_tokenizer_as_it_found_it(tiny_model_dir):
    fixed = fixed_by_ecolint(LOAD + SCRIPTS["slice by the prompt length"], batch_size=3)
    side = run_script(fixed + "side = tokenizer.padding_side\n", tiny_model_dir, "side")
    assert side == "right"
