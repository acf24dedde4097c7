"""``ecolint data``: the shipped measurements with their curation status and gross energy."""

from __future__ import annotations

from ecolint.advisor.common import num, source_reference
from ecolint.advisor.report import Bullets, Report, Table
from ecolint.advisor.validation import InputError, parse_gpu
from ecolint.energy.architectures import architecture_for_id
from ecolint.energy.curation import CuratedRow, curated_rows
from ecolint.energy.dataset import measurements

DATA_PRECISIONS = ("fp16", "bf16", "fp32", "nf4", "int8_default", "int8_pure", "fp8")


def _matches_model(row: CuratedRow, text: str) -> bool:
    needle = text.strip().lower()
    m = row.measurement
    names = [m.model_id, m.raw.get("model_label", "") if m.raw else ""]
    arch = architecture_for_id(m.model_id) if m.model_id else None
    if arch:
        names += [arch.key, *arch.names]
    return any(needle in n.lower() for n in names if n)


def select(
    gpu: str | None = None,
    model: str | None = None,
    precision: str | None = None,
    show_all: bool = False,
) -> list[CuratedRow]:
    gpu_key = parse_gpu(gpu)[0].key if gpu else None
    if precision and precision.strip().lower() not in DATA_PRECISIONS:
        raise InputError(f"--precision {precision!r} is not in the data. Valid: {', '.join(DATA_PRECISIONS)}.")
    wanted = precision.strip().lower() if precision else None
    found = []
    for row in curated_rows().values():
        m = row.measurement
        if not show_all and row.status != "canonical":
            continue
        if gpu_key and m.gpu != gpu_key:
            continue
        if wanted and m.precision != wanted:
            continue
        if model and not _matches_model(row, model):
            continue
        found.append(row)
    return found


def row_dict(row: CuratedRow) -> dict:
    m = row.measurement
    return {
        "row_id": row.row_id,
        "status": row.status,
        "status_reason": row.reason,
        "gpu": m.gpu,
        "model_id": m.model_id,
        "params_b": m.params_b,
        "precision": m.precision,
        "batch_size": m.batch_size,
        "output_tokens": m.output_tokens,
        "throughput_tok_s": m.throughput_tok_s,
        "power_w": m.power_w,
        "energy_j_per_1k_gross": row.gross_energy_j_per_1k if m.power_w and m.throughput_tok_s else None,
        "energy_j_per_1k_stated": m.energy_j_per_1k,
        "energy_basis_stated": row.energy_basis or None,
        "n_runs": m.n_runs,
        "experiment": m.experiment,
        "software": m.software,
        "date": m.date,
        "source_file": m.source_file,
        "source_table": m.source_table,
    }


def build(
    gpu: str | None = None,
    model: str | None = None,
    precision: str | None = None,
    show_all: bool = False,
) -> Report:
    rows = select(gpu, model, precision, show_all)
    filters = [f"{k}={v}" for k, v in (("gpu", gpu), ("model", model), ("precision", precision)) if v]
    scope = "all rows" if show_all else "canonical rows"
    report = Report(f"Measurements ({len(rows)} {scope}" + (f"; {', '.join(filters)}" if filters else "") + ")")
    table_rows = []
    for row in rows:
        m = row.measurement
        gross = row.gross_energy_j_per_1k if m.power_w and m.throughput_tok_s else None
        stated = m.energy_j_per_1k
        energy = num(gross) if gross is not None else (num(stated) + " (stated)" if stated is not None else "")
        if row.normalised and stated is not None:
            energy += f" (stated {num(stated)}, idle subtracted)"
        table_rows.append(
            [
                row.row_id,
                m.gpu,
                m.model_id or m.raw.get("model_label", ""),
                m.precision,
                str(m.batch_size or ""),
                num(m.throughput_tok_s) if m.throughput_tok_s else "",
                num(m.power_w) if m.power_w else "",
                energy,
                str(m.n_runs or ""),
                row.status if show_all else source_reference(m),
            ]
        )
    last = "Status" if show_all else "Source"
    report.section(
        "Rows",
        Table(
            ["Row", "GPU", "Model", "Precision", "BS", "tok/s", "W", "J/1k (gross)", "n", last],
            table_rows,
        ),
    )
    report.section(
        "Notes",
        Bullets(
            [
                "Energy is on the gross board-power basis: 1000 x W / (tok/s). "
                "Where the source subtracted idle power the "
                "stated value is shown beside it.",
                "Canonical rows are the experiment records; ecolint/energy/data/curation.csv gives every other status "
                "(`ecolint data --all --json` gives each row's reason).",
                f"{len(measurements())} rows in the data; "
                "source repository and conflicts: ecolint/energy/data/SOURCES.md.",
            ]
        ),
    )
    report.data = {
        "command": "data",
        "filters": {"gpu": gpu, "model": model, "precision": precision, "all": show_all},
        "count": len(rows),
        "rows": [row_dict(r) for r in rows],
    }
    return report
