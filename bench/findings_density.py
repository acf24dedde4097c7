#!/usr/bin/env python
"""Time and memory of ``ecolint check`` on findings-dense code, from 10 KB up to the 4 MB size limit.

Each size is a generated module of loader functions, every one with four fixable findings (LLM101,
LLM106, LLM301, LLM306), checked once in a child process with ``--unsafe-fixes`` (so every fix is
computed, validated and marked ``[*]``). The table shows, per size: findings, fixes, wall time, CPU
time of the child and its peak memory; then the CPU time and memory each KB adds over the size
before (the start-up costs, about 0.5 s and 40 MB, drop out), which stay flat when both grow
linearly.

    python bench/findings_density.py                            # 10 KB, 100 KB, 1 MB, 4 MB (about 4 min)
    python bench/findings_density.py --sizes 10000 200000      # other sizes, in bytes
    python bench/findings_density.py --pythonpath /tmp/old     # another copy of the package (before/after)

CPU time (user + system, from ``os.wait4``) is the figure to compare: on a shared machine wall time
also counts the time other processes held the cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "import torch\nfrom transformers import AutoModelForCausalLM, BitsAndBytesConfig\n\n"
LOADER = '''def load_{i}(p, prompt):
    c = BitsAndBytesConfig(load_in_8bit=True)
    a = AutoModelForCausalLM.from_pretrained(p, quantization_config=c, torch_dtype="float16")
    b = AutoModelForCausalLM.from_pretrained(p, load_in_4bit=True, device_map="auto")
    d = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-chat-hf", device_map="auto")
    return a.generate(prompt, max_new_tokens=5, use_cache=False)

'''
LIMIT = 4 << 20  # the default max-file-size
DEFAULT_SIZES = [10_000, 100_000, 1_000_000, LIMIT - 1]


def module_of(size: int) -> str:
    """A module of loaders no larger than ``size`` bytes."""
    parts, total, number = [HEADER], len(HEADER), 0
    while True:
        loader = LOADER.format(i=number)
        if total + len(loader) > size:
            return "".join(parts)
        parts.append(loader)
        total += len(loader)
        number += 1


def measured(args: list[str], env: dict, folder: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds and peak resident KB of one ecolint run, and its stdout."""
    out, err = folder / "out.txt", folder / "err.txt"
    start = time.perf_counter()
    with out.open("wb") as sink, err.open("wb") as errors:
        child = subprocess.Popen([sys.executable, "-m", "ecolint", *args], env=env, cwd=folder, stdout=sink,
                                 stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ecolint {' '.join(args)} failed: {err.read_text(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out.read_text(encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--pythonpath", help="import ecolint from this folder instead")
    options = parser.parse_args()
    env = dict(os.environ)
    if options.pythonpath:
        env["PYTHONPATH"] = options.pythonpath
    folder = Path(tempfile.mkdtemp(prefix="ecolint-density-"))
    print(f"{'size KB':>9}{'findings':>10}{'fixes':>8}{'wall s':>9}{'CPU s':>8}{'peak MB':>9}"
          f"{'+CPU ms/KB':>12}{'+MB/KB':>8}")
    before = None
    try:
        for size in options.sizes:
            path = folder / "dense.py"
            path.write_text(module_of(size), encoding="utf-8")
            kb = path.stat().st_size / 1024
            wall, cpu, peak_kb, output = measured(
                ["check", "--no-cache", "--no-config", "--unsafe-fixes", "--exit-zero", path.name], env, folder)
            diagnostics = [line for line in output.splitlines() if line.startswith("dense.py:")]
            fixes = sum(1 for line in diagnostics if line.endswith("[*]"))
            line = f"{kb:>9.0f}{len(diagnostics):>10}{fixes:>8}{wall:>9.1f}{cpu:>8.1f}{peak_kb / 1024:>9.0f}"
            if before is not None and kb > before[0]:
                added = kb - before[0]
                line += f"{1000 * (cpu - before[1]) / added:>12.1f}{(peak_kb - before[2]) / 1024 / added:>8.2f}"
            print(line, flush=True)
            before = (kb, cpu, peak_kb)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
