"""The progress line of long runs: on a terminal only, never in pipes, CI, --quiet or machine formats."""

from __future__ import annotations

import io

import pytest
from cli_helpers import run_cli

from ecolint import progress
from ecolint.cli import progress_display
from ecolint.progress import ERASE_LINE, ProgressLine, format_duration, time_left, wants_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_shown_before_the_run_has_lasted_a_second():
    stream, clock = Terminal(), Clock()
    line = ProgressLine(stream, clock=clock)
    clock.now += 0.5
    line(3, 10)
    line.close()
    assert stream.getvalue() == ""


def test_files_done_total_and_rate_then_erased():
    stream, clock = Terminal(), Clock()
    line = ProgressLine(stream, clock=clock)
    clock.now += 2.0
    line(1200, 2860)
    assert stream.getvalue() == f"{ERASE_LINE}ecolint: 1,200/2,860 files, 600 files/s"
    clock.now += 0.01
    line(1201, 2860)  # redrawn at most every REDRAW_S
    assert stream.getvalue().count("files/s") == 1
    clock.now += 1.0
    line(2860, 2860)
    assert stream.getvalue().endswith("ecolint: 2,860/2,860 files, 950 files/s")
    line.close()
    assert stream.getvalue().endswith(ERASE_LINE)


@pytest.mark.parametrize("environ, terminal, wanted", [
    ({}, True, True),
    ({}, False, False),
    ({"CI": "true"}, True, False),
    ({"CI": "1"}, True, False),
    ({"CI": "false"}, True, True),
    ({"TERM": "dumb"}, True, False),
])
def test_wants_progress_only_on_a_terminal_outside_ci(environ, terminal, wanted):
    stream = Terminal() if terminal else io.StringIO()
    assert wants_progress(stream, environ) is wanted


@pytest.mark.parametrize("output_format, quiet, shown", [
    ("concise", False, True), ("full", False, True), ("concise", True, False),
    ("json", False, False), ("json-lines", False, False), ("sarif", False, False), ("junit", False, False),
    ("github", False, False),
])
def test_progress_display_by_format_and_quiet(output_format, quiet, shown, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert (progress_display(output_format, quiet, Terminal()) is not None) is shown


def test_time_left_and_durations():
    assert time_left(0, 10, 5.0) is None
    assert time_left(2, 10, 60.0) == 240.0
    assert [format_duration(s) for s in (4.4, 185, 3720)] == ["4 s", "3 min 5 s", "1 h 02 min"]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    for number in range(12):
        (tmp_path / f"m{number}.py").write_text(f"x = {number}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_check_shows_progress_on_a_terminal_and_erases_it(tree, monkeypatch, jobs):
    monkeypatch.setattr(progress, "stream_is_terminal", lambda stream: True)
    result = run_cli("check", "--no-cache", "--jobs", jobs, ".")
    assert result.exit_code == 0
    assert "ecolint: 12/12 files, " in result.stderr and result.stderr.endswith(ERASE_LINE)
    assert "files/s" not in result.stdout


@pytest.mark.parametrize("extra", [[], ["--quiet"], ["--output-format", "json"]])
def test_check_shows_no_progress_in_a_pipe_or_when_asked_for_quiet_or_json(tree, monkeypatch, extra):
    if extra:
        monkeypatch.setattr(progress, "stream_is_terminal", lambda stream: True)
    result = run_cli("check", "--no-cache", *extra, ".")
    assert result.exit_code == 0
    assert "files/s" not in result.stderr and ERASE_LINE not in result.stderr


def test_check_shows_no_progress_in_ci(tree, monkeypatch):
    monkeypatch.setattr(progress, "stream_is_terminal", lambda stream: True)
    monkeypatch.setenv("CI", "true")
    result = run_cli("check", "--no-cache", ".")
    assert "files/s" not in result.stderr
