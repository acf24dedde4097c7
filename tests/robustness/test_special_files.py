"""FIFOs, devices, symbolic link loops and NUL bytes: one E902 each, no hang, the run goes on."""

from __future__ import annotations

import os

import pytest
from robusthelpers import GOOD, good_findings_in, run_ecolint, write

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def e902(output: str, name: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(f"{name}:")]
    assert len(lines) == 1, output
    assert " E902 " in lines[0], lines[0]
    return lines[0]


def special(project, kind: str) -> str:
    if kind == "fifo":
        os.mkfifo(project / "x.py")
    else:
        os.symlink({"null": "/dev/null", "zero": "/dev/zero"}[kind], project / "x.py")
    return "x.py"


@needs_fifo
@pytest.mark.parametrize("kind", ["fifo", "null", "zero"])
@pytest.mark.parametrize("mode", [(), ("--fix",)])
@pytest.mark.parametrize("named", [True, False], ids=["named", "discovered"])
def test_special_file_is_not_a_regular_file(project, kind, mode, named):
    name = special(project, kind)
    write(project, "good.py", GOOD)
    targets = [name, "good.py"] if named else ["."]
    result = run_ecolint("check", "--no-cache", *mode, *targets, cwd=project, timeout=60)
    out = result.stdout.decode()
    assert e902(out, name).endswith("E902 not a regular file")
    assert ("good.py:2:" in out) if mode else good_findings_in(out)


@pytest.mark.parametrize("named", [True, False], ids=["named", "discovered"])
def test_symlink_loop_is_reported_as_a_loop(project, named):
    os.symlink("b.py", project / "a.py")
    os.symlink("a.py", project / "b.py")
    os.symlink("missing.py", project / "dangling.py")
    write(project, "good.py", GOOD)
    targets = ["a.py", "dangling.py", "good.py"] if named else ["."]
    out = run_ecolint("check", "--no-cache", *targets, cwd=project, timeout=60).stdout.decode()
    assert e902(out, "a.py").endswith("E902 symbolic link loop")
    assert "broken symbolic link" in e902(out, "dangling.py")
    assert good_findings_in(out)


@pytest.mark.parametrize("data", [b"import torch\x00\n", b"\xff\xfe not utf-8\n"], ids=["nul", "bad-utf8"])
def test_stdin_that_is_not_source_gets_the_same_diagnostic_with_and_without_fix(project, data):
    checked = run_ecolint("check", "--no-cache", "-", cwd=project, stdin=data, timeout=60)
    fixed = run_ecolint("check", "--no-cache", "--fix", "-", cwd=project, stdin=data, timeout=60)
    assert checked.returncode == fixed.returncode == 1, (checked.stderr, fixed.stderr)
    check_line = e902(checked.stdout.decode(), "-")
    assert check_line == e902(fixed.stderr.decode(), "-")  # with --fix, stdout holds the text
    assert fixed.stdout == data  # an editor gets its text back unchanged
