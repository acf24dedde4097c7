"""Text and JSON reports of measurements."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import importlib.util
import os
import platform
import shlex

from ecolint import __version__
from ecolint.measure.meter import ENERGY_COUNTER, ENERGY_SAMPLED, Window
from ecolint.measure.stats import summarize

SOFTWARE = ("torch", "transformers", "bitsandbytes", "accelerate")

# Metrics summarized over repeated runs: (key in Window.as_dict(), label, unit, format).
METRICS = (
    ("duration_s", "duration", "s", "{:.3f}"),
    ("energy_j", "energy (gross)", "J", "{:.1f}"),
    ("net_energy_j", "energy (net)", "J", "{:.1f}"),
    ("mean_power_w", "mean power", "W", "{:.1f}"),
    ("peak_power_w", "peak power", "W", "{:.1f}"),
    ("j_per_1k_tokens", "energy per 1k tokens (gross)", "J", "{:.1f}"),
    ("net_j_per_1k_tokens", "energy per 1k tokens (net)", "J", "{:.1f}"),
    ("tokens_per_j", "tokens per joule", "tok/J", "{:.3f}"),
    ("tokens_per_s", "throughput", "tok/s", "{:.2f}"),
)


def software_versions(names=SOFTWARE) -> dict:
    """Installed versions of the packages that shape LLM energy (None where not importable)."""
    versions = {}
    for name in names:
        version = None
        try:
            if importlib.util.find_spec(name) is not None:
                version = importlib.metadata.version(name)
        except (importlib.metadata.PackageNotFoundError, ValueError, ImportError):
            version = None
        versions[name] = version
    return versions


def environment(nvml, gpus) -> dict:
    return {
        "ecolint": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "driver": nvml.driver_version(),
        "nvml": nvml.nvml_version(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "software": software_versions(),
        "gpus": [nvml.describe(g) for g in gpus],
    }


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def summary(runs: list[Window]) -> dict:
    rows = [run.as_dict() for run in runs]
    result = {}
    for key, *_ in METRICS:
        stats = summarize(row[key] for row in rows)
        if stats is not None:
            result[key] = stats.as_dict()
    return result


def result_document(
    *, command, started_at, env, idle_seconds, idle_w, runs, timeline=None, settings=None
) -> dict:
    warnings = []
    for number, run in enumerate(runs, 1):
        for text in run.warnings:
            entry = text if len(runs) == 1 else f"run {number}: {text}"
            if entry not in warnings:
                warnings.append(entry)
    document = {
        "tool": "ecolint measure",
        "command": list(command),
        "started_at": started_at,
        "settings": settings or {},
        "environment": env,
        "idle": {"seconds": idle_seconds, "power_w": idle_w, "total_w": _total(idle_w)},
        "runs": [run.as_dict() for run in runs],
        "summary": summary(runs) if len(runs) > 1 else None,
        "warnings": warnings,
    }
    if timeline is not None:
        document["timeline"] = timeline
    return document


def _total(values):
    if not values or any(v is None for v in values):
        return None
    return sum(values)


def _fmt(value, pattern="{:.1f}", unit=""):
    if value is None:
        return "n/a"
    text = pattern.format(value)
    return f"{text} {unit}".rstrip()


def _source_text(gpu_result) -> str:
    if gpu_result["energy_source"] == ENERGY_COUNTER:
        return "NVML total-energy counter"
    if gpu_result["energy_source"] == ENERGY_SAMPLED:
        return "integral of sampled power: no energy counter"
    return "unknown"


def format_text(document: dict) -> str:
    """The human-readable report."""
    env = document["environment"]
    lines = []
    command = shlex.join(document["command"])
    runs = document["runs"]
    lines.append(f"ecolint measure: {command}")
    described = {g["index"]: g for g in env["gpus"]}
    driver = env.get("driver") or "?"
    for position, gpu in enumerate(env["gpus"]):
        limit = _fmt(gpu.get("power_limit_w"), "{:.0f}", "W")
        temp = _fmt(gpu.get("temperature_c"), "{:.0f}", "C")
        lines.append(
            f"GPU {position}: {gpu['name']} ({gpu['architecture']}, driver {driver}, power limit {limit}, {temp})"
        )
    idle = document["idle"]
    if len(runs) == 1:
        run = runs[0]
        multi = len(run["gpus"]) > 1
        for gpu_result in run["gpus"]:
            if multi:
                name = described.get(gpu_result["index"], {}).get("name", "")
                lines.append(f"  GPU {gpu_result['position']} {name}")
            lines.extend(_gpu_lines(gpu_result, idle["seconds"], indent="    " if multi else "  "))
        if multi:
            lines.append("  all GPUs")
            lines.append(f"    energy (gross)  {_fmt(run['energy_j'], '{:.1f}', 'J')}")
            lines.append(f"    energy (net)    {_fmt(run['net_energy_j'], '{:.1f}', 'J')}")
            lines.append(
                f"    mean power      {_fmt(run['mean_power_w'], '{:.1f}', 'W')}"
                f"   peak {_fmt(run['peak_power_w'], '{:.1f}', 'W')}"
            )
        indent = "    " if multi else "  "
        if run["tokens"] is not None:
            gross = _fmt(run["j_per_1k_tokens"], "{:.1f}", "J")
            net = _fmt(run["net_j_per_1k_tokens"], "{:.1f}", "J")
            per_joule = _fmt(run["tokens_per_j"], "{:.3f}", "tokens/J")
            rate = _fmt(run["tokens_per_s"], "{:.1f}", "tok/s")
            lines.append(
                f"{indent}tokens          {run['tokens']}   {gross}/1k tokens (net {net}), {per_joule}, {rate}"
            )
        else:
            lines.append(
                f"{indent}tokens          unknown (pass --tokens N or print ECOLINT_TOKENS=<n>)"
            )
        if run["exit_code"]:
            lines.append(f"{indent}command exited with status {run['exit_code']}")
    else:
        lines.append(
            f"{len(runs)} runs; idle power {_fmt(idle['total_w'], '{:.1f}', 'W')} "
            f"(measured for {idle['seconds']:g} s before the first run)"
        )
        lines.append(f"  {'metric':<36} {'mean':>10} {'std':>9} {'95% interval':>23} {'CV':>7}")
        for key, label, unit, pattern in METRICS:
            stats = (document.get("summary") or {}).get(key)
            if stats is None:
                continue
            low, high = stats["ci95_low"], stats["ci95_high"]
            interval = (
                f"{pattern.format(low)} .. {pattern.format(high)}" if low is not None else "n/a"
            )
            cv = f"{stats['cv_pct']:.1f}%" if stats["cv_pct"] is not None else "n/a"
            std = pattern.format(stats["std"]) if stats["std"] is not None else "n/a"
            lines.append(
                f"  {label + ' (' + unit + ')':<36} {pattern.format(stats['mean']):>10} {std:>9} {interval:>23} {cv:>7}"
            )
        failed = [str(i) for i, run in enumerate(runs, 1) if run["exit_code"]]
        if failed:
            lines.append(f"  command failed in run(s) {', '.join(failed)}")
    for text in document["warnings"]:
        lines.append(f"warning: {text}")
    return "\n".join(lines)


def _gpu_lines(gpu_result, idle_seconds, indent) -> list[str]:
    lines = [
        f"{indent}duration        {gpu_result['duration_s']:.3f} s",
        f"{indent}energy (gross)  {_fmt(gpu_result['energy_j'], '{:.1f}', 'J')}   ({_source_text(gpu_result)})",
    ]
    if gpu_result["idle_w"] is not None:
        lines.append(
            f"{indent}idle power      {gpu_result['idle_w']:.1f} W   (measured for {idle_seconds:g} s before the run)"
        )
        lines.append(
            f"{indent}energy (net)    {_fmt(gpu_result['net_j'], '{:.1f}', 'J')}   (gross - idle x duration)"
        )
    else:
        lines.append(f"{indent}idle power      not measured (--idle-seconds 0): no net energy")
    mean = _fmt(gpu_result["mean_w"], "{:.1f}", "W")
    peak = _fmt(gpu_result["peak_w"], "{:.1f}", "W")
    power = f"{indent}mean power      {mean}   peak {peak}"
    if gpu_result["crosscheck_pct"] is not None:
        sampled, cross = gpu_result["sampled_j"], gpu_result["crosscheck_pct"]
        power += f"   (sampled integral {sampled:.1f} J, {cross:+.1f}% vs counter)"
    lines.append(power)
    return lines
