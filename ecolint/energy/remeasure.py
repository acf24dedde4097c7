"""How far a measured row is from what measuring it again finds: the bands shown with measured figures.

``remeasurements.csv`` lists pairs of rows that measured the same GPU, model, precision and batch size
on another day or another host (``kind`` day/host), or with other prompt and generation lengths
(``kind`` length). For every pair, the second row's energy per generated token is compared with the
first row's carried to the second's lengths by the estimator's own adjustment (decode model, and the
prefill term for the prompt), so a pair at equal lengths is compared as measured:

- the **band** of a measured row is the largest such difference among the pairs on its GPU (on a GPU
  without pairs, the largest on any GPU); it replaces the run-to-run standard deviation when wider;
- the **adjustment error** of a row used at other lengths is the largest difference among the
  ``length`` pairs (which include day-to-day differences: the data has no same-day pair of lengths).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ecolint.energy.architectures import find_architecture
from ecolint.energy.curation import gross_energy_j_per_1k
from ecolint.energy.dataset import Measurement, gpus, measurements
from ecolint.energy.workload import Workload


@dataclass(frozen=True)
class Pair:
    row: str
    again: str
    kind: str
    note: str
    energy: float  # second row / first row adjusted to its lengths, minus 1
    throughput: float


@dataclass(frozen=True)
class Spread:
    value: float
    pairs: tuple[Pair, ...]
    on_gpu: bool = True  # False: the GPU has no pair, these are every GPU's

    def rows(self) -> str:
        return ", ".join(f"{p.row}/{p.again}" for p in self.pairs)


def _workload(m: Measurement, quantization: str) -> Workload | None:
    from ecolint.energy.training_rows import DEFAULT_PROMPT_TOKENS

    arch, gpu = find_architecture(m.model_id), gpus().get(m.gpu)
    if arch is None or gpu is None or not m.batch_size:
        return None
    prompt = (m.raw or {}).get("input_tokens")
    return Workload(gpu, arch, quantization, m.batch_size, int(float(prompt)) if prompt else DEFAULT_PROMPT_TOKENS,
                    m.output_tokens or 256)


def length_factor(model, at: Workload, to: Workload) -> tuple[float, float]:
    """Energy-per-generated-token and throughput factors that carry a row at ``at`` to ``to``'s lengths."""
    from ecolint.energy.prefill import prefill_model

    prefill = prefill_model()

    def energy(w: Workload) -> float:
        prompt = prefill.joules(w.arch.params_b, w.input_tokens, w.batch_size, w.quantization)
        return model.predict(w).energy / 1000.0 + prompt / w.output_tokens

    return energy(to) / energy(at), model.predict(to).throughput / model.predict(at).throughput


@lru_cache(maxsize=1)
def pairs() -> tuple[Pair, ...]:
    from ecolint.energy.decode_model import fit_model
    from ecolint.energy.training_rows import dataset_training_rows

    rows = measurements()
    model = fit_model(dataset_training_rows())
    found = []
    with resources.files("ecolint.energy.data").joinpath("remeasurements.csv").open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            first, second = rows[record["row"]], rows[record["again"]]
            at, to = _workload(first, record["as"]), _workload(second, record["as"])
            e_factor, t_factor = length_factor(model, at, to)
            found.append(Pair(
                first.row_id, second.row_id, record["kind"], record["note"],
                gross_energy_j_per_1k(second) / (gross_energy_j_per_1k(first) * e_factor) - 1.0,
                second.throughput_tok_s / (first.throughput_tok_s * t_factor) - 1.0,
            ))
    return tuple(found)


def _largest(chosen: list[Pair], metric: str, on_gpu: bool = True) -> Spread:
    worst = max(abs(getattr(p, metric)) for p in chosen)
    return Spread(worst, tuple(chosen), on_gpu)


def band(gpu_key: str, metric: str = "energy") -> Spread:
    """The largest re-measurement difference on this GPU (any GPU's when it has none)."""
    on_gpu = [p for p in pairs() if measurements()[p.row].gpu == gpu_key]
    return _largest(on_gpu, metric) if on_gpu else _largest(list(pairs()), metric, on_gpu=False)


def adjustment_error(metric: str = "energy") -> Spread:
    return _largest([p for p in pairs() if p.kind == "length"], metric)
