"""Add the repeats rows (``practices.py --sections repeats``) to the shipped data.

    python scripts/add_repeat_rows.py [--data DIR] ROWS.csv [ROWS.csv ...]

The rows (``r001``..., in the columns of ``measurements.csv``) go to
``ecolint/energy/data/hopper_repeats.csv`` (rows with the same id are replaced) and each gets a line in
``curation.csv``: excluded from the estimator's decode fit (a second copy of the weights or a generation
run twice, N samples of one prompt are not configurations it models), kept for rules LLM205, LLM206 and
LLM207, whose penalty groups name the rows.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("add_fp32_rows", Path(__file__).with_name("add_fp32_rows.py"))
_rows = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_rows)

PRECISIONS = frozenset(f"bf16_{case}" for case in (
    "one_copy", "two_copies", "generate_once", "generate_twice",
    *(f"{kind}_{n}{suffix}" for n in (4, 8) for kind, suffix in (("num_return_sequences", ""), ("loop", "_calls"))),
))
REASON = ("repeats experiment on {gpu} (docs/measurements/practices.py --sections repeats): {precision} at batch "
          "{batch}, {tokens} prompt and {output} new tokens; a configuration the estimator's decode fit does not "
          "model, kept for rule penalties (LLM205, LLM206, LLM207)")


def _reason(row: dict) -> str:
    return REASON.format(gpu=row["gpu"], precision=row["precision"], batch=row["batch_size"],
                         tokens=row["input_tokens"], output=row["output_tokens"])


REPEATS = _rows.Section("hopper_repeats.csv", r"r\d{3}", PRECISIONS, _reason)


def main(paths: list[str], data: Path = _rows.DATA) -> int:
    return _rows.main(paths, data, REPEATS)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--data"]:
        sys.exit(main(arguments[2:], Path(arguments[1])))
    sys.exit(main(arguments))
