"""What a killed run leaves: stale temporary files are removed by the next run (fix or check), and
workers die with the run instead of rewriting files on their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from cli_helpers import run_cli
from robusthelpers import GOOD, write


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_fix_removes_temporary_files_of_a_killed_run(project):
    write(project, "good.py", GOOD)
    stale = write(project, f".good.py.{dead_pid()}.k1ll3d00.ecolint-tmp", "half a file")
    live = write(project, f".good.py.{os.getppid()}.running0.ecolint-tmp", "another run is writing this")
    result = run_cli("check", "--no-cache", "--fix", ".")
    assert not stale.exists()
    assert live.exists()  # its process is still running
    assert f"removed {stale.name}, a temporary file left by an interrupted run" in result.stderr
    assert "good.py:2:" in result.stdout


def test_a_plain_check_also_removes_temporary_files_of_a_killed_run(project):
    write(project, "good.py", GOOD)
    stale = write(project, f".good.py.{dead_pid()}.k1ll3d00.ecolint-tmp", "half a file")
    result = run_cli("check", "--no-cache", ".")
    assert not stale.exists()
    assert f"removed {stale.name}, a temporary file left by an interrupted run" in result.stderr
    assert "good.py:2:" in result.stdout


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc for process start times")
def test_a_temporary_file_whose_process_id_was_reused_later_is_stale(project):
    write(project, "good.py", GOOD)
    newcomer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        reused = write(project, f".good.py.{newcomer.pid}.r3us3d00.ecolint-tmp", "half a file")
        an_hour_ago = time.time() - 3600
        os.utime(reused, (an_hour_ago, an_hour_ago))  # made long before the process of that id started
        result = run_cli("check", "--no-cache", ".")
    finally:
        newcomer.kill()
        newcomer.wait()
    assert not reused.exists(), result.stderr


def test_temporary_files_are_named_after_the_process_that_writes_them(project):
    from ecolint.fixes.writer import read_source, write_fixed
    from ecolint.workspace.temporaries import stale_temporaries

    path = write(project, "good.py", GOOD)
    seen = []
    real_replace = os.replace

    def replace(source, target):
        seen.append(os.path.basename(source))
        real_replace(source, target)

    original = read_source(path)
    try:
        os.replace = replace
        write_fixed(original, GOOD + "# changed\n")
    finally:
        os.replace = real_replace
    assert seen and seen[0].startswith(f".good.py.{os.getpid()}.") and seen[0].endswith(".ecolint-tmp")
    assert stale_temporaries(project) == []


WORKER_SCRIPT = textwrap.dedent('''
    import os, sys, time
    from pathlib import Path
    from ecolint.workspace.pool import parent_alive, run_all

    folder = Path(sys.argv[1])

    def job(number):
        (folder / f"started-{os.getpid()}").write_text("")
        time.sleep(3)
        if parent_alive():
            (folder / f"written-{number}").write_text("")
        return number

    run_all(job, list(range(16)), workers=2, max_chunk=8)
''')


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_workers_die_with_a_killed_run(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(WORKER_SCRIPT, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("started-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(path.name.split("-")[1]) for path in tmp_path.glob("started-*")]
    assert len(workers) == 2
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    time.sleep(4)  # longer than a job: a worker that outlived the run would have written by now
    assert list(tmp_path.glob("written-*")) == []
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
