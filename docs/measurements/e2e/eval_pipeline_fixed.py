"""Evaluate a text-generation model on a prompt set with the transformers pipeline."""

import json
import os

import torch
from transformers import pipeline

MODEL_DIR = os.environ.get("E2E_MODEL_DIR", "models/qwen2-1.5b")
PROMPTS = os.environ.get("E2E_PROMPTS", "data/prompts.jsonl")
RESULTS = os.environ.get("E2E_RESULTS", "results/eval_pipeline.json")
MAX_NEW_TOKENS = int(os.environ.get("E2E_MAX_NEW_TOKENS", "64"))
DEVICE = os.environ.get("E2E_DEVICE", "cuda" if torch.cuda.is_available() else "cpu")


def load_prompts(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    generator = pipeline("text-generation", model=MODEL_DIR, torch_dtype=torch.bfloat16, device=DEVICE)
    if generator.tokenizer.pad_token is None:  # batching pads the prompts
        generator.tokenizer.pad_token = generator.tokenizer.eos_token
    generator.tokenizer.padding_side = "left"  # a decoder-only model continues the prompt at its end
    examples = load_prompts(PROMPTS)

    predictions = []
    outputs = generator([example["prompt"] for example in examples], max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                           return_full_text=False, batch_size=8)
    for output in outputs:
        predictions.append(output[0]["generated_text"])

    records = [{"id": example["id"], "prediction": prediction} for example, prediction in zip(examples, predictions)]

    os.makedirs(os.path.dirname(RESULTS) or ".", exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump({"model": MODEL_DIR, "max_new_tokens": MAX_NEW_TOKENS, "records": records}, f, indent=1)
    print(f"{len(records)} prompts evaluated, results in {RESULTS}")


if __name__ == "__main__":
    main()
