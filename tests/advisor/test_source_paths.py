"""Every path that SOURCES.md, the rules' penalty text and the advisor print can be opened by someone
who installed the package: it is inside the package, a URL, or (in SOURCES.md's upstream part) a file
of the upstream repository at the commit named at the top."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from ecolint.rules import all_rules

PATH = re.compile(r"(?<![\w/:.-])((?:[\w.-]+/)*[\w.*{},-]+\.(?:md|csv|json|py|yaml|ts|tsx))(?![\w/])")
URL = re.compile(r"https?://\S+")
PACKAGE = resources.files("ecolint")
DATA = resources.files("ecolint.energy.data")


def _paths(text: str) -> list[str]:
    # a bare "config.json" is always a named model's file (its id is given beside it), not a path here
    return [p for p in PATH.findall(URL.sub(" ", text)) if not p.startswith(".") and p != "config.json"]


def _in_package(path: str) -> bool:
    if path.startswith("ecolint/"):
        return PACKAGE.joinpath(path.split("/", 1)[1]).is_file()
    return "/" not in path and DATA.joinpath(path).is_file()


def _sources_md() -> str:
    return DATA.joinpath("SOURCES.md").read_text(encoding="utf-8")


def test_sources_md_names_the_upstream_repository_and_commit():
    head = _sources_md().split("\n## ", 1)[0]
    assert re.search(r"\*\*[\w.-]+/[\w.-]+\*\*, commit\s+`[0-9a-f]{40}`", head)
    assert "Every path below is a path inside that repository" in head


def test_paths_in_ecolints_own_part_of_sources_md_are_in_the_package():
    own = _sources_md().split("## Hopper rows", 1)[1]
    paths = _paths(own)
    assert paths, "the section names its files"
    assert [p for p in paths if not _in_package(p)] == []


def test_files_of_this_folder_named_in_sources_md_exist():
    shipped = [p for p in _paths(_sources_md()) if "/" not in p and p.endswith(".csv")]
    assert "measurements.csv" in shipped
    upstream_copies = {"a800_mistral7b_pure_int8_batch_size_raw_20260215_131345.csv"}
    assert [p for p in shipped if p not in upstream_copies and not _in_package(p)] == []


def _rule_texts():
    for rule in all_rules().values():
        penalty = rule.penalty
        texts = [rule.message, getattr(penalty, "note", "") or "", getattr(penalty, "unit", "") or ""]
        yield rule.code, "\n".join(t for t in texts if isinstance(t, str))


@pytest.mark.parametrize("code, text", list(_rule_texts()))
def test_paths_in_rule_messages_and_penalties_are_in_the_package(code, text):
    assert [p for p in _paths(text) if not _in_package(p)] == []


def test_paths_printed_by_the_advisor_are_in_the_package_or_urls(advisor):
    out = advisor("estimate", "-m", "Mistral-7B", "-g", "h200").stdout
    out += advisor("estimate", "-m", "Mistral-7B", "-g", "rtx4090d").stdout
    out += advisor("data").stdout
    found = _paths(out)
    assert "ecolint/energy/data/hopper_h200.csv" in found
    assert [p for p in found if not _in_package(p)] == []
