"""Measurement data, model-size resolution and energy arithmetic shared by the linter and advisor."""


def __getattr__(name):
    # ``ecolint.energy.report_tokens`` / ``measure_energy``: the token-report API of ecolint.measure,
    # imported on first use so that the linter does not load it.
    if name in ("report_tokens", "measure_energy"):
        from ecolint import measure

        return getattr(measure, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
