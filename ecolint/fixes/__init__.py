"""Automatic fixes: codemods that never break or lose code.

Fixes follow Ruff's safety model: a *safe* fix keeps what the code does, an *unsafe* one may
change it (numerics, memory use) and is applied only with ``--unsafe-fixes``. Each fix is a set
of text edits of the original source, so every byte a fix does not touch stays as it was.

The entry point for editors, notebooks and pre-commit is :func:`fix_source`::

    result = fix_source(source, "model.py", options, unsafe=False)
    result.source, result.fixed, result.remaining, result.converged

One module per family of fixes (``quantization``, ``generation``, ``precision``) registers its
fixers in ``registry.FIXERS`` by rule code; ``writer`` writes fixed files to disk safely.
"""

from __future__ import annotations

__all__ = ["FixPolicy", "FixResult", "MAX_PASSES", "fix_source", "fix_with_policy"]


def __getattr__(name: str):
    """The fix loop is loaded on first use: the engine imports the fixers (``registry``) without it,
    so ``engine -> fixes.registry`` and ``fixes.apply -> engine`` form no import cycle."""
    if name in __all__:
        from ecolint.fixes import apply

        return getattr(apply, name)
    raise AttributeError(f"module 'ecolint.fixes' has no attribute {name!r}")
