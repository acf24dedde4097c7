"""The advisor states only what its rows support: each behaviour below was once printed wrongly."""

from __future__ import annotations

import re
from pathlib import Path

from ecolint.energy.dataset import GPU_ALIASES, NEAR_MISSES, resolve_gpu

DOCS = Path(__file__).resolve().parents[2] / "docs"


# --- GPU aliases: every alias promised works and names one card; `4090` is not promised


def test_every_alias_in_the_help_resolves_to_exactly_its_card(advisor):
    help_text = " ".join(advisor("estimate", "--help").stdout.split())
    promised = re.search(r"aliases: ([^;]+);", help_text).group(1).split(", ")
    assert promised == list(GPU_ALIASES)
    for alias in promised:
        assert resolve_gpu(alias).key == GPU_ALIASES[alias]
        assert alias not in NEAR_MISSES


def test_docs_promise_only_aliases_that_work(advisor):
    text = (DOCS / "advisor.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `--gpu`"))
    promised = re.search(r"Aliases (.*?), each naming", row).group(1)
    for alias in re.findall(r"`([^`]+)`", promised):
        assert advisor("estimate", "-m", "7B", "-g", alias).exit_code == 0, alias
    assert "--gpu 4090 " not in text


def test_the_plain_4090_is_refused_in_one_line(advisor):
    run = advisor("estimate", "-m", "7B", "-g", "4090")
    assert run.exit_code == 2
    assert "not in the data" in run.stderr and len(run.stderr.strip().splitlines()) == 1
