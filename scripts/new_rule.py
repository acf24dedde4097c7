"""Start a new rule: ``python scripts/new_rule.py LLM299 --name some-name``.

Writes rules/LLM299.yaml (valid, off by default, TODO texts), the rule's module
ecolint/checks/some_name.py with a ``@check("LLM299")`` stub (found and registered on import, like every
rule module), fixtures/LLM299/pos_basic.py and neg_basic.py with their .expected files, and the doc page
docs/rules/LLM299.md. The tests then say what is left: the check, the examples and the fixtures.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from ecolint.rule_schema import validate
from ecolint.rules import parse_rule

ROOT = Path(__file__).resolve().parent.parent

RULE = """\
code: {code}
name: {name}
summary: TODO one sentence on what the rule finds.
severity: warning
default: false
message: >
  TODO what was found and why it costs energy; {{penalty}}. TODO what to write instead
# Prefilter: parsed only when the text has one of the words and all regexes of one group ("code:" = code lines only)
triggers:
  words: ['TODO a word every reported file contains']
  patterns:
    - ['TODO a regex every reported file matches']
penalty:
  measured: false
  note: TODO name pairs of measurement rows (ecolint/energy/data/*.csv) under groups, as other rules do.
fix:
  applicability: none
docs:
  what_it_does: |
    TODO what the rule finds, and what it does not.
  why_bad: |
    TODO why the pattern wastes energy.
  fix_safety: |
    No automatic fix.
examples:
  invalid:
    - |
      # TODO code that {code} reports
  valid:
    - |
      # TODO the same code written the better way
"""

MODULE = '''"""{code} {name}: TODO one line on what the rule finds."""

from __future__ import annotations

from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


@check("{code}")
def {function}(ctx: CheckContext) -> list[Finding]:
    """TODO find the pattern of rules/{code}.yaml in ``ctx.facts``; one Finding per place."""
    return []
'''

FIXTURE = "# {code}: TODO code the rule {verb}.\n"
TODO_EXPECTED = "1:1: {code} TODO write the check, then run: python scripts/update_fixtures.py {code}\n"


def module_name(name: str) -> str:
    """The rule module's name: the rule's name with underscores (``some-name`` -> ``some_name``)."""
    return name.replace("-", "_")


def create(root: Path, code: str, name: str) -> list[Path]:
    """Write the new rule's files under ``root``; the paths written, in order."""
    rule_file = root / "rules" / f"{code}.yaml"
    check_file = root / "ecolint" / "checks" / f"{module_name(name)}.py"
    fixtures = root / "fixtures" / code
    page = root / "docs" / "rules" / f"{code}.md"
    taken = [path for path in (rule_file, check_file, fixtures, page) if path.exists()]
    if taken:
        raise SystemExit(f"{code} {name} exists already: {', '.join(str(path) for path in taken)}")
    text = RULE.format(code=code, name=name)
    data = yaml.safe_load(text)
    validate(data)
    rule_file.write_text(text, encoding="utf-8")
    check_file.write_text(MODULE.format(code=code, name=name, function=module_name(name)), encoding="utf-8")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(parse_rule(data, rows={}).documentation(), encoding="utf-8")
    fixtures.mkdir(parents=True)
    written = [rule_file, check_file, page]
    for stem, verb, expected in (("pos_basic", "reports", TODO_EXPECTED), ("neg_basic", "accepts", "")):
        (fixtures / f"{stem}.py").write_text(FIXTURE.format(code=code, verb=verb), encoding="utf-8")
        (fixtures / f"{stem}.expected").write_text(expected.format(code=code), encoding="utf-8")
        written += [fixtures / f"{stem}.py", fixtures / f"{stem}.expected"]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("code", help="the new rule's code, e.g. LLM299")
    parser.add_argument("--name", required=True, help="kebab-case name, e.g. some-name")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project folder (default: this checkout)")
    options = parser.parse_args(argv)
    if not re.fullmatch(r"LLM\d{3}", options.code):
        parser.error("the code looks like LLM299")
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", options.name):
        parser.error("the name is kebab-case, like some-name")
    for path in create(options.root, options.code, options.name):
        print(f"wrote {path}")
    print(f"Next: write the check, the triggers and examples, the fixtures; then run "
          f"scripts/update_fixtures.py {options.code}, scripts/generate_rule_docs.py (the page again, the rules "
          f"tables) and the tests.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
