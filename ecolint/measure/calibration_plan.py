"""What ``ecolint calibrate`` measures (:class:`Plan`) and how (:class:`Protocol`)."""

from __future__ import annotations

from dataclasses import dataclass

from ecolint.measure.calibration_file import COMPILED, NO_KV_CACHE, PRECISIONS


@dataclass
class Protocol:
    input_tokens: int = 64
    new_tokens: int = 64
    warmup: int = 1
    runs: int = 3
    pause_s: float = 2.0  # thermal pause between runs (and before the idle measurement)
    idle_seconds: float = 3.0
    interval: float = 0.1
    seed: int = 0
    outlier_channels: int = 6
    outlier_scale: float = 20.0
    time_budget_s: float | None = (
        None  # skip the configurations left once this much time has passed
    )
    # > 0: after the warm-up, one more unmeasured call is timed, and each measured run repeats
    # generate ceil(min_run_s / that time) times in one window (for fast configurations)
    min_run_s: float = 0.0

    def note(self) -> str:
        repeat = (
            f", each run repeats generate to last at least {self.min_run_s:g} s"
            if self.min_run_s > 0
            else ""
        )
        return (
            f"protocol: input {self.input_tokens} random tokens, {self.new_tokens} new tokens greedy (fixed length), "
            f"warm-up {self.warmup}, {self.runs} measured runs{repeat}, pause {self.pause_s:g} s, idle measured "
            f"{self.idle_seconds:g} s per config; outliers {self.outlier_channels} channels x{self.outlier_scale:g}; "
            f"energy = NVML total-energy counter (gross)"
        )


@dataclass
class Plan:
    """What to measure."""

    architectures: list
    precisions: list
    batch_sizes: list
    kv_cache_off: bool = True
    fp32: bool = True
    compiled: bool = False

    def builds(self) -> list[tuple[str, list[tuple[str, bool]]]]:
        """(precision to build, [(row precision, use_cache) ...]) in run order.

        ``fp16_compiled`` gets a model of its own (built in fp16, then compiled), measured right
        after the eager fp16 one, so that compilation never touches the other rows.
        """
        # fp16 first (the reference of every delta), then fp32, then the rest: if a time budget
        # cuts the run short, the configurations the shipped data lacks are already measured.
        order = [p for p in ("fp16", "fp32") if p in self.precisions]
        if self.fp32 and "fp32" not in order:
            order.append("fp32")
        if (self.kv_cache_off or self.compiled) and "fp16" not in order:
            order.insert(0, "fp16")
        order += [p for p in PRECISIONS if p in self.precisions and p not in order]
        steps = []
        for precision in order:
            cases = []
            if precision in self.precisions or precision == "fp32":
                cases.append((precision, True))
            if precision == "fp16" and self.kv_cache_off:
                cases.append((NO_KV_CACHE, False))
            if cases:
                steps.append((precision, cases))
            if precision == "fp16" and self.compiled:
                steps.append(("fp16", [(COMPILED, True)]))
        return steps
