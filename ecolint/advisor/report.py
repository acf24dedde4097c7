"""Reports: sections of paragraphs, lists, tables, code and bar charts; rendered as Markdown or JSON.

A report builder fills ``sections`` for people and ``data`` for machines; the renderers never
compute anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Bullets:
    items: list[str]
    numbered: bool = False


@dataclass
class Code:
    text: str
    language: str = "python"


@dataclass
class BarChart:
    """Horizontal bars, one per label, scaled to the largest value."""

    items: list[tuple[str, float, str]]  # label, value, annotation
    width: int = 40


Block = str | Table | Bullets | Code | BarChart


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> "Section":
        self.blocks.extend(b for b in blocks if b)
        return self


@dataclass
class Report:
    title: str
    sections: list[Section] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def section(self, title: str, *blocks: Block) -> Section:
        found = Section(title, [b for b in blocks if b])
        self.sections.append(found)
        return found


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(table: Table) -> str:
    lines = [
        "| " + " | ".join(_cell(h) for h in table.headers) + " |",
        "|" + "|".join("---" for _ in table.headers) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _bars(chart: BarChart) -> str:
    top = max((v for _, v, _ in chart.items), default=0.0) or 1.0
    label_width = max((len(label) for label, _, _ in chart.items), default=0)
    lines = []
    for label, value, note in chart.items:
        length = max(1, round(chart.width * value / top)) if value > 0 else 0
        lines.append(
            f"{label.ljust(label_width)}  {'█' * length}{' ' * (chart.width - length)}  {note}"
        )
    return "```\n" + "\n".join(lines) + "\n```"


def render_block(block: Block) -> str:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Bullets):
        if block.numbered:
            return "\n".join(f"{i}. {item}" for i, item in enumerate(block.items, start=1))
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Code):
        return f"```{block.language}\n{block.text.rstrip()}\n```"
    if isinstance(block, BarChart):
        return _bars(block)
    return str(block)


def render_markdown(report: Report) -> str:
    parts = [f"# {report.title}"]
    for section in report.sections:
        if not section.blocks:
            continue
        parts.append(f"## {section.title}")
        parts.extend(render_block(b) for b in section.blocks)
    return "\n\n".join(parts) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.data, indent=2, sort_keys=False, default=str) + "\n"
