"""Energy of five inference practices on one GPU, measured for the penalties of ecolint's rules.

Sections (``--sections``, run in the order given, one process, one model per architecture):

* ``load``: ``from_pretrained(dir, dtype=bfloat16, device_map="cuda")`` of a random-weight model
  saved on the local disk with ``save_pretrained``, followed by one request (``generate``, batch 1,
  64 prompt tokens, 128 new), repeated with the safetensors files in the page cache and after
  evicting them (``posix_fadvise(DONTNEED)``, then ``drop_caches`` if that did not suffice);
  against the same request on a model that stays loaded.
* ``beam``: ``generate(num_beams=4)`` against greedy, 64 prompt and 128 new tokens, per batch size.
* ``autograd``: a hand-written greedy decoding loop (``model(...)`` with the KV cache, 512 prompt
  tokens, 128 steps) and a scoring pass (``model(input_ids, labels=input_ids).loss``, 512 tokens),
  each with autograd on (parameters requiring grad, as ``from_pretrained`` leaves them) and inside
  ``torch.inference_mode()``.
* ``offload``: ``from_pretrained(..., device_map="auto", max_memory={0: X, "cpu": ...})`` with X
  chosen so that 0, a quarter and half of the decoder layers land on the CPU; greedy ``generate``.
* ``repeats``: the same checkpoint loaded a second time in one process (load energy, allocated GPU
  memory with one and two copies, a request on the first copy with both); the same greedy
  ``generate`` call run twice against once; one prompt generated N times in a loop (N calls of one
  sequence, sampling) against one call with ``num_return_sequences=N`` (``--repeat-counts``, 4 and
  8). 64 prompt tokens, ``--new-tokens`` new, batch 1; each measured once per run (no repeats to a
  minimum run time).
* ``fp32``: compute-bound work in float32 against float16 and bfloat16, with TF32 off (torch's
  default) and on: a prefill (one forward over the prompt with the KV cache, logits of the last
  position only, as ``generate`` does it) and a scoring pass (``model(input_ids,
  labels=input_ids).loss``), 256-token texts at batch 8 (``--fp32-tokens``, ``--fp32-batch``), all
  inside ``torch.inference_mode()``; the same random weights in the three dtypes.

Energy is the GPU board's (NVML total-energy counter, gross) per measured window; the variants of a
comparison run interleaved (one run of each in turn) after one idle measurement. Rows are written
in the columns of ``ecolint/energy/data/measurements.csv`` after every configuration, with the JSON
log of every run. ``--device cpu --fake-nvml`` runs the whole script on a CPU with a tiny model
(a check of the script, not a measurement).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import gc
import json
import math
import mmap
import os
import platform
import sys
import time
from pathlib import Path

from ecolint.measure.calibration_file import ConfigResult, gpu_key, make_rows, write_rows
from ecolint.measure.calibration_plan import Protocol
from ecolint.measure.meter import Meter
from ecolint.measure.nvml import Nvml
from ecolint.measure.random_model import build_model, load_architecture
from ecolint.measure.report import software_versions

SOFTWARE = ("torch", "transformers", "accelerate", "safetensors", "bitsandbytes")
TINY = {  # --tiny: a small model of the same architecture, for checking the script
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512,
}


# -- page cache --------------------------------------------------------------------------------


def resident_fraction(paths) -> float | None:
    """Fraction of the files' pages in the page cache (mincore), None where it cannot be read."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    page = os.sysconf("SC_PAGE_SIZE")
    total = resident = 0
    for path in paths:
        size = os.path.getsize(path)
        if size == 0:
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr is None or addr == ctypes.c_void_p(-1).value:
                return None
            pages = (size + page - 1) // page
            vector = (ctypes.c_ubyte * pages)()
            failed = libc.mincore(addr, size, vector)
            libc.munmap(addr, size)
            if failed:
                return None
            resident += pages - bytes(vector).count(0)
            total += pages
        finally:
            os.close(fd)
    return resident / total if total else None


def evict(paths) -> dict:
    """Push the files out of the page cache; says how (and how much is left)."""
    os.sync()
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    how = {"fadvise_dontneed": True, "after_fadvise": resident_fraction(paths), "drop_caches": None}
    if how["after_fadvise"] is None or how["after_fadvise"] > 0.05:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as handle:
                handle.write("3\n")
            how["drop_caches"] = True
        except OSError as error:
            how["drop_caches"] = f"failed: {error}"
    how["resident"] = resident_fraction(paths)
    return how


# -- the measuring session ---------------------------------------------------------------------


class Session:
    def __init__(self, args, torch, transformers, nvml, gpu):
        self.args, self.torch, self.transformers = args, torch, transformers
        self.nvml, self.gpu = nvml, gpu
        self.device = args.device
        self.meter = Meter(nvml, [gpu], interval=0.1).start()
        self.started = time.monotonic()
        self.groups: list[tuple[str, list[ConfigResult]]] = []
        self.log: dict = {
            "started_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            "command": sys.argv,
            "gpu": nvml.describe(gpu),
            "driver": nvml.driver_version(),
            "software": dict(software_versions(SOFTWARE), cuda=torch.version.cuda,
                             python=platform.python_version()),
            "events": [],
            "skipped": [],
        }
        self.emit(f"GPU {self.log['gpu']['name']}, driver {self.log['driver']}, "
                  f"power limit {self.log['gpu'].get('power_limit_w')} W, {self.log['gpu'].get('temperature_c')} C")
        self.emit("software: " + ", ".join(f"{k}={v}" for k, v in self.log["software"].items()))

    # output
    def emit(self, text: str) -> None:
        print(f"[{time.monotonic() - getattr(self, 'started', time.monotonic()):7.1f} s] {text}", flush=True)

    def event(self, **data) -> None:
        data["t_s"] = round(time.monotonic() - self.started, 2)
        self.log["events"].append(data)

    def out_of_time(self, what: str) -> bool:
        if time.monotonic() - self.started > self.args.budget:
            self.log["skipped"].append(f"{what}: time budget spent")
            self.emit(f"skipped {what}: time budget spent")
            return True
        return False

    # GPU helpers
    def sync(self) -> None:
        if self.device.startswith("cuda"):
            self.torch.cuda.synchronize()

    def free(self) -> None:
        gc.collect()
        if self.device.startswith("cuda"):
            self.torch.cuda.empty_cache()

    def reset_peak(self) -> None:
        if self.device.startswith("cuda"):
            self.torch.cuda.reset_peak_memory_stats()

    def peak_gb(self) -> float | None:
        return self.torch.cuda.max_memory_allocated() / 1e9 if self.device.startswith("cuda") else None

    def allocated_gb(self) -> float | None:
        return self.torch.cuda.memory_allocated() / 1e9 if self.device.startswith("cuda") else None

    def idle(self) -> list:
        time.sleep(self.args.pause)
        return self.meter.measure_idle(self.args.idle_seconds)

    def window(self, fn, calls: int, tokens_per_call: int, idle) -> dict:
        self.sync()
        start = self.meter.mark()
        for _ in range(calls):
            fn()
        self.sync()
        window = self.meter.end(start, idle, tokens=calls * tokens_per_call)
        run = window.as_dict()
        run["calls"] = calls
        run["temperature_c"] = self.nvml.temperature_c(self.gpu)
        return run

    def compare(self, variants, *, runs: int, min_run_s: float, label: str, warmup_fn=None) -> None:
        """Measure ``variants`` [(ConfigResult, fn, tokens_per_call)], their runs interleaved.

        Each variant is warmed up (with ``warmup_fn`` if given); with ``min_run_s`` one more call is
        timed, unless a warm-up call already lasted 1.5 times that, and each run repeats the call
        to last ``min_run_s``.
        """
        for result, fn, _ in variants:
            self.reset_peak()
            for _ in range(self.args.warmup):
                begun = time.monotonic()
                (warmup_fn or fn)()
                self.sync()
                result.warmup_s.append(round(time.monotonic() - begun, 3))
            if warmup_fn is None and result.warmup_s and result.warmup_s[-1] >= 1.5 * min_run_s:
                pass  # one call lasts long enough
            elif min_run_s > 0:
                begun = time.monotonic()
                fn()
                self.sync()
                result.calls_per_run = max(1, math.ceil(min_run_s / max(time.monotonic() - begun, 1e-3)))
            result.peak_memory_gb = self.peak_gb()
        idle = self.idle()
        for result, _, _ in variants:
            result.idle_w = idle[0]
        for number in range(runs):
            for result, fn, tokens in variants:
                self.reset_peak()
                run = self.window(fn, result.calls_per_run, tokens, idle)
                result.runs.append(run)
                peak = self.peak_gb()
                if peak is not None:
                    result.peak_memory_gb = max(result.peak_memory_gb or 0.0, peak)
                for warning in run["warnings"]:
                    if warning not in result.notes:
                        result.notes.append(warning)
            if number + 1 < runs:
                time.sleep(self.args.pause)
        for result, _, _ in variants:
            energy = result.energy_per_1k()
            throughput = result.throughput()
            self.emit(f"{label} {result.precision:<28} bs={result.batch_size}: "
                      f"{energy.mean:9.1f} J/1k (sd {energy.std or 0:.1f}), {throughput.mean:8.1f} tok/s, "
                      f"{result.calls_per_run} calls/run, peak {result.peak_memory_gb or 0:.2f} GB")

    # results
    def add_group(self, protocol_note: str, results: list[ConfigResult]) -> None:
        self.groups.append((protocol_note, results))
        self.save()

    def rows(self) -> list[dict]:
        rows: list[dict] = []
        number = self.args.first_row
        gpu_name = self.log["gpu"]["name"]
        versions = self.log["software"]
        software = "; ".join(
            [f"torch={versions.get('torch')}", f"cuda={versions.get('cuda')}",
             f"transformers={versions.get('transformers')}", f"accelerate={versions.get('accelerate')}",
             f"driver={self.log['driver']}"]
        )
        for note, results in self.groups:
            results = [r for r in results if r.runs]
            if not results:
                continue
            made = make_rows(
                results, gpu=gpu_key(gpu_name), gpu_architecture=self.log["gpu"].get("architecture") or "",
                gpu_name=gpu_name, software=software, date=self.log["started_at"][:10],
                source_file=self.args.source_file, experiment=self.args.experiment, protocol_note=note,
                row_prefix=self.args.row_prefix, first_number=number,
            )
            for row in made:
                row["notes"] = row["notes"].replace(
                    "measured with ecolint calibrate", "measured with docs/measurements/practices.py", 1)
                row["source_table"] = "docs/measurements/practices.py"
            rows.extend(made)
            number += len(made)
        delta_vs_fp16(rows)
        return rows

    def save(self) -> None:
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_rows(self.rows(), out.with_suffix(".csv"))
        data = dict(self.log, elapsed_s=round(time.monotonic() - self.started, 1))
        data["groups"] = [{"protocol": note, "results": [r.as_dict() for r in results]}
                          for note, results in self.groups]
        out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")


# -- models ------------------------------------------------------------------------------------


def protocol_for(args) -> Protocol:
    return Protocol(input_tokens=64, new_tokens=128, warmup=args.warmup, runs=args.runs,
                    pause_s=args.pause, idle_seconds=args.idle_seconds)


def overrides(args) -> dict | None:
    return dict(TINY) if args.tiny else None


def pretrained(s: Session, path, **kwargs):
    model_class = s.transformers.AutoModelForCausalLM
    try:
        model = model_class.from_pretrained(path, dtype=s.torch.bfloat16, **kwargs)
    except TypeError:  # transformers < 4.56
        model = model_class.from_pretrained(path, torch_dtype=s.torch.bfloat16, **kwargs)
    return model.eval()


def save_random(s: Session, arch: dict, folder: Path) -> list[str]:
    """Build ``arch`` with random bf16 weights, save it with save_pretrained; the safetensors files."""
    model = build_model(arch, "bf16", protocol_for(s.args), s.device, overrides(s.args))
    begun = time.monotonic()
    model.save_pretrained(folder)
    os.sync()
    seconds = time.monotonic() - begun
    del model
    s.free()
    files = sorted(str(p) for p in folder.glob("*.safetensors"))
    size = sum(os.path.getsize(p) for p in files)
    s.event(what="save_pretrained", folder=str(folder), files=files, bytes=size, seconds=round(seconds, 2),
            resident=resident_fraction(files))
    s.emit(f"saved {arch['name']} bf16 to {folder}: {len(files)} file(s), {size / 1e9:.2f} GB in {seconds:.1f} s")
    return files


def result_for(arch: dict, label: str, batch: int, input_tokens: int, output_tokens: int, *notes) -> ConfigResult:
    return ConfigResult(architecture=arch["name"], model_id=arch["model_id"], params_b=float(arch["params_b"]),
                        precision=label, batch_size=batch, input_tokens=input_tokens,
                        output_tokens=output_tokens, notes=list(notes))


def prompt(s: Session, model, batch: int, length: int, seed: int):
    generator = s.torch.Generator().manual_seed(seed + 1000 * batch + length)
    return s.torch.randint(3, model.config.vocab_size, (batch, length), generator=generator).to(s.device)


def generator_of(s: Session, model, ids, new_tokens: int, **settings):
    def generate():
        with s.torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=s.torch.ones_like(ids), max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, pad_token_id=0, **settings)
        if out.shape[1] - ids.shape[1] != new_tokens or out.shape[0] != ids.shape[0]:
            raise RuntimeError(f"generate returned shape {tuple(out.shape)}")
        return out
    return generate


def vs_baseline(results: list[ConfigResult], baseline: ConfigResult) -> None:
    """Note each result's energy per 1k tokens against ``baseline`` (same run)."""
    base = baseline.energy_per_1k()
    for result in results:
        energy = result.energy_per_1k()
        if result is baseline or base is None or energy is None:
            continue
        result.notes.append(f"vs {baseline.precision} (bs={baseline.batch_size}, same run): "
                            f"{(energy.mean / base.mean - 1) * 100:+.1f}% energy per token")


# -- sections ----------------------------------------------------------------------------------


def section_load(s: Session, arch: dict, folder: Path):
    """Model load per request; returns the model loaded last (kept for the next sections)."""
    files = save_random(s, arch, folder)
    new = s.args.new_tokens
    size_gb = sum(os.path.getsize(p) for p in files) / 1e9
    note = ("protocol: one request = from_pretrained(local safetensors, dtype=bfloat16, device_map='cuda') then "
            f"generate, batch 1, input 64 random tokens, {new} new tokens greedy (fixed length); one unmeasured "
            "load+request first; the baseline row is the same request on a model that stays loaded (warm-up "
            f"{s.args.warmup}, {s.args.runs} runs); energy = NVML total-energy counter (gross), GPU board only "
            "(CPU, memory and disk energy not counted)")
    resident_row = result_for(arch, "bf16_resident", 1, 64, new,
                              "model loaded once and kept; the request alone")
    rows = {mode: result_for(arch, f"bf16_load_per_request{'' if mode == 'warm' else '_cold'}", 1, 64, new,
                             f"safetensors {size_gb:.2f} GB on local disk, "
                             + ("in the page cache" if mode == "warm"
                                else "evicted from the page cache before each load"))
            for mode in ("warm", "cold")}
    s.add_group(note, [resident_row, rows["warm"], rows["cold"]])  # saved after every load
    s.free()
    idle = s.idle()  # GPU with no model on it
    model = pretrained(s, folder, device_map=s.device)  # unmeasured: first load in the process
    generator_of(s, model, prompt(s, model, 1, 64, 0), new)()
    del model
    s.free()
    loads = {"warm": [], "cold": []}
    model = None
    for mode in ("warm", "cold"):
        result = rows[mode]
        result.idle_w = idle[0]
        for number in range(s.args.load_repeats):
            if s.out_of_time(f"load {mode} {number + 1}"):
                break
            if model is not None:
                del model
                model = None
                s.free()
            how = evict(files) if mode == "cold" else {"resident": resident_fraction(files)}
            time.sleep(s.args.pause)
            s.reset_peak()
            s.sync()
            start = s.meter.mark()
            model = pretrained(s, folder, device_map=s.device)
            s.sync()
            load = s.meter.end(start, idle)
            ids = prompt(s, model, 1, 64, 0)
            request = s.window(generator_of(s, model, ids, new), 1, new, idle)
            duration = load.duration_s + request["duration_s"]
            energy = load.energy_j + request["energy_j"]
            net = (None if load.net_j is None or request["net_energy_j"] is None
                   else load.net_j + request["net_energy_j"])
            run = {
                "duration_s": duration, "tokens": new, "energy_j": energy, "net_energy_j": net, "idle_w": idle[0],
                "mean_power_w": energy / duration, "j_per_1k_tokens": energy / new * 1000,
                "net_j_per_1k_tokens": None if net is None else net / new * 1000,
                "tokens_per_s": new / duration, "calls": 1, "peak_power_w": load.peak_w,
                "load": load.as_dict(), "request": request, "page_cache": how,
                "temperature_c": s.nvml.temperature_c(s.gpu),
            }
            result.runs.append(run)
            result.peak_memory_gb = max(result.peak_memory_gb or 0.0, s.peak_gb() or 0.0) or None
            loads[mode].append((load.duration_s, load.energy_j, load.net_j, how.get("resident")))
            s.save()
            s.emit(f"load {mode} {number + 1}: {load.duration_s:6.2f} s {load.energy_j:8.1f} J "
                   f"(net {load.net_j or 0:.1f} J, {size_gb / load.duration_s:.2f} GB/s), request "
                   f"{request['duration_s']:.2f} s {request['energy_j']:.1f} J; page cache before load: {how}")
    for mode, values in loads.items():
        if not values:
            continue
        seconds = [v[0] for v in values]
        joules = [v[1] for v in values]
        rows[mode].notes.append(
            "load_s=" + "/".join(f"{v:.2f}" for v in seconds) + "; load_j=" + "/".join(f"{v:.1f}" for v in joules)
            + "; resident_before_load=" + "/".join("?" if v[3] is None else f"{v[3]:.2f}" for v in values))
    if model is None:
        return None
    ids = prompt(s, model, 1, 64, 0)
    s.compare([(resident_row, generator_of(s, model, ids, new), new)], runs=s.args.runs, min_run_s=0,
              label="resident")
    request = resident_row.energy_per_request()
    for mode in ("warm", "cold"):
        energy = rows[mode].energy_per_request()
        if energy is not None and request is not None:
            rows[mode].notes.append(
                f"load + request {energy.mean:.0f} J against {request.mean:.1f} J for the request on a loaded model: "
                f"the load costs {(energy.mean - request.mean) / request.mean:.1f} times the request")
    s.save()
    return model


def section_beam(s: Session, arch: dict, model) -> None:
    new = s.args.new_tokens
    note = (f"protocol: generate, input 64 random tokens, {new} new tokens (fixed length), greedy against "
            f"num_beams=4 (one returned sequence each), warm-up {s.args.warmup}, {s.args.runs} runs interleaved, "
            f"each run repeats generate to last at least {s.args.min_run_s:g} s; energy_j_per_1k per 1000 "
            "returned tokens, energy_per_request_j per returned sequence; energy = NVML counter (gross)")
    for batch in s.args.batch_sizes:
        if s.out_of_time(f"beam {arch['name']} bs={batch}"):
            return
        ids = prompt(s, model, batch, 64, 1)
        greedy = result_for(arch, "bf16_greedy", batch, 64, new)
        beam = result_for(arch, "bf16_beam4", batch, 64, new, "num_beams=4, early_stopping=False, length fixed")
        s.compare([(greedy, generator_of(s, model, ids, new), batch * new),
                   (beam, generator_of(s, model, ids, new, num_beams=4), batch * new)],
                  runs=s.args.runs, min_run_s=s.args.min_run_s, label=f"beam {arch['name']}")
        vs_baseline([beam], greedy)
        s.add_group(note, [greedy, beam])
        s.free()


def sampler_of(s: Session, model, ids, new_tokens: int, calls: int, sequences: int):
    """``calls`` sampling ``generate`` calls on one prompt, each returning ``sequences`` sequences."""
    def generate():
        for _ in range(calls):
            with s.torch.inference_mode():
                out = model.generate(input_ids=ids, attention_mask=s.torch.ones_like(ids), max_new_tokens=new_tokens,
                                     min_new_tokens=new_tokens, do_sample=True, num_return_sequences=sequences,
                                     pad_token_id=0)
            if out.shape != (sequences, ids.shape[1] + new_tokens):
                raise RuntimeError(f"generate returned shape {tuple(out.shape)}")
    return generate


def section_repeats(s: Session, arch: dict, folder: Path) -> None:
    """The wastes of three rules, the cheapest first: the same model loaded twice in one process (memory, load
    energy); the same generate call run twice (the first result thrown away) against once; one prompt generated
    N times in a loop against one call with ``num_return_sequences=N``; ``--repeat-parts`` picks which."""
    parts = s.args.repeat_parts
    files = save_random(s, arch, folder)
    size_gb = sum(os.path.getsize(p) for p in files) / 1e9
    placement = {"device_map": s.device} if s.device.startswith("cuda") else {}  # on a CPU: no accelerate needed
    model = pretrained(s, folder, **placement)  # unmeasured: the first load of the process
    ids = prompt(s, model, 1, 64, 3)
    if "copies" in parts:
        repeats_copies(s, arch, folder, model, ids, size_gb, placement)
    if "duplicate" in parts and not s.out_of_time("duplicate generate"):
        repeats_duplicate(s, arch, model, ids)
    if "samples" in parts:
        repeats_samples(s, arch, model, ids)
    del model
    s.free()


def repeats_copies(s: Session, arch: dict, folder: Path, model, ids, size_gb: float, placement: dict) -> None:
    """The same checkpoint loaded a second time: allocated memory, the second load's energy, one request."""
    new = s.args.new_tokens
    note = ("protocol: from_pretrained(local safetensors in the page cache, dtype=bfloat16, device_map='cuda') once, "
            f"then a second copy of the same checkpoint in the same process; one request (batch 1, 64 prompt, {new} "
            "new tokens greedy) on the first copy with one copy and with two; peak_memory_gb = allocated GPU memory "
            "with one copy and with two; the second load's energy in the notes; energy = NVML counter (gross)")
    idle = s.idle()
    one_copy = result_for(arch, "bf16_one_copy", 1, 64, new, f"safetensors {size_gb:.2f} GB")
    two_copies = result_for(arch, "bf16_two_copies", 1, 64, new, "the same checkpoint loaded a second time")
    s.compare([(one_copy, generator_of(s, model, ids, new), new)], runs=s.args.runs, min_run_s=0, label="one copy")
    one_copy.peak_memory_gb = s.allocated_gb()
    time.sleep(s.args.pause)
    s.sync()
    start = s.meter.mark()
    second = pretrained(s, folder, **placement)
    s.sync()
    load = s.meter.end(start, idle)
    s.compare([(two_copies, generator_of(s, model, ids, new), new)], runs=s.args.runs, min_run_s=0, label="two copies")
    two_copies.peak_memory_gb = s.allocated_gb()
    two_copies.notes.append(f"second load: {load.duration_s:.2f} s, {load.energy_j:.1f} J "
                            f"(net {load.net_j or 0:.1f} J); allocated {one_copy.peak_memory_gb or 0:.2f} GB "
                            f"with one copy, {two_copies.peak_memory_gb or 0:.2f} GB with two")
    s.event(what="second_load", seconds=round(load.duration_s, 3), energy_j=round(load.energy_j, 2),
            net_j=None if load.net_j is None else round(load.net_j, 2), one_copy_gb=one_copy.peak_memory_gb,
            two_copies_gb=two_copies.peak_memory_gb)
    s.add_group(note, [one_copy, two_copies])
    del second
    s.free()


def repeats_duplicate(s: Session, arch: dict, model, ids) -> None:
    """The same generate call run twice, the first result discarded, against once."""
    new = s.args.new_tokens
    note = (f"protocol: one 64-token random prompt, batch 1, {new} new tokens greedy (fixed length); the same "
            "generate call run twice with the first result discarded against once; energy_j_per_1k per 1000 "
            f"tokens used (one call's), warm-up {s.args.warmup}, {s.args.runs} runs interleaved; energy = NVML "
            "counter (gross)")
    once = result_for(arch, "bf16_generate_once", 1, 64, new, "one generate call")
    twice = result_for(arch, "bf16_generate_twice", 1, 64, new, "the same call twice, first result discarded")
    single = generator_of(s, model, ids, new)

    def duplicated():
        single()
        single()

    s.compare([(once, single, new), (twice, duplicated, new)], runs=s.args.runs, min_run_s=0, label="duplicate",
              warmup_fn=single)
    vs_baseline([twice], once)
    s.add_group(note, [once, twice])


def repeats_samples(s: Session, arch: dict, model, ids) -> None:
    """One prompt generated N times in a loop against one call with ``num_return_sequences=N``."""
    new = s.args.new_tokens
    note = (f"protocol: one 64-token random prompt, batch 1, {new} new tokens sampled (do_sample=True, fixed length); "
            "N generate calls of one sequence each against one call with num_return_sequences=N; energy_j_per_1k "
            "per 1000 returned tokens (N x new tokens per request), energy_per_request_j per N sequences; "
            f"warm-up {s.args.warmup} (one call of 2 sequences), {s.args.runs} runs interleaved; energy = NVML "
            "counter (gross)")
    for n in s.args.repeat_counts:
        if s.out_of_time(f"repeats n={n}"):
            return
        looped = result_for(arch, f"bf16_loop_{n}_calls", 1, 64, new, f"{n} generate calls on one prompt")
        batched = result_for(arch, f"bf16_num_return_sequences_{n}", 1, 64, new,
                             f"one generate call, num_return_sequences={n}")
        s.compare([(looped, sampler_of(s, model, ids, new, n, 1), n * new),
                   (batched, sampler_of(s, model, ids, new, 1, n), n * new)],
                  runs=s.args.runs, min_run_s=0, label=f"repeats n={n}", warmup_fn=sampler_of(s, model, ids, new, 1, 2))
        vs_baseline([looped], batched)
        s.add_group(note, [batched, looped])


def decode_loop(model, ids, steps: int):
    """Greedy decoding by hand: a forward per token with the KV cache, as scripts write it."""
    out = model(input_ids=ids, use_cache=True)
    past = out.past_key_values
    token = out.logits[:, -1:].argmax(-1)
    for _ in range(steps - 1):
        out = model(input_ids=token, past_key_values=past, use_cache=True)
        past = out.past_key_values
        token = out.logits[:, -1:].argmax(-1)
    return token


def section_autograd(s: Session, arch: dict, model) -> None:
    torch = s.torch
    model.requires_grad_(True)  # as from_pretrained leaves the parameters
    weights = s.allocated_gb()
    steps, length = s.args.loop_steps, s.args.prompt_tokens
    note = (f"protocol: input {length} random tokens; loop = prefill then {steps - 1} single-token forwards with "
            f"the KV cache (model(...) called by hand, greedy, {steps} tokens per sequence); score = one forward "
            f"with labels=input_ids (.loss.item()), energy_j_per_1k per 1000 scored tokens; autograd = parameters "
            f"requiring grad and grad mode on, inference_mode = inside torch.inference_mode(); warm-up "
            f"{s.args.warmup}, {s.args.runs} runs interleaved, each run repeats the call to last at least "
            f"{s.args.min_run_s:g} s; peak_memory_gb = torch.cuda.max_memory_allocated (weights included); "
            "energy = NVML counter (gross)")

    def in_mode(fn, grad: bool):
        def call():
            with (torch.enable_grad() if grad else torch.inference_mode()):
                return fn()
        return call

    for kind in ("loop", "score"):
        for batch in s.args.batch_sizes:
            if s.out_of_time(f"autograd {kind} {arch['name']} bs={batch}"):
                return
            ids = prompt(s, model, batch, length, 2)
            if kind == "loop":
                work = (lambda: decode_loop(model, ids, steps).cpu())  # noqa: E731
            else:
                work = (lambda: model(input_ids=ids, labels=ids).loss.item())  # noqa: E731
            tokens = batch * (steps if kind == "loop" else length)
            output = steps if kind == "loop" else 0
            memory = f"weights {weights:.2f} GB" if weights is not None else "weights on CPU"
            plain = result_for(arch, f"bf16_{kind}_inference_mode", batch, length, output, memory)
            graded = result_for(arch, f"bf16_{kind}_autograd", batch, length, output, memory)
            s.compare([(plain, in_mode(work, False), tokens), (graded, in_mode(work, True), tokens)],
                      runs=s.args.runs, min_run_s=s.args.min_run_s, label=f"autograd {arch['name']}")
            vs_baseline([graded], plain)
            if plain.peak_memory_gb and graded.peak_memory_gb:
                graded.notes.append(f"peak memory {graded.peak_memory_gb:.2f} GB against "
                                    f"{plain.peak_memory_gb:.2f} GB in inference_mode")
            s.add_group(note, [plain, graded])
            s.free()
    model.requires_grad_(False)


def dry_device_map(s: Session, folder: Path, max_memory: dict) -> dict:
    """The device map from_pretrained(device_map='auto', max_memory=...) computes, without loading."""
    transformers = s.transformers
    import accelerate

    config = transformers.AutoConfig.from_pretrained(folder)
    with accelerate.init_empty_weights():
        meta = transformers.AutoModelForCausalLM.from_config(config, dtype=s.torch.bfloat16)
    try:
        from transformers.integrations.accelerate import _get_device_map

        return dict(_get_device_map(meta, "auto", max_memory, None))
    except (ImportError, TypeError):
        return dict(accelerate.infer_auto_device_map(meta, max_memory=max_memory,
                                                     no_split_module_classes=meta._no_split_modules,
                                                     dtype=s.torch.bfloat16))


def cpu_layers(device_map: dict) -> list[int]:
    return sorted(int(k.split(".")[2]) for k, v in device_map.items()
                  if k.startswith("model.layers.") and k.count(".") == 2 and str(v) == "cpu")


def explicit_map(layers: int, target: int, gpu) -> dict:
    """Embeddings, norm and lm_head on the GPU, the last ``target`` decoder layers on the CPU."""
    placed = {"model.embed_tokens": gpu, "model.rotary_emb": gpu, "model.norm": gpu, "lm_head": gpu}
    placed.update({f"model.layers.{i}": "cpu" if i >= layers - target else gpu for i in range(layers)})
    return placed


def memory_for(s: Session, folder: Path, target: int, size: int, gpu_key_) -> tuple[dict, dict]:
    """max_memory (GPU bytes by bisection) that puts ``target`` decoder layers on the CPU."""
    low, high = 0, size * 2
    best = None
    for _ in range(30):
        middle = (low + high) // 2
        memory = {gpu_key_: middle, "cpu": 200 * 2**30}
        placed = dry_device_map(s, folder, memory)
        count = len(cpu_layers(placed))
        if count <= target:
            best, high = (memory, placed), middle
        else:
            low = middle
        if high - low < 2**20:
            break
    return best


def section_offload(s: Session, arch: dict, folder: Path, files_saved: bool) -> None:
    if not files_saved:
        save_random(s, arch, folder)
    layers = (arch["config"] if not s.args.tiny else TINY)["num_hidden_layers"]
    size = sum(os.path.getsize(p) for p in folder.glob("*.safetensors"))
    new = s.args.offload_new_tokens
    note = (f"protocol: from_pretrained(dtype=bfloat16, device_map='auto', max_memory={{0: X, 'cpu': 200 GiB}}) "
            f"with X chosen so that the given share of decoder layers lands on the CPU (accelerate keeps them in "
            f"CPU memory and copies them to the GPU at every forward); generate, input 64 random tokens, {new} new "
            f"tokens greedy (fixed length), warm-up {s.args.warmup}, {s.args.runs} runs; without offload each run "
            f"repeats generate to last at least {s.args.min_run_s:g} s, with offload one generate per run and a "
            "warm-up of 4 new tokens; energy = NVML counter (gross), GPU board only (the CPU's and "
            "the host memory's energy are not counted)")
    gpu_index = 0 if s.device.startswith("cuda") else "cpu"
    results: list[ConfigResult] = []
    s.add_group(note, results)  # saved after every configuration
    for share in s.args.offload_shares:
        target = round(layers * share / 100)
        if s.out_of_time(f"offload {share}%"):
            break
        if target == 0:
            memory, placed, kwargs = None, None, {"device_map": s.device}
        else:
            memory, placed = memory_for(s, folder, target, size, gpu_index)
            kwargs = {"device_map": "auto", "max_memory": memory}
            if len(cpu_layers(placed)) != target:  # no max_memory gives it: name the layers
                memory, kwargs = None, {"device_map": explicit_map(layers, target, gpu_index)}
        s.free()
        begun = time.monotonic()
        model = pretrained(s, folder, **kwargs)
        s.sync()
        load_s = time.monotonic() - begun
        actual = dict(getattr(model, "hf_device_map", {}) or {})
        on_cpu = cpu_layers(actual)
        other_cpu = sorted(k for k, v in actual.items() if str(v) == "cpu" and not k.startswith("model.layers."))
        label = f"bf16_cpu_offload_{share}"
        how = ("device_map='cuda'" if target == 0 else
               f"max_memory GPU {memory[gpu_index] / 2**30:.2f} GiB" if memory else "explicit device_map")
        text = (f"{len(on_cpu)}/{layers} decoder layers on the CPU"
                + (f" (layers {on_cpu[0]}-{on_cpu[-1]})" if on_cpu else "")
                + (f", also on the CPU: {', '.join(other_cpu)}" if other_cpu else "")
                + f"; {how}"
                + f"; load {load_s:.1f} s")
        s.emit(f"offload {share}%: {text}")
        s.event(what="offload_map", share=share, max_memory=memory, device_map=actual, dry_run=placed)
        for batch in s.args.offload_batch_sizes:
            if s.out_of_time(f"offload {share}% bs={batch}"):
                break
            ids = prompt(s, model, batch, 64, 3)
            result = result_for(arch, label, batch, 64, new, text)
            s.compare([(result, generator_of(s, model, ids, new), batch * new)], runs=s.args.runs,
                      min_run_s=s.args.min_run_s if target == 0 else 0.0, label="offload",
                      warmup_fn=None if target == 0 else generator_of(s, model, ids, 4))
            results.append(result)
            s.save()
        del model
        s.free()
    for result in results:
        base = next((r for r in results if r.batch_size == result.batch_size and r.precision.endswith("_0")), None)
        if base is not None:
            vs_baseline([result], base)
    s.save()


def float32_matmul(torch, precision: str):
    """A context that sets ``torch.set_float32_matmul_precision`` ("highest" = TF32 off, "high" = on)
    and cuDNN's TF32 switch, and restores both."""
    class Setting:
        def __enter__(self):
            self.saved = (torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32)
            torch.set_float32_matmul_precision(precision)
            torch.backends.cudnn.allow_tf32 = precision != "highest"

        def __exit__(self, *exc):
            torch.set_float32_matmul_precision(self.saved[0])
            torch.backends.cudnn.allow_tf32 = self.saved[1]
    return Setting()


def prefill_of(model, ids):
    """One forward over the prompt with the KV cache, logits of the last position only."""
    try:
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    except TypeError:  # transformers < 4.50 names it num_logits_to_keep
        out = model(input_ids=ids, use_cache=True, num_logits_to_keep=1)
    return out.logits[:, -1].argmax(-1)


def section_fp32(s: Session, arch: dict) -> None:
    torch = s.torch
    batch, length = s.args.fp32_batch, s.args.fp32_tokens
    note = (f"protocol: input {length} random tokens at batch {batch}; prefill = one forward with use_cache=True "
            "and logits of the last position only (as generate's prefill); score = one forward with "
            "labels=input_ids (.loss.item()); inside torch.inference_mode(); energy_j_per_1k per 1000 input "
            "tokens processed; fp32 with torch.set_float32_matmul_precision('highest') (TF32 off, torch's "
            "default) and 'high' (TF32 on, cudnn.allow_tf32 likewise); fp16/bf16 = the same random weights cast; "
            f"warm-up {s.args.warmup}, {s.args.runs} runs interleaved, each run repeats the call to last at "
            f"least {s.args.min_run_s:g} s; energy = NVML counter (gross)")
    models = {}
    for precision in ("fp32", "fp16", "bf16"):
        models[precision] = build_model(arch, precision, protocol_for(s.args), s.device, overrides(s.args))
        s.emit(f"fp32 section: {arch['name']} built in {precision}, {s.allocated_gb() or 0:.1f} GB allocated")
    ids = prompt(s, models["fp32"], batch, length, 4)
    variants = (("fp32", "fp32", "highest", "TF32 off (torch default)"),
                ("fp32_tf32", "fp32", "high", "TF32 on: torch.set_float32_matmul_precision('high')"),
                ("fp16", "fp16", "highest", ""),
                ("bf16", "bf16", "highest", ""))

    def call(model, kind: str, matmul: str):
        def run():
            with float32_matmul(torch, matmul), torch.inference_mode():
                if kind == "prefill":
                    return prefill_of(model, ids).cpu()
                return model(input_ids=ids, labels=ids).loss.item()
        return run

    for kind in ("prefill", "score"):
        if s.out_of_time(f"fp32 {kind} {arch['name']}"):
            break
        results = [(result_for(arch, f"{label}_{kind}", batch, length, 0, *([text] if text else [])),
                    call(models[dtype], kind, matmul), batch * length)
                   for label, dtype, matmul, text in variants]
        s.compare(results, runs=s.args.runs, min_run_s=s.args.min_run_s, label=f"fp32 {arch['name']} {kind}")
        fp16 = results[2][0]
        vs_baseline([r for r, _, _ in results], fp16)
        s.add_group(note, [r for r, _, _ in results])
    del models
    s.free()


def delta_vs_fp16(rows: list[dict]) -> None:
    """``delta_vs_fp16_pct`` of the fp32 section's rows: against ``fp16_<kind>`` of the same run."""
    base = {(r["architecture"], r["batch_size"], r["precision"].rsplit("_", 1)[-1]): float(r["energy_j_per_1k"])
            for r in rows if r["precision"] in ("fp16_prefill", "fp16_score") and r["energy_j_per_1k"] != ""}
    for row in rows:
        kind = row["precision"].rsplit("_", 1)[-1]
        reference = base.get((row["architecture"], row["batch_size"], kind))
        if kind in ("prefill", "score") and reference and not row["precision"].startswith("fp16_") \
                and row["energy_j_per_1k"] != "":
            row["delta_vs_fp16_pct"] = round((float(row["energy_j_per_1k"]) / reference - 1) * 100, 1)


# -- command line ------------------------------------------------------------------------------


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="load,beam,autograd")
    parser.add_argument("--arch", default="mistral-7b", help="architecture of ecolint/measure/architectures")
    parser.add_argument("--out", required=True, help="output stem: STEM.csv (rows) and STEM.json (every run)")
    parser.add_argument("--model-dir", default="/var/tmp/ecolint-models")
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--fake-nvml", action="store_true", help="a simulated NVML (checking the script on a CPU)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model of the architecture's kind")
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--offload-shares", default="0,25,50", help="percent of decoder layers on the CPU")
    parser.add_argument("--offload-batch-sizes", default="1")
    parser.add_argument("--offload-new-tokens", type=int, default=32)
    parser.add_argument("--fp32-tokens", type=int, default=256, help="text length of the fp32 section")
    parser.add_argument("--fp32-batch", type=int, default=8, help="batch size of the fp32 section")
    parser.add_argument("--new-tokens", type=int, default=128, help="new tokens of the load and beam requests")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--loop-steps", type=int, default=128)
    parser.add_argument("--repeat-counts", default="4,8", help="N of the repeats section")
    parser.add_argument("--repeat-parts", default="copies,duplicate,samples",
                        help="parts of the repeats section: copies (a model loaded twice), duplicate (a generate "
                             "call run twice), samples (N calls against num_return_sequences=N)")
    parser.add_argument("--load-repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--min-run-s", type=float, default=2.0)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--budget", type=float, default=480.0, help="seconds; later configurations are skipped")
    parser.add_argument("--row-prefix", default="p")
    parser.add_argument("--first-row", type=int, default=1)
    parser.add_argument("--experiment", default="practices_h200")
    parser.add_argument("--source-file", default="docs/measurements/hopper/practices.json")
    args = parser.parse_args(argv)
    args.batch_sizes = [int(v) for v in args.batch_sizes.split(",")]
    args.offload_batch_sizes = [int(v) for v in args.offload_batch_sizes.split(",")]
    args.offload_shares = [int(v) for v in args.offload_shares.split(",")]
    args.repeat_counts = [int(v) for v in args.repeat_counts.split(",")]
    args.repeat_parts = [v.strip() for v in args.repeat_parts.split(",") if v.strip()]
    if set(args.repeat_parts) - {"copies", "duplicate", "samples"}:
        parser.error(f"unknown repeat parts: {args.repeat_parts}")
    args.sections = [v.strip() for v in args.sections.split(",") if v.strip()]
    unknown = set(args.sections) - {"load", "beam", "autograd", "offload", "fp32", "repeats"}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.fake_nvml:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "measure"))
        from fakenvml import FakeGpu, FakePynvml

        sys.modules["pynvml"] = FakePynvml([FakeGpu(name="NVIDIA H200")])
    import torch
    import transformers

    nvml = Nvml()
    gpu = nvml.visible_gpus(only=[0])[0]
    s = Session(args, torch, transformers, nvml, gpu)
    arch = load_architecture(args.arch)
    folder = Path(args.model_dir) / args.arch
    folder.mkdir(parents=True, exist_ok=True)
    model = None
    saved = False
    try:
        for section in args.sections:
            if s.out_of_time(section):
                continue
            s.emit(f"== {section} {arch['name']}")
            if section == "load":
                model = section_load(s, arch, folder)
                saved = True
            elif section == "fp32":
                if model is not None:
                    del model
                    model = None
                    s.free()
                section_fp32(s, arch)
            elif section == "repeats":
                if model is not None:
                    del model
                    model = None
                    s.free()
                section_repeats(s, arch, folder)
                saved = True
            elif section == "offload":
                if model is not None:
                    del model
                    model = None
                    s.free()
                section_offload(s, arch, folder, saved)
                saved = True
            else:
                if model is None:
                    model = build_model(arch, "bf16", protocol_for(args), args.device, overrides(args))
                (section_beam if section == "beam" else section_autograd)(s, arch, model)
        s.save()
        s.emit(f"done in {time.monotonic() - s.started:.1f} s; {len(s.rows())} rows")
        return 0
    finally:
        s.save()
        s.meter.stop()
        nvml.close()


if __name__ == "__main__":
    sys.exit(main())
