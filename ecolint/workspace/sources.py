"""Reading source files: bytes to text, and the one place that tells a notebook from a Python file."""

from __future__ import annotations

import errno
import io
import os
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

NOTEBOOK_SUFFIX = ".ipynb"


class SourceError(Exception):
    """A file that cannot be read as source (binary, bad encoding, not a regular file)."""


def decode_source(data: bytes) -> str:
    """Source bytes to text, honouring a BOM and a PEP 263 coding declaration."""
    if b"\x00" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing encoding declaration" in str(error):
            raise SourceError("cannot decode as utf-8: the file is not UTF-8 and declares no encoding") from None
        raise SourceError(f"bad encoding declaration: {error.msg}") from None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        reason = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
        raise SourceError(f"cannot decode as {encoding}: {reason}") from None


def decode_notebook(data: bytes) -> str:
    """A notebook's JSON text (always UTF-8, a BOM allowed)."""
    if b"\x00" in data:
        raise SourceError("binary file (contains NUL bytes), not a notebook")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(f"cannot decode as utf-8: {error.reason}") from None


def is_notebook(path: Path | str) -> bool:
    return str(path).endswith(NOTEBOOK_SUFFIX)


def read_bytes(path: Path) -> bytes:
    """A regular file's bytes; anything else (a FIFO, a device, a folder) is a ``SourceError``."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise SourceError(_open_problem(path, error)) from None
    if stat.S_ISDIR(status.st_mode):
        raise SourceError("is a directory, not a file")
    if not stat.S_ISREG(status.st_mode):
        raise SourceError("not a regular file")
    try:
        return path.read_bytes()
    except OSError as error:
        raise SourceError(f"cannot read file: {error.strerror or error}") from None


def _open_problem(path: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if error.errno == errno.EISDIR:
        return "is a directory, not a file"
    if error.errno == errno.ENOENT and os.path.islink(path):
        return "broken symbolic link"
    return f"cannot read file: {error.strerror or error}"


def format_size(size: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def over_size_limit(size: int, limit: int) -> str | None:
    """Why a source of ``size`` bytes is skipped under ``max-file-size`` (0: no limit), or None."""
    if not limit or size <= limit:
        return None
    return f"file skipped: {format_size(size)} is over max-file-size ({format_size(limit)})"


class OverSizeLimit(SourceError):
    """A stream over ``max-file-size``: ``head`` holds the bytes read, the rest is left unread."""

    def __init__(self, message: str, head: bytes) -> None:
        super().__init__(message)
        self.head = head


def read_limited(stream: BinaryIO, limit: int) -> bytes:
    """The bytes of ``stream`` (stdin), reading at most ``limit`` + 1 of them (``limit`` 0: no limit);
    ``OverSizeLimit`` when there are more than ``limit``."""
    if not limit:
        return stream.read()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise OverSizeLimit(f"file skipped: more than {format_size(limit)}, over max-file-size", data)
    return data


def size_problem(path: Path, limit: int) -> str | None:
    """Why the file at ``path`` is skipped for its size, or None (also when it cannot be looked at)."""
    try:
        status = os.stat(path)
    except OSError:
        return None  # reading it reports the problem
    return over_size_limit(status.st_size, limit) if stat.S_ISREG(status.st_mode) else None


def read_text(path: Path) -> str:
    """The text of a source file or a notebook on disk."""
    data = read_bytes(path)
    return decode_notebook(data) if is_notebook(path) else decode_source(data)


@dataclass(frozen=True)
class SourceFile:
    """One file of a run: where it is and how it is shown to the user."""

    path: Path | None  # None: text that has no file (stdin without --stdin-filename, an unsaved buffer)
    display: str

    @property
    def is_notebook(self) -> bool:
        return is_notebook(self.display if self.path is None else self.path)
