"""Write docs/rules/<CODE>.md from the rule files (the same text as `ecolint rule CODE`)."""

from __future__ import annotations

import sys
from pathlib import Path

from ecolint.rules import all_rules

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def rendered() -> dict[str, str]:
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


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, text in rendered().items():
        (DOCS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(rendered())} pages to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
