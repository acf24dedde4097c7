"""A background sampler of GPU power (10 Hz by default).

Each sample holds the time and, per GPU, the board power in watts. The sampler gives the power
timeline, the peak power, and the sampled energy integral used as a cross-check of the energy
counter (or instead of it, on GPUs without one).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    t: float  # seconds, on the sampler's clock
    watts: tuple  # one float (or None) per GPU, in the sampler's GPU order


class PowerSampler:
    """Reads power for ``gpus`` every ``interval`` seconds on a daemon thread."""

    def __init__(self, nvml, gpus, interval: float = 0.1, clock=time.monotonic):
        if interval <= 0:
            raise ValueError("the sampling interval must be positive")
        self.nvml = nvml
        self.gpus = list(gpus)
        self.interval = interval
        self.clock = clock
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample_now(self) -> Sample:
        sample = Sample(self.clock(), tuple(self.nvml.power_w(g) for g in self.gpus))
        with self._lock:
            self.samples.append(sample)
        return sample

    def _run(self) -> None:
        next_time = self.clock()
        while not self._stop.is_set():
            self.sample_now()
            next_time += self.interval
            delay = next_time - self.clock()
            if delay < 0:  # fell behind: skip ahead rather than burst
                next_time = self.clock()
                delay = 0
            self._stop.wait(delay)

    def start(self) -> "PowerSampler":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ecolint-power-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self.snapshot()

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def latest(self) -> Sample | None:
        with self._lock:
            return self.samples[-1] if self.samples else None

    def clear(self) -> None:
        with self._lock:
            self.samples.clear()

    def __enter__(self) -> "PowerSampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def window(samples, gpu_position: int, t0: float, t1: float) -> list[tuple[float, float]]:
    """(time, watts) points of one GPU inside [t0, t1], skipping missing readings."""
    return [
        (s.t, s.watts[gpu_position])
        for s in samples
        if t0 <= s.t <= t1 and s.watts[gpu_position] is not None
    ]


def integrate(points: list[tuple[float, float]], t0: float, t1: float) -> float | None:
    """Energy in joules of a power timeline over [t0, t1] (trapezoids; ends held flat).

    None when there is no point to integrate.
    """
    if not points or t1 <= t0:
        return None if not points else 0.0
    points = sorted(points)
    total = 0.0
    # Hold the first reading back to t0 and the last one on to t1.
    total += points[0][1] * (points[0][0] - t0)
    for (ta, wa), (tb, wb) in zip(points, points[1:]):
        total += 0.5 * (wa + wb) * (tb - ta)
    total += points[-1][1] * (t1 - points[-1][0])
    return total
