"""Import structure: the engine loads the fixers without the fix loop, so the two form no cycle."""

import subprocess
import sys


def test_engine_and_fixers_load_without_the_fix_loop():
    code = ("import sys, ecolint.engine, ecolint.fixes.registry; "
            "print('ecolint.fixes.apply' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_the_fix_loop_is_still_reachable_from_the_package():
    from ecolint.fixes import FixPolicy, fix_source

    assert callable(fix_source) and FixPolicy().unsafe is False
