"""Notebooks edited as notebooks: ``ecolint lsp`` receives LSP 3.17 notebook documents (pytest-lsp)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from ecolint.engine import LintOptions, lint_text  # noqa: E402
from ecolint.fixes import fix_source  # noqa: E402
from ecolint.rules import all_rules  # noqa: E402
from lsp_helpers import apply_edits  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

IMPORTS = "import torch\nfrom transformers import AutoModelForCausalLM, BitsAndBytesConfig\n%matplotlib inline\n"
NOTES = "# Load the draft model\nIn 4-bit, to save memory."
LOAD = ('config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_quant_type="nf4")\n'
        'model = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B", quantization_config=config)\n'
        'draft = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B", load_in_4bit=True)')
DEFAULTS = LintOptions(frozenset(code for code, rule in all_rules().items() if rule.default_enabled))
CODE, MARKUP = types.NotebookCellKind.Code, types.NotebookCellKind.Markup


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("notebooks")
    (root / "pyproject.toml").write_text("[tool.ecolint]\n", encoding="utf-8")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "ecolint", "lsp"]), scope="module")
async def client(lsp_client: LanguageClient, workspace: Path):
    result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(notebook_document=types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities())),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")],
    ))
    lsp_client.server_capabilities = result.capabilities
    yield
    await lsp_client.shutdown_session()


def cell_uri(notebook: Path, number: int) -> str:
    """A cell's document URI in the shape VS Code gives it."""
    return f"vscode-notebook-cell:{notebook.as_posix()}#C{number}"


def open_notebook(client: LanguageClient, path: Path, cells: list[tuple[types.NotebookCellKind, str]]) -> None:
    uris = [cell_uri(path, number) for number in range(1, len(cells) + 1)]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=path.as_uri(), notebook_type="jupyter-notebook", version=1,
            cells=[types.NotebookCell(kind=kind, document=uri) for (kind, _), uri in zip(cells, uris)]),
        cell_text_documents=[types.TextDocumentItem(uri=uri, language_id="python" if kind == CODE else "markdown",
                                                    version=1, text=text)
                             for (kind, text), uri in zip(cells, uris)]))


def at(diagnostic: types.Diagnostic) -> tuple[str, int, int]:
    return (diagnostic.code, diagnostic.range.start.line, diagnostic.range.start.character)


async def all_published(client: LanguageClient, uris: list[str], action) -> dict[str, list[types.Diagnostic]]:
    """Run ``action`` and wait until diagnostics were published for every one of ``uris``."""
    for uri in uris:
        client.diagnostics.pop(uri, None)
    action()
    for _ in range(100):
        if all(uri in client.diagnostics for uri in uris):
            break
        await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), timeout=20)
    return {uri: list(client.diagnostics[uri]) for uri in uris}


async def test_the_server_says_it_syncs_notebooks_with_python_cells(client: LanguageClient):
    sync = client.server_capabilities.notebook_document_sync
    assert [cell.language for selector in sync.notebook_selector for cell in selector.cells] == ["python"]
    kinds = client.server_capabilities.code_action_provider.code_action_kinds
    assert "notebook.source.fixAll.ecolint" in kinds


async def test_each_cell_gets_its_diagnostics_in_its_own_coordinates(client: LanguageClient, workspace):
    path = workspace / "load.ipynb"
    uris = [cell_uri(path, number) for number in (1, 2, 3)]
    found = await all_published(client, [uris[0], uris[2]], lambda: open_notebook(
        client, path, [(CODE, IMPORTS), (MARKUP, NOTES), (CODE, LOAD)]))
    assert found[uris[0]] == []
    assert uris[1] not in client.diagnostics  # a Markdown cell gets nothing
    load_lines = LOAD.splitlines()
    assert sorted(at(d) for d in found[uris[2]]) == sorted([
        ("LLM102", 2, load_lines[2].index("AutoModelForCausalLM.from_pretrained")),
        ("LLM105", 0, load_lines[0].index("bnb_4bit_quant_type")),
        ("LLM106", 2, load_lines[2].index("load_in_4bit")),
    ])
    # the same findings as the cells joined into one script, rows shifted by the first cell's
    script = IMPORTS.replace("%matplotlib inline\n", "") + LOAD
    shift = IMPORTS.count("\n") - 1
    expected = sorted((d.code, d.location.row - 1 - shift, d.location.column - 1)
                      for d in lint_text(script, "x.py", LintOptions(frozenset({"LLM102", "LLM105", "LLM106"}))))
    assert sorted(at(d) for d in found[uris[2]]) == expected
    assert not any(d.message.startswith("cell ") for d in found[uris[2]])


async def test_a_quick_fix_edits_the_cell_and_fix_all_edits_the_notebook(client: LanguageClient, workspace):
    path = workspace / "fix.ipynb"
    uris = [cell_uri(path, number) for number in (1, 2, 3)]
    found = await all_published(client, [uris[0], uris[2]], lambda: open_notebook(
        client, path, [(CODE, IMPORTS), (MARKUP, NOTES), (CODE, LOAD)]))
    target = next(d for d in found[uris[2]] if d.code == "LLM105")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uris[2]), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    quick = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix and a.title.endswith("(LLM105)"))
    assert list(quick.edit.changes) == [uris[2]]
    assert apply_edits(LOAD, quick.edit.changes[uris[2]]).splitlines()[0] == (
        "config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)")
    fix_all = [a for a in actions if a.kind == "notebook.source.fixAll.ecolint"]
    assert [a.title for a in fix_all] == ["ecolint: Fix all safe problems in the notebook"]
    assert not [a for a in actions if "Fix all" in a.title and a not in fix_all]  # offered once

    # what VS Code asks for on save ("notebook.codeActionsOnSave"), from the first cell
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uris[0]),
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=["notebook.source.fixAll"])))
    assert [a.kind for a in actions] == ["notebook.source.fixAll.ecolint"]
    changes = actions[0].edit.changes
    assert list(changes) == [uris[2]]  # the magic cell is left as it is
    fixed = apply_edits(LOAD, changes[uris[2]])
    # the cell as `ecolint check --fix` fixes the cells joined into a script
    script = IMPORTS.replace("%matplotlib inline\n", "") + LOAD
    assert fixed == "".join(fix_source(script, "x.py", DEFAULTS).source.splitlines(keepends=True)[2:])
    assert "bnb_4bit_quant_type" not in fixed and "quantization_config=BitsAndBytesConfig(load_in_4bit=True)" in fixed
    assert not fixed.endswith("\n")  # the cell keeps its own ending

    # a plain "source.fixAll" request on a cell (asked for each cell) offers nothing
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uris[2]),
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=["source.fixAll"])))
    assert list(actions) == []


async def test_editing_a_cell_and_adding_one_relints_the_notebook(client: LanguageClient, workspace):
    path = workspace / "edit.ipynb"
    notebook_uri = path.as_uri()
    uris = [cell_uri(path, number) for number in (1, 2)]
    found = await all_published(client, uris, lambda: open_notebook(client, path, [(CODE, IMPORTS), (CODE, LOAD)]))
    assert {d.code for d in found[uris[1]]} == {"LLM102", "LLM105", "LLM106"}

    fixed_load = LOAD.replace(', bnb_4bit_quant_type="nf4"', "")
    new_cell = cell_uri(path, 3)

    def edit_and_insert():
        client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook_uri),
            change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=2, delete_count=0,
                                                        cells=[types.NotebookCell(kind=CODE, document=new_cell)]),
                    did_open=[types.TextDocumentItem(uri=new_cell, language_id="python", version=1,
                                                     text="model.config.use_cache = False\nmodel.generate()\n")]),
                text_content=[types.NotebookDocumentCellContentChanges(
                    document=types.VersionedTextDocumentIdentifier(uri=uris[1], version=2),
                    changes=[types.TextDocumentContentChangeWholeDocument(text=fixed_load)])]))))

    found = await all_published(client, [*uris, new_cell], edit_and_insert)
    assert {d.code for d in found[uris[1]]} == {"LLM102", "LLM106"}
    # the new cell follows the model loaded in the cell above it
    assert [at(d) for d in found[new_cell]] == [("LLM301", 0, 0)]

    closed = await all_published(client, [*uris, new_cell], lambda: client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook_uri),
            cell_text_documents=[types.TextDocumentIdentifier(uri=uri) for uri in [*uris, new_cell]])))
    assert closed == {uri: [] for uri in [*uris, new_cell]}
