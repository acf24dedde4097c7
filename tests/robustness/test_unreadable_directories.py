"""A directory that cannot be read is one E902; the run goes on and every other file keeps its findings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import run_cli
from robusthelpers import GOOD, good_findings_in, run_ecolint, write

from ecolint import discovery

DENIED = PermissionError(13, "Permission denied")


def lines_of(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{name}:")]


def test_a_directory_that_cannot_be_listed_is_e902(project, monkeypatch):
    write(project, "good.py", GOOD)
    write(project, "locked/hidden.py", GOOD)
    scandir = os.scandir

    def refusing(path):
        if Path(path).name == "locked":
            raise DENIED
        return scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", refusing)
    result = run_cli("check", "--no-cache", ".")
    assert lines_of(result.stdout, "locked") == ["locked:1:1: E902 cannot read directory: Permission denied"]
    assert good_findings_in(result.stdout)
    assert "hidden.py" not in result.stdout
    assert result.exit_code == 1


def test_a_directory_whose_entries_cannot_be_looked_at_is_e902(project, monkeypatch):
    """Looking for ``pyvenv.cfg`` (a virtual environment) in a folder that refuses it: the folder is E902."""
    write(project, "good.py", GOOD)
    write(project, "proc/x.py", GOOD)
    exists = Path.exists

    def refusing(path):
        if path.name == "pyvenv.cfg" and path.parent.name == "proc":
            raise DENIED
        return exists(path)

    monkeypatch.setattr(Path, "exists", refusing)
    result = run_cli("check", "--no-cache", ".")
    assert lines_of(result.stdout, "proc") == ["proc:1:1: E902 cannot read directory: Permission denied"]
    assert good_findings_in(result.stdout)
    assert "internal error" not in result.stdout + result.stderr


def test_a_named_path_that_cannot_be_looked_at_is_e902(project, monkeypatch):
    write(project, "good.py", GOOD)
    is_dir = Path.is_dir

    def refusing(path):
        if path.name == "secret":
            raise DENIED
        return is_dir(path)

    monkeypatch.setattr(Path, "is_dir", refusing)
    result = run_cli("check", "--no-cache", "secret", "good.py")
    assert lines_of(result.stdout, "secret") == ["secret:1:1: E902 cannot read: Permission denied"]
    assert good_findings_in(result.stdout)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads a mode 000 folder")
def test_a_mode_000_directory_is_e902(project):
    write(project, "good.py", GOOD)
    locked = write(project, "locked/hidden.py", GOOD).parent
    locked.chmod(0)
    try:
        result = run_ecolint("check", "--no-cache", ".", cwd=project, timeout=60)
    finally:
        locked.chmod(0o755)
    out = result.stdout.decode()
    assert lines_of(out, "locked") == ["locked:1:1: E902 cannot read directory: Permission denied"]
    assert good_findings_in(out) and result.returncode == 1


@pytest.mark.skipif(not os.path.isdir("/proc/1/task"), reason="needs Linux /proc")
def test_a_link_to_a_process_folder_named_on_the_command_line_is_walked_without_stopping_the_run(project):
    """/proc/PID holds folders nobody may list (as root too: ``fdinfo`` of other tasks, ``map_files``)."""
    write(project, "good.py", GOOD)
    os.symlink("/proc/1", project / "p1")
    result = run_ecolint("check", "--no-cache", "p1", "good.py", cwd=project, timeout=120)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1, err
    assert "internal error" not in out + err and "Traceback" not in err
    assert good_findings_in(out)
    assert all(" E902 cannot read" in line for line in out.splitlines() if line.startswith("p1/"))
