"""The version of a distribution installed where ecolint runs, found the way ``importlib.metadata`` finds it.

``importlib.metadata.version`` costs a run on one file about as much as everything else it does (the
module and its imports: email, zipfile, csv, ...). For the usual environments (folders on ``sys.path``
holding ``*.dist-info`` / ``*.egg-info``, and no finder but the standard one that lists distributions)
the same search is done here with ``os``: the first ``sys.path`` entry with metadata of that name, its
``METADATA`` (or ``PKG-INFO``) header ``Version``. Anything else (a zip or an ``.egg`` on ``sys.path``,
a finder of its own) is left to ``importlib.metadata``.
"""

from __future__ import annotations

import os
import re
import sys

_NOT_FOUND = object()
_SEPARATORS = re.compile(r"[-_.]+")
_NEWLINE = re.compile(r"(\r\n|\r|\n)")  # the email parser's line ends
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")  # email.feedparser.headerRE


def installed_version(package: str) -> str | None:
    """The installed version of ``package``; None when it is not installed or its metadata has no version.
    Raises what ``importlib.metadata.version`` raises where the search is left to it."""
    found = _search(package)
    if found is not _NOT_FOUND:
        return found
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _normalize(name: str) -> str:
    """PEP 503 normalization with dashes as underscores (``importlib.metadata.Prepared.normalize``)."""
    return _SEPARATORS.sub("-", name).lower().replace("-", "_")


def _search(package: str):
    """The version found in the folders of ``sys.path``, None when none holds the package, or ``_NOT_FOUND``
    when the search is not one this function can do."""
    from importlib.machinery import PathFinder

    if not package or any(hasattr(finder, "find_distributions") and finder is not PathFinder
                          for finder in sys.meta_path):
        return _NOT_FOUND
    wanted = _normalize(package)
    for entry in sys.path:
        folder = entry or "."
        if os.path.basename(entry).lower().endswith(".egg"):
            return _NOT_FOUND
        try:
            children = os.listdir(folder)
        except OSError:
            if os.path.exists(folder):
                return _NOT_FOUND  # a zip, or a folder that cannot be listed
            continue
        for child in children:
            low = child.lower()
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            if _normalize(low.rpartition(".")[0].partition("-")[0]) == wanted:  # "Name-1.0.dist-info"
                return _version(os.path.join(folder, child))
    return None


def _version(path: str) -> str | None:
    """The ``Version`` header of the metadata at ``path`` (a folder with METADATA or PKG-INFO, or a file)."""
    for name in ("METADATA", "PKG-INFO", ""):
        try:
            with open(os.path.join(path, name) if name else path, encoding="utf-8") as stream:
                text = stream.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            continue
        if text:
            return _header(text, "version")
    return None


def _header(text: str, wanted: str) -> str | None:
    """The first header ``wanted`` (lower case) of an email-style text, as ``email.message_from_string`` reads
    it: the headers end at the first line that is none (a blank line), a value continues on the lines that
    start with a space or a tab, a ``From `` line and a line starting with ``:`` are skipped."""
    parts = _NEWLINE.split(text)
    lines = [parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]
    found: list[str] | None = None
    for line in lines:
        if not _HEADER_LINE.match(line):
            break
        if line[0] in " \t":
            if found is not None:
                found.append(line)
            continue
        if found is not None:
            break
        name, colon, rest = line.partition(":")
        if line.startswith("From ") or not colon or not name:
            continue
        if name.lower() == wanted:
            found = [rest.lstrip(" \t")]
    if found is None:
        return None
    value = "".join(found).rstrip("\r\n")
    if "\n" in value:  # importlib.metadata re-indents a value of several lines
        import textwrap

        value = textwrap.dedent(" " * 8 + value)
    return value
