"""The per-run project index: what the linted project's own modules export, for cross-module facts.

It sits below the engine, which asks it about each file it lints.

When a file imports from another module of the project (``from configs import BNB_CONFIG``,
``from .loading import generate_one``), the analysis asks its :class:`FileLink`. The index finds the
module on disk (relative imports from the file's package; absolute ones from the file's folder up to
the project's root), reads it only when its text defines the name, parses it once per process and
answers from its facts. Third-party packages (site-packages, virtual environments) are never read.
Each module consulted is recorded with its content hash in the file's ``uses``, so a cached result
goes stale when an imported module changes.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ecolint.hashing import content_hash
from ecolint.pretrained_classes import LOAD_CALL, may_load_a_model
from ecolint.regex_anchors import Anchored, line_matches


if TYPE_CHECKING:
    from ecolint.analysis.facts import ModuleFacts
    from ecolint.analysis.values import Value

MAX_MODULE_BYTES = 1_000_000
INIT = os.sep + "__init__.py"
RECHECK_SECONDS = 1.0  # a module read less than this long ago is not looked at again (a long run, an editor)
MAX_DEPTH = 3  # modules re-exporting from modules ...
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
THIRD_PARTY_PARTS = frozenset({"site-packages", "dist-packages", ".venv", "venv", "node_modules", ".tox"})

_INDEXES: dict[str, "ProjectIndex"] = {}


def index_for(root: str) -> "ProjectIndex":
    """The project index of a root, one per process (workers build their own, lazily)."""
    index = _INDEXES.get(root)
    if index is None:
        index = _INDEXES[root] = ProjectIndex(Path(root))
    return index


@dataclass
class _Module:
    path: Path
    text: str
    stamp: tuple[int, int] = (0, 0)  # (mtime_ns, size) when read
    facts: "ModuleFacts | None" = None
    parsed: bool = False
    generators: dict[str, tuple[str, ...]] = field(default_factory=dict)
    definitions: dict[str, str] | None = None  # top-level name -> the text of its block
    added_folders: tuple[str, ...] | None = None  # the project folders it adds to sys.path (as an importer)
    line_starts: frozenset[str] | None = None  # the words that start a line (or follow def / class there)
    not_plain: frozenset[str] = frozenset()  # those of them not on a ``def`` / ``class`` line (an assignment, ...)
    holds: dict[tuple[str, ...], bool] = field(default_factory=dict)  # may_hold of its text, by words
    joinable: dict[tuple[str, ...], bool] = field(default_factory=dict)  # may_join of its text, by words
    quote_edges: tuple[frozenset[str], frozenset[str]] | None = None  # what may_join reads of its text
    generating: frozenset[str] | None = None  # top-level functions whose text runs generation
    relevant: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, text)
    item_calls: dict[str, tuple] | None = None  # top-level function -> its ItemCall facts (item_callers)
    imports_from: tuple[dict[str, list[str]], list[str]] | None = None  # name -> the modules it comes from; ``*``
    _digest: str | None = None

    @property
    def digest(self) -> str:
        """The content hash of the text read (hashed when a file's ``uses`` first records the module)."""
        if self._digest is None:
            self._digest = content_hash(self.text.encode("utf-8"))  # the bytes read: they decoded as UTF-8
        return self._digest


Scope = tuple[str, tuple[str, ...]]  # an importer's folder, and the project folders it adds to sys.path


class ProjectIndex:
    """The modules of one project, read and analyzed on demand.

    Paths are kept as strings inside (one hash each, cached by ``str``; a ``pathlib.Path`` hashes its parts
    again on every lookup): an import is found from the importer's folder and the folders it adds to
    ``sys.path`` (its :data:`Scope`); where a module file's name comes from (a package re-exporting it) and
    what its definition holds depend on the module file and the name only, whoever imports it."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self._modules: dict[str, _Module | None] = {}
        self._busy: set[str] = set()  # modules being analyzed: an import cycle answers "unknown"
        self._located: dict[tuple[str, tuple[str, ...], str], tuple[str, str] | None] = {}
        # (module file, name) -> [when checked, where it is defined, the modules read to tell]
        self._origins: dict[tuple[str, str], list] = {}
        # a module file -> [when checked, the names ``import *`` may bring from it, the modules read to tell]
        self._star_exports: dict[str, list] = {}
        self._module_files: dict[tuple[str, tuple[str, ...], str, tuple[str, ...]], str | None] = {}
        self._listings: dict[str, frozenset[str]] = {}
        self._candidates: dict[tuple[str, tuple[str, ...]], str | None] = {}  # (base folder, module path) -> its file
        self._checked: dict[str, float] = {}  # when each module file was last looked at on disk
        self._stamps: dict[str, tuple[int, int]] = {}  # (mtime_ns, size) of each file when read, readable or not
        self._absolute_bases: dict[str, list[str]] = {}
        self._modules_found: dict[tuple[str, tuple[str, ...], str], bool] = {}

    def link_for(self, importer: Path | None, depth: int = 0) -> "FileLink | None":
        if importer is None or depth > MAX_DEPTH:
            return None
        return FileLink(self, importer.absolute(), depth)

    # -- finding and reading modules ------------------------------------------------------------
    def scope(self, importer: Path | str) -> Scope:
        """Where the importer's imports are looked for (its sys.path additions read again when it changed)."""
        importer = str(importer)
        return os.path.dirname(importer), self._added_folders(importer)

    def locate(self, importer: Path, qualified: str) -> tuple[Path, str] | None:
        """The project file that defines ``qualified`` (a module path and a name) and the name."""
        found = self._find(self.scope(importer), qualified)
        return (Path(found[0]), found[1]) if found is not None else None

    def _find(self, scope: Scope, qualified: str) -> tuple[str, str] | None:
        key = (*scope, qualified)
        if key not in self._located:
            found = self._locate(scope, qualified)
            self._located[key] = self._origin(*found) if found is not None else None
        return self._located[key]

    def _origin(self, path: str, name: str) -> tuple[str, str]:
        """Where the name a module file holds is defined: the module itself, or the one it re-exports it from
        (asked again when one of the modules read to tell has changed)."""
        key = (path, name)
        known = self._origins.get(key)
        now = time.monotonic()
        if known is not None and self._still(known, now):
            return known[1]
        self._origins[key] = [now, key, ()]  # an import cycle of re-exports stops at the module that holds the name
        read: list[tuple[str, _Module | None]] = []
        found = self._reexported(path, name, read) or key
        self._origins[key] = [now, found, tuple(read)]
        return found

    def _still(self, known: list, now: float) -> bool:
        """Whether an answer ``[when checked, answer, the modules read to tell]`` still holds: checked less than
        RECHECK_SECONDS ago, or each module read (a path, and what was read) is still the same on disk."""
        if now - known[0] < RECHECK_SECONDS:
            return True
        if all(self._module(path) is module for path, module in known[2]):
            known[0] = now
            return True
        return False

    def _reexported(self, path: str, name: str, read: list[tuple[str, _Module | None]]) -> tuple[str, str] | None:
        """Where a name that a module only imports is defined: ``from .eval import evaluate`` or ``from .eval
        import *`` in a package's ``__init__.py`` (a submodule of that name, or a definition, stays); the
        modules it reads are added to ``read``."""
        if path.endswith(INIT) and self._submodule(path, name) is not None:
            return None
        module = self._module(path)
        read.append((path, module))
        if module is None or "import" not in module.text:
            return None
        named, starred = self._imports_from(module)
        if not named.get(name) and not starred or self.defines(module, name):
            return None
        scope = self.scope(path)
        by_name = named.get(name, ())
        for prefix in [*by_name, *starred]:  # in the file's order is not needed: one answer each
            if prefix not in by_name and name not in self._star_names(scope, prefix, read):
                continue  # a ``*`` is followed only where the name may come from
            found = self._find(scope, joined(prefix, name))
            if found is None or found[0] == path:
                continue
            read.append((found[0], self._module(found[0])))
            if prefix in by_name or self._defines(*found):
                return found
        return None

    def _star_names(self, scope: Scope, prefix: str, read: list[tuple[str, _Module | None]]) -> frozenset[str]:
        """The names ``from <prefix> import *`` may bring, a superset: the words that start a line, and the names
        imported by name, of the module and of those it star-imports in turn (a package's ``__init__.py`` that
        star-imports hundreds of subpackages is asked about each of them once per name, not searched); the modules
        read to tell are added to ``read``."""
        found = self._locate(scope, joined(prefix, "_"))
        if found is None:
            return frozenset()
        path = found[0]
        known = self._star_exports.get(path)
        now = time.monotonic()
        if known is None or not self._still(known, now):
            known = self._star_exports[path] = self._exported_names(path, now)
        read.extend(known[2])
        return known[1]

    def _exported_names(self, path: str, now: float) -> list:
        """[now, the names ``import *`` may bring from the module file, the modules read to tell]."""
        names: set[str] = set()
        read: list[tuple[str, _Module | None]] = []
        waiting, seen = [path], {path}
        while waiting:
            current = waiting.pop()
            module = self._module(current)
            read.append((current, module))
            if module is None:
                continue
            names |= self._line_starts(module)
            if "import" in module.text:
                named, starred = self._imports_from(module)
                names.update(named)
                inner = self.scope(current)
                for other in starred:
                    further = self._locate(inner, joined(other, "_"))
                    if further is not None and further[0] not in seen:
                        seen.add(further[0])
                        waiting.append(further[0])
        return [now, frozenset(names), tuple(read)]

    def _submodule(self, init: str, name: str) -> str | None:
        """The file of a package's submodule ``name`` (a module or a package), given the package's ``__init__.py``."""
        folder = os.path.dirname(init)
        for candidate in (os.path.join(folder, f"{name}.py"), os.path.join(folder, name, "__init__.py")):
            if self._exists(candidate):
                return candidate
        return None

    @staticmethod
    def _imports_from(module: _Module) -> tuple[dict[str, list[str]], list[str]]:
        """The module's ``from X import a, b`` statements, read once: each name's modules, and the ``*`` ones
        (a package's ``__init__.py`` may list thousands of names; asking it name by name re-read them all)."""
        if module.imports_from is None:
            named: dict[str, list[str]] = {}
            starred: list[str] = []
            for match in line_matches(IMPORT_FROM, module.text, "import"):
                base = match.group(1)
                prefix = f"<relative>{base}" if base.startswith(".") else base
                for raw in NAME_SEPARATORS.split(match.group(2) or match.group(3) or ""):
                    name = raw.strip()
                    if name == "*":
                        starred.append(prefix)
                    elif name:
                        named.setdefault(name, []).append(prefix)
            module.imports_from = (named, starred)
        return module.imports_from

    def _defines(self, path: str, name: str) -> bool:
        module = self._module(path)
        return module is not None and self.defines(module, name)

    @classmethod
    def defines(cls, module: _Module, name: str) -> bool:
        """Whether the module defines ``name`` at its top level: the words that start its lines are looked at
        first (one scan for ``\\n``), its definitions are found only for a name among them."""
        return name in cls._line_starts(module) and name in cls.definitions(module)

    @staticmethod
    def _line_starts(module: _Module) -> frozenset[str]:
        if module.line_starts is None:
            found = LINE_START_WORD.findall("\n" + module.text)
            module.line_starts = frozenset(word for _, word in found)
            module.not_plain = frozenset(word for start, word in found if not start.startswith(PLAIN_DEFINITION))
        return module.line_starts

    def _only_plain(self, module: _Module, name: str) -> bool:
        """Whether only ``def`` / ``class`` lines may define ``name`` at the module's top level (or none)."""
        self._line_starts(module)
        return name not in module.not_plain

    def _may_hold(self, module: _Module, words: tuple[str, ...]) -> bool:
        """:func:`may_hold` for the module's whole text, asked once."""
        if words not in module.holds:
            module.holds[words] = may_hold(module.text, words, self._may_join(module, words))
        return module.holds[words]

    @staticmethod
    def definitions(module: _Module) -> dict[str, str]:
        """The module's top-level definitions (name -> the text of its block), found once."""
        if module.definitions is None:
            module.definitions = top_level_definitions(module.text)
        return module.definitions

    def has_module_in(self, scope: Scope, dotted: str) -> bool:
        """Whether an absolute import of ``dotted`` from an importer's scope finds a module (or package) of the
        project."""
        key = (*scope, dotted)
        if key not in self._modules_found:
            parts = [part for part in dotted.split(".") if part]  # as ``Path.joinpath`` drops empty ones
            self._modules_found[key] = parts != [] and self._module_file(scope, False, dotted, parts) is not None
        return self._modules_found[key]

    def _locate(self, scope: Scope, qualified: str) -> tuple[str, str] | None:
        relative = qualified.startswith("<relative")
        dotted = qualified.split(">", 1)[1].lstrip(".") if relative else qualified
        parts = [part for part in dotted.split(".") if part]
        if len(parts) < (1 if relative else 2):
            return None
        dots = qualified[:len(qualified) - len(dotted)] if relative else ""
        # the names of one import share their module's file (the folders the importer adds to sys.path count)
        key = (*scope, dots, tuple(parts[:-1]))
        if key not in self._module_files:
            self._module_files[key] = self._module_file(scope, relative, qualified, parts[:-1])
        path = self._module_files[key]
        return (path, parts[-1]) if path is not None else None

    def _module_file(self, scope: Scope, relative: bool, qualified: str, module_parts: list[str]) -> str | None:
        parts = tuple(module_parts)
        for base in self._bases(scope, relative, qualified):
            key = (base, parts)
            if key not in self._candidates:  # folders share their bases: each is searched once per module path
                folder = os.path.join(base, *parts)
                self._candidates[key] = next(
                    (candidate for candidate in (folder + ".py" if parts else None, os.path.join(folder, "__init__.py"))
                     if candidate is not None and self._exists(candidate) and self._in_project(candidate)), None)
            if self._candidates[key] is not None:
                return self._candidates[key]
        return None

    def _exists(self, path: str) -> bool:
        """Whether a file exists, from one cached listing per folder (imports ask about the same folders)."""
        folder, name = os.path.split(path)
        return name in self._listing(folder)

    def _listing(self, folder: str) -> frozenset[str]:
        names = self._listings.get(folder)
        if names is None:
            parent, name = os.path.split(folder)
            if name not in ("", ".", "..") and name not in self._listings.get(parent, (name,)):
                names = frozenset()  # not in its parent's listing (``import torch`` looks for ``torch/`` everywhere)
            else:
                try:
                    names = frozenset(os.listdir(folder))
                except OSError:
                    names = frozenset()
            self._listings[folder] = names
        return names

    def _bases(self, scope: Scope, relative: bool, qualified: str) -> list[str]:
        folder, added = scope
        if not relative:
            bases = self._absolute_bases.get(folder)
            if bases is None:
                bases = self._absolute_bases[folder] = self._folders_up(folder)
            return [*bases, *added] if added else bases
        dotted = qualified.split(">", 1)[1]
        base = folder
        for _ in range(max(1, len(dotted) - len(dotted.lstrip("."))) - 1):  # ``from ..x``: one folder up
            base = os.path.dirname(base)
        return [base]

    def _added_folders(self, importer: str) -> tuple[str, ...]:
        """The project folders the importer adds to ``sys.path`` (``ecolint.analysis.sys_path``), read again
        when the file changes (its text is read as a module's)."""
        module = self._module(importer)
        if module is None:
            return ()
        if module.added_folders is None:
            module.added_folders = ()
            if "sys.path" in module.text:
                from ecolint.analysis.sys_path import added_folders

                module.added_folders = tuple(
                    str(folder) for folder in added_folders(Path(importer), module.text)
                    if folder.is_relative_to(self.root) and self._in_project(str(folder)))
        return module.added_folders

    def _folders_up(self, start: str) -> list[str]:
        """The folder and those above it, up to the project's root or a project marker."""
        bases = []
        folder, root = start, str(self.root)
        while True:
            bases.append(folder)
            if any(self._exists(os.path.join(folder, marker)) for marker in PROJECT_MARKERS) or folder == root:
                break
            parent = os.path.dirname(folder)
            if parent == folder or not Path(folder).is_relative_to(self.root):
                break
            folder = parent
        return bases

    def _definition(self, path: str, name: str) -> tuple[str, _Module | None]:
        """The text that defines ``name`` in the module file (a function's block, an assignment) or a whole
        submodule (``from app import generation``), and the module that text is from; empty when none."""
        module = self._module(path)
        if module is None:
            return "", None
        if path.endswith(INIT):  # a submodule of a package rather than a name in it
            for candidate in (os.path.join(os.path.dirname(path), f"{name}.py"),
                              os.path.join(os.path.dirname(path), name, "__init__.py")):
                if os.path.isfile(candidate):
                    other = self._module(candidate)
                    return (other.text, other) if other is not None else ("", None)
        return self.definitions(module).get(name, "") if self.defines(module, name) else "", module

    def relevant_definition(self, importer: Path, qualified: str) -> tuple[str, str]:
        """("assignment" | "function" | "", text) for an imported name, kept only when it may matter: an
        assignment that mentions a rule's trigger word, a function (or submodule) that runs generation."""
        return self.relevant_in(self.scope(importer), qualified)

    def relevant_in(self, scope: Scope, qualified: str) -> tuple[str, str]:
        """:meth:`relevant_definition` from an importer's scope (an importer asks about each name it imports)."""
        found = self._find(scope, qualified)
        if found is None:
            return "", ""
        path, name = found
        module = self._module(path)
        if module is None:
            return "", ""
        relevant = module.relevant.get(name)
        if relevant is None:
            relevant = module.relevant[name] = self._relevant(module, *found)
        return relevant

    def _relevant(self, module: _Module, path: str, name: str) -> tuple[str, str]:
        if (not path.endswith(INIT) and self._only_plain(module, name)
                and not self._may_hold(module, GENERATION_WORDS) and not self._may_hold(module, LOAD_WORDS)):
            return "", ""  # a function or class of a module that neither generates nor loads: blocks not found
        text, source = self._definition(path, name)
        if not text:
            return "", ""
        if (text.startswith(("def ", "async ", "class ")) and name not in self._generating(module)
                and not may_hold(text, LOAD_WORDS, self._may_join(source, LOAD_WORDS))):
            return "", ""  # a function or class that neither generates nor loads: its docstrings are not removed
        kind = ""
        code = DOCSTRING.sub("", text)
        if code.lstrip().startswith(("def ", "async ", "class ")) or "\ndef " in code:
            generating = self._generating(module)
            if name in generating:  # with the bodies it reaches, for the prefilter's sake
                kind = "function"
                code = "\n".join([code, *(DOCSTRING.sub("", module.definitions[other]) for other in generating)])
            elif may_load_a_model(code):  # a function or class that loads a model (LLM203)
                kind = "loader"
        elif any(word in code for word in _trigger_words()):
            kind = "assignment"
        return (kind, code) if kind else ("", "")

    @staticmethod
    def _may_join(module: _Module, words: tuple[str, ...]) -> bool:
        """:func:`may_join` for the module's text, asked once (a block of it may join no more)."""
        if words not in module.joinable:
            if module.quote_edges is None:
                module.quote_edges = quote_edges(module.text)
            module.joinable[words] = may_join(module.text, words, module.quote_edges)
        return module.joinable[words]

    def _generating(self, module: _Module) -> frozenset[str]:
        """The module's top-level functions and classes whose text runs generation, directly or through another
        one of them, called or named (``generate_func = generate_reply_HF``; text only: a cheap gate before any
        parsing)."""
        if module.generating is None and not self._may_hold(module, GENERATION_WORDS):
            module.generating = frozenset()
        if module.generating is None:
            if module.definitions is None:
                module.definitions = top_level_definitions(module.text)
            blocks = {name: text for name, text in module.definitions.items()
                      if text.lstrip().startswith(("def ", "async ", "class "))}
            found = {name for name, text in blocks.items()  # docstrings removed only where the words are
                     if may_hold(text, GENERATION_WORDS, self._may_join(module, GENERATION_WORDS))
                     and GENERATION_CALL.search(DOCSTRING.sub("", text))}
            bodies = {name: DOCSTRING.sub("", text) for name, text in blocks.items()} if found else {}
            for _ in range(3):
                if not found:
                    break
                mentions = Anchored(rf"\b(?:{'|'.join(map(re.escape, found))})\b")  # one of them, by name
                grown = {name for name, body in bodies.items() if name not in found and mentions.search(body)}
                if not grown:
                    break
                found |= grown
            module.generating = frozenset(found)
        return module.generating

    def item_calls(self, module: _Module, depth: int) -> dict[str, tuple]:
        """The module's functions that call a callable they are given once per item of a loop (parsed only
        when the text has a loop)."""
        if module.item_calls is None:
            module.item_calls = {}
            if ("for " in module.text or "while " in module.text) and self.facts(module, depth) is not None:
                from ecolint.analysis.item_callers import item_callers

                module.item_calls = item_callers(module.facts)
        return module.item_calls

    @staticmethod
    def _in_project(path: str) -> bool:
        return not THIRD_PARTY_PARTS & set(path.split(os.sep))

    def module(self, path: Path | str) -> _Module | None:
        """The module's text and what was derived from it; read again when the file changed (a language
        server or a long run outlives edits)."""
        return self._module(str(path))

    def _module(self, path: str) -> _Module | None:
        """:meth:`module`; a file that cannot be read (too large, not UTF-8) is not read again until it changes
        (every linted file is asked about as an importer)."""
        known = self._modules.get(path)
        now = time.monotonic()
        if path in self._modules and now - self._checked.get(path, 0.0) < RECHECK_SECONDS:
            return known
        self._checked[path] = now
        try:
            stat = os.stat(path)
        except OSError:
            self._modules[path] = None
            self._stamps.pop(path, None)
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._stamps.get(path) != stamp:
            known = self._modules[path] = self._read(path, stamp)
            self._stamps[path] = stamp
        return known

    @staticmethod
    def _read(path: str, stamp: tuple[int, int]) -> _Module | None:
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError:
            return None
        if len(data) > MAX_MODULE_BYTES:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return _Module(Path(path), text, stamp)

    def facts(self, module: _Module, depth: int) -> "ModuleFacts | None":
        """The module's facts, parsed once (None when it does not parse or is in an import cycle)."""
        if module.parsed or str(module.path) in self._busy:
            return module.facts
        self._busy.add(str(module.path))
        try:
            import libcst as cst

            from ecolint.analysis.facts import collect_facts
            from ecolint.analysis.helpers import generator_summaries

            try:
                tree = cst.parse_module(module.text)
            except (cst.ParserSyntaxError, RecursionError):
                tree = None
            if tree is not None:
                module.facts = collect_facts(tree, self.link_for(module.path, depth + 1))
                summaries = generator_summaries(module.facts.collector, module.facts)
                module.generators = {
                    info.name: summaries[id(info.node)]
                    for info in module.facts.resolver.functions.values()
                    if id(info.node) in summaries and info.owner is None and info.scope.parent is not None
                    and info.scope.parent.kind == "module"
                }
                for name, methods in module.facts.collector.classes.items():  # Class.method of top-level classes
                    module.generators.update({f"{name}.{method}": summaries[id(info.node)]
                                              for method, info in methods.items() if id(info.node) in summaries})
        finally:
            self._busy.discard(str(module.path))
            module.parsed = True
        return module.facts


IMPORT_FROM = re.compile(r"(?m)^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(?:\(([^)]*)\)|([^\n#;]*))")
NAME_SEPARATORS = re.compile(r"[,\s]+")  # between the names of ``from x import a, b``
IMPORT_MODULE = re.compile(r"(?m)^[ \t]*import[ \t]+([\w.]+)(?:[ \t]+as[ \t]+(\w+))?")


@dataclass
class ImportedText:
    """What a file imports from its project, as text: module-level assignments and function bodies."""

    assignments: str = ""
    functions: str = ""
    loaders: str = ""  # functions and classes that load a model and do not generate
    passed: bool = False  # a generating function is named as a value (handed to a call), not only called


def _trigger_words() -> frozenset[str]:
    from ecolint.prefilter import triggers

    global _WORDS
    if _WORDS is None:
        _WORDS = frozenset(word for entry in triggers().values() for word in entry.get("words") or () if word)
    return _WORDS


_WORDS: frozenset[str] | None = None
GENERATION_CALL = Anchored(r"\.generate\s*\(|\.chat\s*\(|\bpipeline\s*\(|\bpipe\s*\(")
DOCSTRING = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
LOAD_WORDS = ("from_pretrained", "pipeline", "LLM")  # one of them is in each match of LOAD_CALL
GENERATION_WORDS = (".generate", ".chat", "pipe")  # and of GENERATION_CALL


def may_hold(text: str, words: tuple[str, ...], joinable: bool | None = None) -> bool:
    """Whether ``text`` holds one of ``words`` once DOCSTRING's spans are removed from it (or from a part of it):
    it holds one, or one is made where a span is removed (:func:`may_join`; ``joinable``: its answer for a
    text that holds this one). Without any, LOAD_CALL or GENERATION_CALL cannot match: no docstring is removed
    to tell."""
    if any(word in text for word in words):
        return True
    return may_join(text, words) if joinable is None else joinable


def may_join(text: str, words: tuple[str, ...], edges: "tuple[frozenset[str], frozenset[str]] | None" = None) -> bool:
    """Whether removing a triple-quoted span from ``text`` may join one of ``words``: its start right before
    triple quotes, its end right after them (``edges``: :func:`quote_edges` of the text, when known)."""
    heads, tails = quote_edges(text) if edges is None else edges
    return bool(heads and tails) and any(
        any(head.endswith(word[:cut]) for head in heads) and any(tail.startswith(word[cut:]) for tail in tails)
        for word in words for cut in range(1, len(word)))


def quote_edges(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The word characters (or a dot) right before triple quotes, and those right after them (past a longer run
    of quotes); none after when there are none before (a string prefix, ``r\"\"\"``, is the usual one)."""
    heads = {text[max(start - 16, 0):start] for quotes in ('"""', "'''") for start in _found(text, quotes)
             if start and (_is_word(text[start - 1]) or text[start - 1] == ".")}
    if not heads:
        return frozenset(), frozenset()
    tails = set()
    for quotes in ('"""', "'''"):
        for start in _found(text, quotes):
            rest = text[start + 3:start + 32].lstrip(quotes[0])
            if _is_word(rest[:1]):
                tails.add(rest[:16])
    return frozenset(heads), frozenset(tails)


def _found(text: str, part: str) -> Iterator[int]:
    """Where ``part`` starts in ``text``, overlapping matches included."""
    start = text.find(part)
    while start >= 0:
        yield start
        start = text.find(part, start + 1)


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"  # False for ""


MAX_MODULE_CHAINS = 64  # ``lce.models.common.fn`` chains of an imported module looked up, at most


def imported_text(index: ProjectIndex, importer: Path, source: str) -> ImportedText:
    """The definitions of the names a file imports from project modules that may matter to a rule (text
    only, nothing parsed): assignments that mention a rule's trigger word, functions that generate."""
    found = ImportedText()
    wanted: dict[str, str] = {}  # qualified name -> how the file spells it
    scope = index.scope(importer)
    from_imports, module_imports = import_statements(source)
    for match in from_imports:
        base = match.group(1)
        prefix = f"<relative>{base}" if base.startswith(".") else base
        for raw in NAME_SEPARATORS.split(match.group(2) or match.group(3) or ""):
            name = raw.strip()
            if name and name != "as" and name.isidentifier():
                wanted[joined(prefix, name)] = name
    for match in module_imports:  # ``import app.x``, ``import app as a``: a.x.fn
        module, alias = match.group(1), match.group(2) or match.group(1)
        wanted[module] = alias
        if not index.has_module_in(scope, module):
            continue
        chains = dict.fromkeys(re.findall(rf"\b{re.escape(alias)}((?:\.\w+)+)", source))
        for chain in list(chains)[:MAX_MODULE_CHAINS]:
            wanted[module + chain] = alias + chain
    texts: dict[str, list[str]] = {"assignment": [], "function": [], "loader": []}
    for qualified, spelled in wanted.items():
        kind, text = index.relevant_in(scope, qualified)
        if kind == "loader" and not followed_by(spelled, source, "("):
            continue  # a loader the file never calls (a base class, a type in a signature) loads nothing here
        if kind == "function":
            passed = named_as_value(spelled, source)
            if not passed and not followed_by(spelled, source, "(."):
                continue  # neither called, nor reached through, nor handed on: a base class or a type
            found.passed = found.passed or passed
        texts.get(kind, []).append(text)
    found.assignments = "\n".join(texts["assignment"])
    found.functions = "\n".join(texts["function"])
    found.loaders = "\n".join(texts["loader"])
    return found


def import_statements(source: str) -> tuple[list[re.Match], list[re.Match]]:
    """``line_matches`` of IMPORT_FROM and of IMPORT_MODULE, in one pass over the lines that hold ``import``."""
    found: tuple[list[re.Match], list[re.Match]] = ([], [])
    ends = [0, 0]
    index = source.find("import")
    while index != -1:
        start = source.rfind("\n", 0, index) + 1
        for kind, pattern in enumerate((IMPORT_FROM, IMPORT_MODULE)):
            if start >= ends[kind]:
                match = pattern.match(source, start)
                if match is not None:
                    found[kind].append(match)
                    ends[kind] = max(match.end(), start + 1)
        line_end = source.find("\n", index)
        if line_end == -1:
            break
        index = source.find("import", line_end)
    return found


def joined(prefix: str, name: str) -> str:
    """The qualified name of ``name`` imported from ``prefix`` (``pkg.mod``, ``<relative>..`` for ``from ..``)."""
    return f"{prefix}{name}" if prefix.endswith(".") else f"{prefix}.{name}"


def followed_by(spelled: str, source: str, characters: str) -> bool:
    """Whether ``spelled`` occurs as a whole name (not the tail of another name or attribute) followed, after
    any spaces, by one of ``characters``: ``str.find`` rather than a pattern that starts with a look-behind,
    which ``re`` tries at every position of the text."""
    start = source.find(spelled)
    while start >= 0:
        end = start + len(spelled)
        before = source[start - 1] if start else " "
        whole = end == len(source) or not (source[end].isalnum() or source[end] == "_")
        if whole and not (before.isalnum() or before in "_."):
            rest = source[end:end + 80].lstrip(" \t")
            if rest[:1] and rest[0] in characters:
                return True
        start = source.find(spelled, end)
    return False


NOT_A_VALUE_LINE = ("from ", "import ", "class ", "def ", "async def ", "@", "#")


def named_as_value(spelled: str, source: str) -> bool:
    """Whether the file hands ``spelled`` (an imported function) to something as a value, not calling it: an
    argument, a keyword's or a dict entry's value, an assignment (``evaluate(data, fn=generate_one)``,
    ``{"inference_fn": generate_one}``); an import, a class's bases or a ``def`` line do not count."""
    for start in value_positions(spelled, source):
        line = source.rfind("\n", 0, start) + 1
        if source[line:start].lstrip().startswith(NOT_A_VALUE_LINE):
            continue
        before = source[max(line - 200, 0):start].rstrip()  # the line and a little before it
        if before[-1:] in ("=", "(", ",", ":", "[") and not before.endswith(("==", "!=", "<=", ">=")):
            return True
    return False


def value_positions(spelled: str, source: str) -> Iterator[int]:
    """Where ``spelled`` (a name, or names joined by dots) occurs as a whole name followed, after any white
    space, by neither a call, nor a dot, nor another word: the matches of ``(?<![\\w.])spelled\\b(?!\\s*[(.\\w])``
    found with ``str.find`` (``re`` tries a pattern that starts with a look-behind at every position)."""
    start = source.find(spelled)
    while start >= 0:
        end = start + len(spelled)
        before = source[start - 1] if start else " "
        if not (before.isalnum() or before in "_."):
            after = end
            while after < len(source) and source[after].isspace():
                after += 1
            if after == len(source) or not (source[after].isalnum() or source[after] in "_(."):
                yield start
        start = source.find(spelled, end)


def may_matter(imported: ImportedText, source: str, could_match) -> bool:
    """An imported config reaches a load in this file, or an imported function that generates is called in
    one of its loops or handed to a call (whose function may loop): ``could_match`` (the prefilter) is asked
    about the combined text in each case."""
    if imported.assignments and LOAD_CALL.search(source) and could_match(source + "\n" + imported.assignments):
        return True
    if imported.passed and could_match(source + "\n" + imported.functions + "\nfor"):
        return True  # the loop may be in the function it is handed to
    has_loop = "for " in source or "while " in source
    if imported.functions and has_loop and could_match(source + "\n" + imported.functions):
        return True
    return bool(imported.loaders and could_match(source + "\n" + imported.loaders))  # called per request


# the words a line starts with, or its ``def`` / ``class`` defines: all the names TOP_LEVEL_NAME can find, and more
LINE_START_WORD = re.compile(r"\n((?:async[ \t]+def|def|class)[ \t]+)?(\w+)")
PLAIN_DEFINITION = ("def ", "async ", "class ")  # how the blocks that relevant_definition reads as code start
TOP_LEVEL_NAME = re.compile(r"(?:async[ \t]+def|def|class)[ \t]+(\w+)|(\w+)[ \t]*(?::[^=\n]*)?=(?!=)")


STRING_OR_COMMENT = re.compile(  # unrolled loops: a run of plain characters, then one escape or lone quote
    r'#[^\n]*|"""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'
    r"|'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"
    r'|"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"|\'[^\'\\\n]*(?:\\[\s\S][^\'\\\n]*)*\'')


def string_continuation_lines(text: str) -> frozenset[int]:
    """The (0-based) lines that start inside a multi-line string: a prompt template's line in column 0
    does not end the block that holds it. Strings and comments are read left to right, as the tokenizer
    reads them, so a quote in a comment or a ``#`` in a string changes nothing."""
    if '"""' not in text and "'''" not in text:
        return frozenset()
    inside: set[int] = set()
    line, counted = 0, 0
    for match in STRING_OR_COMMENT.finditer(text):
        literal = match.group()
        if "\n" in literal and literal[0] != "#":  # a triple-quoted string, or one continued by a backslash
            line += text.count("\n", counted, match.start())
            counted = match.start()
            inside.update(range(line + 1, line + 1 + literal.count("\n")))
    return frozenset(inside)


def top_level_definitions(text: str) -> dict[str, str]:
    """Each name a module defines at its top level (def, class, assignment) with the text of its block,
    found in one pass over the lines."""
    lines = text.split("\n")  # the line numbers string_continuation_lines counts (splitlines also splits at \f)
    if lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    in_string = string_continuation_lines(text)
    found: dict[str, str] = {}
    start, name = None, None
    for number, line in enumerate([*lines, "<end>"]):
        if line[:1] in ("", " ", "\t", ")", "]", "}", "#") or number in in_string:
            continue  # inside the current block (or blank / a comment / a line of a multi-line string)
        if name is not None:
            found[name] = "\n".join(lines[start:number])
        match = TOP_LEVEL_NAME.match(line)
        start, name = (number, match.group(1) or match.group(2)) if match else (None, None)
    return found


class FileLink:
    """The project as seen from one linted file; records the modules it consulted."""

    def __init__(self, index: ProjectIndex, importer: Path, depth: int) -> None:
        self.index = index
        self.importer = importer
        self.depth = depth
        self.uses: dict[str, str] = {}

    def _module_of(self, qualified: str) -> tuple[_Module, str] | None:
        """The project module that defines ``qualified`` and the name there, recorded as used."""
        found = self.index.locate(self.importer, qualified)
        if found is None:
            return None
        path, name = found
        module = self.index.module(path)
        if module is None:
            return None
        self.uses[str(path)] = module.digest
        return module, name

    def _module_defining(self, qualified: str, kind: str) -> tuple[_Module, str] | None:
        """The module that defines ``qualified`` when its definition is of ``kind`` and may matter (the
        text check of :meth:`ProjectIndex.relevant_definition`): only such modules are ever parsed."""
        found = self._module_of(qualified)
        if found is None or self.index.relevant_definition(self.importer, qualified)[0] != kind:
            return None
        return found

    def item_calls(self, qualified: str) -> tuple | None:
        """How a project function calls a callable it is given once per item (``ItemCall`` facts)."""
        found = self._module_of(qualified)
        if found is None:
            return None
        module, name = found
        if not self.index.definitions(module).get(name, "").lstrip().startswith("def "):
            return None
        return self.index.item_calls(module, self.depth).get(name)

    def constant(self, qualified: str) -> "Value | None":
        found = self._module_defining(qualified, "assignment")
        if found is None:
            return None
        module, name = found
        facts = self.index.facts(module, self.depth)
        if facts is None:
            return None
        import libcst as cst

        from ecolint.analysis.values import ValueKind

        scope = facts.collector.module_scope
        binding = scope.lookup(name, 10**9)
        if binding is None or binding.kind not in ("assign", "import"):
            return None
        value = facts.resolver.resolve(cst.Name(name), scope, 10**9)
        return None if value.kind == ValueKind.UNKNOWN else value

    def definition_facts(self, qualified: str) -> "tuple[ModuleFacts, str] | None":
        """The facts of the project module that defines a function or class that generates or loads a
        model, and its name there."""
        found = self._module_defining(qualified, "loader") or self._module_defining(qualified, "function")
        if found is None:
            return None
        facts = self.index.facts(found[0], self.depth)
        return (facts, found[1]) if facts is not None else None

    def generator_chain(self, qualified: str, method: str | None = None) -> tuple[str, ...] | None:
        found = self._module_defining(qualified, "function")
        if found is None:
            return None
        module, name = found
        if self.index.facts(module, self.depth) is None:
            return None
        return module.generators.get(f"{name}.{method}" if method else name)
