"""``ecolint lsp`` driven over stdio by a real LSP client (pytest-lsp)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from ecolint.engine import LintOptions, lint_text  # noqa: E402
from lsp_helpers import apply_edits, diagnostics_after  # noqa: E402
from ecolint.rules import all_rules  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

SOURCE = '''\
import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

config = BitsAndBytesConfig(load_in_8bit=True)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
draft = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B", load_in_4bit=True)
'''
PYPROJECT = '[tool.ecolint]\nignore = ["LLM106"]\n'


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "pkg").mkdir()
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "ecolint", "lsp"]), scope="module")
async def client(lsp_client: LanguageClient, workspace: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")],
    ))
    yield
    await lsp_client.shutdown_session()


def open_document(client: LanguageClient, path: Path, text: str, version: int = 1) -> None:
    path.write_text(text, encoding="utf-8")
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=path.as_uri(), language_id="python", version=version, text=text)))


def expected(source: str, ignore: set[str]) -> list[tuple[str, int, int, int, int]]:
    codes = frozenset(code for code, rule in all_rules().items() if rule.default_enabled) - ignore
    return [(d.code, d.location.row - 1, d.location.column - 1, d.end_location.row - 1, d.end_location.column - 1)
            for d in lint_text(source, "x.py", LintOptions(codes))]


def seen(diagnostics: list[types.Diagnostic]) -> list[tuple[str, int, int, int, int]]:
    return sorted((d.code, d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
                  for d in diagnostics)


async def test_open_publishes_the_engine_diagnostics_with_workspace_settings(client: LanguageClient, workspace):
    path = workspace / "pkg" / "serve.py"
    found = await diagnostics_after(client, path.as_uri(), lambda: open_document(client, path, SOURCE))
    want = expected(SOURCE, ignore={"LLM106"})
    assert seen(found) == sorted(want)
    assert {d.code for d in found} >= {"LLM101", "LLM102"}
    assert "LLM106" not in {d.code for d in found}  # ignored by the workspace's pyproject.toml
    assert all(d.source == "ecolint" for d in found)
    assert {d.severity for d in found} == {types.DiagnosticSeverity.Warning}


async def test_changes_are_linted_after_a_pause(client: LanguageClient, workspace):
    path = workspace / "pkg" / "typing.py"
    uri = path.as_uri()
    await diagnostics_after(client, uri, lambda: open_document(client, path, SOURCE))
    fixed = SOURCE.replace("load_in_8bit=True)", "load_in_8bit=True, llm_int8_threshold=0.0)")

    def type_quickly():
        for version, text in enumerate([SOURCE + "\n", SOURCE + "\n\n", fixed], start=2):
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangeWholeDocument(text=text)]))

    found = await diagnostics_after(client, uri, type_quickly)
    assert [d.code for d in found] == ["LLM102"]
    assert client.diagnostics[uri] is found
    await asyncio.sleep(0.6)  # the earlier changes were folded into one publish
    assert client.diagnostics[uri] is found


async def test_save_publishes(client: LanguageClient, workspace):
    path = workspace / "pkg" / "saved.py"
    uri = path.as_uri()
    await diagnostics_after(client, uri, lambda: open_document(client, path, SOURCE))
    found = await diagnostics_after(client, uri, lambda: client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri))))
    assert {d.code for d in found} == {"LLM101", "LLM102"}


async def test_disable_for_this_line_adds_noqa_and_silences_the_diagnostic(client: LanguageClient, workspace):
    path = workspace / "pkg" / "noqa.py"
    uri = path.as_uri()
    found = await diagnostics_after(client, uri, lambda: open_document(client, path, SOURCE))
    target = next(d for d in found if d.code == "LLM101")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    titles = [action.title for action in actions]
    disable = next(action for action in actions if action.title == "ecolint: Disable LLM101 for this line")
    assert disable.kind == types.CodeActionKind.QuickFix, titles
    new_text = apply_edits(SOURCE, disable.edit.changes[uri])
    assert new_text.splitlines()[3] == "config = BitsAndBytesConfig(load_in_8bit=True)  # noqa: LLM101"
    found = await diagnostics_after(client, uri, lambda: client.text_document_did_change(
        types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                                          [types.TextDocumentContentChangeWholeDocument(text=new_text)])))
    assert [d.code for d in found] == ["LLM102"]

    # a second code on a line that already has a noqa list is appended to it
    draft = next(d for d in found if d.code == "LLM102")
    line = new_text.splitlines()[draft.range.start.line] + "  # noqa: E501"
    with_list = "\n".join([*new_text.splitlines()[:draft.range.start.line], line]) + "\n"
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=3),
        [types.TextDocumentContentChangeWholeDocument(text=with_list)]))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=draft.range,
        context=types.CodeActionContext(diagnostics=[draft])))
    disable = next(action for action in actions if action.title == "ecolint: Disable LLM102 for this line")
    assert apply_edits(with_list, disable.edit.changes[uri]).splitlines()[-1].endswith("# noqa: E501, LLM102")


def _has_fixes() -> bool:
    try:
        from ecolint.fixes import fix_source  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_fixes(), reason="needs ecolint.fixes (the fix engine), not in this build")
async def test_quick_fix_and_fix_all(client: LanguageClient, workspace):
    source = ("from transformers import BitsAndBytesConfig\n"
              "config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_quant_type=\"nf4\")\n")
    path = workspace / "pkg" / "fixable.py"
    uri = path.as_uri()
    found = await diagnostics_after(client, uri, lambda: open_document(client, path, source))
    target = next(d for d in found if d.code == "LLM105")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    quick = [a for a in actions if a.kind == types.CodeActionKind.QuickFix and "(LLM105)" in a.title]
    assert quick, [a.title for a in actions]
    fixed = apply_edits(source, quick[0].edit.changes[uri])
    assert "bnb_4bit_quant_type" not in fixed
    assert not [d for d in lint_text(fixed, "x.py", LintOptions(frozenset({"LLM105"})))]

    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=["source.fixAll"])))
    fix_all = [a for a in actions if a.kind == "source.fixAll.ecolint"]
    assert len(fix_all) == 1 and fix_all[0].title == "ecolint: Fix all safe problems"
    assert "bnb_4bit_quant_type" not in apply_edits(source, fix_all[0].edit.changes[uri])


async def test_a_notebook_cell_whose_source_is_not_text_gets_e902(client: LanguageClient, workspace):
    import json

    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    text = json.dumps({"cells": [{**cell, "source": 42}, {**cell, "source": None}, {**cell, "source": ["x\n", 7]},
                                 {**cell, "source": ["import torch\n",
                                                     "from transformers import BitsAndBytesConfig\n",
                                                     "config = BitsAndBytesConfig(load_in_8bit=True)\n"]}],
                       "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"
    path = workspace / "pkg" / "odd.ipynb"
    path.write_text(text, encoding="utf-8")
    found = await diagnostics_after(client, path.as_uri(), lambda: client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=path.as_uri(), language_id="json", version=1, text=text))))
    lines = text.splitlines()
    assert sorted((d.code, d.message) for d in found) == [
        ("E902", "cell 1: source is not text (a number)"),
        ("E902", "cell 2: source is not text (null)"),
        ("E902", "cell 3: source is not text (a list holding a number)"),
        ("LLM101", next(d.message for d in found if d.code == "LLM101")),
    ]
    # on the line of the cell's "source" key, or of the cell's first source line
    assert sorted(lines[d.range.start.line].strip() for d in found if d.code == "E902") == [
        '"source": 42', '"source": null', '"x\\n",']
    assert next(d for d in found if d.code == "LLM101").message.startswith("cell 4: 8-bit bitsandbytes")


async def code_actions_at(client: LanguageClient, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    """The code actions a client's light bulb asks for (no ``only``) on a diagnostic."""
    return list(await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic]))))


@pytest.mark.skipif(not _has_fixes(), reason="needs ecolint.fixes (the fix engine), not in this build")
async def test_fix_all_is_offered_once(client: LanguageClient, workspace):
    source = ("from transformers import BitsAndBytesConfig\n"
              "config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_quant_type=\"nf4\")\n")
    path = workspace / "pkg" / "once.py"
    found = await diagnostics_after(client, path.as_uri(), lambda: open_document(client, path, source))
    actions = await code_actions_at(client, path.as_uri(), next(d for d in found if d.code == "LLM105"))
    fix_all = [a for a in actions if "Fix all" in a.title]
    assert [(a.title, a.kind) for a in fix_all] == [("ecolint: Fix all safe problems", "source.fixAll.ecolint")]


UNSAFE_SOURCE = '''\
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

config = BitsAndBytesConfig(load_in_8bit=True)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
'''


@pytest.mark.skipif(not _has_fixes(), reason="needs ecolint.fixes (the fix engine), not in this build")
async def test_unsafe_fixes_are_offered_only_when_the_configuration_enables_them(client: LanguageClient, workspace):
    unsafe_fix = lint_text(UNSAFE_SOURCE, "x.py", LintOptions(frozenset({"LLM101"})))[0].fix
    assert unsafe_fix["applicability"] == "unsafe"
    title = f"ecolint: {unsafe_fix['message']} (unsafe) (LLM101)"

    path = workspace / "pkg" / "safe_only.py"
    found = await diagnostics_after(client, path.as_uri(), lambda: open_document(client, path, UNSAFE_SOURCE))
    titles = [a.title for a in await code_actions_at(client, path.as_uri(), found[0])]
    assert titles == ["ecolint: Disable LLM101 for this line"]

    (workspace / "unsafe").mkdir()
    (workspace / "unsafe" / "pyproject.toml").write_text("[tool.ecolint]\nunsafe-fixes = true\n", encoding="utf-8")
    path = workspace / "unsafe" / "model.py"
    uri = path.as_uri()
    found = await diagnostics_after(client, uri, lambda: open_document(client, path, UNSAFE_SOURCE))
    actions = await code_actions_at(client, uri, found[0])
    assert [a.title for a in actions] == [title, "ecolint: Disable LLM101 for this line",
                                          "ecolint: Fix all problems (unsafe fixes included)"]
    assert actions[0].is_preferred is False
    fixed = apply_edits(UNSAFE_SOURCE, actions[0].edit.changes[uri])
    assert lint_text(fixed, "x.py", LintOptions(frozenset({"LLM101"}))) == []
    assert apply_edits(UNSAFE_SOURCE, actions[2].edit.changes[uri]) == fixed
