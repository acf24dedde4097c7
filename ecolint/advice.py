"""Advice texts, one per topic: rule messages, rule docs, fixes, the audit report and the advisor
quote them from here, so that they say the same thing in the same order.

Rule files name a topic as ``{advice:TOPIC}``; ``expand`` replaces it when the rule is loaded.
"""

from __future__ import annotations

import re

# 8-bit loading with bitsandbytes: the order of choices, then the risk of the last one.
EIGHT_BIT_ORDER = "Load in FP16/BF16 when the weights fit, then NF4 when memory is short"
THRESHOLD_ZERO = "only if 8-bit is required, set llm_int8_threshold=0.0"
THRESHOLD_ZERO_RISK = (
    "threshold 0.0 risks output quality: the mixed-precision path exists for outlier features, which grow "
    "with model size, and bitsandbytes does not recommend 0.0 for quality-sensitive work; validate outputs "
    "on your task"
)
EIGHT_BIT_TITLE = "Prefer FP16/BF16 (weights fit), then NF4; only then set llm_int8_threshold=0.0 (quality risk)"


def eight_bit(saving: str = "") -> str:
    """The 8-bit advice in its order; ``saving`` (e.g. ``" (saves 32% ...)"``) follows threshold 0.0."""
    return f"{EIGHT_BIT_ORDER}; {THRESHOLD_ZERO}{saving}, but {THRESHOLD_ZERO_RISK}."


TOPICS = {
    "int8-default": eight_bit(),
    "int8-default-title": EIGHT_BIT_TITLE,
    "threshold-zero-risk": f"{THRESHOLD_ZERO_RISK[0].upper()}{THRESHOLD_ZERO_RISK[1:]}.",
}

_TOKEN = re.compile(r"\{advice:([\w-]+)\}")


def expand(text: str) -> str:
    """``text`` with every ``{advice:TOPIC}`` replaced by that topic's text; an unknown topic raises KeyError."""

    def topic(found: re.Match) -> str:
        name = found.group(1)
        if name not in TOPICS:
            raise KeyError(f"unknown advice topic {name!r}; known: {', '.join(TOPICS)}")
        return TOPICS[name]

    return _TOKEN.sub(topic, text)


def expand_all(value):
    """``expand`` applied to every string inside a rule file's data (dicts and lists walked)."""
    if isinstance(value, str):
        return expand(value) if "{advice:" in value else value
    if isinstance(value, dict):
        return {key: expand_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_all(item) for item in value]
    return value
