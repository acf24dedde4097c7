"""What a GPU can be observed doing: the power and throughput bounds ``ecolint diagnose`` checks.

- Power: at least the GPU's idle power (``gpus.csv``, else the lowest idle recorded in its measured
  rows' notes, else its power limit times the lowest idle/limit share of any GPU in the data), at most its
  board power limit.
- Throughput: at most the memory roofline (batch x bandwidth / bytes read per step); at least the slower
  of two rates: every weight crossing the host link each step, at the host-link rate measured with CPU
  offload (the offload row that keeps the largest share of the weights in CPU memory), and one step as
  long as the longest decode step measured in the data (launch-bound setups such as LLM.int8() are slow
  whatever the model's size).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ecolint.energy.dataset import GpuSpec, gpus, measurements

_IDLE = re.compile(r"idle_w=([0-9.]+)")
_OFFLOAD = re.compile(r"_cpu_offload_(\d+)$")


@dataclass(frozen=True)
class Bound:
    value: float
    source: str


def idle_floor(gpu: GpuSpec) -> Bound:
    """The least board power the GPU draws with a model loaded, and where that figure comes from."""
    if gpu.idle_w:
        return Bound(gpu.idle_w, f"{gpu.key}'s idle power in gpus.csv")
    seen = [
        (float(found.group(1)), m.row_id)
        for m in measurements().values()
        if m.gpu == gpu.key
        for found in [_IDLE.search(m.notes or "")]
        if found
    ]
    if seen:
        watts, row = min(seen)
        return Bound(watts, f"the lowest idle power recorded with {gpu.key}'s measurements (row {row})")
    if not gpu.tdp_w:
        return Bound(0.0, f"{gpu.key}'s idle power is not in the data")
    share, key = min((g.idle_w / g.tdp_w, g.key) for g in gpus().values() if g.idle_w and g.tdp_w)
    return Bound(
        share * gpu.tdp_w,
        f"{share:.1%} of {gpu.key}'s {gpu.tdp_w:g} W power limit, the lowest idle share of any GPU in the data "
        f"({key}); {gpu.key}'s own idle is not in the data",
    )


def power_limit(gpu: GpuSpec) -> Bound | None:
    return Bound(gpu.tdp_w, f"{gpu.key}'s board power limit") if gpu.tdp_w else None


@lru_cache(maxsize=1)
def host_link_rate() -> Bound:
    """Bytes per second of weights that crossed the host link in the CPU-offload row with the most offloaded."""
    from ecolint.energy.architectures import find_architecture

    best = None
    for m in measurements().values():
        found = _OFFLOAD.search(m.precision)
        if not found or int(found.group(1)) == 0 or not m.throughput_tok_s:
            continue
        share = int(found.group(1)) / 100
        arch = find_architecture(m.model_id)
        if arch is None:
            continue
        rate = share * arch.weight_bytes_resident("bf16") * m.throughput_tok_s / (m.batch_size or 1)
        if best is None or share > best[0]:
            best = (share, rate, m.row_id)
    if best is None:
        raise LookupError("no CPU-offload row in the data")
    share, rate, row = best
    return Bound(rate, f"{rate / 1e9:.1f} GB/s of weights over the host link, measured with {share:.0%} of the "
                       f"weights in CPU memory (row {row})")


@lru_cache(maxsize=1)
def longest_step() -> Bound:
    """The longest decode step (seconds) of any measured row: batch size / throughput."""
    seconds, row = max(
        ((m.batch_size or 1) / m.throughput_tok_s, m.row_id)
        for m in measurements().values()
        if m.throughput_tok_s and (m.output_tokens or 0) > 0
    )
    return Bound(seconds, f"the longest decode step measured in the data, {seconds:.2f} s (row {row})")
