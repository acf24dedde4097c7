"""The per-file result cache: what linting a file gave, keyed by the file and the settings.

An entry is used only when the file's size, modification time and content hash are all the same
as when it was stored, and every project module it read (its ``uses``) is unchanged too. An entry
that is unreadable, not of the expected shape, or holds values linting that file cannot have given
(an unknown code or severity, a position outside the file, a fix not of Ruff's shape) is a miss, and
is written anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecolint import __version__
from ecolint.hashing import content_hash
from ecolint.package_files import package_files
from ecolint.workspace.sources import SourceError, read_bytes

CACHE_DIR_NAME = ".ecolint_cache"
_DIAGNOSTIC_KEYS = {"code": str, "name": str, "message": str, "location": dict, "end_location": dict,
                    "severity": str}
_OPTIONAL_KEYS = {"penalty": dict, "evidence": list, "fix": dict, "url": str, "cell": int}


@lru_cache(maxsize=None)
def inputs_digest() -> str:
    """A hash of the shipped rule files and data: a change in either invalidates the cache."""
    digest = hashlib.sha256(__version__.encode())
    for package in ("ecolint.rule_files", "ecolint.energy.data"):
        for entry in package_files(package, (".yaml", ".csv")):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()


def file_stamp(path: Path) -> list[int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return [status.st_size, status.st_mtime_ns]


def file_digest(path: Path) -> str | None:
    """The content hash of a regular file (never waits on a FIFO or a device), or None."""
    try:
        return content_hash(read_bytes(path))
    except SourceError:
        return None


def valid_report(report: Any) -> bool:
    """A cached report has this shape; anything else is treated as a miss."""
    if not isinstance(report, dict):
        return False
    diagnostics, practices, uses = report.get("diagnostics"), report.get("practices", []), report.get("uses", {})
    if not isinstance(diagnostics, list) or not isinstance(practices, list) or not isinstance(uses, dict):
        return False
    for item in diagnostics:
        if not isinstance(item, dict) or any(not isinstance(item.get(k), t) for k, t in _DIAGNOSTIC_KEYS.items()):
            return False
        if any(item.get(key) is not None and not isinstance(item[key], kind) for key, kind in _OPTIONAL_KEYS.items()):
            return False
        for key in ("location", "end_location"):
            location = item[key]
            if set(location) != {"row", "column"} or not all(_is_int(location[axis]) for axis in location):
                return False
    if not all(isinstance(p, list) and len(p) == 3 and isinstance(p[0], int) and isinstance(p[2], str)
               for p in practices):
        return False
    return all(isinstance(k, str) and isinstance(v, str) for k, v in uses.items())


ENGINE_NAMES = {"E999": "syntax-error", "E902": "io-error"}
FIX_APPLICABILITIES = ("safe", "unsafe")


@lru_cache(maxsize=None)
def _rule_names() -> dict[str, str]:
    from ecolint.rule_schema import rule_data

    return {**{code: data["name"] for code, data in rule_data().items()}, **ENGINE_NAMES}


def plausible_report(report: dict, size: int) -> bool:
    """Whether a report of the right shape (``valid_report``) holds values that linting a file of ``size``
    bytes can give: known codes under their names, known severities, rows, columns and cells from 1 to
    the file's size (no position can lie further), ends not before starts, fixes of Ruff's shape."""
    from ecolint.rule_schema import SEVERITIES

    limit, names = size + 1, _rule_names()
    for item in report["diagnostics"]:
        if names.get(item["code"]) != item["name"] or item["severity"] not in SEVERITIES:
            return False
        start, end = _position(item["location"], limit), _position(item["end_location"], limit)
        if start is None or end is None or end < start:
            return False
        cell = item.get("cell")
        if cell is not None and not 1 <= cell <= limit:
            return False
        if item.get("fix") is not None and not _plausible_fix(item["fix"], limit):
            return False
        if not all(isinstance(line, str) for line in item.get("evidence") or []):
            return False
    return all(1 <= row <= limit and (cell is None or _is_int(cell) and 1 <= cell <= limit)
               for row, cell, _ in report.get("practices", []))


def _position(location: dict, limit: int) -> tuple[int, int] | None:
    row, column = location["row"], location["column"]
    return (row, column) if 1 <= row <= limit and 1 <= column <= limit else None


def _plausible_fix(fix: dict, limit: int) -> bool:
    edits = fix.get("edits")
    if fix.get("applicability") not in FIX_APPLICABILITIES or not isinstance(fix.get("message"), str) \
            or not isinstance(edits, list) or not edits:
        return False
    for edit in edits:
        if not isinstance(edit, dict) or not isinstance(edit.get("content"), str):
            return False
        locations = [edit.get("location"), edit.get("end_location")]
        if not all(isinstance(where, dict) and set(where) == {"row", "column"} and all(map(_is_int, where.values()))
                   for where in locations):
            return False
        start, end = (_position(where, limit) for where in locations)
        if start is None or end is None or end < start:
            return False
    return True


def _valid_entry(entry: Any) -> bool:
    return isinstance(entry, list) and len(entry) == 3 and valid_report(entry[2])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def warn_unusable(folder: Path, reason: str) -> None:
    """One line on stderr for a cache that cannot be read or written."""
    print(f"ecolint: warning: cannot use the cache in {folder}: {reason}; running without the cache",
          file=sys.stderr)


class Cache:
    """Reports per file, in one JSON file per settings fingerprint under the cache folder."""

    def __init__(self, folder: Path, fingerprint_parts: list) -> None:
        fingerprint = hashlib.sha256(json.dumps([*fingerprint_parts, inputs_digest()]).encode()).hexdigest()[:16]
        self.folder = folder
        self.file = folder / __version__ / f"{fingerprint}.json"
        self.dirty = False
        self.usable = True  # False: the folder cannot be read or written; the run goes on without it
        self.entries: dict[str, list] = {}
        loaded = self._load()
        if isinstance(loaded, dict):
            self.entries = loaded

    def _load(self) -> Any:
        """The stored entries (anything: ``get`` checks each one); a file that is not there yet is empty."""
        try:
            data = read_bytes(self.file)
        except SourceError as error:
            if not os.path.lexists(self.file) and _folder_usable(self.file.parent):
                return {}
            self._give_up(str(error))
            return {}
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):  # not JSON, or nested too deeply: every entry is a miss
            return {}

    def _give_up(self, reason: str) -> None:
        """Run on without the cache, and say so once."""
        if self.usable:
            warn_unusable(self.folder, reason)
        self.usable, self.entries, self.dirty = False, {}, False

    def get(self, path: Path) -> dict | None:
        """The stored report of an unchanged file, or None."""
        if not self.usable:
            return None
        entry = self.entries.get(str(path.absolute()))
        if not _valid_entry(entry):
            return None
        stamp, digest, report = entry
        try:
            data = read_bytes(path)
        except SourceError:
            return None
        if stamp != file_stamp(path) or digest != content_hash(data) or not plausible_report(report, len(data)):
            return None
        if any(file_digest(Path(used)) != used_digest for used, used_digest in report.get("uses", {}).items()):
            return None
        return report

    def put(self, path: Path, report: dict) -> None:
        if not self.usable:
            return
        stamp, digest = file_stamp(path), file_digest(path)
        if stamp is None or digest is None:
            return
        diagnostics = [dict(d, filename=None) for d in report.get("diagnostics", [])]
        self.entries[str(path.absolute())] = [stamp, digest, dict(report, diagnostics=diagnostics)]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        entries = {key: entry for key, entry in self.entries.items() if _valid_entry(entry)}  # drop the junk
        temporary = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by ecolint\n*\n", encoding="utf-8")
            import tempfile

            handle, temporary = tempfile.mkstemp(dir=self.file.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(entries, stream)
            os.replace(temporary, self.file)
        except (OSError, ValueError, RecursionError) as error:  # a cache that cannot be written only costs speed
            if temporary is not None and os.path.lexists(temporary):
                os.unlink(temporary)
            self._give_up(getattr(error, "strerror", None) or str(error))


def _folder_usable(folder: Path) -> bool:
    """The folder is there, or can be made: no file stands in the way of it or of a folder above it."""
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            return candidate.is_dir()
    return True


def clear_cache(folder: Path) -> bool:
    import shutil

    if folder.is_dir():
        shutil.rmtree(folder)
        return True
    return False
