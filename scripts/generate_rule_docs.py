"""Write docs/rules/<CODE>.md from the rule files (the same text as `ecolint rule CODE`), and the
rules table of README.md between its `rules-table` markers. `--check` only reports stale files."""

from __future__ import annotations

import sys
from pathlib import Path

from ecolint.rule_docs import rules_table
from ecolint.rules import all_rules

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "rules"
README = ROOT / "README.md"
START, END = "<!-- rules-table:start -->", "<!-- rules-table:end -->"


def rendered() -> dict[str, str]:
    """docs/rules/ pages by file name."""
    pages = {f"{rule.code}.md": rule.documentation() for rule in all_rules().values()}
    index = ["# Rules", "", "| code | name | default | fix | summary |", "|---|---|---|---|---|"]
    for rule in all_rules().values():
        fix = rule.fix_applicability if rule.fixable else "-"
        index.append(
            f"| [{rule.code}]({rule.code}.md) | {rule.name} | {'on' if rule.default_enabled else 'off'} "
            f"| {fix} | {rule.summary} |"
        )
    pages["README.md"] = "\n".join(index) + "\n"
    return pages


def readme(text: str) -> str:
    """README.md's text with the generated rules table between the markers."""
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"README.md needs the markers {START} and {END}")
    return f"{before}{START}\n{rules_table(all_rules().values())}{END}{after}"


def outputs() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {DOCS / name: text for name, text in rendered().items()}
    files[README] = readme(README.read_text(encoding="utf-8"))
    return files


def main(argv: list[str]) -> int:
    files = outputs()
    stale = [path for path, text in files.items() if not path.is_file() or path.read_text("utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    DOCS.mkdir(parents=True, exist_ok=True)
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
    print(f"wrote {len(stale)} of {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
