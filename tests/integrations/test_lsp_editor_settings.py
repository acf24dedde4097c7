"""The editor's own settings (``initializationOptions``) put over the project's configuration."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from lsp_helpers import diagnostics_after  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

SOURCE = '''\
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

config = BitsAndBytesConfig(load_in_8bit=True)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
'''


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("editor_settings")
    (root / "pyproject.toml").write_text('[tool.ecolint]\nextend-select = ["LLM103"]\nunsafe-fixes = false\n',
                                         encoding="utf-8")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "ecolint", "lsp"]), scope="module")
async def client(lsp_client: LanguageClient, workspace: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        root_uri=workspace.as_uri(),
        initialization_options={"unsafeFixes": True, "gpu": "a800"},
    ))
    yield
    await lsp_client.shutdown_session()


async def test_the_editors_gpu_and_unsafe_fixes_win_over_the_project(client: LanguageClient, workspace):
    path = workspace / "serve.py"
    uri = path.as_uri()
    path.write_text(SOURCE, encoding="utf-8")
    found = await diagnostics_after(client, uri, lambda: client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE))))
    # LLM103 compares the model with the deployment GPU: only the editor names one (an 80 GB A800)
    quantized = next(d for d in found if d.code == "LLM103")
    assert "on a800 (80 GB)" in quantized.message
    target = next(d for d in found if d.code == "LLM101")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    titles = [a.title for a in actions]
    assert any(title.endswith("(unsafe) (LLM101)") for title in titles), titles
    assert "ecolint: Fix all problems (unsafe fixes included)" in titles
