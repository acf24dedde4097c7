"""Add the fp32 prefill/scoring rows (``practices.py --sections fp32``) to the shipped data.

    python scripts/add_fp32_rows.py [--data DIR] ROWS.csv [ROWS.csv ...]

The rows (``f001``..., in the columns of ``measurements.csv``) go to
``ecolint/energy/data/hopper_fp32.csv`` (rows with the same id are replaced) and each gets a line in
``curation.csv``: excluded from the estimator's decode fit (a prefill or a scoring pass is not a decode
step), kept for rules LLM303/LLM306 and the prefill term. Nothing else changes: the penalty groups and
the FP32 prefill factor find the rows by their precision.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).resolve().parents[1] / "ecolint" / "energy" / "data"
PRECISIONS = {f"{p}_{kind}" for p in ("fp32", "fp32_tf32", "fp16", "bf16") for kind in ("prefill", "score")}
REASON = ("fp32 experiment on {gpu} (docs/measurements/practices.py --sections fp32): a {kind} pass over "
          "{tokens}-token texts at batch {batch} in {precision}, energy per processed token; a configuration the "
          "estimator's decode fit does not model, kept for rule penalties (LLM303, LLM306) and the FP32 prefill "
          "factor")


def _fp32_reason(row: dict) -> str:
    precision, kind = row["precision"].rsplit("_", 1)
    return REASON.format(gpu=row["gpu"], kind="scoring" if kind == "score" else kind, tokens=row["input_tokens"],
                         batch=row["batch_size"], precision=precision)


class Section(NamedTuple):
    """The rows of one section of the practice measurements: their table, ids, precisions and curation line."""

    table: str
    row_id: str  # a regular expression
    precisions: frozenset[str]
    reason: Callable[[dict], str]


FP32 = Section("hopper_fp32.csv", r"f\d{3}", frozenset(PRECISIONS), _fp32_reason)


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(path)


def main(paths: list[str], data: Path = DATA, section: Section = FP32) -> int:
    header, shipped = _read(data / section.table)
    expected, _ = _read(data / "measurements.csv")
    if header != expected:
        print(f"{section.table} does not have the columns of measurements.csv", file=sys.stderr)
        return 2
    new: dict[str, dict] = {}
    for path in paths:
        columns, rows = _read(Path(path))
        missing = [c for c in expected if c not in columns]
        if missing:
            print(f"{path}: missing columns {', '.join(missing)}", file=sys.stderr)
            return 2
        for row in rows:
            if not re.fullmatch(section.row_id, row["row_id"]) or row["precision"] not in section.precisions:
                print(f"{path}: row {row['row_id']} ({row['precision']}) is not a row of {section.table}",
                      file=sys.stderr)
                return 2
            new[row["row_id"]] = {c: row[c] for c in expected}
    kept = [row for row in shipped if row["row_id"] not in new]
    _write(data / section.table, expected, sorted(kept + list(new.values()), key=lambda r: r["row_id"]))
    _, curation = _read(data / "curation.csv")
    listed = {row["row_id"] for row in curation}
    lines = io.StringIO()
    writer = csv.writer(lines, lineterminator="\n")
    for row in sorted(new.values(), key=lambda r: r["row_id"]):
        if row["row_id"] in listed:
            continue
        writer.writerow([row["row_id"], "excluded", "gross", section.reason(row)])
    with (data / "curation.csv").open("a", encoding="utf-8") as handle:  # appended: existing lines unchanged
        handle.write(lines.getvalue())
    print(f"added {len(new)} rows to {section.table} and curation.csv")
    return 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--data"]:
        sys.exit(main(arguments[2:], Path(arguments[1])))
    sys.exit(main(arguments))
