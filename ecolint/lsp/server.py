"""The ecolint language server: diagnostics as you type, quick fixes and ``# noqa`` actions.

It speaks LSP over stdio (``ecolint lsp``) and lints open Python documents with the same engine
and settings as ``ecolint check``: the nearest pyproject.toml with a ``[tool.ecolint]`` table
above the document (re-read when it changes), its per-file ignores included.

Diagnostics are published when a document is opened or saved, and after a short pause in
typing. Analyses run in a worker process (``ecolint.lsp.worker``), one at a time, so requests are
answered while a large document is analyzed; only the latest version of a document is analyzed,
and an analysis whose document changed before it finished publishes nothing (and is stopped when
the newer version is due). Code actions: the fix of a diagnostic that has one (an unsafe fix only
when ``unsafe-fixes`` is on), one "fix all" action of kind ``source.fixAll.ecolint``, and "disable
for this line", which adds ``# noqa: CODE`` to the line the diagnostic starts on.

Notebooks edited as notebooks (LSP 3.17 notebook documents) are linted as a whole, their cells
sharing one namespace as in an ``.ipynb`` file; each cell gets its own diagnostics, in its own
coordinates, and its own code actions, and ``notebook.source.fixAll.ecolint`` fixes every cell.

The editor may override two settings in ``initializationOptions``: ``unsafeFixes`` (true or
false) and ``gpu`` (a GPU name, as ``--gpu``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from ecolint import __version__
from ecolint.config import ConfigError, Settings, find_config, load_settings, parse_gpu
from ecolint.diagnostics import Diagnostic
from ecolint.engine import LintOptions, file_error
from ecolint.lsp import notebook_documents
from ecolint.lsp.jobs import fix_document, fix_notebook_document, lint_document, lint_notebook_document
from ecolint.lsp.notebook_documents import NotebookSnapshot, cell_sources
from ecolint.lsp.protocol import EcolintProtocol
from ecolint.lsp.worker import AnalysisWorker, Cancelled
from ecolint.workspace import SourceFile, Workspace, display_path
from ecolint.workspace.sources import is_notebook, over_size_limit
from ecolint.rules import all_rules

log = logging.getLogger(__name__)

SOURCE = "ecolint"
DEBOUNCE_SECONDS = 0.3
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.ecolint"
SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)
PYTHON_SUFFIXES = (".py", ".pyi")
_CLOSED = object()  # the version of a document that is not open


@dataclass
class _Config:
    stamp: tuple[str, int] | None
    workspace: Workspace  # the settings of the documents under one configuration file

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def options(self) -> LintOptions:
        return self.workspace.options


@dataclass
class _Linted:
    version: object  # a document's version, or a notebook's stamp
    diagnostics: list[Diagnostic] = field(default_factory=list)


class EcolintLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("ecolint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=notebook_documents.SYNC_OPTIONS, protocol_cls=EcolintProtocol)
        self.debounce = DEBOUNCE_SECONDS
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._configs: dict[str, _Config] = {}
        self._linted: dict[str, _Linted] = {}
        self._reported_errors: set[str] = set()
        self.worker = AnalysisWorker()
        self._due: dict[str, None] = {}  # documents to analyze, in order; their text is read when it starts
        self._analyzing: tuple[str, object] | None = None  # (uri, version or notebook stamp) under way
        self._drain: asyncio.Task | None = None
        self.editor_settings: dict = {}  # initializationOptions: unsafeFixes, gpu
        self._published_cells: dict[str, list[str]] = {}  # notebook uri -> cells given diagnostics

    def trace(self, message: str) -> None:
        """A ``$/logTrace`` line, sent when the client asked for traces."""
        if self.protocol.trace not in (None, types.TraceValue.Off):
            self.log_trace(types.LogTraceParams(message=f"ecolint: {message}"))

    # ---- settings ----------------------------------------------------------------------

    def workspace_root(self) -> Path:
        root = self.workspace.root_path if self.protocol.workspace is not None else None
        return Path(root) if root else Path.cwd()

    def config_for(self, path: Path | None) -> _Config:
        """The settings for a document: the nearest ``[tool.ecolint]`` table, re-read when it changes."""
        anchor = path if path is not None else self.workspace_root()
        config_file = find_config(anchor)
        stamp = None
        if config_file is not None:
            try:
                stamp = (str(config_file), config_file.stat().st_mtime_ns)
            except OSError:
                config_file = None
        key = str(config_file) if config_file else f"<none>{self.workspace_root()}"
        cached = self._configs.get(key)
        if cached is not None and cached.stamp == stamp:
            return cached
        try:
            settings = load_settings(config_file, anchor) if config_file else Settings(root=self.workspace_root())
        except ConfigError as error:
            self.warn_once(f"ecolint: {error}; using the default settings")
            settings = Settings(root=self.workspace_root())
        settings = self.with_editor_settings(settings)
        try:
            workspace = Workspace(settings, use_cache=False)
        except ConfigError as error:  # a calibration file that cannot be read
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"ecolint: {error}"))
            workspace = Workspace(Settings(root=self.workspace_root()), use_cache=False)
        config = _Config(stamp, workspace)
        self._configs[key] = config
        return config

    def warn_once(self, message: str) -> None:
        if message not in self._reported_errors:
            self._reported_errors.add(message)
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, message))

    def with_editor_settings(self, settings: Settings) -> Settings:
        """The settings with the editor's ``unsafeFixes`` and ``gpu`` put over the configuration's."""
        unsafe = self.editor_settings.get("unsafeFixes")
        if isinstance(unsafe, bool):
            settings = replace(settings, unsafe_fixes=unsafe)
        gpu = self.editor_settings.get("gpu")
        if isinstance(gpu, str) and gpu.strip():
            try:
                settings = replace(settings, gpu=parse_gpu(gpu.strip(), "the editor's gpu setting"))
            except ConfigError as error:
                self.warn_once(f"ecolint: {error}; using the configuration's GPU")
        return settings

    # ---- linting -----------------------------------------------------------------------

    @staticmethod
    def document_path(document: TextDocument) -> Path | None:
        return Path(document.path) if document.uri.startswith("file:") else None

    @staticmethod
    def is_python(document: TextDocument) -> bool:
        if document.language_id:
            return document.language_id == "python"
        return document.uri.endswith(PYTHON_SUFFIXES)

    @classmethod
    def is_lintable(cls, document: TextDocument) -> bool:
        """A Python document, or a notebook opened as its JSON text."""
        return cls.is_python(document) or is_notebook(document.uri)

    def size_problem(self, document: TextDocument, config: _Config) -> str | None:
        """Why the document is too large to analyze (the same limit as on the command line), or None."""
        return over_size_limit(len(document.source.encode("utf-8", "surrogatepass")), config.settings.max_file_size)

    async def lint(self, document: TextDocument) -> list[Diagnostic]:
        """The document's diagnostics, analyzed in the worker (``Cancelled`` if it is stopped)."""
        path = self.document_path(document)
        config = self.config_for(path)
        source = SourceFile(path, display_path(path) if path else document.uri)
        skipped = self.size_problem(document, config)
        if skipped is not None:
            return [file_error(source.display, skipped)]
        return await self.worker.call(lint_document, config.workspace, document.source, source)

    async def lint_notebook(self, snapshot: NotebookSnapshot) -> list[Diagnostic]:
        """The diagnostics of a notebook document's cells, each with its cell number and rows in it."""
        path = uri_path(snapshot.uri)
        config = self.config_for(path)
        display = display_path(path) if path else snapshot.uri
        skipped = over_size_limit(snapshot.size, config.settings.max_file_size)
        if skipped is not None:
            first = next((number for number in range(1, len(snapshot.cells) + 1) if snapshot.cell(number)), None)
            return [replace(file_error(display, skipped), cell=first)]
        return await self.worker.call(lint_notebook_document, config.workspace, snapshot.as_json(), display, path)

    def notebook_snapshot(self, uri: str) -> NotebookSnapshot | None:
        """The notebook document ``uri`` as it is now, or None when no notebook of that uri is open."""
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        return NotebookSnapshot.of(notebook, self.workspace.text_documents) if notebook is not None else None

    def stamp_of(self, uri: str) -> object:
        """What identifies the current version of a document or notebook (``_CLOSED`` when not open)."""
        snapshot = self.notebook_snapshot(uri)
        if snapshot is not None:
            return snapshot.stamp
        document = self.workspace.text_documents.get(uri)
        return _CLOSED if document is None else document.version

    def request(self, uri: str) -> None:
        """Analyze the latest version of ``uri`` soon; an analysis of an older version is stopped.

        A notebook cell's notebook is analyzed, with all its cells."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            uri = notebook.uri
        self._pending.pop(uri, None)
        self._due[uri] = None
        if self._analyzing is not None and self._analyzing[0] == uri and self.stamp_of(uri) != self._analyzing[1]:
            self.trace(f"stopping the analysis of {uri} version {self._analyzing[1]}: a newer one is due")
            self.worker.cancel()
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_task(self.analyze_due())
            self._drain.add_done_callback(_log_failure)

    async def analyze_due(self) -> None:
        """Analyze the documents that are due, one at a time, and publish what is still current."""
        while self._due:
            uri = next(iter(self._due))
            del self._due[uri]
            snapshot = self.notebook_snapshot(uri)
            if snapshot is not None:
                found = await self.analyze(uri, snapshot.stamp, lambda: self.lint_notebook(snapshot))
                if found is not None:
                    self._linted[uri] = _Linted(snapshot.stamp, found)
                    self.publish_notebook(snapshot, found)
                continue
            document = self.workspace.text_documents.get(uri)
            if document is None or not self.is_lintable(document):
                continue
            version = document.version
            copy = TextDocument(uri, document.source, version, document.language_id,
                                position_codec=document.position_codec)
            found = await self.analyze(uri, version, lambda: self.lint(copy))
            if found is not None:
                self._linted[uri] = _Linted(version, found)
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                    uri=uri, version=version, diagnostics=[self.to_lsp(copy, d) for d in found]))

    async def analyze(self, uri: str, stamp: object, lint) -> list[Diagnostic] | None:
        """``await lint()`` for this version of ``uri``; None when it was stopped, failed or is outdated."""
        self._analyzing = (uri, stamp)
        self.trace(f"analyzing {uri} version {stamp}")
        started = time.monotonic()
        try:
            found = await lint()
        except Cancelled:
            return None
        except Exception as error:  # a bug in a check must not take the server down
            log.exception("linting %s failed", uri)
            self.window_log_message(types.LogMessageParams(types.MessageType.Error,
                                                           f"ecolint: linting {uri} failed: {error}"))
            return None
        finally:
            self._analyzing = None
        elapsed = time.monotonic() - started
        if self.stamp_of(uri) != stamp:
            self.trace(f"analyzed {uri} version {stamp} in {elapsed:.2f} s: outdated, not published")
            return None
        self.trace(f"analyzed {uri} version {stamp} in {elapsed:.2f} s: {len(found)} diagnostics")
        return found

    def publish_notebook(self, snapshot: NotebookSnapshot, found: list[Diagnostic]) -> None:
        """Each Python cell's diagnostics, in the cell's coordinates; cells that left the notebook are cleared."""
        python_cells = [cell for cell in snapshot.cells if cell.is_python]
        by_cell: dict[str, list[types.Diagnostic]] = {cell.uri: [] for cell in python_cells}
        for diagnostic in found:
            cell = snapshot.cell(diagnostic.cell) or (python_cells[0] if python_cells else None)
            if cell is not None:
                by_cell[cell.uri].append(self.to_lsp(cell.document, diagnostic, in_cell=True))
        for gone in self._published_cells.get(snapshot.uri, []):
            if gone not in by_cell:
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=gone, diagnostics=[]))
        for cell in python_cells:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=cell.uri, version=cell.document.version, diagnostics=by_cell[cell.uri]))
        self._published_cells[snapshot.uri] = list(by_cell)

    def schedule(self, uri: str) -> None:
        """Lint after a pause in typing: a newer change restarts the wait."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()
        self._pending[uri] = loop.call_later(self.debounce, self.request, uri)

    def stop(self) -> None:
        """On shutdown: nothing more is analyzed, and the analysis under way is stopped."""
        for pending in self._pending.values():
            pending.cancel()
        self._pending.clear()
        self._due.clear()
        self.worker.close()

    def forget(self, uri: str, cells: list[str] = ()) -> None:
        """A closed document (or notebook, with its cells): nothing more is analyzed, diagnostics cleared."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._due.pop(uri, None)
        if self._analyzing is not None and self._analyzing[0] == uri:
            self.worker.cancel()
        self._linted.pop(uri, None)
        published = self._published_cells.pop(uri, [])
        for cleared in dict.fromkeys([*cells, *published] or [uri]):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cleared, diagnostics=[]))

    # ---- positions ---------------------------------------------------------------------

    @staticmethod
    def position(document: TextDocument, row: int, column: int) -> types.Position:
        """An ecolint position (1-based row, 1-based column in code points) in the client's units."""
        lines = document.lines
        line = max(row - 1, 0)
        if line >= len(lines):
            return types.Position(line=len(lines), character=0)
        return document.position_codec.position_to_client_units(lines, ServerTextPosition(line, max(column - 1, 0)))

    def range_of(self, document: TextDocument, start: dict | object, end: dict | object) -> types.Range:
        def unpack(location):
            if isinstance(location, dict):
                return location["row"], location["column"]
            return location.row, location.column

        return types.Range(self.position(document, *unpack(start)), self.position(document, *unpack(end)))

    def to_lsp(self, document: TextDocument, diagnostic: Diagnostic, in_cell: bool = False) -> types.Diagnostic:
        """The LSP form of a diagnostic of ``document``; ``in_cell``: the document is the diagnostic's cell."""
        from ecolint.reporters.sarif import help_uri

        rule = all_rules().get(diagnostic.code)
        href = help_uri(rule.url) if rule else None
        if diagnostic.cell is not None and not in_cell:  # a notebook's JSON text: the line of the cell's source
            where = notebook_range(document, diagnostic.cell, diagnostic.location.row)
            message = f"cell {diagnostic.cell}: {diagnostic.message}"
        else:
            where = self.range_of(document, diagnostic.location, diagnostic.end_location)
            message = diagnostic.message
        return types.Diagnostic(
            range=where,
            message=message,
            severity=SEVERITIES.get(diagnostic.severity, types.DiagnosticSeverity.Warning),
            code=diagnostic.code,
            code_description=types.CodeDescription(href=href) if href and "://" in href else None,
            source=SOURCE,
            data={"code": diagnostic.code, "fixable": diagnostic.fix is not None},
        )

    # ---- code actions ------------------------------------------------------------------

    async def current(self, document: TextDocument) -> list[Diagnostic]:
        """The diagnostics of this version of the document: the published ones, or a fresh analysis."""
        return await self.current_of(document.uri, document.version, lambda: self.lint(document))

    async def current_of(self, uri: str, stamp: object, lint) -> list[Diagnostic]:
        linted = self._linted.get(uri)
        if linted is not None and linted.version == stamp:
            return linted.diagnostics
        try:
            found = await lint()
        except Cancelled:
            return []  # a newer version is being analyzed; the client asks again
        if self.stamp_of(uri) == stamp:
            self._linted[uri] = _Linted(stamp, found)
        return found

    def quick_fix(self, document: TextDocument, diagnostic: Diagnostic,
                  lsp: types.Diagnostic) -> types.CodeAction | None:
        fix = diagnostic.fix
        if not fix or not fix.get("edits"):
            return None
        if fix.get("applicability") not in ("safe", "unsafe"):
            return None
        edits = [types.TextEdit(self.range_of(document, edit["location"], edit["end_location"]),
                                edit.get("content") or "") for edit in fix["edits"]]
        title = fix.get("message") or "Apply the fix"
        suffix = " (unsafe)" if fix.get("applicability") == "unsafe" else ""
        return types.CodeAction(
            title=f"ecolint: {title}{suffix} ({diagnostic.code})",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[lsp],
            is_preferred=fix.get("applicability") == "safe",
            edit=types.WorkspaceEdit(changes={document.uri: edits}),
        )

    def noqa_action(self, document: TextDocument, diagnostic: Diagnostic,
                    lsp: types.Diagnostic) -> types.CodeAction | None:
        line_index = diagnostic.location.row - 1
        if not 0 <= line_index < len(document.lines):
            return None
        text = document.lines[line_index].rstrip("\r\n")
        match = _NOQA.search(text)
        if match and not match.group("codes"):
            return None  # a bare # noqa already silences every code on the line
        if match:
            codes = [code.strip().upper() for code in match.group("codes").split(",")]
            if diagnostic.code in codes:
                return None
            start, end = match.span("codes")
            new = ", ".join([*codes, diagnostic.code])
            edit = types.TextEdit(types.Range(self.position(document, line_index + 1, start + 1),
                                              self.position(document, line_index + 1, end + 1)), new)
        else:
            stripped = text.rstrip()
            separator = "  " if stripped else ""
            edit = types.TextEdit(types.Range(self.position(document, line_index + 1, len(stripped) + 1),
                                              self.position(document, line_index + 1, len(text) + 1)),
                                  f"{separator}# noqa: {diagnostic.code}")
        return types.CodeAction(
            title=f"ecolint: Disable {diagnostic.code} for this line",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[lsp],
            edit=types.WorkspaceEdit(changes={document.uri: [edit]}),
        )

    def diagnostic_actions(self, document: TextDocument, diagnostics: list[Diagnostic], where: types.Range,
                           in_cell: bool = False) -> list[types.CodeAction]:
        """The quick fixes and "disable for this line" actions of the diagnostics that touch ``where``."""
        actions = []
        for diagnostic in diagnostics:
            lsp = self.to_lsp(document, diagnostic, in_cell)
            if (diagnostic.cell is not None and not in_cell) or not _overlaps(lsp.range, where):
                continue  # a notebook's edits are in cell rows, not in its JSON text
            for action in (self.quick_fix(document, diagnostic, lsp), self.noqa_action(document, diagnostic, lsp)):
                if action is not None:
                    actions.append(action)
        return actions

    def whole(self, document: TextDocument) -> types.Range:
        """The range of the whole document."""
        lines = document.lines
        end = types.Position(line=len(lines), character=0)
        if lines and not lines[-1].endswith(("\n", "\r")):
            end = self.position(document, len(lines), len(lines[-1]) + 1)
        return types.Range(types.Position(0, 0), end)

    @staticmethod
    def fix_all_title(config: _Config) -> str:
        if config.settings.unsafe_fixes:
            return "ecolint: Fix all problems (unsafe fixes included)"
        return "ecolint: Fix all safe problems"

    async def fix_all(self, document: TextDocument) -> types.CodeAction | None:
        path = self.document_path(document)
        config = self.config_for(path)
        if is_notebook(document.uri) or self.size_problem(document, config) is not None:
            return None
        try:
            fixed = await self.worker.call(fix_document, config.workspace, document.source,
                                           str(path or document.uri), path)
        except Cancelled:
            return None
        if fixed is None:
            return None
        return types.CodeAction(
            title=self.fix_all_title(config),
            kind=FIX_ALL_KIND,
            edit=types.WorkspaceEdit(changes={document.uri: [types.TextEdit(self.whole(document), fixed)]}),
        )

    async def fix_notebook(self, snapshot: NotebookSnapshot) -> types.CodeAction | None:
        """Every allowed fix of a notebook document, as one edit of the cells it changes."""
        path = uri_path(snapshot.uri)
        config = self.config_for(path)
        if over_size_limit(snapshot.size, config.settings.max_file_size) is not None:
            return None
        try:
            fixed = await self.worker.call(fix_notebook_document, config.workspace, snapshot.as_json(),
                                           display_path(path) if path else snapshot.uri, path)
        except Cancelled:
            return None
        if fixed is None:
            return None
        changes = {cell.uri: [types.TextEdit(self.whole(cell.document), new)]
                   for cell, new in zip(snapshot.cells, cell_sources(fixed))
                   if cell.is_python and new != cell.document.source}
        if not changes:
            return None
        return types.CodeAction(title=f"{self.fix_all_title(config)} in the notebook",
                                kind=notebook_documents.FIX_ALL_KIND, edit=types.WorkspaceEdit(changes=changes))

    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        opened = self.workspace.text_documents.get(uri)
        if opened is None:
            return []  # a document the client never opened: nothing of it was linted
        only = params.context.only or []

        def wanted(kind: str) -> bool:
            return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)

        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            return await self.cell_actions(NotebookSnapshot.of(notebook, self.workspace.text_documents), uri,
                                           params.range, wanted)
        if not self.is_lintable(opened):
            return []
        # the version asked about: later changes must not move the text under the analysis
        document = TextDocument(opened.uri, opened.source, opened.version, opened.language_id,
                                position_codec=opened.position_codec)
        actions: list[types.CodeAction] = []
        diagnostics = await self.current(document)
        if wanted(types.CodeActionKind.QuickFix):
            actions += self.diagnostic_actions(document, diagnostics, params.range)
        if wanted(FIX_ALL_KIND) and (only or any(d.fix for d in diagnostics)):
            action = await self.fix_all(document)
            if action is not None:
                actions.append(action)
        return actions

    async def cell_actions(self, snapshot: NotebookSnapshot, uri: str, where: types.Range,
                           wanted) -> list[types.CodeAction]:
        """A notebook cell's quick fixes, and the notebook's "fix all"."""
        number = snapshot.number_of(uri)
        cell = snapshot.cell(number)
        if cell is None:
            return []  # a Markdown cell, or a cell in another language
        diagnostics = await self.current_of(snapshot.uri, snapshot.stamp, lambda: self.lint_notebook(snapshot))
        actions: list[types.CodeAction] = []
        if wanted(types.CodeActionKind.QuickFix):
            in_this_cell = [d for d in diagnostics if d.cell == number]
            actions += self.diagnostic_actions(cell.document, in_this_cell, where, in_cell=True)
        if wanted(notebook_documents.FIX_ALL_KIND) and any(d.fix for d in diagnostics):
            action = await self.fix_notebook(snapshot)
            if action is not None:
                actions.append(action)
        return actions


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("analyzing documents failed", exc_info=task.exception())


def notebook_range(document: TextDocument, cell: int, row: int) -> types.Range:
    """The whole line of a notebook's JSON text that holds ``row`` of ``cell`` (or the cell's
    ``"source"`` key, or the first line)."""
    from ecolint.notebooks import file_row_in_text, source_key_row

    text = document.source
    line = (file_row_in_text(text, cell, row) or source_key_row(text, cell) or 1) - 1
    lines = document.lines
    if line >= len(lines):
        return types.Range(types.Position(0, 0), types.Position(0, 0))
    end = document.position_codec.position_to_client_units(
        lines, ServerTextPosition(line, len(lines[line].rstrip("\r\n"))))
    return types.Range(types.Position(line, 0), end)


def uri_path(uri: str) -> Path | None:
    """The file a ``file:`` URI names; None for other schemes (an unsaved buffer)."""
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(path) if path else None


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return (position.line, position.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def create_server() -> EcolintLanguageServer:
    server = EcolintLanguageServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: EcolintLanguageServer, params: types.InitializeParams) -> None:
        if params.trace is not None:
            ls.protocol.trace = params.trace
        if isinstance(params.initialization_options, dict):
            ls.editor_settings = params.initialization_options
        ls.worker.start()  # its imports happen while the client opens its first documents

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: EcolintLanguageServer, params: None) -> None:
        ls.stop()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: EcolintLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.request(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: EcolintLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: EcolintLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri.endswith("pyproject.toml"):
            ls._linted.clear()
            for open_uri in list(ls.workspace.text_documents):
                ls.request(open_uri)
            return
        ls.request(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: EcolintLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(ls: EcolintLanguageServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.request(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(ls: EcolintLanguageServer, params: types.DidChangeNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(ls: EcolintLanguageServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.request(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(ls: EcolintLanguageServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.forget(params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND,
                                                   notebook_documents.FIX_ALL_KIND]),
    )
    async def code_action(ls: EcolintLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return await ls.code_actions(params)

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client shuts it down."""
    logging.basicConfig(level=logging.WARNING, format="ecolint-lsp: %(levelname)s %(message)s")
    create_server().start_io()
