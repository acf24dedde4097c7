"""A small text-generation service (FastAPI), with a load test that sends it N requests."""

import functools
import json
import os

import torch
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL_DIR = os.environ.get("E2E_MODEL_DIR", "models/qwen2-1.5b")
DEVICE = os.environ.get("E2E_DEVICE", "cuda" if torch.cuda.is_available() else "cpu")

app = FastAPI()


class GenerateRequest(BaseModel):
    prompt: str
    max_new_tokens: int = 64


@functools.lru_cache(maxsize=None)
def _load_model():
    return AutoModelForCausalLM.from_pretrained(MODEL_DIR, torch_dtype=torch.bfloat16)


@app.post("/generate")
def generate(request: GenerateRequest):
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = _load_model().to(DEVICE)
    inputs = tokenizer(request.prompt, return_tensors="pt").to(DEVICE)
    output_ids = model.generate(**inputs, max_new_tokens=request.max_new_tokens, do_sample=False)
    new_ids = output_ids[0][inputs["input_ids"].shape[1]:]
    return {"completion": tokenizer.decode(new_ids, skip_special_tokens=True), "new_tokens": int(new_ids.shape[0])}


def load_test():
    from fastapi.testclient import TestClient

    prompts_path = os.environ.get("E2E_PROMPTS", "data/prompts.jsonl")
    results_path = os.environ.get("E2E_RESULTS", "results/serve_fastapi.json")
    n_requests = int(os.environ.get("E2E_REQUESTS", "8"))
    max_new_tokens = int(os.environ.get("E2E_MAX_NEW_TOKENS", "64"))
    with open(prompts_path) as f:
        prompts = [json.loads(line)["prompt"] for line in f if line.strip()][:n_requests]
    client = TestClient(app)
    replies = []
    for prompt in prompts:
        response = client.post("/generate", json={"prompt": prompt, "max_new_tokens": max_new_tokens})
        response.raise_for_status()
        replies.append(response.json())
    os.makedirs(os.path.dirname(results_path) or ".", exist_ok=True)
    with open(results_path, "w") as f:
        json.dump({"model": MODEL_DIR, "records": replies}, f, indent=1)
    print(f"{len(replies)} requests served, results in {results_path}")


if __name__ == "__main__":
    load_test()
