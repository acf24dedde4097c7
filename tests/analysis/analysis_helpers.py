"""Building a module's facts from source text, and finding its call sites, for the analysis unit tests."""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.facts import ModuleFacts, collect_facts
from ecolint.analysis.values import last_name


def facts_of(source: str, project=None) -> ModuleFacts:
    return collect_facts(cst.parse_module(source), project)


def call(facts: ModuleFacts, name: str, nth: int = 0):
    """The ``nth`` call site whose callee's last name is ``name``."""
    return [site for site in facts.collector.calls if last_name(site.node.func) == name][nth]


def argument(site, keyword: str | None = None):
    """A call's keyword argument, or its first positional one."""
    for arg in site.node.args:
        if (arg.keyword.value if arg.keyword is not None else None) == keyword:
            return arg.value
    raise LookupError(keyword)


def text(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
