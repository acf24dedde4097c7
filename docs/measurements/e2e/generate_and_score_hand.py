"""Generate completions for a prompt set, then score each prompt + completion (perplexity).

Fixed by hand: the checkpoint's own dtype (bfloat16) instead of the implicit float32, generation in
batches of 8 with left padding and the attention mask (prompt tokens stripped per row), scoring in
batches of 8 with a per-row loss, all inside torch.inference_mode().
"""

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
BATCH_SIZE = 8


def load_prompts(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def row_losses(model, tokenizer, texts):
    """Mean next-token loss of each text, padded on the right and masked."""
    encoded = tokenizer(texts, return_tensors="pt", padding=True).to(DEVICE)
    logits = model(**encoded).logits[:, :-1].float()
    targets = encoded["input_ids"][:, 1:]
    mask = encoded["attention_mask"][:, 1:].float()
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return ((losses * mask).sum(1) / mask.sum(1)).tolist()


@torch.inference_mode()
def main():
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, torch_dtype=torch.bfloat16).to(DEVICE)
    model.eval()
    examples = load_prompts(PROMPTS)

    records = []
    tokenizer.padding_side = "left"
    for start in range(0, len(examples), BATCH_SIZE):
        chunk = examples[start:start + BATCH_SIZE]
        inputs = tokenizer([e["prompt"] for e in chunk], return_tensors="pt", padding=True).to(DEVICE)
        output_ids = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id)
        new_ids = output_ids[:, inputs["input_ids"].shape[1]:]
        for example, row in zip(chunk, new_ids):
            records.append({"id": example["id"], "completion": tokenizer.decode(row, skip_special_tokens=True),
                            "new_tokens": int(row.shape[0])})

    tokenizer.padding_side = "right"
    for start in range(0, len(examples), BATCH_SIZE):
        texts = [e["prompt"] + " " + r["completion"]
                 for e, r in zip(examples[start:start + BATCH_SIZE], records[start:start + BATCH_SIZE])]
        for record, loss in zip(records[start:start + BATCH_SIZE], row_losses(model, tokenizer, texts)):
            record["perplexity"] = math.exp(loss)

    os.makedirs(os.path.dirname(RESULTS) or ".", exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump({"model": MODEL_DIR, "records": records}, f, indent=1)
    print(f"{len(records)} prompts, mean perplexity {sum(r['perplexity'] for r in records) / len(records):.1f}")


if __name__ == "__main__":
    main()
