"""bitsandbytes keywords as the fixes see them: the load flags and the options that belong to a quantization config."""

from __future__ import annotations

from ecolint.analysis.facts import LOAD_KEYWORDS

BNB_PREFIXES = ("bnb_4bit_", "llm_int8_")


def is_bnb_keyword(name: str | None) -> bool:
    return name is not None and (name in LOAD_KEYWORDS or name.startswith(BNB_PREFIXES))
