"""The data files shipped inside a package (the rule files, the measurement tables), listed by name."""

from __future__ import annotations

import importlib
import os
from pathlib import Path


def package_files(package: str, suffixes: tuple[str, ...]) -> list:
    """The files of ``package`` whose names end with one of ``suffixes``, sorted by name.

    Where the package is a folder (installed, or a checkout) they are paths in it, listed with ``os``:
    a run that lints one file does not load ``importlib.resources`` (with ``zipfile``, ``tempfile`` and
    ``shutil``, about 5 ms). Elsewhere (a package inside a zip) they are ``importlib.resources``
    traversables. A name found in two folders of a namespace package is taken from the first, as
    ``importlib.resources`` does."""
    folders = list(getattr(importlib.import_module(package), "__path__", ()))
    if folders and all(os.path.isdir(folder) for folder in folders):
        found: dict[str, Path] = {}
        for folder in folders:
            for name in os.listdir(folder):
                if name.endswith(suffixes):
                    found.setdefault(name, Path(folder, name))
        return [found[name] for name in sorted(found)]
    from importlib import resources

    entries = (entry for entry in resources.files(package).iterdir() if entry.name.endswith(suffixes))
    return sorted(entries, key=lambda entry: entry.name)
