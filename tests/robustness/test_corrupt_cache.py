"""A cache of the wrong shape is a miss and is written anew; a cache folder that cannot be used is
reported once and the run goes on without it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_helpers import run_cli
from robusthelpers import GOOD, good_findings_in, run_ecolint, write


def cache_file(folder: Path) -> Path:
    files = list(folder.glob("*/*.json"))
    assert len(files) == 1, files
    return files[0]


def first_run(project: Path) -> tuple[Path, str]:
    write(project, "good.py", GOOD)
    result = run_cli("check", "--cache-dir", "cache", "good.py")
    assert good_findings_in(result.stdout)
    return cache_file(project / "cache"), str((project / "good.py").absolute())


def assert_rewritten(stored: Path, key: str) -> None:
    entry = json.loads(stored.read_text(encoding="utf-8"))[key]
    report = entry[2]
    assert {d["code"] for d in report["diagnostics"]} == {"LLM101", "LLM106"}


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("content", ["5", "[1, 2, 3]", '"text"', "null", DEEP, "{not json"])
def test_a_cache_file_of_the_wrong_shape_is_a_miss(project, content):
    stored, key = first_run(project)
    stored.write_text(content, encoding="utf-8")
    result = run_cli("check", "--cache-dir", "cache", "good.py")
    assert result.exit_code == 1 and good_findings_in(result.stdout), result.stderr
    assert_rewritten(stored, key)


def _broken_entries(entry: list) -> dict[str, object]:
    stamp, digest, report = entry
    diagnostic = report["diagnostics"][0]

    def with_diagnostic(**changes):
        changed = {k: v for k, v in diagnostic.items() if changes.get(k, "") is not None}
        changed.update({k: v for k, v in changes.items() if v is not None})
        return [stamp, digest, dict(report, diagnostics=[changed])]

    return {
        "number": 5,
        "list of ints": [1, 2, 3],
        "report is a list": [stamp, digest, [1, 2]],
        "missing code": with_diagnostic(code=None),
        "location with an extra key": with_diagnostic(location={"row": 1, "column": 1, "cell": 2}),
        "location of strings": with_diagnostic(location={"row": "1", "column": "1"}),
        "fix is a number": with_diagnostic(fix=5),
        "penalty is a list": with_diagnostic(penalty=[1]),
        "evidence is a number": with_diagnostic(evidence=3),
        "deep nesting": [stamp, digest, dict(report, diagnostics=json.loads("[" * 500 + "]" * 500))],
        "practices of the wrong shape": [stamp, digest, dict(report, practices=[[1, 2]])],
        "uses of the wrong shape": [stamp, digest, dict(report, uses={"x": 1})],
        # the right shape, values linting cannot give
        "negative row": with_diagnostic(location={"row": -5, "column": 1}),
        "row as a float": with_diagnostic(location={"row": 1e30, "column": 1}),
        "row past the end of the file": with_diagnostic(location={"row": 10**30, "column": 1}),
        "end before the start": with_diagnostic(end_location={"row": 1, "column": 1},
                                                location={"row": 2, "column": 1}),
        "column zero": with_diagnostic(location={"row": 1, "column": 0}),
        "unknown code": with_diagnostic(code="LLM999"),
        "name of another rule": with_diagnostic(name="use-cache-off"),
        "unknown severity": with_diagnostic(severity="catastrophic"),
        "cell zero": with_diagnostic(cell=0),
        "fix without edits": with_diagnostic(fix={"applicability": "safe", "message": "m", "edits": []}),
        "fix of unknown applicability": with_diagnostic(fix={"applicability": "always", "message": "m", "edits": [
            {"content": "", "location": {"row": 1, "column": 1}, "end_location": {"row": 1, "column": 1}}]}),
        "fix edit past the end": with_diagnostic(fix={"applicability": "safe", "message": "m", "edits": [
            {"content": "", "location": {"row": 1, "column": 1}, "end_location": {"row": 10**6, "column": 1}}]}),
        "evidence of numbers": with_diagnostic(evidence=[1, 2]),
        "practice at row zero": [stamp, digest, dict(report, practices=[[0, None, "text"]])],
    }


BROKEN = sorted(_broken_entries([[0, 0], "", {"diagnostics": [{"code": "LLM101"}]}]))


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("mode", [(), ("--fix",)])
def test_a_cache_entry_of_the_wrong_shape_is_a_miss_and_is_rewritten(project, case, mode):
    stored, key = first_run(project)
    entries = json.loads(stored.read_text(encoding="utf-8"))
    entries[key] = _broken_entries(entries[key])[case]
    entries["/elsewhere/junk.py"] = {"junk": True}
    stored.write_text(json.dumps(entries), encoding="utf-8")
    result = run_cli("check", "--cache-dir", "cache", *mode, "good.py")
    assert "internal error" not in result.stderr
    if mode:
        assert "good.py:2:" in result.stdout and " LLM101 " in result.stdout, result.stdout
    else:
        assert good_findings_in(result.stdout), result.stdout
        assert_rewritten(stored, key)
    assert "/elsewhere/junk.py" not in json.loads(stored.read_text(encoding="utf-8"))


def test_a_cache_dir_below_a_file_warns_once_and_the_run_goes_on(project):
    write(project, "good.py", GOOD)
    write(project, "blocker", "a file where the cache folder would go")
    for mode in [(), ("--fix",)]:
        result = run_cli("check", "--cache-dir", "blocker/cache", *mode, "good.py")
        assert result.stderr.count("warning: cannot use the cache in") == 1, result.stderr
        assert "running without the cache" in result.stderr
        assert "good.py:2:" in result.stdout and " LLM101 " in result.stdout


def test_a_cache_file_that_is_a_folder_warns_and_the_run_goes_on(project):
    stored, _ = first_run(project)
    stored.unlink()
    stored.mkdir()
    result = run_cli("check", "--cache-dir", "cache", "good.py")
    assert result.stderr.count("warning: cannot use the cache in") == 1, result.stderr
    assert good_findings_in(result.stdout)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_cache_file_that_is_a_fifo_does_not_hang_the_run(project):
    stored, _ = first_run(project)
    stored.unlink()
    os.mkfifo(stored)
    result = run_ecolint("check", "--cache-dir", "cache", "good.py", cwd=project, timeout=60)
    assert good_findings_in(result.stdout.decode()), result.stderr
    assert result.stderr.decode().count("warning: cannot use the cache in") == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_among_the_files_a_cache_entry_uses_is_a_miss(project):
    stored, key = first_run(project)
    os.mkfifo(project / "pipe")
    entries = json.loads(stored.read_text(encoding="utf-8"))
    entries[key][2]["uses"] = {str(project / "pipe"): "0" * 24}
    stored.write_text(json.dumps(entries), encoding="utf-8")
    result = run_ecolint("check", "--cache-dir", "cache", "good.py", cwd=project, timeout=60)
    assert good_findings_in(result.stdout.decode()), result.stderr
