"""The ecolint language server: diagnostics as you type, quick fixes and ``# noqa`` actions.

It speaks LSP over stdio (``ecolint lsp``) and lints open Python documents with the same engine
and settings as ``ecolint check``: the nearest pyproject.toml with a ``[tool.ecolint]`` table
above the document (re-read when it changes), its per-file ignores included.

Diagnostics are published when a document is opened or saved, and after a short pause in
typing. Code actions: the fix of a diagnostic that has one, "fix all safe problems" (also as
``source.fixAll.ecolint`` for format-on-save style settings), and "disable for this line", which
adds ``# noqa: CODE`` to the line the diagnostic starts on.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from ecolint import __version__
from ecolint.config import ConfigError, Settings, find_config, load_settings
from ecolint.diagnostics import Diagnostic
from ecolint.engine import LintOptions, file_error
from ecolint.workspace import SourceFile, Workspace, display_path
from ecolint.workspace.sources import over_size_limit
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
    version: int | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


class EcolintLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("ecolint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.debounce = DEBOUNCE_SECONDS
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._configs: dict[str, _Config] = {}
        self._linted: dict[str, _Linted] = {}
        self._reported_errors: set[str] = set()

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
            message = f"ecolint: {error}; using the default settings"
            if message not in self._reported_errors:
                self._reported_errors.add(message)
                self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, message))
            settings = Settings(root=self.workspace_root())
        try:
            workspace = Workspace(settings, use_cache=False)
        except ConfigError as error:  # a calibration file that cannot be read
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"ecolint: {error}"))
            workspace = Workspace(Settings(root=self.workspace_root()), use_cache=False)
        config = _Config(stamp, workspace)
        self._configs[key] = config
        return config

    # ---- linting -----------------------------------------------------------------------

    @staticmethod
    def document_path(document: TextDocument) -> Path | None:
        return Path(document.path) if document.uri.startswith("file:") else None

    @staticmethod
    def is_python(document: TextDocument) -> bool:
        if document.language_id:
            return document.language_id == "python"
        return document.uri.endswith(PYTHON_SUFFIXES)

    def lint(self, document: TextDocument) -> list[Diagnostic]:
        path = self.document_path(document)
        config = self.config_for(path)
        source = SourceFile(path, display_path(path) if path else document.uri)
        text = document.source
        skipped = over_size_limit(len(text.encode("utf-8", "surrogatepass")), config.settings.max_file_size)
        if skipped is not None:  # the same limit as on the command line
            return [file_error(source.display, skipped)]
        return config.workspace.lint_text(text, source).diagnostics

    def publish(self, uri: str) -> None:
        self._pending.pop(uri, None)
        document = self.workspace.get_text_document(uri)
        if not self.is_python(document):
            return
        try:
            found = self.lint(document)
        except Exception as error:  # a bug in a check must not take the server down
            log.exception("linting %s failed", uri)
            self.window_log_message(types.LogMessageParams(types.MessageType.Error,
                                                           f"ecolint: linting {uri} failed: {error!r}"))
            return
        self._linted[uri] = _Linted(document.version, found)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, version=document.version, diagnostics=[self.to_lsp(document, d) for d in found]))

    def schedule(self, uri: str) -> None:
        """Lint after a pause in typing: a newer change restarts the wait."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()
        self._pending[uri] = loop.call_later(self.debounce, self.publish, uri)

    def forget(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._linted.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

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

    def to_lsp(self, document: TextDocument, diagnostic: Diagnostic) -> types.Diagnostic:
        from ecolint.reporters.sarif import help_uri

        rule = all_rules().get(diagnostic.code)
        href = help_uri(rule.url) if rule else None
        return types.Diagnostic(
            range=self.range_of(document, diagnostic.location, diagnostic.end_location),
            message=diagnostic.message,
            severity=SEVERITIES.get(diagnostic.severity, types.DiagnosticSeverity.Warning),
            code=diagnostic.code,
            code_description=types.CodeDescription(href=href) if href and "://" in href else None,
            source=SOURCE,
            data={"code": diagnostic.code, "fixable": diagnostic.fix is not None},
        )

    # ---- code actions ------------------------------------------------------------------

    def current(self, document: TextDocument) -> list[Diagnostic]:
        linted = self._linted.get(document.uri)
        if linted is None or linted.version != document.version:
            linted = _Linted(document.version, self.lint(document))
            self._linted[document.uri] = linted
        return linted.diagnostics

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

    def fix_all(self, document: TextDocument, kind: str) -> types.CodeAction | None:
        try:
            from ecolint.fixes import fix_source
        except ImportError:
            return None  # this build of ecolint has no fixes
        path = self.document_path(document)
        config = self.config_for(path)
        source = document.source
        settings = config.settings
        result = fix_source(source, str(path or document.uri), config.options, False, fixable=settings.fixable,
                            unfixable=tuple(settings.unfixable), path=path)
        if not result.fixed or result.source == source:
            return None
        lines = document.lines
        end = types.Position(line=len(lines), character=0)
        if lines and not lines[-1].endswith(("\n", "\r")):
            end = self.position(document, len(lines), len(lines[-1]) + 1)
        edit = types.TextEdit(types.Range(types.Position(0, 0), end), result.source)
        return types.CodeAction(
            title="ecolint: Fix all safe problems",
            kind=kind,
            edit=types.WorkspaceEdit(changes={document.uri: [edit]}),
        )

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        if params.text_document.uri not in self.workspace.text_documents:
            return []  # a document the client never opened: nothing of it was linted
        document = self.workspace.get_text_document(params.text_document.uri)
        if not self.is_python(document):
            return []
        only = params.context.only or []

        def wanted(kind: str) -> bool:
            return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)

        actions: list[types.CodeAction] = []
        diagnostics = self.current(document)
        if wanted(types.CodeActionKind.QuickFix):
            for diagnostic in diagnostics:
                lsp = self.to_lsp(document, diagnostic)
                if not _overlaps(lsp.range, params.range):
                    continue
                for action in (self.quick_fix(document, diagnostic, lsp), self.noqa_action(document, diagnostic, lsp)):
                    if action is not None:
                        actions.append(action)
        if any(d.fix for d in diagnostics) or only:
            for kind in (types.CodeActionKind.QuickFix, FIX_ALL_KIND):
                if wanted(kind) and not (kind == types.CodeActionKind.QuickFix and not actions):
                    action = self.fix_all(document, kind)
                    if action is not None:
                        actions.append(action)
        return actions


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return (position.line, position.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def create_server() -> EcolintLanguageServer:
    server = EcolintLanguageServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: EcolintLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: EcolintLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: EcolintLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri.endswith("pyproject.toml"):
            for open_uri in list(ls.workspace.text_documents):
                ls.publish(open_uri)
            return
        ls.publish(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: EcolintLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    def code_action(ls: EcolintLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client shuts it down."""
    logging.basicConfig(level=logging.WARNING, format="ecolint-lsp: %(levelname)s %(message)s")
    create_server().start_io()
