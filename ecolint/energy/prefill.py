"""Prefill: the energy of reading a request's prompt, which every request pays before its first token.

Fitted on the scoring rows (a forward pass over the prompt with autograd off, no generation;
``*_score_inference_mode`` rows of ``hopper_h200_practices.csv``): joules per prompt token =
``exp(c0) x params_b^c1 x batch^c2``, least squares in log space. Its error is stated two ways: against
the rows it is fitted on, and with each row held out in turn (``errors``). The rows are H200 rows in BF16;
other GPUs and precisions take the H200 figure, which the error does not cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ecolint.energy.dataset import Measurement, measurements
from ecolint.energy.least_squares import least_squares

SCORING_SUFFIX = "_score_inference_mode"


@dataclass(frozen=True)
class PrefillModel:
    coefficients: tuple[float, float, float]
    rows: tuple[str, ...]

    def joules_per_token(self, params_b: float, batch_size: int = 1, quantization: str = "fp16") -> float:
        c0, c1, c2 = self.coefficients
        half = math.exp(c0 + c1 * math.log(params_b) + c2 * math.log(max(batch_size, 1)))
        return half * precision_factor(quantization).value

    def joules(self, params_b: float, prompt_tokens: int, batch_size: int = 1, quantization: str = "fp16") -> float:
        """Energy of one request's prompt (its share of a batch's prefill)."""
        return prompt_tokens * self.joules_per_token(params_b, batch_size, quantization)


def scoring_rows() -> list[Measurement]:
    return [
        m for m in measurements().values()
        if m.precision.endswith(SCORING_SUFFIX) and m.energy_j_per_1k and m.params_b and m.batch_size
    ]


def _fit(rows: list[Measurement]) -> PrefillModel:
    features = [[1.0, math.log(m.params_b), math.log(m.batch_size)] for m in rows]
    targets = [math.log(m.energy_j_per_1k / 1000.0) for m in rows]
    return PrefillModel(tuple(least_squares(features, targets)), tuple(m.row_id for m in rows))


@lru_cache(maxsize=1)
def prefill_model() -> PrefillModel:
    return _fit(scoring_rows())


def _error(model: PrefillModel, m: Measurement) -> float:
    return model.joules_per_token(m.params_b, m.batch_size) / (m.energy_j_per_1k / 1000.0) - 1.0


@dataclass(frozen=True)
class PrefillErrors:
    fitted: float  # worst |error| against the rows the model is fitted on
    held_out: float  # worst |error| predicting each row from the others
    rows: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"fitted on scoring rows {', '.join(self.rows)} (H200, BF16): within {self.fitted:.0%} of them, "
            f"{self.held_out:.0%} worst with each row held out"
        )


@lru_cache(maxsize=1)
def errors() -> PrefillErrors:
    rows = scoring_rows()
    model = prefill_model()
    fitted = max(abs(_error(model, m)) for m in rows)
    held_out = max(abs(_error(_fit([r for r in rows if r is not m]), m)) for m in rows)
    return PrefillErrors(fitted, held_out, model.rows)


@dataclass(frozen=True)
class Factor:
    value: float
    note: str


FP32_PREFILL = {"row": {"precision": "fp32_prefill"}, "baseline": {"precision": "fp16_prefill"}}


def fp32_prefill_pairs() -> list[tuple[Measurement, Measurement]]:
    """FP32 (TF32 off) prefill rows with the FP16 prefill row of the same run (``hopper_fp32.csv``)."""
    from ecolint.energy.curation import gross_energy_j_per_1k
    from ecolint.energy.pairs import same_run_pairs

    return same_run_pairs(FP32_PREFILL, measurements(), gross_energy_j_per_1k)


@lru_cache(maxsize=None)
def precision_factor(quantization: str) -> Factor:
    """How the prefill term scales for a precision: FP32 by its measured prefill rows against FP16
    (the median ratio), once they are in the data; other precisions as measured (BF16 ~ FP16)."""
    if quantization != "fp32":
        return Factor(1.0, "")
    from ecolint.energy.curation import gross_energy_j_per_1k

    pairs = fp32_prefill_pairs()
    if not pairs:
        return Factor(
            1.0,
            "FP32 prefill is not measured yet (rows f001... of hopper_fp32.csv): the prefill term uses the "
            "half-precision figure for FP32, which the band does not cover",
        )
    ratios = sorted(gross_energy_j_per_1k(row) / gross_energy_j_per_1k(base) for row, base in pairs)
    middle = len(ratios) // 2
    median = ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2
    ids = ", ".join(f"{row.row_id}/{base.row_id}" for row, base in pairs)
    return Factor(
        median,
        f"FP32 prefill (TF32 off) costs x{median:.2f} the FP16 prefill per prompt token, the median of rows {ids} "
        f"(x{ratios[0]:.2f} to x{ratios[-1]:.2f}); the prefill term is scaled by it",
    )
