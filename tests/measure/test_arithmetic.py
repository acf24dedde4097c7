"""Energy arithmetic, statistics and caveats, without NVML."""

import math

import pytest

from ecolint.measure.meter import (
    ENERGY_COUNTER,
    ENERGY_SAMPLED,
    Window,
    gpu_energy,
    window_warnings,
)
from ecolint.measure.nvml import POWER_INSTANT, POWER_USAGE, Gpu
from ecolint.measure.sampler import integrate
from ecolint.measure.stats import summarize, t_quantile_975


def test_integrate_trapezoids_and_flat_ends():
    # 100 W at t=1, 300 W at t=3; window [0, 4]: 100*1 + 200*2 + 300*1
    assert integrate([(1.0, 100.0), (3.0, 300.0)], 0.0, 4.0) == pytest.approx(800.0)
    assert integrate([], 0.0, 1.0) is None


def test_counter_energy_idle_subtraction_and_means():
    points = [(0.0, 240.0), (1.0, 260.0), (2.0, 250.0)]
    result = gpu_energy(
        position=0, index=0, name="x", t0=0.0, t1=2.0, counter_j=500.0, points=points, idle_w=60.0
    )
    assert result.energy_source == ENERGY_COUNTER
    assert result.energy_j == 500.0
    assert result.net_j == pytest.approx(500.0 - 60.0 * 2.0)
    assert result.mean_w == pytest.approx(250.0)
    assert result.peak_w == 260.0
    assert result.sampled_j == pytest.approx(505.0)
    assert result.crosscheck_pct == pytest.approx(1.0)


def test_missing_counter_falls_back_to_sampled_integral():
    points = [(0.0, 100.0), (2.0, 100.0)]
    result = gpu_energy(
        position=0, index=0, name="x", t0=0.0, t1=2.0, counter_j=None, points=points, idle_w=None
    )
    assert result.energy_source == ENERGY_SAMPLED
    assert result.energy_j == pytest.approx(200.0)
    assert result.net_j is None and result.crosscheck_pct is None


def test_no_counter_no_samples_is_unknown():
    result = gpu_energy(
        position=0, index=0, name="x", t0=0.0, t1=2.0, counter_j=None, points=[], idle_w=50.0
    )
    assert result.energy_j is None and result.energy_source is None and result.net_j is None


def _gpu(**kw):
    settings = dict(
        index=0,
        handle=None,
        name="Fake",
        architecture=9,
        has_energy_counter=True,
        power_source=POWER_INSTANT,
    )
    settings.update(kw)
    return Gpu(**settings)


def test_fallback_warning_says_one_second_average_on_ampere_and_newer():
    energy = gpu_energy(
        position=0,
        index=0,
        name="Fake",
        t0=0,
        t1=5,
        counter_j=None,
        points=[(0, 100.0)],
        idle_w=None,
    )
    window = Window(duration_s=5, gpus=[energy])
    text = " ".join(
        window_warnings(
            [_gpu(architecture=7, has_energy_counter=False, power_source=POWER_USAGE)], window
        )
    )
    assert "no total-energy counter" in text and "one-second average" in text
    text = " ".join(
        window_warnings(
            [_gpu(architecture=4, has_energy_counter=False, power_source=POWER_USAGE)], window
        )
    )
    assert "no total-energy counter" in text and "one-second average" not in text


def test_short_window_is_flagged():
    energy = gpu_energy(
        position=0, index=0, name="Fake", t0=0, t1=0.4, counter_j=40.0, points=[], idle_w=None
    )
    warnings = window_warnings([_gpu()], Window(duration_s=0.4, gpus=[energy]))
    assert any("shorter than 1 s" in w for w in warnings)
    energy = gpu_energy(
        position=0, index=0, name="Fake", t0=0, t1=1.5, counter_j=40.0, points=[], idle_w=None
    )
    assert window_warnings([_gpu()], Window(duration_s=1.5, gpus=[energy])) == []


def test_crosscheck_disagreement_is_reported():
    energy = gpu_energy(
        position=0,
        index=0,
        name="Fake",
        t0=0,
        t1=4,
        counter_j=400.0,
        points=[(0, 200.0), (4, 200.0)],
        idle_w=None,
    )
    warnings = window_warnings([_gpu()], Window(duration_s=4, gpus=[energy]))
    assert any("+100%" in w for w in warnings)


def test_window_sums_gpus_and_token_metrics():
    a = gpu_energy(
        position=0, index=0, name="a", t0=0, t1=2, counter_j=300.0, points=[], idle_w=50.0
    )
    b = gpu_energy(
        position=1, index=1, name="b", t0=0, t1=2, counter_j=100.0, points=[], idle_w=25.0
    )
    window = Window(duration_s=2.0, gpus=[a, b], tokens=800)
    assert window.energy_j == 400.0
    assert window.net_j == pytest.approx(400.0 - 75.0 * 2)
    assert window.idle_w == 75.0
    assert window.mean_w == 200.0
    assert window.j_per_1k_tokens == pytest.approx(500.0)
    assert window.net_j_per_1k_tokens == pytest.approx(250.0 / 800 * 1000)
    assert window.tokens_per_j == pytest.approx(2.0)
    assert window.tokens_per_s == pytest.approx(400.0)
    no_tokens = Window(duration_s=2.0, gpus=[a])
    assert no_tokens.j_per_1k_tokens is None and no_tokens.tokens_per_j is None


def test_summary_statistics():
    stats = summarize([1.0, 2.0, 3.0])
    assert stats.n == 3 and stats.mean == 2.0 and stats.std == pytest.approx(1.0)
    half = 4.303 / math.sqrt(3)
    assert stats.ci95_low == pytest.approx(2.0 - half) and stats.ci95_high == pytest.approx(
        2.0 + half
    )
    assert stats.cv_pct == pytest.approx(50.0)
    single = summarize([5.0, None])
    assert single.n == 1 and single.std is None and single.ci95_low is None
    assert summarize([None]) is None
    assert t_quantile_975(1) == 12.706 and t_quantile_975(1000) == 1.96
