"""Every output says what ``--fix`` and ``--unsafe-fixes`` would do: the full output, ``--diff``, the summary."""

from __future__ import annotations

import textwrap

from click.testing import CliRunner

from ecolint.advice import EIGHT_BIT_TITLE
from ecolint.cli import main

BASE = ["check", "--no-config", "--no-cache"]
UNSAFE_ONLY = textwrap.dedent('''\
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    q = BitsAndBytesConfig(load_in_8bit=True)
    model = AutoModelForCausalLM.from_pretrained("m", quantization_config=q)
''')


def run(*args):
    return CliRunner().invoke(main, [*BASE, *args], catch_exceptions=False)


def test_full_output_names_a_fix_that_unsafe_fixes_applies(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(UNSAFE_ONLY)
    shown = run("--output-format", "full", str(path)).output
    assert f"= fix: {EIGHT_BIT_TITLE} (unsafe; available with --unsafe-fixes)" in shown
    assert "not available at this location" not in shown
    assert "1 more fixable with the `--unsafe-fixes` option." in shown
    applied = run("--fix", "--unsafe-fixes", str(path))
    assert applied.exit_code == 0 and "llm_int8_threshold=0.0" in path.read_text()


def test_full_output_with_unsafe_fixes_shows_the_fix_itself(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(UNSAFE_ONLY)
    shown = run("--output-format", "full", "--unsafe-fixes", str(path)).output
    assert f"= fix: {EIGHT_BIT_TITLE} (unsafe)" in shown


def test_diff_without_unsafe_fixes_counts_the_hidden_ones(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(UNSAFE_ONLY)
    outcome = CliRunner().invoke(main, [*BASE, "--diff", str(path)], catch_exceptions=False)
    assert outcome.exit_code == 0 and "---" not in outcome.stdout
    assert "No fixes available (1 diagnostic remaining; 1 unsafe fix available with --unsafe-fixes)." \
        in outcome.stderr
    outcome = CliRunner().invoke(main, [*BASE, "--diff", "--unsafe-fixes", str(path)], catch_exceptions=False)
    assert "Would fix 1 diagnostic (0 remaining)." in outcome.stderr
    assert path.read_text() == UNSAFE_ONLY


def test_a_fix_that_cannot_be_offered_says_so(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(UNSAFE_ONLY.replace("q = BitsAndBytesConfig(load_in_8bit=True)\n",
                                        "q = BitsAndBytesConfig(load_in_8bit=True)\nq.llm_int8_threshold = 6.0\n"))
    shown = run("--output-format", "full", "--unsafe-fixes", str(path)).output
    assert "(unsafe; not available at this location)" in shown
    assert "more fixable" not in shown
