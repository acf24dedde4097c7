"""The real-world evaluation's manifest: labelled public files (see LABELLING.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
KINDS = {"inference", "eval", "serving", "benchmark", "training", "test", "library", "notebook"}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Expected:
    code: str
    line: int
    alt: tuple[int, ...] = ()
    why: str = ""

    @property
    def lines(self) -> tuple[int, ...]:
        return (self.line, *self.alt)


@dataclass(frozen=True)
class Entry:
    repo: str
    path: str
    commit: str
    kind: str
    expected: tuple[Expected, ...] = field(default=())
    note: str = ""
    source: str = ""  # the manifest file that holds the entry
    context: tuple[str, ...] = ()  # other files of the repository the file imports from (fetched, not scored)
    checked: tuple[str, ...] = ()  # rules labelled for this file beyond the ones every entry is labelled for

    @property
    def key(self) -> str:
        return f"{self.repo}:{self.path}"

    @property
    def folder(self) -> Path:
        owner, name = self.repo.split("/", 1)
        return FILES / f"{owner}__{name}@{self.commit[:12]}"

    @property
    def local_path(self) -> Path:
        return self.folder / self.path


class ManifestError(ValueError):
    pass


def _entry(raw: dict, source: str) -> Entry:
    where = f"{source}: {raw.get('repo')}:{raw.get('path')}"
    for key in ("repo", "path", "commit", "kind"):
        if not isinstance(raw.get(key), str):
            raise ManifestError(f"{where}: missing {key}")
    if not _COMMIT.match(raw["commit"]):
        raise ManifestError(f"{where}: commit must be 40 hex digits")
    if raw["kind"] not in KINDS:
        raise ManifestError(f"{where}: kind must be one of {sorted(KINDS)}")
    expected = []
    for item in raw.get("expected") or []:
        if not re.match(r"^LLM\d{3}$", str(item.get("code"))) or not isinstance(item.get("line"), int):
            raise ManifestError(f"{where}: each expected finding needs code LLMnnn and an integer line")
        expected.append(Expected(item["code"], item["line"], tuple(item.get("alt") or ()), item.get("why", "")))
    context = raw.get("context") or []
    if not isinstance(context, list) or not all(isinstance(item, str) for item in context):
        raise ManifestError(f"{where}: context must be a list of paths in the repository")
    checked = raw.get("checked") or []
    if not isinstance(checked, list) or not all(re.match(r"^LLM\d{3}$", str(item)) for item in checked):
        raise ManifestError(f"{where}: checked must be a list of rule codes")
    return Entry(raw["repo"], raw["path"], raw["commit"], raw["kind"], tuple(expected), raw.get("note", ""), source,
                 tuple(context), tuple(checked))


def load_manifest(folder: Path = HERE / "manifest") -> list[Entry]:
    entries: list[Entry] = []
    seen: set[str] = set()
    for file in sorted(folder.glob("*.yaml")):
        for raw in yaml.safe_load(file.read_text(encoding="utf-8")) or []:
            entry = _entry(raw, file.name)
            if entry.key in seen:
                raise ManifestError(f"{file.name}: {entry.key} is listed twice")
            seen.add(entry.key)
            entries.append(entry)
    return entries
