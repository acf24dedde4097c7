"""What a calibration run found: its record, one-line summaries, and saving it as rows plus a JSON log."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ecolint.measure.calibration_file import ConfigResult, gpu_key, make_rows, write_rows
from ecolint.measure.calibration_plan import Protocol


@dataclass
class Calibration:
    started_at: str
    gpu: dict
    driver: str | None
    software: dict
    protocol: dict
    results: list = field(default_factory=list)  # ConfigResult
    skipped: list = field(default_factory=list)
    log: list = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["results"] = [r.as_dict() for r in self.results]
        return data


def software_text(versions: dict, driver: str | None, cuda: str | None) -> str:
    parts = []
    for name in ("torch",):
        if versions.get(name):
            parts.append(f"{name}={versions[name]}")
    if cuda:
        parts.append(f"cuda={cuda}")
    for name in ("transformers", "bitsandbytes"):
        if versions.get(name):
            parts.append(f"{name}={versions[name]}")
    if driver:
        parts.append(f"driver={driver}")
    return "; ".join(parts)


def describe_result(result: ConfigResult) -> str:
    energy = result.energy_per_1k()
    net = result.net_energy_per_1k()
    throughput = result.throughput()
    power = result.power()
    parts = [f"{result.architecture:<15} {result.precision:<17} bs={result.batch_size:<3}"]
    if energy is not None:
        cv = f" cv {energy.cv_pct:.1f}%" if energy.cv_pct is not None else ""
        parts.append(f"{energy.mean:9.1f} J/1k{cv}")
    if net is not None:
        parts.append(f"net {net.mean:8.1f} J/1k")
    if throughput is not None:
        parts.append(f"{throughput.mean:8.1f} tok/s")
    if power is not None:
        parts.append(f"{power.mean:6.1f} W")
    if result.idle_w is not None:
        parts.append(f"idle {result.idle_w:5.1f} W")
    return "  ".join(parts)


def calibration_rows(
    calibration: Calibration,
    *,
    source_file: str,
    experiment: str,
    row_prefix: str,
    protocol: Protocol,
    first_number: int = 1,
):
    gpu = calibration.gpu
    software = software_text(
        calibration.software, calibration.driver, calibration.software.get("cuda")
    )
    return make_rows(
        calibration.results,
        gpu=gpu_key(gpu["name"]),
        gpu_architecture=gpu["architecture"],
        gpu_name=gpu["name"],
        software=software,
        date=calibration.started_at[:10],
        source_file=source_file,
        experiment=experiment,
        protocol_note=protocol.note(),
        row_prefix=row_prefix,
        first_number=first_number,
    )


def save(
    calibration: Calibration,
    csv_path,
    log_path,
    *,
    source_file,
    experiment,
    row_prefix,
    protocol,
    first_number: int = 1,
) -> list[dict]:
    rows = calibration_rows(
        calibration,
        source_file=source_file,
        experiment=experiment,
        row_prefix=row_prefix,
        protocol=protocol,
        first_number=first_number,
    )
    write_rows(rows, csv_path)
    if log_path:
        with open(log_path, "w", encoding="utf-8") as handle:
            json.dump(calibration.as_dict(), handle, indent=1, default=str)
            handle.write("\n")
    return rows
