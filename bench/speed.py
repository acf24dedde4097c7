#!/usr/bin/env python
"""Benchmark ecolint's speed against flake8 and ruff on a large real tree.

By default the tree is the ``transformers/`` package of the transformers
5.23.0 wheel, fetched from PyPI into ``bench/_work/`` (git-ignored) on first
use.  ``--tree PATH`` benchmarks any other directory instead.

Every tool runs as a subprocess and is timed with ``time.perf_counter``; with
``--repeat N`` each timing is taken N times and the best and median are kept.
The table and the verdict use the best time.

Usage::

    python bench/speed.py                       # all tools, transformers tree
    python bench/speed.py --repeat 3 --json out.json
    python bench/speed.py --only ecolint --only flake8
    python bench/speed.py --tree path/to/project

Only the standard library is used; the tools themselves are looked up next to
the running interpreter first, then on ``PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

# ---------------------------------------------------------------------------
# Configuration: the command lines that are timed.
#
# ``{ecolint}`` expands to the ecolint launcher (a list of words), ``{tree}``
# to the benchmarked directory and ``{cache}`` to the cache directory used by
# the cache runs.  Adjust these as the ecolint CLI evolves.
# ---------------------------------------------------------------------------

ECOLINT_COMMANDS: list[tuple[str, str, list[str]]] = [
    # (label, cache mode, argv template)
    #   cache mode "none": no cache involved;
    #              "fill": the cache directory is emptied before every run;
    #              "warm": reuses the cache left by the preceding "fill" run.
    ("ecolint cold", "none",
     ["{ecolint}", "check", "--no-config", "--no-cache", "--exit-zero",
      "--quiet", "{tree}"]),
    ("ecolint cache fill", "fill",
     ["{ecolint}", "check", "--no-config", "--exit-zero", "--quiet",
      "--cache-dir", "{cache}", "{tree}"]),
    ("ecolint warm", "warm",
     ["{ecolint}", "check", "--no-config", "--exit-zero", "--quiet",
      "--cache-dir", "{cache}", "{tree}"]),
]

# The label whose time is compared against flake8 in the verdict line.
VERDICT_LABEL = "ecolint cold"
VERDICT_GOAL = 0.15  # against flake8
RUFF_GOAL = 1.0  # against ruff --select ALL

# ``--isolated`` keeps both tools from picking up a configuration file from
# the directory they are started in (this repository's setup.cfg, say), so
# they run with their default checks -- the counterpart of ``--no-config``.
FLAKE8_COMMAND = ["{flake8}", "--isolated", "-j", "2", "{tree}"]
RUFF_COMMAND = ["{ruff}", "check", "--isolated", "--select", "ALL",
                "--no-cache", "--exit-zero", "{tree}"]

TRANSFORMERS_VERSION = "5.23.0"
TOOLS = ("ecolint", "flake8", "ruff")

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "_work"


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

@dataclass
class TreeStats:
    """Size of the benchmarked tree."""

    path: str
    files: int
    lines: int


@dataclass
class Timing:
    """Outcome of one benchmarked command (all of its repeats)."""

    tool: str
    command: list[str]
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the process and its children
    failed: bool = False
    skipped: bool = False
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when the command ran and has at least one timing."""
        return not self.failed and not self.skipped and bool(self.times)

    @property
    def best(self) -> float | None:
        """Fastest of the repeats, or None when there is none."""
        return min(self.times) if self.ok else None

    @property
    def median(self) -> float | None:
        """Median of the repeats, or None when there is none."""
        return statistics.median(self.times) if self.ok else None

    @property
    def best_cpu(self) -> float | None:
        """Least CPU time of the repeats: on a machine others use too, steadier than the wall clock."""
        return min(self.cpu) if self.ok and self.cpu else None


# ---------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------

def fetch_transformers(version: str = TRANSFORMERS_VERSION) -> Path:
    """Download the transformers wheel and unzip its ``transformers/`` package.

    Both steps are skipped when their result already exists.  Returns the
    directory holding the unpacked ``transformers`` package.
    """
    wheels = WORK_DIR / "wheels"
    target = WORK_DIR / f"transformers-{version}"
    if (target / "transformers").is_dir():
        return target / "transformers"

    wheel = _find_wheel(wheels, version)
    if wheel is None:
        print(f"downloading transformers {version} wheel ...", file=sys.stderr)
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps",
             "--only-binary=:all:", f"transformers=={version}",
             "-d", str(wheels)],
            check=True,
        )
        wheel = _find_wheel(wheels, version)
        if wheel is None:
            sys.exit(f"pip download did not leave a transformers wheel in {wheels}")

    print(f"unpacking {wheel.name} ...", file=sys.stderr)
    _unzip_package(wheel, "transformers/", target)
    return target / "transformers"


def _find_wheel(wheels: Path, version: str) -> Path | None:
    """Return the downloaded transformers wheel for ``version``, if any."""
    found = sorted(wheels.glob(f"transformers-{version}-*.whl"))
    return found[0] if found else None


def _unzip_package(wheel: Path, prefix: str, target: Path) -> None:
    """Extract the members of ``wheel`` under ``prefix`` into ``target``.

    Extraction goes to a temporary sibling directory that is renamed at the
    end, so an interrupted run never leaves a half-filled tree behind.
    """
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.startswith(prefix)]
        zf.extractall(partial, members)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def count_tree(tree: Path) -> TreeStats:
    """Count the ``.py`` files under ``tree`` and their lines."""
    files = lines = 0
    for path in tree.rglob("*.py"):
        if not path.is_file():
            continue
        files += 1
        with open(path, "rb") as fh:
            lines += sum(1 for _ in fh)
    return TreeStats(path=str(tree), files=files, lines=lines)


# ---------------------------------------------------------------------------
# Finding the tools
# ---------------------------------------------------------------------------

def find_executable(name: str) -> str | None:
    """Find ``name`` next to the running interpreter, else on ``PATH``."""
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def ecolint_launcher() -> list[str]:
    """The words that start ecolint: its script, else ``python -m ecolint``."""
    exe = find_executable("ecolint")
    return [exe] if exe else [sys.executable, "-m", "ecolint"]


def subprocess_env() -> dict[str, str]:
    """Environment for the timed commands.

    The repository root is put on ``PYTHONPATH`` so that ``python -m
    ecolint`` works from a checkout that is not installed.
    """
    env = dict(os.environ)
    parts = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def expand(template: list[str], values: dict[str, list[str] | str]) -> list[str]:
    """Expand ``{name}`` words of a command template.

    A value that is a list is spliced in (the ecolint launcher may be
    several words); a string is substituted inside the word.
    """
    argv: list[str] = []
    for word in template:
        value = values.get(word[1:-1]) if word.startswith("{") and word.endswith("}") else None
        if isinstance(value, list):
            argv.extend(value)
            continue
        for key, val in values.items():
            if isinstance(val, str):
                word = word.replace("{" + key + "}", val)
        argv.append(word)
    return argv


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------

def time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``argv`` once, output to /dev/null and stderr captured; return
    the wall-clock seconds, the CPU seconds and the finished process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=env, cwd=str(REPO_ROOT),
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


def first_line(data: bytes) -> str:
    """First non-empty line of a process's stderr, for error reports.

    When a later line starts with ``Error`` (click prints its usage first and
    the actual complaint last), that line is appended.
    """
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return "(no stderr)"
    errors = [ln for ln in lines[1:] if ln.lower().startswith("error")]
    return lines[0] + (f" ... {errors[-1]}" if errors else "")


def run_timed(
    tool: str,
    argv: list[str],
    repeat: int,
    env: dict[str, str],
    ok_codes: tuple[int, ...] = (0,),
    before_each=None,
) -> Timing:
    """Time ``argv`` ``repeat`` times.

    ``before_each`` (optional) is called before every run, e.g. to empty a
    cache directory.  An exit status outside ``ok_codes`` (or a missing
    executable) marks the timing as failed and prints the first line of
    stderr; flake8 reports findings with status 1, so it passes ``(0, 1)``.
    """
    timing = Timing(tool=tool, command=argv)
    for i in range(repeat):
        if before_each is not None:
            before_each()
        try:
            seconds, cpu, proc = time_once(argv, env)
        except OSError as exc:
            return _fail(timing, f"cannot start: {exc}")
        if proc.returncode < 0:
            return _fail(timing, f"killed by signal {-proc.returncode}")
        if proc.returncode not in ok_codes:
            return _fail(timing, f"exit {proc.returncode}: {first_line(proc.stderr)}")
        timing.times.append(seconds)
        timing.cpu.append(cpu)
        print(f"  {tool:<20} run {i + 1}/{repeat}: {seconds:8.2f} s ({cpu:.2f} s CPU)", file=sys.stderr)
    return timing


def _fail(timing: Timing, note: str) -> Timing:
    """Mark ``timing`` failed with ``note`` and report it on stderr."""
    timing.failed = True
    timing.times = []
    timing.note = note
    print(f"  {timing.tool:<20} FAILED: {note}", file=sys.stderr)
    return timing


def bench_ecolint(tree: Path, repeat: int, env: dict[str, str], cold_only: bool = False) -> list[Timing]:
    """Time the ecolint commands of ``ECOLINT_COMMANDS``, in order.

    A "fill" command gets an empty cache directory before every run; a
    "warm" command reuses what the last fill left and is skipped when that
    fill failed.
    """
    cache = WORK_DIR / "ecolint-cache"
    launcher = ecolint_launcher()
    print(f"ecolint launcher: {' '.join(launcher)}", file=sys.stderr)
    values = {"ecolint": launcher, "tree": str(tree), "cache": str(cache)}

    def empty_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    results: list[Timing] = []
    last_fill: Timing | None = None
    for label, mode, template in ECOLINT_COMMANDS:
        if cold_only and mode != "none":
            continue
        argv = expand(template, values)
        if mode == "warm" and not (last_fill and last_fill.ok):
            results.append(_skip(label, "no successful cache fill run before it", argv))
            continue
        timing = run_timed(label, argv, repeat, env,
                           before_each=empty_cache if mode == "fill" else None)
        if mode == "fill":
            last_fill = timing
        results.append(timing)
    shutil.rmtree(cache, ignore_errors=True)
    return results


def bench_flake8(tree: Path, repeat: int, env: dict[str, str]) -> Timing:
    """Time flake8 with its default checks on two jobs."""
    exe = find_executable("flake8")
    if exe is None:
        return _skip("flake8", "flake8 is not installed")
    argv = expand(FLAKE8_COMMAND, {"flake8": exe, "tree": str(tree)})
    return run_timed("flake8", argv, repeat, env, ok_codes=(0, 1))


def bench_ruff(tree: Path, repeat: int, env: dict[str, str]) -> Timing:
    """Time ``ruff check --select ALL``; skipped when ruff is not installed."""
    exe = find_executable("ruff")
    if exe is None:
        return _skip("ruff", "ruff is not installed")
    argv = expand(RUFF_COMMAND, {"ruff": exe, "tree": str(tree)})
    return run_timed("ruff (--select ALL)", argv, repeat, env)


def _skip(tool: str, note: str, command: list[str] | None = None) -> Timing:
    """A timing that was not taken, with the reason reported on stderr."""
    print(f"  {tool:<20} skipped: {note}", file=sys.stderr)
    return Timing(tool=tool, command=command or [], skipped=True, note=note)


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------

def flake8_best(timings: list[Timing]) -> float | None:
    """Best flake8 time, the reference of the ratio column."""
    for t in timings:
        if t.tool == "flake8" and t.ok:
            return t.best
    return None


def ratio(seconds: float | None, reference: float | None) -> float | None:
    """``seconds / reference``, or None when either is missing."""
    if seconds is None or not reference:
        return None
    return seconds / reference


def markdown_table(stats: TreeStats, timings: list[Timing], repeat: int) -> str:
    """The results as a Markdown table (times are the best of the repeats)."""
    ref = flake8_best(timings)
    rows = [
        "| tool | seconds | median s | CPU s | files/s | lines/s | ratio to flake8 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        if not t.ok:
            state = "failed" if t.failed else "skipped"
            note = t.note.replace("|", "\\|")
            rows.append(f"| {t.tool} | {state} | | | | | {note} |")
            continue
        r = ratio(t.best, ref)
        rows.append(
            f"| {t.tool} | {t.best:.2f} | {t.median:.2f} | {t.best_cpu:.2f} "
            f"| {stats.files / t.best:,.0f} | {stats.lines / t.best:,.0f} "
            f"| {'n/a' if r is None else f'{r:.2f}'} |"
        )
    header = (f"Tree: {stats.path} — {stats.files:,} .py files, "
              f"{stats.lines:,} lines; best of {repeat} run(s).")
    return header + "\n\n" + "\n".join(rows)


def tool_best(timings: list[Timing], tool: str, cpu: bool = False) -> float | None:
    """The best time of the tool whose label starts with ``tool`` (wall clock, or CPU)."""
    return next(((t.best_cpu if cpu else t.best) for t in timings if t.tool.startswith(tool) and t.ok), None)


def verdict(timings: list[Timing]) -> tuple[float | None, str]:
    """The verdict ratios (cold against flake8, and against ruff) and their lines."""
    lines = []
    first = None
    for label in [t.tool for t in timings if t.tool.startswith(VERDICT_LABEL)]:
        for reference, goal in (("flake8", VERDICT_GOAL), ("ruff", RUFF_GOAL)):
            r = ratio(tool_best(timings, label), tool_best(timings, reference))
            if r is None:
                lines.append(f"{label} / {reference} = n/a (goal <= {goal}): one of the two was not measured")
                continue
            first = r if first is None else first
            by_cpu = ratio(tool_best(timings, label, cpu=True), tool_best(timings, reference, cpu=True))
            lines.append(f"{label} / {reference} = {r:.2f} wall, {by_cpu:.2f} CPU (goal <= {goal}) — "
                         f"{'met' if r <= goal else 'NOT met'}")
    return first, "\n".join(lines) or f"{VERDICT_LABEL}: not measured"


def json_report(stats: TreeStats, timings: list[Timing], repeat: int) -> dict:
    """The same numbers as the table, as a JSON-ready dict."""
    ref = flake8_best(timings)
    results = []
    for t in timings:
        entry = asdict(t)
        entry.update(ok=t.ok, best=t.best, median=t.median,
                     ratio_to_flake8=ratio(t.best, ref),
                     files_per_s=stats.files / t.best if t.ok else None,
                     lines_per_s=stats.lines / t.best if t.ok else None)
        results.append(entry)
    r, line = verdict(timings)
    return {
        "tree": asdict(stats),
        "repeat": repeat,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "results": results,
        "verdict": {"label": VERDICT_LABEL, "ratio": r, "goal": VERDICT_GOAL, "line": line},
    }


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", type=Path,
                   help="benchmark this directory instead of the transformers package")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per command; best and median are reported (default 1)")
    p.add_argument("--only", action="append", choices=TOOLS, metavar="TOOL",
                   help=f"run only this tool ({', '.join(TOOLS)}); may be repeated")
    p.add_argument("--json", type=Path, metavar="FILE",
                   help="also write the numbers to FILE as JSON")
    p.add_argument("--cold-only", action="store_true", help="time only the cold ecolint run (no cache runs)")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="also time a cold run of the ecolint package in DIR (another checkout: before/after)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.tree is not None and not args.tree.is_dir():
        p.error(f"--tree {args.tree}: not a directory")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table and the verdict."""
    args = parse_args(argv)
    tools = args.only or list(TOOLS)
    tree = (args.tree.resolve() if args.tree else fetch_transformers())

    stats = count_tree(tree)
    print(f"tree {tree}: {stats.files:,} .py files, {stats.lines:,} lines", file=sys.stderr)

    env = subprocess_env()
    timings: list[Timing] = []
    if "ecolint" in tools:
        timings += bench_ecolint(tree, args.repeat, env, args.cold_only)
        if args.baseline:
            before = dict(env, PYTHONPATH=os.pathsep.join([str(args.baseline.resolve()), env["PYTHONPATH"]]))
            timing = bench_ecolint(tree, args.repeat, before, True)[0]
            timing.tool = f"{VERDICT_LABEL} (baseline {args.baseline})"
            timings.append(timing)
    if "flake8" in tools:
        timings.append(bench_flake8(tree, args.repeat, env))
    if "ruff" in tools:
        timings.append(bench_ruff(tree, args.repeat, env))

    print()
    print(markdown_table(stats, timings, args.repeat))
    print()
    print(verdict(timings)[1])

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(json_report(stats, timings, args.repeat), indent=2) + "\n")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
