"""The project's own code passes flake8 with the project's settings (setup.cfg), ecolint's plugin included."""

from __future__ import annotations

import subprocess
import sys

from cli_helpers import ROOT


def test_flake8_is_clean_on_the_project():
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "ecolint", "tests", "scripts", "bench"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
