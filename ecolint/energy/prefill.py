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

    def joules_per_token(self, params_b: float, batch_size: int = 1) -> float:
        c0, c1, c2 = self.coefficients
        return math.exp(c0 + c1 * math.log(params_b) + c2 * math.log(max(batch_size, 1)))

    def joules(self, params_b: float, prompt_tokens: int, batch_size: int = 1) -> float:
        """Energy of one request's prompt (its share of a batch's prefill)."""
        return prompt_tokens * self.joules_per_token(params_b, batch_size)


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
