"""The rule files' schema: reading ``rules/*.yaml`` and checking each file's keys.

Reading needs PyYAML only (not even that once the parsed files are kept beside them), so the
prefilter (``ecolint.prefilter``) takes each rule's ``triggers`` from here without loading the
measurement data.
"""

from __future__ import annotations

import marshal
import os
import re
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecolint.advice import expand_all
from ecolint.package_files import package_files

SEVERITIES = ("error", "warning", "info")
APPLICABILITIES = ("safe", "unsafe", "display", "none")
REQUIRED = ("code", "name", "summary", "severity", "default", "message", "fix", "docs")
EXAMPLE_KEYS = frozenset({"code", "note", "gpu", "docs"})
TRIGGER_KEYS = frozenset({"words", "patterns"})
CODE_ONLY = "code:"  # a trigger pattern with this prefix counts only on code lines


class RuleError(ValueError):
    """A rule file that does not follow the schema."""


@lru_cache(maxsize=None)
def rule_data() -> dict[str, dict]:
    """Every shipped rule file's data by code, in code order; read once per process.

    The parsed files are kept beside them (``__pycache__/rules.marshal``, as Python keeps bytecode),
    with the files' names, sizes and modification times: a run that finds them current skips loading
    PyYAML (about 15 ms of start-up). Where it cannot be written, the YAML is read every time."""
    return {code: expand_all(data) for code, data in _parsed(package_files("ecolint.rule_files", (".yaml",))).items()}


def _parsed(entries) -> dict[str, dict]:
    """The rule files as written (before advice topics are expanded): from the stored copy when it was made
    from the same files, else from the YAML."""
    stamps = _stamps(entries)
    stored = Path(os.fspath(entries[0])).parent / "__pycache__" / STORED_NAME if stamps else None
    if stored is not None:
        try:
            kept_stamps, found = marshal.loads(stored.read_bytes())
            if kept_stamps == stamps:
                return found
        except (OSError, EOFError, ValueError, TypeError):  # missing, or not written by this code
            pass
    found = {}
    for entry in entries:
        yaml = _yaml()
        data = yaml.load(entry.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        code = data.get("code") if isinstance(data, dict) else None
        if entry.name != f"{code}.yaml":
            raise RuleError(f"{entry.name}: file name does not match code {code}")
        found[code] = data
    if stored is not None:
        _store(stored, (stamps, found))
    return found


def _yaml():
    import yaml

    return yaml


STORED_NAME = "rules.marshal"


def _stamps(entries) -> list[list] | None:
    """Each rule file's name, size and modification time; None when they are not plain files (a zip)."""
    stamps = []
    for entry in entries:
        try:
            status = os.stat(os.fspath(entry))
        except (TypeError, OSError):
            return None
        stamps.append([entry.name, status.st_size, status.st_mtime_ns])
    return stamps or None


def _store(stored: Path, content: tuple) -> None:
    """Write the parsed files atomically (other processes may read them at the same time); skip it where not
    allowed, or when the YAML holds a value ``marshal`` cannot write."""
    try:
        data = marshal.dumps(content)
        stored.parent.mkdir(exist_ok=True)
        for old in stored.parent.glob("rules.*.pickle"):  # what earlier versions kept
            old.unlink(missing_ok=True)
        temporary = stored.with_name(f"{stored.name}.{os.getpid()}.tmp")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, stored)
        finally:
            temporary.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def placeholders(message: str) -> list[str]:
    """The ``{names}`` of a message template, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(message) if name is not None]


def validate(data: dict) -> None:
    """Raise ``RuleError`` when a rule file's data does not follow the schema."""
    code = data.get("code", "?")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise RuleError(f"{code}: missing keys {', '.join(missing)}")
    if data["severity"] not in SEVERITIES:
        raise RuleError(f"{code}: severity must be one of {', '.join(SEVERITIES)}")
    if (data["fix"] or {}).get("applicability", "none") not in APPLICABILITIES:
        raise RuleError(f"{code}: fix applicability must be one of {', '.join(APPLICABILITIES)}")
    for name in placeholders(data["message"]):
        if not name.isidentifier():
            raise RuleError(f"{code}: bad message placeholder {name!r}")
    if "example" in (data["docs"] or {}):
        raise RuleError(f"{code}: docs.example is rendered from examples; write the code under examples")
    _check_examples(code, data.get("examples"))
    if "triggers" in data:
        _check_triggers(code, data["triggers"])


def _check_examples(code: str, raw: Any) -> None:
    raw = raw or {}
    if not isinstance(raw, dict) or set(raw) - {"valid", "invalid"}:
        raise RuleError(f"{code}: examples has the lists valid and invalid only")
    for entry in [*(raw.get("valid") or ()), *(raw.get("invalid") or ())]:
        if isinstance(entry, str):
            continue
        if not isinstance(entry, dict) or set(entry) - EXAMPLE_KEYS or not isinstance(entry.get("code"), str):
            raise RuleError(f"{code}: an example is a text or a mapping of {', '.join(sorted(EXAMPLE_KEYS))}")


def _check_triggers(code: str, raw: Any) -> None:
    if not isinstance(raw, dict) or set(raw) - TRIGGER_KEYS or not raw.get("patterns"):
        raise RuleError(f"{code}: triggers needs patterns (lists of regexes) and may have words")
    words = raw.get("words", [])
    if not isinstance(words, list) or not all(isinstance(word, str) and word for word in words):
        raise RuleError(f"{code}: triggers.words must be a list of non-empty texts")
    for group in raw["patterns"]:
        if not isinstance(group, list) or not group or not all(isinstance(text, str) for text in group):
            raise RuleError(f"{code}: each group of triggers.patterns must be a non-empty list of regexes")
        for text in group:
            try:
                re.compile(text.removeprefix(CODE_ONLY))
            except re.error as error:
                raise RuleError(f"{code}: bad trigger pattern {text!r}: {error}") from None
