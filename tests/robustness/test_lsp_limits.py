"""The language server under hostile requests: unopened documents, documents over max-file-size."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")
GOOD = ("from transformers import AutoModelForCausalLM\n"
        "m = AutoModelForCausalLM.from_pretrained('x', load_in_8bit=True)\n")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "pyproject.toml").write_text('[tool.ecolint]\nmax-file-size = "1KB"\n', encoding="utf-8")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "ecolint", "lsp"]), scope="module")
async def client(lsp_client: LanguageClient, workspace: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")]))
    yield
    await lsp_client.shutdown_session()


async def published(client: LanguageClient, uri: str, action) -> list[types.Diagnostic]:
    client.diagnostics.pop(uri, None)
    action()
    for _ in range(100):
        if uri in client.diagnostics:
            return client.diagnostics[uri]
        await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), timeout=20)
    raise AssertionError(f"no diagnostics for {uri}")


def open_text(client: LanguageClient, path: Path, text: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=path.as_uri(), language_id="python", version=1, text=text)))


async def test_a_document_over_max_file_size_gets_one_skipped_diagnostic(client, workspace):
    big, small = workspace / "big.py", workspace / "small.py"
    found = await published(client, big.as_uri(), lambda: open_text(client, big, GOOD + "#" * 2000 + "\n"))
    assert [(d.code, d.message) for d in found] == [("E902", "file skipped: 2.1 KB is over max-file-size (1 KB)")]
    found = await published(client, small.as_uri(), lambda: open_text(client, small, GOOD))
    assert {d.code for d in found} == {"LLM101", "LLM106"}


async def test_code_action_on_an_unopened_document_is_empty(client, workspace):
    missing = workspace / "never-opened.py"
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=missing.as_uri()),
        range=types.Range(types.Position(0, 0), types.Position(0, 1)),
        context=types.CodeActionContext(diagnostics=[])))
    assert not actions
