"""End-to-end energy of realistic inference scripts before and after their fixes, on one GPU.

For each script family in this folder (``eval_pipeline``, ``generate_and_score``, ``serve_fastapi``)
the variants that exist are run: ``<name>.py`` (as written), ``<name>_fixed.py`` (what
``ecolint check --fix --unsafe-fixes`` makes of it) and ``<name>_hand.py`` (the best hand fix of
what ecolint reports). Each run is a fresh ``python3`` process, measured whole (start, imports,
model load, work, exit): gross board energy from the NVML total-energy counter and wall time. The
variants run interleaved (one run of each in turn), ``--runs`` times, after ``--warmup`` unmeasured
runs (first process start, GPU clocks); a run that would overrun ``--budget`` is skipped and said
so. Each script writes its records to a JSON file, from which the generated tokens are counted;
energy per generated token = run energy / tokens.

The model is random-weight, built from a real architecture's configuration
(``ecolint/measure/architectures``) and saved with ``save_pretrained`` together with a real fast
tokenizer built offline (a word-level vocabulary the size of the model's, no end-of-sequence
token, so that every generation runs to ``max_new_tokens``). Preparing runs in a child process,
so this process never holds the GPU.

Written to ``--out``: ``e2e_runs.json`` (every run), ``e2e_summary.csv`` and ``e2e_table.md``, after
every run; the model, the prompts and the scripts' own outputs go to ``--work``.
``--device cpu --tiny`` runs everything on a CPU with a tiny model and a simulated energy counter
(a check of the harness and the scripts, not a measurement).
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FAMILIES = ("eval_pipeline", "generate_and_score", "serve_fastapi")
VARIANTS = ("base", "fixed", "hand")
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512}
WORDS = (
    "the of and to in is was for on that with as by at from his her an it be are this which or had "
    "not but were have one all their has been new first who also after two its they more other she "
    "when there would into time only over most some may about can city year during many used such "
    "between these then school later three state under world both where through while before known "
    "same part being since each well until film area long high life people group work number team "
    "great name second music game early found several made house following war river against "
    "system won series west main around north four season government national family final back "
    "south best began public called based without near club began station album along within "
    "summarize explain answer question describe translate write short story review list reasons "
    "model energy token batch request server data train test value result paper method simple"
).split()


def emit(text: str) -> None:
    print(f"[{_dt.datetime.now(_dt.timezone.utc):%H:%M:%S}] {text}", flush=True)


# -- preparing the model and the prompts -------------------------------------------------------


def build_tokenizer(vocab_size: int):
    """A byte-level BPE fast tokenizer (as Qwen2 and GPT-2 use), trained here on a word list.

    Its vocabulary (at most ``vocab_size``) holds the 256 byte symbols, the merges of the words and
    one special token, ``<|endoftext|>``, used for padding; the model's generation config has no
    end-of-sequence token, so generation always runs to ``max_new_tokens``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=min(vocab_size, 4096), special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    sentences = [" ".join(WORDS[i:i + 12]) for i in range(0, len(WORDS), 3)]
    tokenizer.train_from_iterator(sentences * 4, trainer)
    if tokenizer.get_vocab_size() > vocab_size:
        raise SystemExit(f"tokenizer of {tokenizer.get_vocab_size()} tokens for a model of {vocab_size}")
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<|endoftext|>",
                                   clean_up_tokenization_spaces=False, model_max_length=32768,
                                   model_input_names=["input_ids", "attention_mask"])


def prepare(args) -> None:
    """(child process) Save a random-weight model and its tokenizer to ``args.model_dir``."""
    sys.path.insert(0, str(ROOT))
    import torch
    from ecolint.measure.calibration_plan import Protocol
    from ecolint.measure.random_model import build_model, load_architecture

    arch = load_architecture(args.arch)
    overrides = dict(TINY) if args.tiny else {}
    overrides.update(eos_token_id=None, bos_token_id=None, pad_token_id=0)  # <|endoftext|>
    begun = time.monotonic()
    model = build_model(arch, "bf16", Protocol(input_tokens=64, new_tokens=args.new_tokens), args.device, overrides)
    model.generation_config.eos_token_id = None
    model.generation_config.bos_token_id = None
    model.generation_config.pad_token_id = 0
    folder = Path(args.model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer = build_tokenizer(model.config.vocab_size)
    tokenizer.save_pretrained(folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # the same class name in transformers 4 and 5
    config_path.write_text(json.dumps(config, indent=1))
    size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    print(json.dumps({"model_dir": str(folder), "architecture": arch["name"], "vocab_size": model.config.vocab_size,
                      "parameters": sum(p.numel() for p in model.parameters()), "safetensors_bytes": size,
                      "dtype": str(next(model.parameters()).dtype), "seconds": round(time.monotonic() - begun, 1),
                      "torch": torch.__version__}))


def write_prompts(path: Path, count: int) -> None:
    """``count`` prompts of 12 to 120 words, reproducible."""
    import random

    rng = random.Random(20)
    vocabulary = sorted(set(WORDS))
    with open(path, "w") as handle:
        for number in range(count):
            words = rng.choices(vocabulary, k=rng.randint(12, 120))
            handle.write(json.dumps({"id": number, "prompt": " ".join(words)}) + "\n")


# -- running and measuring ---------------------------------------------------------------------


def variants(families) -> list[tuple[str, str, Path]]:
    found = []
    for family in families:
        for variant in VARIANTS:
            path = HERE / (f"{family}.py" if variant == "base" else f"{family}_{variant}.py")
            if path.is_file():
                found.append((family, variant, path))
    return found


def child_env(args, results: Path) -> dict:
    env = dict(os.environ)
    if args.site:
        env["PYTHONPATH"] = os.pathsep.join([args.site] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(E2E_MODEL_DIR=str(args.model_dir), E2E_PROMPTS=str(args.prompts_file), E2E_RESULTS=str(results),
               E2E_MAX_NEW_TOKENS=str(args.new_tokens), E2E_REQUESTS=str(args.requests),
               E2E_DEVICE=args.device, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def run_in_process(path: Path, env: dict, cwd: Path) -> tuple[int | str, str, str]:
    """Run a script as ``__main__`` in this process (``--in-process``: a quick check, not a measurement)."""
    import io
    import runpy
    import traceback
    from contextlib import redirect_stdout

    saved, folder = dict(os.environ), os.getcwd()
    os.environ.update(env)
    os.chdir(cwd)
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer):
            runpy.run_path(str(path), run_name="__main__")
        return 0, buffer.getvalue(), ""
    except SystemExit as error:
        return (0 if error.code in (None, 0) else error.code), buffer.getvalue(), ""
    except Exception:  # noqa: BLE001 - the script's failure is reported, not raised
        return 1, buffer.getvalue(), traceback.format_exc()
    finally:
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(saved)


def _text(output) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else (output or "")


class Harness:
    def __init__(self, args, nvml, gpu, meter, fake):
        self.args, self.nvml, self.gpu, self.meter, self.fake = args, nvml, gpu, meter, fake
        self.started = time.monotonic()
        self.runs: list[dict] = []
        self.idle_w = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def run(self, family: str, variant: str, path: Path, round_: int | str, timeout: float) -> dict:
        results = Path(self.args.work) / f"{family}_{variant}_{round_}.json"
        results.unlink(missing_ok=True)
        command = [sys.executable, str(path)]
        if self.fake is not None:
            self.fake.set_busy(True)
        start = self.meter.mark()
        if self.args.in_process:
            code, stdout, stderr = run_in_process(path, child_env(self.args, results), self.args.work)
        else:
            try:
                done = subprocess.run(command, env=child_env(self.args, results), capture_output=True, text=True,
                                      timeout=timeout, cwd=self.args.work)
                code, stdout, stderr = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as error:
                code, stdout, stderr = "timeout", _text(error.stdout), _text(error.stderr) + f"\nstopped after {timeout:g} s"
        window = self.meter.end(start, [self.idle_w])
        if self.fake is not None:
            self.fake.set_busy(False)
        tokens = counted = None
        if code == 0:
            try:
                tokens, counted = self.generated_tokens(json.loads(results.read_text())["records"])
            except (OSError, ValueError, KeyError, TypeError) as error:
                code, stderr = "no results", f"{stderr}\nresults file {results}: {error}"
        record = {"family": family, "variant": variant, "script": path.name, "round": round_, "exit": code,
                  "duration_s": round(window.duration_s, 3), "energy_j": window.energy_j, "net_energy_j": window.net_j,
                  "mean_power_w": window.mean_w, "peak_power_w": window.peak_w, "generated_tokens": tokens,
                  "tokens_counted_by": counted, "expected_tokens": self.expected_tokens(family),
                  "j_per_token": window.energy_j / tokens if tokens and window.energy_j is not None else None,
                  "temperature_c": self.nvml.temperature_c(self.gpu), "warnings": list(window.warnings),
                  "stdout_tail": stdout[-400:], "stderr_tail": "" if code == 0 else stderr[-3000:]}
        energy = "?" if window.energy_j is None else f"{window.energy_j:8.1f} J"
        emit(f"{family:<20} {variant:<5} run {round_}: exit {code}, {window.duration_s:6.1f} s, {energy}, "
             f"{tokens} tokens" + (f", {record['j_per_token']:.3f} J/token" if record["j_per_token"] else ""))
        if code != 0:
            emit(f"  FAILED {path.name}: " + stderr[-1500:].replace("\n", "\n    "))
        return record

    def generated_tokens(self, records: list) -> tuple[int, str]:
        """Tokens generated, from the script's records: their ``new_tokens`` (read off the output
        tensors) where given, else records x max_new_tokens (the model has no end-of-sequence token)."""
        if records and all(isinstance(r, dict) and "new_tokens" in r for r in records):
            return sum(int(r["new_tokens"]) for r in records), "script (output tensor shapes)"
        return len(records) * self.args.new_tokens, "records x max_new_tokens"

    def expected_tokens(self, family: str) -> int:
        items = self.args.requests if family == "serve_fastapi" else self.args.prompts
        return items * self.args.new_tokens


def summarize(runs: list[dict], families) -> list[dict]:
    rows = []
    for family in families:
        base = None
        hand_saving = None
        for variant in VARIANTS:
            measured = [r for r in runs if r["family"] == family and r["variant"] == variant
                        and isinstance(r["round"], int)]
            good = [r for r in measured if r["exit"] == 0 and r["j_per_token"]]
            if not measured:
                continue
            per_token = [r["j_per_token"] for r in good]
            row = {"family": family, "variant": variant, "runs_ok": len(good), "runs_failed": len(measured) - len(good),
                   "generated_tokens": good[0]["generated_tokens"] if good else None,
                   "expected_tokens": measured[0]["expected_tokens"],
                   "energy_j_mean": _mean([r["energy_j"] for r in good]),
                   "wall_s_mean": _mean([r["duration_s"] for r in good]),
                   "mean_power_w": _mean([r["mean_power_w"] for r in good]),
                   "j_per_token_mean": _mean(per_token),
                   "j_per_token_sd": statistics.stdev(per_token) if len(per_token) > 1 else None,
                   "saving_vs_base_pct": None, "share_of_hand_saving_pct": None}
            if variant == "base":
                base = row["j_per_token_mean"]
            elif base and row["j_per_token_mean"]:
                row["saving_vs_base_pct"] = (1 - row["j_per_token_mean"] / base) * 100
            rows.append(row)
        hand = next((r for r in rows if r["family"] == family and r["variant"] == "hand"), None)
        hand_saving = hand["saving_vs_base_pct"] if hand else None
        fixed = next((r for r in rows if r["family"] == family and r["variant"] == "fixed"), None)
        if fixed and fixed["saving_vs_base_pct"] is not None and hand_saving:
            fixed["share_of_hand_saving_pct"] = fixed["saving_vs_base_pct"] / hand_saving * 100
    return rows


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def _fmt(value, digits=1, suffix=""):
    return "—" if value is None else f"{value:.{digits}f}{suffix}"


def table(rows: list[dict]) -> str:
    lines = ["| script | variant | runs ok | generated tokens | wall s | energy J | mean W | J / generated token (sd) "
             "| saving vs base | share of hand saving |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['variant']} | {r['runs_ok']}/{r['runs_ok'] + r['runs_failed']} "
            f"| {r['generated_tokens']} (expected {r['expected_tokens']}) | {_fmt(r['wall_s_mean'])} "
            f"| {_fmt(r['energy_j_mean'])} | {_fmt(r['mean_power_w'])} "
            f"| {_fmt(r['j_per_token_mean'], 3)} ({_fmt(r['j_per_token_sd'], 3)}) "
            f"| {_fmt(r['saving_vs_base_pct'], 1, ' %')} | {_fmt(r['share_of_hand_saving_pct'], 0, ' %')} |")
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------------


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.environ.get("OUT", "e2e-out"), help="folder for the results")
    parser.add_argument("--work", default=None, help="folder for the model, prompts and per-run files")
    parser.add_argument("--arch", default="qwen2-1.5b", help="architecture of ecolint/measure/architectures")
    parser.add_argument("--device", default="cuda", help="cuda or cpu (cpu: simulated energy counter)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model of the architecture's kind")
    parser.add_argument("--site", default=None, help="folder put first on the scripts' PYTHONPATH "
                                                     "(the transformers 4.57 environment)")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--runs", type=int, default=2, help="measured runs of each variant")
    parser.add_argument("--prompts", type=int, default=16, help="prompts of the evaluation scripts")
    parser.add_argument("--requests", type=int, default=8, help="requests sent to the service")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds; a run that would not end within it (judged by the variant's last run) "
                             "is skipped")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs first (of the last variant)")
    parser.add_argument("--run-timeout", type=float, default=150.0, help="seconds one script may run")
    parser.add_argument("--in-process", action="store_true",
                        help="run the scripts inside this process (with --device cpu only: checks them quickly)")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = set(args.families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown script families: {', '.join(sorted(unknown))}")
    if args.device.startswith("cuda") is False and args.device != "cpu":
        parser.error("--device is cuda or cpu")
    if args.in_process and args.device != "cpu":
        parser.error("--in-process is a check for --device cpu, not a measurement")
    args.work = Path(args.work or Path(tempfile.gettempdir()) / "ecolint-e2e").resolve()
    args.model_dir = Path(args.model_dir or args.work / f"model-{args.arch}{'-tiny' if args.tiny else ''}")
    args.prompts_file = args.work / "prompts.jsonl"
    return args


def open_meter(args):
    sys.path.insert(0, str(ROOT))
    fake = None
    if args.device == "cpu":
        sys.path.insert(0, str(ROOT / "tests" / "measure"))
        from fakenvml import FakeGpu, FakePynvml

        fake = FakePynvml([FakeGpu(name="simulated GPU (cpu run)")])
        fake.replaced = sys.modules.get("pynvml")
        sys.modules["pynvml"] = fake
    from ecolint.measure.meter import Meter
    from ecolint.measure.nvml import Nvml

    nvml = Nvml()
    gpu = nvml.visible_gpus(only=[0])[0]
    return nvml, gpu, Meter(nvml, [gpu], interval=0.1).start(), fake


def main(argv=None) -> int:
    args = parse(argv)
    if args.prepare:
        prepare(args)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout`: stop the running script, keep the results
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    nvml, gpu, meter, fake = open_meter(args)
    harness = Harness(args, nvml, gpu, meter, fake)
    log = {"started_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
           "command": sys.argv, "gpu": nvml.describe(gpu), "driver": nvml.driver_version(),
           "simulated_energy": fake is not None, "python": platform.python_version(),
           "settings": {k: str(v) for k, v in vars(args).items()}, "runs": harness.runs, "skipped": []}

    def save():
        rows = summarize(harness.runs, args.families)
        log["summary"] = rows
        log["elapsed_s"] = round(harness.elapsed(), 1)
        (out / "e2e_runs.json").write_text(json.dumps(log, indent=1, default=str) + "\n")
        with open(out / "e2e_summary.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["family"])
            writer.writeheader()
            writer.writerows(rows)
        (out / "e2e_table.md").write_text(table(rows) + "\n")
        return rows

    try:
        emit(f"GPU {log['gpu'].get('name')}, driver {log['driver']}; {'SIMULATED energy' if fake else 'NVML counter'}")
        env = child_env(args, args.work / "versions.json")
        versions = [sys.executable, "-c", "import torch, transformers, tokenizers, huggingface_hub as h; "
                    "print('torch', torch.__version__, 'transformers', transformers.__version__, 'tokenizers', "
                    "tokenizers.__version__, 'huggingface_hub', h.__version__)"]
        if args.in_process:
            import torch
            import transformers

            log["script_software"] = f"torch {torch.__version__} transformers {transformers.__version__} (in process)"
        else:
            done = subprocess.run(versions, env=env, capture_output=True, text=True)
            log["script_software"] = (done.stdout + done.stderr).strip()
        emit(f"scripts run with: {log['script_software']}")
        write_prompts(args.prompts_file, max(args.prompts, args.requests))
        if not (args.model_dir / "config.json").is_file() and args.in_process:
            prepare(args)
        if not (args.model_dir / "config.json").is_file():
            made = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--prepare", "--arch", args.arch,
                                   "--device", args.device, "--model-dir", str(args.model_dir), "--out", str(out),
                                   "--new-tokens", str(args.new_tokens)] + (["--tiny"] if args.tiny else []),
                                  env=env, capture_output=True, text=True)
            if made.returncode != 0:
                emit("preparing the model failed:\n" + made.stderr[-3000:])
                log["prepare"] = made.stderr[-3000:]
                save()
                return 2
            log["prepare"] = json.loads(made.stdout.strip().splitlines()[-1])
            emit(f"model prepared: {log['prepare']}")
        todo = variants(args.families)
        log["variants"] = [f"{family}/{variant}: {path.name}" for family, variant, path in todo]
        emit("variants: " + ", ".join(log["variants"]))
        time.sleep(1.0)
        harness.idle_w = meter.measure_idle(args.idle_seconds)[0]
        log["idle_w"] = harness.idle_w
        emit(f"idle {harness.idle_w} W")
        timeout = args.run_timeout
        for number in range(args.warmup):  # unmeasured: the first process start, page cache, GPU clocks
            if todo:
                harness.runs.append(harness.run(*todo[-1], f"warm-up {number + 1}", timeout))
        save()
        lasted: dict = {}
        for number in range(1, args.runs + 1):
            for family, variant, path in todo:
                expected = lasted.get((family, variant), 0.0)
                if harness.elapsed() + expected > args.budget:
                    log["skipped"].append(f"{path.name} run {number}: the time budget ({args.budget:g} s) "
                                          f"would be exceeded (last run {expected:.0f} s)")
                    emit(log["skipped"][-1])
                    continue
                record = harness.run(family, variant, path, number, timeout)
                lasted[(family, variant)] = record["duration_s"]
                harness.runs.append(record)
                save()
        rows = save()
        print(table(rows), flush=True)
        failed = [r for r in harness.runs if r["exit"] != 0]
        mismatched = [r for r in harness.runs if r["exit"] == 0 and r["generated_tokens"] != r["expected_tokens"]]
        for r in mismatched:
            emit(f"note: {r['script']} run {r['round']} generated {r['generated_tokens']} tokens, "
                 f"expected {r['expected_tokens']}")
        emit(f"done in {harness.elapsed():.0f} s: {len(harness.runs)} runs, {len(failed)} failed")
        return 1 if failed or not harness.runs else 0
    finally:
        save()
        meter.stop()
        nvml.close()
        if fake is not None:  # leave the caller's pynvml as it was
            if fake.replaced is None:
                sys.modules.pop("pynvml", None)
            else:
                sys.modules["pynvml"] = fake.replaced


if __name__ == "__main__":
    sys.exit(main())
