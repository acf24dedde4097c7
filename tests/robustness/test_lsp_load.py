"""The language server under load: a burst of edits to a large document, requests during an analysis."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pygls.exceptions import JsonRpcInvalidParams  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

# the client fixture runs in each test's own event loop, so the tests must too: a client started in
# another loop reads nothing from the server while the test awaits
pytestmark = pytest.mark.asyncio(loop_scope="function")
LIMIT = 256 << 10  # max-file-size of the test workspace: the largest document the server analyzes
ROOM = 1024  # bytes left under LIMIT for the burst's 200 inserted lines
GOOD = ("from transformers import AutoModelForCausalLM\n"
        "m = AutoModelForCausalLM.from_pretrained('x', load_in_8bit=True)\n")


def large_document() -> str:
    """Python source ROOM bytes under LIMIT, with findings, that takes seconds to analyze."""
    text, index = [GOOD], 0
    size = len(GOOD)
    while True:
        block = f"def f{index}(a, b):\n    return a + b * {index}\n\n"
        if size + len(block) > LIMIT - ROOM:
            return "".join(text)
        text.append(block)
        size += len(block)
        index += 1


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "pyproject.toml").write_text('[tool.ecolint]\nmax-file-size = "256KB"\n', encoding="utf-8")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "ecolint", "lsp"]))
async def client(lsp_client: LanguageClient, workspace: Path):
    """A fresh server per test (one test shuts it down), with its traces and publications recorded."""
    lsp_client.traces = []
    lsp_client.published = []  # (uri, version) of every textDocument/publishDiagnostics, in order

    @lsp_client.feature(types.LOG_TRACE)
    def log_trace(params: types.LogTraceParams) -> None:
        lsp_client.traces.append(params.message)

    features = lsp_client.protocol.fm.features
    record_diagnostics = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def publish_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        lsp_client.published.append((params.uri, params.version))
        record_diagnostics(params)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish_diagnostics

    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=workspace.as_uri(), trace=types.TraceValue.Verbose,
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")]))
    yield
    if lsp_client._server is not None and lsp_client._server.returncode is None:
        try:  # a test that failed after its shutdown request: the server may not answer another
            await asyncio.wait_for(lsp_client.shutdown_session(), timeout=30)
        except Exception:
            lsp_client._server.kill()


def open_text(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=text)))


async def trace_seen(client: LanguageClient, pattern: str, timeout: float = 60) -> str:
    """Wait for a ``$/logTrace`` line matching ``pattern``."""
    async def seen() -> str:
        while True:
            for message in client.traces:
                if re.search(pattern, message):
                    return message
            await asyncio.sleep(0.02)
    try:
        return await asyncio.wait_for(seen(), timeout)
    except TimeoutError:
        raise AssertionError(f"no trace matching {pattern!r} in {client.traces}") from None


def analysis_versions(client: LanguageClient, step: str, uri: str) -> list[int]:
    """The versions of ``uri`` in the ``analyzing`` (or ``analyzed``) traces, in order."""
    return [int(match.group(1)) for message in client.traces
            if (match := re.search(rf"{step} {re.escape(uri)} version (\d+)", message))]


def resident_kb(client: LanguageClient) -> int:
    """The server process's resident memory (Linux), or 0 where it cannot be read."""
    try:
        status = Path(f"/proc/{client._server.pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def analysis_workers(client: LanguageClient) -> list[int] | None:
    """The ids of the server's worker processes (started by multiprocessing's spawn), or None off Linux."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    workers = []
    for entry in proc.iterdir():
        try:  # "pid (name) state ppid ...": the name may hold spaces
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == client._server.pid and b"spawn_main" in command:
            workers.append(int(entry.name))
    return workers


async def test_a_burst_of_200_changes_ends_with_one_analysis_of_the_last_version(client, workspace):
    uri = (workspace / "big.py").as_uri()
    text = large_document()
    assert LIMIT - ROOM - 100 < len(text.encode()) and len(text.encode()) + 400 <= LIMIT
    open_text(client, uri, text)
    await trace_seen(client, rf"analyzing {re.escape(uri)} version 1$")
    resident = resident_kb(client)
    for version in range(2, 202):  # typing at the top of the file while version 1 is analyzed
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="#\n")]))
    await trace_seen(client, rf"analyzed {re.escape(uri)} version 201 .*diagnostics$", timeout=120)
    grown = resident_kb(client) - resident
    await asyncio.sleep(1)  # time for anything else the burst would have caused
    assert analysis_versions(client, "analyzing", uri) == [1, 201], client.traces
    assert analysis_versions(client, "analyzed", uri) == [201], client.traces
    assert any(re.search(rf"stopping the analysis of {re.escape(uri)} version 1:", m) for m in client.traces)
    assert [(u, v) for u, v in client.published if u == uri] == [(uri, 201)]
    found = client.diagnostics[uri]
    assert {d.code for d in found} == {"LLM101", "LLM106"}
    assert {d.range.start.line for d in found} == {201}  # 200 lines were inserted above
    # the server holds the latest text only: 200 versions of 256 KB kept for analysis would be 50 MB
    assert grown < 16 << 10, f"the server grew by {grown} KB during the burst"


async def test_requests_are_answered_while_a_large_document_is_analyzed(client, workspace):
    small, big = (workspace / "small.py").as_uri(), (workspace / "big2.py").as_uri()
    open_text(client, small, GOOD)
    await trace_seen(client, rf"analyzed {re.escape(small)} version 1 ")
    open_text(client, big, large_document())
    await trace_seen(client, rf"analyzing {re.escape(big)} version 1$")
    # quick fixes of a line without findings: answered from the published diagnostics (a "fix all"
    # action would need the worker, which is busy with big2.py)
    actions = await asyncio.wait_for(client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=small),
        range=types.Range(types.Position(0, 0), types.Position(0, 5)),
        context=types.CodeActionContext([], only=[types.CodeActionKind.QuickFix]))), timeout=10)
    assert list(actions) == []
    assert analysis_versions(client, "analyzed", big) == [], client.traces  # answered before it finished
    assert analysis_workers(client) != []  # the analysis runs in the worker
    await asyncio.wait_for(client.shutdown_async(None), timeout=10)
    assert analysis_versions(client, "analyzed", big) == [], client.traces  # shutdown did not wait for it
    assert analysis_workers(client) in ([], None)  # and stopped it
    assert big not in client.diagnostics
    client.exit(None)
    assert await asyncio.wait_for(client._server.wait(), timeout=10) == 0


async def test_every_request_gets_an_answer(client, workspace, monkeypatch):
    uri = (workspace / "opened.py").as_uri()
    open_text(client, uri, GOOD)
    await trace_seen(client, rf"analyzed {re.escape(uri)} version 1 ")

    async def code_action(uri: str, start: dict, end: dict):
        """A codeAction request sent as written: the client would refuse to build invalid params."""
        typed = client.protocol.get_message_type
        with monkeypatch.context() as patch:
            patch.setattr(client.protocol, "get_message_type",
                          lambda method: None if method == types.TEXT_DOCUMENT_CODE_ACTION else typed(method))
            return await asyncio.wait_for(client.protocol.send_request_async(types.TEXT_DOCUMENT_CODE_ACTION, {
                "textDocument": {"uri": uri}, "range": {"start": start, "end": end},
                "context": {"diagnostics": []}}), timeout=10)

    with pytest.raises(JsonRpcInvalidParams, match=r"invalid params for textDocument/codeAction"):
        await code_action(uri, {"line": -1, "character": 0}, {"line": 0, "character": 0})
    past_the_end = await code_action(uri, {"line": 500, "character": 0}, {"line": 900, "character": 3})
    assert [action.kind for action in past_the_end] == ["source.fixAll.ecolint"]  # no line's quick fix
    for other in ("foo://host/x.py", "untitled:Untitled-1", (workspace / "never-opened.py").as_uri()):
        assert await code_action(other, {"line": 0, "character": 0}, {"line": 0, "character": 1}) in ([], ()), other
    # the server still works after the bad requests
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(1, 0), types.Position(2, 0)), context=types.CodeActionContext([])))
    assert any(action.title == "ecolint: Disable LLM101 for this line" for action in actions)
