"""Energy measured on the user's own GPU through NVML: ``ecolint measure`` and ``ecolint calibrate``.

For in-process use::

    from ecolint.measure import measure_energy, report_tokens

    with measure_energy(idle_seconds=3, sync=torch.cuda.synchronize) as m:
        out = model.generate(**inputs, max_new_tokens=256)
        report_tokens(out.shape[0] * 256)
    print(m.result.j_per_1k_tokens)

A program run under ``ecolint measure`` reports its token count with ``report_tokens(n)`` or by
printing a line ``ECOLINT_TOKENS=<n>``.
"""

from ecolint.measure.meter import Window, measure_energy
from ecolint.measure.nvml import NvmlUnavailable
from ecolint.measure.tokens import TOKENS_FILE_ENV, parse_tokens_line, report_tokens

__all__ = [
    "NvmlUnavailable",
    "TOKENS_FILE_ENV",
    "Window",
    "measure_energy",
    "parse_tokens_line",
    "report_tokens",
]
