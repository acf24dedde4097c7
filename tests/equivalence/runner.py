"""Run a script's original and fixed text against a tiny model and compare what they generated."""

from __future__ import annotations

from pathlib import Path


def run_script(source: str, model_dir: Path, result: str = "results"):
    """Execute ``source`` as ``__main__`` with ``MODEL_DIR`` set to the model's folder; return its ``result``.

    The script loads the model itself (``from_pretrained(MODEL_DIR)``), so the original and the
    fixed text each start from the same saved weights and a tokenizer in its saved state.
    """
    namespace = {"__name__": "__main__", "MODEL_DIR": str(model_dir)}
    exec(compile(source, "<script>", "exec"), namespace)  # noqa: S102  (the test's own scripts)
    if result not in namespace:
        raise AssertionError(f"the script did not define {result!r}")
    return namespace[result]


def fixed_by_ecolint(source: str, codes: tuple[str, ...] = ("LLM201",), batch_size: int = 8) -> str:
    """The text ``ecolint check --fix --unsafe-fixes --select CODES --fix-batch-size N`` writes for ``source``."""
    from ecolint.config import select_codes
    from ecolint.engine import LintOptions
    from ecolint.fixes import fix_source

    options = LintOptions(select_codes(list(codes), [], []), fix_batch_size=batch_size)
    outcome = fix_source(source, "script.py", options, True)
    assert outcome.converged, outcome.error
    return outcome.source


def assert_same_generations(before, after, tokenizer=None) -> None:
    """Equal results, token for token: texts are compared as the tokenizer's token sequences too."""
    assert type(before) is type(after), f"{type(before).__name__} became {type(after).__name__}"
    if isinstance(before, dict):
        assert before.keys() == after.keys()
        pairs = [(before[key], after[key]) for key in before]
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after), f"{len(before)} results became {len(after)}"
        pairs = list(zip(before, after))
    else:
        pairs = [(before, after)]
    for index, (old, new) in enumerate(pairs):
        if isinstance(old, (list, tuple, dict)):
            assert_same_generations(old, new, tokenizer)
            continue
        if tokenizer is not None and isinstance(old, str) and isinstance(new, str):
            old_tokens = tokenizer(old, add_special_tokens=False)["input_ids"]
            new_tokens = tokenizer(new, add_special_tokens=False)["input_ids"]
            assert old_tokens == new_tokens, f"result {index}: tokens {old_tokens} became {new_tokens}"
        assert old == new, f"result {index}: {old!r} became {new!r}"
