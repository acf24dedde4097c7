#!/usr/bin/env python
"""Profile ecolint in-process over a tree with cProfile.

Calls the CLI entry point ``ecolint.cli:main`` with
``["check", "--no-config", "--no-cache", "--exit-zero", "--quiet", TREE]``
(``standalone_mode=False``) under cProfile, then prints the top entries
sorted by cumulative time.  Output of the check itself goes to /dev/null.

Usage::

    python bench/profile_files.py                  # transformers tree of speed.py
    python bench/profile_files.py path/to/tree --top 40 --sort tottime
    python bench/profile_files.py TREE --save prof.out   # for snakeviz & co.
    python bench/profile_files.py TREE -- --select LLM1  # extra check options

Only the standard library is used besides ecolint itself.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

# Options passed to ``ecolint check`` before any extra ones and the tree.
CHECK_ARGS = ["--no-config", "--no-cache", "--exit-zero", "--quiet"]


def default_tree() -> Path:
    """The transformers package that ``speed.py`` fetches (fetching it if needed)."""
    sys.path.insert(0, str(BENCH_DIR))
    import speed  # the sibling benchmark script

    return speed.fetch_transformers()


def load_main():
    """Import ``ecolint.cli.main``, preferring this checkout over an installed copy."""
    sys.path.insert(0, str(REPO_ROOT))
    from ecolint.cli import main

    return main


def run_check(main, argv: list[str]) -> object:
    """Invoke the click entry point without letting it exit the process.

    Returns the command's return value, or the ``SystemExit`` code when it
    exits.  A click usage error (raised, not printed, when
    ``standalone_mode=False``) is reported on stderr and gives exit code 2.
    The command's stdout is discarded so the profile report stays readable.
    """
    import click  # ecolint's own dependency

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        try:
            return main(argv, standalone_mode=False)
        except SystemExit as exc:
            return exc.code
        except click.ClickException as exc:
            print(f"ecolint: {exc.format_message()}", file=sys.stderr)
            return exc.exit_code


def profile(main, argv: list[str]) -> tuple[cProfile.Profile, float, object]:
    """Run the check under cProfile; return the profile, wall seconds and result."""
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    try:
        result = run_check(main, argv)
    finally:
        prof.disable()
    return prof, time.perf_counter() - start, result


def report(prof: cProfile.Profile, sort: str, top: int) -> str:
    """The ``top`` entries of the profile, sorted by ``sort``."""
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    return out.getvalue()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; anything after ``--`` goes to ``ecolint check``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tree", nargs="?", type=Path,
                   help="directory to check (default: the transformers tree of speed.py)")
    p.add_argument("--top", type=int, default=25, help="entries to print (default 25)")
    p.add_argument("--sort", default="cumulative",
                   help="pstats sort key (default cumulative; e.g. tottime)")
    p.add_argument("--save", type=Path, metavar="FILE",
                   help="also dump the raw profile to FILE")
    p.epilog = "Arguments after -- are passed to ecolint check before the tree."
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    args = p.parse_args(argv)
    args.extra = extra
    if args.tree is not None and not args.tree.is_dir():
        p.error(f"{args.tree}: not a directory")
    return args


def main(argv: list[str] | None = None) -> int:
    """Profile one ``ecolint check`` over the tree and print the report."""
    args = parse_args(argv)
    tree = args.tree.resolve() if args.tree else default_tree()
    ecolint_main = load_main()
    check_argv = ["check", *CHECK_ARGS, *args.extra, str(tree)]

    print("profiling: ecolint " + " ".join(check_argv), file=sys.stderr)
    prof, seconds, result = profile(ecolint_main, check_argv)
    print(f"wall {seconds:.2f} s (under cProfile), result {result!r}", file=sys.stderr)

    if args.save:
        prof.dump_stats(str(args.save))
        print(f"saved raw profile to {args.save}", file=sys.stderr)
    print(report(prof, args.sort, args.top))
    return 0 if result in (None, 0) else 1


if __name__ == "__main__":
    sys.exit(main())
