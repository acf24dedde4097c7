"""Which files to lint: walk directories, skip what users never want linted, honour .gitignore."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded when patterns are matched (about 20 ms): not for a file named on the command line
    import pathspec

DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".ecolint_cache",
    ".pytest_cache",
    ".ipynb_checkpoints",
    "__pypackages__",
    "__pycache__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
    "*.egg-info",
)
SOURCE_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class Found:
    """A file to lint, or a path that could not be walked (``error`` says why)."""

    path: Path
    error: str | None = None


def _spec(patterns: list[str] | tuple[str, ...]) -> pathspec.PathSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


class FileFinder:
    def __init__(
        self,
        root: Path,
        exclude: list[str] | None,
        extend_exclude: list[str],
        respect_gitignore: bool,
        suffixes: tuple[str, ...] = SOURCE_SUFFIXES,
        force_exclude: bool = False,
    ) -> None:
        self.root = root.resolve()
        self.exclude_patterns = [*(DEFAULT_EXCLUDE if exclude is None else exclude), *extend_exclude]
        self.respect_gitignore = respect_gitignore
        self.suffixes = suffixes
        self.force_exclude = force_exclude
        self._gitignores: dict[Path, pathspec.PathSpec | None] = {}

    @cached_property
    def exclude(self) -> pathspec.PathSpec:
        """The exclude patterns, compiled when first matched (a file named on the command line never is)."""
        return _spec(self.exclude_patterns)

    def excluded(self, path: Path, is_dir: bool) -> bool:
        """Matched by exclude patterns (relative to the settings root, or by name)."""
        resolved = path.absolute()
        candidates = [path.name + ("/" if is_dir else "")]
        try:
            relative = resolved.relative_to(self.root).as_posix()
            candidates.append(relative + ("/" if is_dir else ""))
        except ValueError:
            pass
        return any(self.exclude.match_file(candidate) for candidate in candidates)

    def _gitignore(self, folder: Path) -> pathspec.PathSpec | None:
        if folder not in self._gitignores:
            spec = None
            ignore_file = folder / ".gitignore"
            try:
                spec = _spec(ignore_file.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                spec = None
            self._gitignores[folder] = spec
        return self._gitignores[folder]

    def ignored_by_git(self, path: Path, is_dir: bool, stop: Path | None = None) -> bool:
        """Matched by a .gitignore of an enclosing folder (up to the repository root, or ``stop``)."""
        if not self.respect_gitignore:
            return False
        absolute = path.absolute()
        for folder in absolute.parents:
            spec = self._gitignore(folder)
            if spec is not None:
                relative = absolute.relative_to(folder).as_posix() + ("/" if is_dir else "")
                if spec.match_file(relative):
                    return True
            if folder == stop or (folder / ".git").exists():
                break
        return False

    def excluded_explicitly(self, path: Path, is_dir: bool) -> bool:
        """For ``force-exclude``: the path or a folder above it (below the root) is excluded or ignored."""
        if self.excluded(path, is_dir) or self.ignored_by_git(path, is_dir):
            return True
        absolute = path.absolute()
        for folder in absolute.parents:
            if folder == self.root or self.root not in folder.parents:
                break
            if self.excluded(folder, True) or self.ignored_by_git(folder, True):
                return True
        return False

    def find(self, paths: list[Path]) -> Iterator[Found]:
        """Files under ``paths``; a path named explicitly is linted even if excluded or git-ignored,
        unless ``force_exclude`` is set (as pre-commit, which names every file, needs). A path that cannot
        be looked at is reported (``Found.error``) and the others are still found."""
        for path in paths:
            try:
                yield from self._find(path)
            except OSError as error:
                yield Found(path, _unreadable(error))

    def _find(self, path: Path) -> Iterator[Found]:
        if self.force_exclude and self.excluded_explicitly(path, path.is_dir()):
            return
        if path.is_dir():
            # a folder named on the command line is wanted even if git ignores it: then only
            # the .gitignore files inside it apply
            stop = path.absolute() if self.ignored_by_git(path, True) else None
            yield from self._walk(path, stop)
        elif path.exists() or path.is_symlink():
            yield Found(path)
        else:
            yield Found(path, "no such file or directory")

    def _walk(self, folder: Path, stop: Path | None = None) -> Iterator[Found]:
        """The files below ``folder``. A symbolic link to a directory found on the way is not followed (as
        Ruff and flake8 do: it usually leads to a virtual environment, a dependency or back up the tree);
        one named on the command line is. A link to a file is linted, wherever it points."""
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            yield Found(folder, _unreadable(error, " directory"))
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            try:
                yield from self._entry(entry, path, is_dir, stop)
            except OSError as error:  # an entry that cannot be looked at: reported, the walk goes on
                yield Found(path, _unreadable(error, " directory" if is_dir else ""))

    def _entry(self, entry: os.DirEntry, path: Path, is_dir: bool, stop: Path | None) -> Iterator[Found]:
        if is_dir:
            if entry.is_symlink() or self.excluded(path, True) or (path / "pyvenv.cfg").exists() \
                    or self.ignored_by_git(path, True, stop):
                return
            yield from self._walk(path, stop)
        elif entry.name.endswith(self.suffixes):
            if entry.is_symlink() and not path.exists():
                yield Found(path, _dangling_link(path))
                return
            if self.excluded(path, False) or self.ignored_by_git(path, False, stop):
                return
            yield Found(path)


def _unreadable(error: OSError, what: str = "") -> str:
    """Why a path could not be looked at, in one line."""
    return f"cannot read{what}: {error.strerror or error}"


def _dangling_link(path: Path) -> str:
    """Why a symbolic link leads to no file: it loops, or its target is missing."""
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
    return "broken symbolic link"
