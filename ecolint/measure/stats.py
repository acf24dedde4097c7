"""Summary statistics of repeated measurements: mean, sample standard deviation, 95% interval, CV."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# Two-sided 95% quantiles of Student's t distribution, t(0.975, df), df = 1..30.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t_quantile_975(df: int) -> float:
    """t(0.975, df); the normal 1.96 beyond the table (within 2% from df 40 on)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(_T975):
        return _T975[df - 1]
    if df <= 40:
        return 2.021
    if df <= 60:
        return 2.000
    if df <= 120:
        return 1.980
    return 1.960


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float | None  # sample standard deviation (n - 1); None for one value
    ci95_low: float | None
    ci95_high: float | None
    cv_pct: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(values) -> Summary | None:
    """Summary of the values that are not None; None when there are none."""
    data = [float(v) for v in values if v is not None]
    if not data:
        return None
    n = len(data)
    mean = sum(data) / n
    if n < 2:
        return Summary(n, mean, None, None, None, None)
    std = math.sqrt(sum((x - mean) ** 2 for x in data) / (n - 1))
    half = t_quantile_975(n - 1) * std / math.sqrt(n)
    cv = std / abs(mean) * 100.0 if mean != 0 else None
    return Summary(n, mean, std, mean - half, mean + half, cv)
