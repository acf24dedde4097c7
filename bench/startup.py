#!/usr/bin/env python
"""How long ecolint takes to start, and what it imports, on one small file.

Each command runs as a subprocess ``--runs`` times (the commands take turns, so that a busy
machine slows them alike); the table shows the median wall time and the median CPU time of the
process. A second table lists, per command, the imports with the largest cumulative time
(``python -X importtime``) and whether libcst and PyYAML were loaded at all.

    python bench/startup.py                        # all commands, 15 runs each
    python bench/startup.py --runs 31 --top 12 --json bench/_work/startup.json
    python bench/startup.py --pythonpath /tmp/old  # another copy of the package, for before/after

The commands:

    python -c pass                               the interpreter alone
    ecolint --version
    ecolint check --no-cache clean.py            a small file no rule's triggers match
    ecolint check --no-cache finding.py          a small file with a finding (libcst parses it)
    ecolint check clean.py                       the file without triggers, its result in the cache
    flake8 --select E clean.py, without / with   flake8 with the ecolint plugin hidden from it,
    flake8 clean.py, without / with              then installed (its ``flake8.extension`` entry)

The plugin is hidden by running flake8 with ``importlib.metadata.distributions`` filtered, the
way flake8 finds plugins. Compiled bytecode is kept in ``bench/_work/pycache`` (set with
``PYTHONPYCACHEPREFIX``, ``PYTHONDONTWRITEBYTECODE`` cleared) so that the figures match an
installed package, whose ``.pyc`` files exist; one unmeasured run per command fills it.
Only the standard library is used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / "_work"
PYCACHE = WORK_DIR / "pycache"

CLEAN_FILE = '''\
"""Helpers with nothing for ecolint to report."""
import os


def join(folder, name):
    return os.path.join(folder, name)
'''
FINDING_FILE = '''\
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", load_in_8bit=True)
'''

ECOLINT = "import sys; from ecolint.cli import main; sys.argv[0] = 'ecolint'; main()"
FLAKE8 = "import sys; from flake8.main.cli import main; sys.exit(main())"
FLAKE8_WITHOUT_PLUGIN = (
    "import sys, importlib.metadata as m; every = m.distributions; "
    "m.distributions = lambda **kw: (d for d in every(**kw) if d.metadata['Name'] != 'ecolint'); "
    + FLAKE8
)
HEAVY = ("libcst", "yaml")

# (label, python code run with ``-c``, arguments; "{clean}" and "{finding}" name the files)
COMMANDS: list[tuple[str, str, list[str]]] = [
    ("python -c pass", "pass", []),
    ("ecolint --version", ECOLINT, ["--version"]),
    ("ecolint check, no triggers", ECOLINT, ["check", "--no-cache", "{clean}"]),
    ("ecolint check, a finding", ECOLINT, ["check", "--no-cache", "{finding}"]),
    ("ecolint check, cached", ECOLINT, ["check", "{clean}"]),
    ("flake8 --select E, no plugin", FLAKE8_WITHOUT_PLUGIN, ["--select", "E", "{clean}"]),
    ("flake8 --select E, plugin", FLAKE8, ["--select", "E", "{clean}"]),
    ("flake8, no plugin", FLAKE8_WITHOUT_PLUGIN, ["{clean}"]),
    ("flake8, plugin", FLAKE8, ["{clean}"]),
]
# (label, the same command without ecolint): the plugin's cost is the difference of medians.
PLUGIN_COST = [("flake8 --select E, plugin", "flake8 --select E, no plugin"), ("flake8, plugin", "flake8, no plugin")]
PLUGIN_GOAL = 0.10  # the installed plugin adds at most this share to a flake8 run on a file without triggers
# The whole process on one small file: ecolint against plain flake8.
SMALL_FILE = ("ecolint check, no triggers", "flake8, no plugin")
SMALL_FILE_GOAL = 0.75


@dataclass
class Timing:
    label: str
    argv: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    exit_codes: set[int] = field(default_factory=set)
    imports: list[tuple[str, float]] = field(default_factory=list)  # (module, cumulative ms), largest first
    heavy: dict[str, bool] = field(default_factory=dict)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def environment(pythonpath: str | None, keep_bytecode_setting: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not keep_bytecode_setting:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    env.pop("CI", None)
    return env


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall and CPU seconds (user + system) of one run, and its exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def import_profile(argv: list[str], cwd: Path, env: dict[str, str], top: int) -> tuple[list, dict[str, bool]]:
    """The ``top`` imports by cumulative time (top-level entries of ``-X importtime``) and the heavy ones seen."""
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    loaded = set()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        module = name.strip()
        loaded.add(module.split(".")[0])
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # nested imports are indented by two spaces
        rows.append((module, int(cumulative) / 1000, depth))
    rows = [row for row in rows if row[2] == 0]  # what the program itself imported (at once or later)
    rows.sort(key=lambda row: row[1], reverse=True)
    return [(module, ms) for module, ms, _ in rows[:top]], {name: name in loaded for name in HEAVY}


# The groups of ``--budget``: where each module's own import time goes (see ``budget_group``).
BUDGET_GROUPS = ("interpreter start-up (site, encodings)", "click and the standard library it imports",
                 "ecolint's own modules", "the standard library ecolint imports")
BUDGET_COMMAND = "ecolint check, no triggers"


def budget_group(module: str, ancestors: list[str]) -> int:
    """The group of a module imported under ``ancestors`` (outermost first): click's when click or a module of
    click imports it, ecolint's when it is ecolint's, the standard library ecolint pulls in when an ecolint
    module imports it, else the interpreter's own start-up."""
    chain = [*ancestors, module]
    if any(name == "click" or name.startswith("click.") for name in chain):
        return 1
    if module == "ecolint" or module.startswith("ecolint."):
        return 2
    if any(name.startswith("ecolint") for name in ancestors):
        return 3
    return 0


def import_budget(argv: list[str], cwd: Path, env: dict[str, str]) -> list[float]:
    """Milliseconds of ``-X importtime`` self time per ``BUDGET_GROUPS`` entry, in one run."""
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = [line.removeprefix("import time:").split("|") for line in done.stderr.splitlines()
             if line.startswith("import time:") and "cumulative" not in line]
    totals = [0.0] * len(BUDGET_GROUPS)
    ancestors: dict[int, str] = {}
    for own, _, name in reversed(lines):  # a module is listed after what it imports: reversed, parents come first
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        ancestors[depth] = name.strip()
        totals[budget_group(name.strip(), [ancestors[level] for level in range(depth)])] += int(own) / 1000
    return totals


def budget_table(timing: Timing, flake8: Timing | None, python: Timing | None, cwd: Path, env: dict[str, str],
                 runs: int) -> list[str]:
    """The lines of the import budget table of ``timing`` (its runs are done), with flake8's for comparison."""
    budgets = [import_budget(timing.argv, cwd, env) for _ in range(runs)]
    # the least of each part over the runs: on a busy machine the wall clock only ever grows
    least = [min(run[group] for run in budgets) for group in range(len(BUDGET_GROUPS))]
    lines = [f"Import budget of '{timing.label}' (-X importtime self time, wall clock, least of {runs} runs):",
             "", "| part | ms | share |", "|---|---:|---:|"]
    lines += [f"| {group} | {ms:.1f} | {ms / sum(least):.0%} |" for group, ms in zip(BUDGET_GROUPS, least)]
    lines.append(f"| all imports | {sum(least):.1f} | |")
    lines.append(f"| the whole process, CPU (median of the timed runs) | {timing.cpu_median * 1000:.1f} | |")
    if python:
        lines.append(f"| `python -c pass`, CPU | {python.cpu_median * 1000:.1f} | |")
    if flake8:
        flake8_imports = min(sum(import_budget(flake8.argv, cwd, env)) for _ in range(runs))
        lines.append(f"| {flake8.label}: all imports | {flake8_imports:.1f} | |")
        lines.append(f"| {flake8.label}: the whole process, CPU | {flake8.cpu_median * 1000:.1f} | |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--top", type=int, default=8, help="imports listed per command (default 8)")
    parser.add_argument("--only", action="append", default=[], help="only commands whose label contains this")
    parser.add_argument("--pythonpath", help="put this folder first on PYTHONPATH (another copy of ecolint)")
    parser.add_argument("--keep-bytecode-setting", action="store_true",
                        help="leave PYTHONDONTWRITEBYTECODE and PYTHONPYCACHEPREFIX as they are")
    parser.add_argument("--json", type=Path, help="write every run's figures to this file")
    parser.add_argument("--budget", type=int, metavar="N", default=0,
                        help=f"also print where the import time of '{BUDGET_COMMAND}' goes (least of N runs)")
    args = parser.parse_args()

    env = environment(args.pythonpath, args.keep_bytecode_setting)
    commands = [c for c in COMMANDS if not args.only or any(word in c[0] for word in args.only)]
    with tempfile.TemporaryDirectory(prefix="ecolint-startup-") as folder:
        cwd = Path(folder)
        (cwd / "clean.py").write_text(CLEAN_FILE, encoding="utf-8")
        (cwd / "finding.py").write_text(FINDING_FILE, encoding="utf-8")
        timings = []
        for label, code, words in commands:
            argv = [sys.executable, "-c", code, *(w.format(clean="clean.py", finding="finding.py") for w in words)]
            timings.append(Timing(label, argv))
        for timing in timings:  # fill the bytecode cache; not measured
            run_once(timing.argv, cwd, env)
        for _ in range(args.runs):
            for timing in timings:
                wall, cpu, code = run_once(timing.argv, cwd, env)
                timing.wall.append(wall)
                timing.cpu.append(cpu)
                timing.exit_codes.add(code)
        for timing in timings:
            timing.imports, timing.heavy = import_profile(timing.argv, cwd, env, args.top)
        by_label = {t.label: t for t in timings}
        budget = []
        if args.budget and BUDGET_COMMAND in by_label:
            budget = budget_table(by_label[BUDGET_COMMAND], by_label.get(SMALL_FILE[1]),
                                  by_label.get("python -c pass"), cwd, env, args.budget)

    print(f"Python {platform.python_version()} on {platform.system()}, {os.cpu_count()} CPUs; "
          f"median of {args.runs} runs" + (f"; PYTHONPATH={args.pythonpath}" if args.pythonpath else ""))
    print()
    print(f"| {'command':<30} | wall s | CPU s | exit | libcst | yaml |")
    print(f"|{'-' * 32}|-------:|------:|-----:|:------:|:----:|")
    for t in timings:
        heavy = ["yes" if t.heavy.get(name) else "no" for name in HEAVY]
        codes = ",".join(str(code) for code in sorted(t.exit_codes))
        print(f"| {t.label:<30} | {t.wall_median:6.3f} | {t.cpu_median:5.3f} | {codes:>4} "
              f"| {heavy[0]:^6} | {heavy[1]:^4} |")
    by_label = {t.label: t for t in timings}
    for with_plugin, without in PLUGIN_COST:
        if with_plugin in by_label and without in by_label:
            a, b = by_label[with_plugin], by_label[without]
            print(f"\nplugin cost, {with_plugin.removesuffix(', plugin')}: "
                  f"{a.wall_median - b.wall_median:+.3f} s wall ({a.wall_median / b.wall_median - 1:+.0%}), "
                  f"{a.cpu_median - b.cpu_median:+.3f} s CPU ({a.cpu_median / b.cpu_median - 1:+.0%}) "
                  f"(goal <= +{PLUGIN_GOAL:.0%})")
    ecolint, flake8 = by_label.get(SMALL_FILE[0]), by_label.get(SMALL_FILE[1])
    if ecolint and flake8:
        print(f"\n{SMALL_FILE[0]} / {SMALL_FILE[1]}: {ecolint.wall_median / flake8.wall_median:.2f} wall, "
              f"{ecolint.cpu_median / flake8.cpu_median:.2f} CPU (goal <= {SMALL_FILE_GOAL})")
    print("\nLargest imports by cumulative time (ms, -X importtime, one run):")
    for t in timings:
        if t.label == "python -c pass":
            continue
        listed = ", ".join(f"{module} {ms:.0f}" for module, ms in t.imports)
        print(f"  {t.label}: {listed}")
    if budget:
        print("\n" + "\n".join(budget))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = [dict(asdict(t), exit_codes=sorted(t.exit_codes), wall_median=t.wall_median,
                     cpu_median=t.cpu_median) for t in timings]
        args.json.write_text(json.dumps({"python": platform.python_version(), "runs": args.runs,
                                         "pythonpath": args.pythonpath, "commands": data}, indent=1) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
