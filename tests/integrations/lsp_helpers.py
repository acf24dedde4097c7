"""What the tests that drive ``ecolint lsp`` with pytest-lsp's client share."""

from __future__ import annotations

import asyncio

from lsprotocol import types
from pytest_lsp import LanguageClient


async def diagnostics_after(client: LanguageClient, uri: str, action) -> list[types.Diagnostic]:
    """Run ``action`` and wait for the next diagnostics published for ``uri``."""
    client.diagnostics.pop(uri, None)
    action()
    for _ in range(100):
        if uri in client.diagnostics:
            return client.diagnostics[uri]
        await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), timeout=20)
    raise AssertionError(f"no diagnostics for {uri}")


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return offsets[position.line] + position.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text
