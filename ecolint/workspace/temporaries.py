"""The temporary files that fixed files are written through (``fixes.writer``), and removing those that
killed runs left behind: a run that finds files in a folder removes the stale ones there."""

from __future__ import annotations

import os
import re
from pathlib import Path

TEMPORARY_SUFFIX = ".ecolint-tmp"
_TEMPORARY = re.compile(r"\..+\.(?P<pid>[0-9]+)\.[^.]+" + re.escape(TEMPORARY_SUFFIX))


def stale_temporaries(folder: Path) -> list[Path]:
    """The temporary files in ``folder`` that runs which are no longer running left behind."""
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.endswith(TEMPORARY_SUFFIX)]
    except OSError:
        return []
    stale = []
    for name in names:
        match = _TEMPORARY.fullmatch(name)
        if match is not None and not _writer_running(int(match.group("pid")), folder / name):
            stale.append(folder / name)
    return stale


def _writer_running(pid: int, path: Path) -> bool:
    """Whether the process that made the temporary file at ``path`` may still be writing it: a process of
    that id runs and started before the file was made (a later one only reuses the id)."""
    if not _running(pid):
        return False
    started = _start_time(pid)
    try:
        made = os.stat(path).st_mtime
    except OSError:
        return True  # gone already, or not ours to judge
    return started is None or started <= made + 1


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), where /proc tells; else None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii", errors="replace") as stream:
            boot = next(int(line.split()[1]) for line in stream if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or no such id at all): leave its file alone
    return True


def remove_stale_temporaries(folders) -> list[Path]:
    """Remove the stale temporary files of ``folders``; the ones removed."""
    removed = []
    for folder in folders:
        for path in stale_temporaries(Path(folder)):
            try:
                os.unlink(path)
            except OSError:
                continue
            removed.append(path)
    return removed
