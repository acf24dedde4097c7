#!/usr/bin/env python
"""How long ``ecolint check`` and ``check --fix`` take on files with one very long line.

Each shape is written at several sizes into a temporary folder and checked (then fixed) as a
subprocess; the table shows the wall time per size, so that growth faster than the size shows.

    python bench/long_lines.py                          # sizes 250 KB, 500 KB, 1 MB
    python bench/long_lines.py --sizes 100000 1000000 --shapes identifier string
    python bench/long_lines.py --pythonpath /tmp/old    # another copy of the package, for before/after

The shapes (each after a two-line header with a model load, so that the rules run):

    string       x = '<n characters>'
    comment      a comment of n characters full of trigger words (from_pretrained, pipeline(...)
    identifier   x = aaaa...a with `pipeline` elsewhere in the file
    imports      a comment of `import import ...` with `pipeline` and a loop elsewhere
    noqa         x = 1  # noqa: LLM101 noqa: LLM101 ...
    names        x = [load_in_8bit, load_in_8bit, ...]  (one libcst node per 14 characters)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = ("from transformers import AutoModelForCausalLM\n"
          "m = AutoModelForCausalLM.from_pretrained('x', load_in_8bit=True)\n")
SHAPES = {
    "string": lambda n: HEADER + "x = '" + "a" * n + "'\n",
    "comment": lambda n: HEADER + "x = 1  # " + "from_pretrained pipeline( .generate( " * (n // 38) + "\n",
    "identifier": lambda n: "import transformers  # pipeline\nx = " + "a" * n + "\n",
    "imports": lambda n: "# pipeline for generate(\nx = 1  # " + "import " * (n // 7) + "\n",
    "noqa": lambda n: HEADER + "x = 1  # " + "noqa: LLM101 " * (n // 13) + "\n",
    "names": lambda n: HEADER + "x = [" + ", ".join(["load_in_8bit"] * (n // 14)) + "]\n",
}


def timed(args: list[str], env: dict, folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ecolint", *args], env=env, cwd=folder, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--pythonpath", help="import ecolint from this folder instead")
    options = parser.parse_args()
    env = dict(os.environ)
    if options.pythonpath:
        env["PYTHONPATH"] = options.pythonpath
    helped = subprocess.run([sys.executable, "-m", "ecolint", "check", "--help"], env=env, cwd=tempfile.gettempdir(),
                            capture_output=True, text=True).stdout
    unlimited = ["--max-file-size", "0"] if "--max-file-size" in helped else []  # older copies have no limit
    folder = Path(tempfile.mkdtemp(prefix="ecolint-long-lines-"))
    print(f"{'shape':<12}{'size':>10}{'check s':>10}{'fix s':>10}")
    try:
        for shape in options.shapes:
            for size in options.sizes:
                path = folder / f"{shape}.py"
                path.write_text(SHAPES[shape](size), encoding="utf-8")
                check = timed(["check", "--no-cache", "--no-config", *unlimited, str(path)], env, folder)
                fix = timed(["check", "--no-cache", "--no-config", *unlimited, "--fix", "--unsafe-fixes",
                             str(path)], env, folder)
                print(f"{shape:<12}{size:>10}{check:>10.2f}{fix:>10.2f}", flush=True)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
