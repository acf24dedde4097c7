"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

The run's tool driver lists every rule (id, name, short and full description, help text and
help URI, default level and whether it is on by default); each result carries its location
and, when ecolint has one, its fix as SARIF replacements. Notebook results point at the line of
the ``.ipynb`` file that holds the cell's line and name the cell in the message.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urljoin

from ecolint import __version__
from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter
from ecolint.rules import IO_ERROR, SYNTAX_ERROR, Rule, all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SRCROOT = "%SRCROOT%"
ENGINE_RULES = {
    SYNTAX_ERROR: ("syntax-error", "The file could not be parsed as Python."),
    IO_ERROR: ("io-error", "The file could not be read (missing, unreadable, binary or badly encoded)."),
}


@lru_cache(maxsize=1)
def docs_base() -> str | None:
    """The project's documentation or source URL from the installed package's metadata, if any."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("ecolint").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    found = dict(item.split(", ", 1) for item in urls if ", " in item)
    for key in ("Documentation", "Source", "Repository", "Homepage"):
        if found.get(key):
            return found[key].rstrip("/") + "/"
    return None


def help_uri(rule_url: str) -> str:
    """The rule's documentation page: absolute when the package names its site, else repository-relative."""
    if "://" in rule_url:
        return rule_url
    base = docs_base()
    return urljoin(base, rule_url) if base else rule_url


def rule_descriptor(rule: Rule) -> dict:
    documentation = rule.documentation()
    tags = ["energy", rule.code[:4]]
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.docs.get("what_it_does", rule.summary).split())},
        "help": {"text": documentation, "markdown": documentation},
        "helpUri": help_uri(rule.url),
        "defaultConfiguration": {"level": LEVELS.get(rule.severity, "warning"), "enabled": rule.default_enabled},
        "properties": {
            "tags": tags,
            "penalty": rule.penalty_text(),
            "fix": rule.fix_applicability,
            **({"fixTitle": rule.fix_title} if rule.fix_title else {}),
        },
    }


def engine_descriptor(code: str) -> dict:
    name, text = ENGINE_RULES[code]
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "help": {"text": text},
        "defaultConfiguration": {"level": "error", "enabled": True},
    }


def artifact_location(filename: str) -> dict:
    path = Path(filename)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(path.as_posix()), "uriBaseId": SRCROOT}


def region(diagnostic: Diagnostic) -> dict | None:
    start, end = diagnostic.location, diagnostic.end_location
    if diagnostic.cell is not None:
        from ecolint.notebooks import file_row

        row = file_row(Path(diagnostic.filename), diagnostic.cell, start.row)
        return {"startLine": row} if row is not None else None
    found = {"startLine": start.row, "startColumn": start.column}
    if (end.row, end.column) >= (start.row, start.column):
        found.update(endLine=end.row, endColumn=end.column)
    return found


def sarif_fix(diagnostic: Diagnostic) -> dict | None:
    fix = diagnostic.fix
    if not fix or diagnostic.cell is not None or not fix.get("edits"):
        return None
    replacements = []
    for edit in fix["edits"]:
        start, end = edit["location"], edit["end_location"]
        replacements.append({
            "deletedRegion": {"startLine": start["row"], "startColumn": start["column"],
                              "endLine": end["row"], "endColumn": end["column"]},
            "insertedContent": {"text": edit.get("content") or ""},
        })
    return {
        "description": {"text": f"{fix.get('message') or 'Apply the fix'} ({fix.get('applicability', 'unknown')})"},
        "artifactChanges": [{"artifactLocation": artifact_location(diagnostic.filename), "replacements": replacements}],
    }


def result(diagnostic: Diagnostic, rule_index: dict[str, int]) -> dict:
    message = diagnostic.message
    if diagnostic.cell is not None:
        message = f"cell {diagnostic.cell}, line {diagnostic.location.row}: {message}"
    physical: dict = {"artifactLocation": artifact_location(diagnostic.filename)}
    found_region = region(diagnostic)
    if found_region:
        physical["region"] = found_region
    entry: dict = {
        "ruleId": diagnostic.code,
        "level": LEVELS.get(diagnostic.severity, "warning"),
        "message": {"text": message},
        "locations": [{"physicalLocation": physical}],
    }
    if diagnostic.code in rule_index:
        entry["ruleIndex"] = rule_index[diagnostic.code]
    fix = sarif_fix(diagnostic)
    if fix:
        entry["fixes"] = [fix]
    properties: dict = {}
    if diagnostic.cell is not None:
        properties.update(cell=diagnostic.cell, cellLine=diagnostic.location.row, cellColumn=diagnostic.location.column)
    if diagnostic.penalty:
        properties["penalty"] = diagnostic.penalty.to_dict()
    if diagnostic.evidence:
        properties["evidence"] = list(diagnostic.evidence)
    if properties:
        entry["properties"] = properties
    return entry


def sarif_log(diagnostics: list[Diagnostic]) -> dict:
    rules = [rule_descriptor(rule) for rule in all_rules().values()]
    rules += [engine_descriptor(code) for code in ENGINE_RULES]
    rule_index = {descriptor["id"]: index for index, descriptor in enumerate(rules)}
    run = {
        "tool": {"driver": {
            "name": "ecolint",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": rules,
        }},
        "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [result(d, rule_index) for d in diagnostics],
    }
    base = docs_base()
    if base:
        run["tool"]["driver"]["informationUri"] = base
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


@reporter("sarif")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    return json.dumps(sarif_log(diagnostics), indent=2, ensure_ascii=False)
