"""Generate completions for a prompt set, then score each prompt + completion (perplexity)."""

import json
import math
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL_DIR = os.environ.get("E2E_MODEL_DIR", "models/qwen2-1.5b")
PROMPTS = os.environ.get("E2E_PROMPTS", "data/prompts.jsonl")
RESULTS = os.environ.get("E2E_RESULTS", "results/generate_and_score.json")
MAX_NEW_TOKENS = int(os.environ.get("E2E_MAX_NEW_TOKENS", "64"))
DEVICE = os.environ.get("E2E_DEVICE", "cuda" if torch.cuda.is_available() else "cpu")


def load_prompts(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@torch.inference_mode()
def main():
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype="auto").to(DEVICE)
    model.eval()
    examples = load_prompts(PROMPTS)

    records = []
    for example in examples:
        inputs = tokenizer(example["prompt"], return_tensors="pt").to(DEVICE)
        output_ids = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        new_ids = output_ids[0][inputs["input_ids"].shape[1]:]
        completion = tokenizer.decode(new_ids, skip_special_tokens=True)
        records.append({"id": example["id"], "completion": completion, "new_tokens": int(new_ids.shape[0])})

    # score: perplexity of each prompt + completion under the model
    for example, record in zip(examples, records):
        encoded = tokenizer(example["prompt"] + " " + record["completion"], return_tensors="pt").to(DEVICE)
        loss = model(**encoded, labels=encoded["input_ids"]).loss
        record["perplexity"] = math.exp(loss.item())

    os.makedirs(os.path.dirname(RESULTS) or ".", exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump({"model": MODEL_DIR, "records": records}, f, indent=1)
    print(f"{len(records)} prompts, mean perplexity {sum(r['perplexity'] for r in records) / len(records):.1f}")


if __name__ == "__main__":
    main()
