"""Energy of a time window on one or more GPUs, from NVML.

Gross energy comes from NVML's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
Volta and newer). A :class:`~ecolint.measure.sampler.PowerSampler` records power meanwhile: it
gives the mean and peak power and a cross-check, and stands in for the counter on GPUs that lack
it (the result then says so). Net energy subtracts idle power, measured beforehand, times the
window's duration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ecolint.measure import tokens as _tokens
from ecolint.measure.nvml import Gpu, Nvml
from ecolint.measure.sampler import PowerSampler, integrate, window

SHORT_WINDOW_S = 1.0
CROSSCHECK_WARN_PCT = 15.0

ENERGY_COUNTER = "counter"
ENERGY_SAMPLED = "sampled"


@dataclass
class GpuEnergy:
    """One GPU over one window."""

    position: int  # place among the measured GPUs (CUDA ordinal under CUDA_VISIBLE_DEVICES)
    index: int  # NVML index
    name: str
    duration_s: float
    energy_j: float | None  # gross
    energy_source: str | None  # ENERGY_COUNTER, ENERGY_SAMPLED or None (unknown)
    counter_j: float | None
    sampled_j: float | None
    n_samples: int
    peak_w: float | None
    idle_w: float | None
    net_j: float | None
    mean_w: float | None
    crosscheck_pct: float | None  # (sampled - counter) / counter, percent

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def gpu_energy(
    *,
    position: int,
    index: int,
    name: str,
    t0: float,
    t1: float,
    counter_j: float | None,
    points: list[tuple[float, float]],
    idle_w: float | None,
) -> GpuEnergy:
    """The arithmetic of one GPU's window (pure: no NVML)."""
    duration = t1 - t0
    sampled = integrate(points, t0, t1)
    if counter_j is not None:
        energy, source = counter_j, ENERGY_COUNTER
    elif sampled is not None:
        energy, source = sampled, ENERGY_SAMPLED
    else:
        energy, source = None, None
    net = energy - idle_w * duration if energy is not None and idle_w is not None else None
    mean = energy / duration if energy is not None and duration > 0 else None
    peak = max((w for _, w in points), default=None)
    cross = None
    if counter_j is not None and sampled is not None and counter_j > 0:
        cross = (sampled - counter_j) / counter_j * 100.0
    return GpuEnergy(
        position=position,
        index=index,
        name=name,
        duration_s=duration,
        energy_j=energy,
        energy_source=source,
        counter_j=counter_j,
        sampled_j=sampled,
        n_samples=len(points),
        peak_w=peak,
        idle_w=idle_w,
        net_j=net,
        mean_w=mean,
        crosscheck_pct=cross,
    )


def _sum(values):
    values = list(values)
    return None if not values or any(v is None for v in values) else sum(values)


@dataclass
class Window:
    """One measured window (one run) over all measured GPUs, summed."""

    duration_s: float
    gpus: list[GpuEnergy]
    tokens: int | None = None
    peak_w: float | None = None  # peak of the summed power timeline
    warnings: list[str] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def energy_j(self) -> float | None:
        return _sum(g.energy_j for g in self.gpus)

    @property
    def net_j(self) -> float | None:
        return _sum(g.net_j for g in self.gpus)

    @property
    def idle_w(self) -> float | None:
        return _sum(g.idle_w for g in self.gpus)

    @property
    def mean_w(self) -> float | None:
        energy = self.energy_j
        return energy / self.duration_s if energy is not None and self.duration_s > 0 else None

    @property
    def j_per_1k_tokens(self) -> float | None:
        energy = self.energy_j
        return energy / self.tokens * 1000.0 if energy is not None and self.tokens else None

    @property
    def net_j_per_1k_tokens(self) -> float | None:
        net = self.net_j
        return net / self.tokens * 1000.0 if net is not None and self.tokens else None

    @property
    def tokens_per_j(self) -> float | None:
        energy = self.energy_j
        return self.tokens / energy if energy and self.tokens is not None else None

    @property
    def tokens_per_s(self) -> float | None:
        return (
            self.tokens / self.duration_s
            if self.tokens is not None and self.duration_s > 0
            else None
        )

    def as_dict(self) -> dict:
        return {
            "duration_s": self.duration_s,
            "exit_code": self.exit_code,
            "tokens": self.tokens,
            "energy_j": self.energy_j,
            "idle_w": self.idle_w,
            "net_energy_j": self.net_j,
            "mean_power_w": self.mean_w,
            "peak_power_w": self.peak_w,
            "j_per_1k_tokens": self.j_per_1k_tokens,
            "net_j_per_1k_tokens": self.net_j_per_1k_tokens,
            "tokens_per_j": self.tokens_per_j,
            "tokens_per_s": self.tokens_per_s,
            "gpus": [g.as_dict() for g in self.gpus],
            "warnings": list(self.warnings),
        }


def window_warnings(gpus: list[Gpu], result: Window) -> list[str]:
    """The caveats a window's numbers carry."""
    notes = []
    if result.duration_s < SHORT_WINDOW_S:
        notes.append(
            f"window of {result.duration_s:.3f} s is shorter than {SHORT_WINDOW_S:.0f} s: NVML's energy counter and "
            "power readings update too slowly to measure it reliably"
        )
    for gpu, energy in zip(gpus, result.gpus):
        label = f"GPU {energy.position} ({gpu.name})"
        if energy.energy_source == ENERGY_SAMPLED:
            text = f"{label}: no total-energy counter (Volta or newer has one); energy is the integral of sampled power"
            if gpu.power_is_one_second_average:
                text += (
                    ", read with nvmlDeviceGetPowerUsage, which on this GPU is a one-second average: "
                    "phases shorter than that are under-counted"
                )
            notes.append(text)
        elif energy.energy_source is None:
            notes.append(f"{label}: neither an energy counter nor a power reading: energy unknown")
        if (
            energy.crosscheck_pct is not None
            and abs(energy.crosscheck_pct) > CROSSCHECK_WARN_PCT
            and result.duration_s >= 2 * SHORT_WINDOW_S
        ):
            notes.append(
                f"{label}: sampled power integral differs from the energy counter by {energy.crosscheck_pct:+.0f}% "
                "(the counter is used)"
            )
    return notes


@dataclass
class Mark:
    t: float
    counters_mj: list


class Meter:
    """Measures windows on a fixed set of GPUs with one sampler running throughout."""

    def __init__(
        self,
        nvml: Nvml,
        gpus: list[Gpu],
        interval: float = 0.1,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        self.nvml = nvml
        self.gpus = list(gpus)
        self.clock = clock
        self.sleep = sleep
        self.sampler = PowerSampler(nvml, self.gpus, interval=interval, clock=clock)

    def start(self) -> "Meter":
        self.sampler.start()
        return self

    def stop(self) -> None:
        self.sampler.stop()

    def __enter__(self) -> "Meter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def mark(self) -> Mark:
        """Read every counter and take a power sample now."""
        counters = [self.nvml.energy_mj(g) for g in self.gpus]
        t = self.clock()
        self.sampler.sample_now()
        return Mark(t, counters)

    def end(self, start: Mark, idle_w: list | None = None, tokens: int | None = None) -> Window:
        """The window from ``start`` to now."""
        stop = self.mark()
        samples = self.sampler.snapshot()
        results = []
        for position, gpu in enumerate(self.gpus):
            before, after = start.counters_mj[position], stop.counters_mj[position]
            counter_j = None
            if before is not None and after is not None and after >= before:
                counter_j = (after - before) / 1000.0
            results.append(
                gpu_energy(
                    position=position,
                    index=gpu.index,
                    name=gpu.name,
                    t0=start.t,
                    t1=stop.t,
                    counter_j=counter_j,
                    points=window(samples, position, start.t, stop.t),
                    idle_w=None if idle_w is None else idle_w[position],
                )
            )
        peak = _summed_peak(samples, start.t, stop.t, len(self.gpus))
        result = Window(duration_s=stop.t - start.t, gpus=results, tokens=tokens, peak_w=peak)
        result.warnings = window_warnings(self.gpus, result)
        return result

    def measure_idle(self, seconds: float) -> list:
        """Idle power in watts per GPU over ``seconds`` of doing nothing (None per GPU for 0 s)."""
        if seconds <= 0:
            return [None] * len(self.gpus)
        start = self.mark()
        self.sleep(seconds)
        result = self.end(start)
        return [g.mean_w for g in result.gpus]


def _summed_peak(samples, t0, t1, count) -> float | None:
    totals = [
        sum(s.watts)
        for s in samples
        if t0 <= s.t <= t1 and len(s.watts) == count and all(w is not None for w in s.watts)
    ]
    return max(totals, default=None)


class measure_energy:
    """Measure the GPU energy of a block of Python code in this process.

    ::

        from ecolint.measure import measure_energy
        import torch

        with measure_energy(idle_seconds=3, sync=torch.cuda.synchronize) as m:
            out = model.generate(**inputs, max_new_tokens=256)
            m.report_tokens(out.shape[0] * 256)   # or ecolint.measure.report_tokens(...)
        print(m.result.energy_j, m.result.j_per_1k_tokens)

    ``sync`` is called before the window closes (GPU work is asynchronous). ``devices`` picks
    GPUs by CUDA ordinal among those visible (default: all visible GPUs).
    """

    def __init__(
        self,
        *,
        idle_seconds: float = 0.0,
        interval: float = 0.1,
        devices: list[int] | None = None,
        sync=None,
        environ=None,
    ):
        self.idle_seconds = idle_seconds
        self.interval = interval
        self.devices = devices
        self.sync = sync
        self.environ = environ
        self.tokens: int | None = None
        self.idle_w: list | None = None
        self.result: Window | None = None
        self.gpus: list[Gpu] = []
        self._nvml: Nvml | None = None
        self._meter: Meter | None = None
        self._start: Mark | None = None

    def add_tokens(self, count: int) -> None:
        self.tokens = (self.tokens or 0) + count

    def report_tokens(self, count: int) -> int:
        count = _tokens._check(count)
        self.add_tokens(count)
        return count

    def __enter__(self) -> "measure_energy":
        self._nvml = Nvml()
        try:
            self.gpus = self._nvml.visible_gpus(self.environ, self.devices)
            self._meter = Meter(self._nvml, self.gpus, interval=self.interval).start()
            self.idle_w = self._meter.measure_idle(self.idle_seconds)
        except BaseException:
            if self._meter is not None:
                self._meter.stop()
            self._nvml.close()
            raise
        _tokens.register(self)
        self._start = self._meter.mark()
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.sync is not None:
                self.sync()
            self.result = self._meter.end(self._start, self.idle_w, self.tokens)
        finally:
            _tokens.unregister(self)
            self._meter.stop()
            self._nvml.close()
