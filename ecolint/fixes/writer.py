"""Reading a file to fix and writing it back so that nothing is ever lost.

* The new text is encoded exactly as the file was: same encoding (a coding declaration is
  honoured), same byte order mark; line endings and the final newline are whatever the text holds,
  and fixes only touch the text they change.
* The file is written to a temporary file in its own directory, flushed to disk, given the
  original's permission bits, and renamed over the original: a crash leaves the old file or the
  new one, never half of each. A symbolic link keeps pointing to the (rewritten) file it named;
  a file with several hard links gets a new inode, so the other names keep the old text.
* A file that changed on disk since it was read is not overwritten, and a read-only file is not
  made writable: both are reported as errors.
* Unchanged text is never written, so the file's bytes and modification time stay.
* The temporary file is named ``.NAME.PID.XXXXXXXX.ecolint-tmp``; one that a killed run left behind
  (its process is gone, or the id now belongs to a process started after the file was made) is
  removed by the next run, checking or fixing, that finds files in that folder.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

from ecolint.workspace.sources import decode_notebook, decode_source, read_bytes
from ecolint.workspace.temporaries import TEMPORARY_SUFFIX


class WriteError(Exception):
    """A fixed file that could not be written; the message is one line for the user."""


@dataclass
class SourceFile:
    path: Path  # as named by the user
    target: Path  # the file itself (symbolic links resolved)
    data: bytes
    text: str
    encoding: str
    status: os.stat_result


def read_source(path: Path, notebook: bool = False) -> SourceFile:
    """Read and decode a regular file (``SourceError`` says why it cannot be)."""
    target = Path(os.path.realpath(path))
    data = read_bytes(target)
    status = os.stat(target)
    text = decode_notebook(data) if notebook else decode_source(data)
    encoding = "utf-8-sig" if notebook and data.startswith(b"\xef\xbb\xbf") else "utf-8"
    if not notebook:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return SourceFile(Path(path), target, data, text, encoding, status)


def encode(source: SourceFile, text: str) -> bytes:
    """The bytes for ``text`` in the file's own encoding (``utf-8-sig`` writes the BOM back)."""
    if source.text.encode(source.encoding) != source.data:
        raise WriteError(f"cannot reproduce the file's bytes in its encoding ({source.encoding}); not rewritten")
    try:
        return text.encode(source.encoding)
    except (UnicodeEncodeError, LookupError) as error:
        raise WriteError(f"the fixed text cannot be encoded as {source.encoding}: {error}") from None


def _unchanged(source: SourceFile) -> bool:
    try:
        now = os.stat(source.target)
        before = source.status
        if (now.st_size, now.st_mtime_ns, now.st_ino) != (before.st_size, before.st_mtime_ns, before.st_ino):
            return False
        return source.target.read_bytes() == source.data
    except OSError:
        return False


def write_fixed(source: SourceFile, text: str) -> bool:
    """Write ``text`` over the file atomically; False when there was nothing to write."""
    data = encode(source, text)
    if data == source.data:
        return False
    target = source.target
    if not os.access(target, os.W_OK) or not source.status.st_mode & stat.S_IWUSR:
        raise WriteError("file is read-only; fixes were not written (make it writable and run again)")
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.",
                                             suffix=TEMPORARY_SUFFIX)
    except OSError as error:
        raise WriteError(f"cannot write in {target.parent}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, stat.S_IMODE(source.status.st_mode))
        if hasattr(os, "chown") and (source.status.st_uid, source.status.st_gid) != _owner(temporary):
            try:
                os.chown(temporary, source.status.st_uid, source.status.st_gid)
            except OSError:
                pass  # only the owner of the file can keep it that way; the content is what matters
        if not _unchanged(source):
            raise WriteError("file changed on disk while it was being fixed; not overwritten (run again)")
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise WriteError(f"cannot write the fixed file: {error.strerror or error}") from None
        raise
    return True


def _owner(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_uid, status.st_gid
