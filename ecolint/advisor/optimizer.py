"""Search quantizations and batch sizes for the configuration that uses least energy per token.

The search is the estimator's: every candidate gets a measured or modelled figure, candidates that
do not fit the GPU's memory are dropped, and the use case bounds the batch size:

- ``chat``: at most 4 concurrent requests per batch (interactive: per-token latency stays near BS=1);
- ``api``: at most 32 (a serving queue fills batches of this size at moderate load);
- ``batch``: at most 64, the largest batch measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecolint.advisor.common import COMPARED, workload
from ecolint.advisor.validation import Inputs
from ecolint.energy.estimator import Estimate, Estimator
from ecolint.energy.memory_fit import MEMORY_HEADROOM

__all__ = ["MEMORY_HEADROOM", "Candidate", "Recommendation", "recommend"]

USE_CASE_BATCH_CAP = {"chat": 4, "api": 32, "batch": 64}
CLOSE_CALL = 0.05  # candidates within 5% of the best are reported as a close call


@dataclass
class Candidate:
    estimate: Estimate
    vram_gb: float
    fits: bool

    @property
    def energy(self) -> float:
        return self.estimate.energy_per_1k.value

    @property
    def quantization(self) -> str:
        return self.estimate.workload.quantization

    @property
    def batch_size(self) -> int:
        return self.estimate.workload.batch_size


@dataclass
class Recommendation:
    use_case: str
    batch_cap: int
    best: Candidate
    candidates: list[Candidate]
    fits_any: bool

    def at(self, quantization: str, batch_size: int) -> Candidate | None:
        for c in self.candidates:
            if (c.quantization, c.batch_size) == (quantization, batch_size):
                return c
        return None

    def close_calls(self) -> list[Candidate]:
        """Other fitting candidates within 5% of the best, or inside the best's extrapolation range."""
        best = self.best.estimate.energy_per_1k
        limit = self.best.energy * (1 + CLOSE_CALL)
        if best.basis == "extrapolated" and best.high is not None:
            limit = max(limit, best.high)
        found = [c for c in self.candidates if c.fits and c is not self.best and c.energy <= limit]
        return sorted(found, key=lambda c: c.energy)[:2]


def batch_sizes(cap: int) -> list[int]:
    sizes, b = [], 1
    while b <= cap:
        sizes.append(b)
        b *= 2
    return sizes


def candidate(
    estimator: Estimator, inputs: Inputs, quantization: str, batch_size: int
) -> Candidate:
    w = workload(inputs, quantization, batch_size)
    vram = w.vram_bytes() / 1e9
    return Candidate(estimator.estimate(w), vram, vram <= inputs.gpu.vram_gb * MEMORY_HEADROOM)


def recommend(estimator: Estimator, inputs: Inputs, use_case: str) -> Recommendation:
    cap = USE_CASE_BATCH_CAP[use_case]
    found = [candidate(estimator, inputs, q, b) for q in COMPARED for b in batch_sizes(cap)]
    fitting = [c for c in found if c.fits]
    if fitting:
        best = min(fitting, key=lambda c: (c.energy, c.batch_size))
    else:
        best = min(found, key=lambda c: (c.vram_gb, c.energy))
    return Recommendation(use_case, cap, best, found, bool(fitting))
