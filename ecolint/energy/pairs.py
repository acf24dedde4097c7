"""Pairs of rows measured in one run that differ only in what a selection names (``select`` groups)."""

from __future__ import annotations

from collections.abc import Callable

from ecolint.energy.dataset import Measurement


def _matches(row: Measurement, wanted: dict) -> bool:
    return all(str(getattr(row, key)) == str(value) for key, value in wanted.items())


def _same_run(a: Measurement, b: Measurement) -> bool:
    prompt = (a.raw or {}).get("input_tokens"), (b.raw or {}).get("input_tokens")
    same = (a.gpu, a.model_id, a.batch_size, a.experiment) == (b.gpu, b.model_id, b.batch_size, b.experiment)
    return same and prompt[0] == prompt[1]


def same_run_pairs(
    select: dict, rows: dict[str, Measurement], figure: Callable[[Measurement], float | None]
) -> list[tuple[Measurement, Measurement]]:
    """Each row matching ``select["row"]`` with the row matching ``select["baseline"]`` of the same GPU,
    model, batch size, prompt length and experiment, both with a ``figure``; in row order."""
    found = []
    for row in rows.values():
        if not _matches(row, select["row"]) or not figure(row):
            continue
        for base in rows.values():
            if base is not row and _matches(base, select["baseline"]) and figure(base) and _same_run(row, base):
                found.append((row, base))
    return sorted(found, key=lambda pair: pair[0].row_id)
