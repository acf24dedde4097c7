"""LSP 3.17 notebook documents: one text document per cell, linted together as one notebook.

An editor that edits a notebook as a notebook (VS Code, JupyterLab's LSP, Zed) sends the cells
as text documents of one ``notebookDocument``. A snapshot of the cells is turned into the
notebook's JSON shape, so the cells are linted and fixed exactly as in an ``.ipynb`` file (one
shared namespace, IPython magics left out); diagnostics come back with their cell's number and
rows in that cell, which map to the cell's own document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lsprotocol import types
from pygls.workspace import TextDocument

FIX_ALL_KIND = f"{types.CodeActionKind.Notebook.value}.{types.CodeActionKind.SourceFixAll.value}.ecolint"
SYNC_OPTIONS = types.NotebookDocumentSyncOptions(notebook_selector=[
    types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage(language="python")], notebook="*"),
])


@dataclass(frozen=True)
class NotebookCellText:
    uri: str
    document: TextDocument | None  # None: a Markdown cell, or a code cell in another language

    @property
    def is_python(self) -> bool:
        return self.document is not None


@dataclass(frozen=True)
class NotebookSnapshot:
    """The cells of one version of a notebook document, in notebook order (cell N is ``cells[N - 1]``)."""

    uri: str
    version: int
    cells: tuple[NotebookCellText, ...]

    @classmethod
    def of(cls, notebook: types.NotebookDocument, documents: dict[str, TextDocument]) -> NotebookSnapshot:
        cells = []
        for cell in notebook.cells:
            document = documents.get(cell.document)
            python = (cell.kind == types.NotebookCellKind.Code and document is not None
                      and (document.language_id or "python") == "python")
            copy = TextDocument(document.uri, document.source, document.version, document.language_id,
                                position_codec=document.position_codec) if python else None
            cells.append(NotebookCellText(cell.document, copy))
        return cls(notebook.uri, notebook.version, tuple(cells))

    def as_json(self) -> str:
        """The notebook as ``.ipynb`` JSON: Python code cells with their text, the others as raw cells."""
        cells = []
        for cell in self.cells:
            if cell.is_python:
                cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                              "source": cell.document.source})
            else:
                cells.append({"cell_type": "raw", "metadata": {}, "source": ""})
        notebook = {"cells": cells, "metadata": {"language_info": {"name": "python"}},
                    "nbformat": 4, "nbformat_minor": 5}
        return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"

    def cell(self, number: int | None) -> NotebookCellText | None:
        """Cell ``number`` (1-based) when it is a Python code cell; None otherwise."""
        if number is None or not 1 <= number <= len(self.cells):
            return None
        cell = self.cells[number - 1]
        return cell if cell.is_python else None

    def number_of(self, uri: str) -> int | None:
        return next((number for number, cell in enumerate(self.cells, start=1) if cell.uri == uri), None)

    @property
    def stamp(self) -> tuple:
        """The notebook's version and its Python cells' versions: any edit changes it."""
        return (self.version, tuple(cell.document.version for cell in self.cells if cell.is_python))

    @property
    def size(self) -> int:
        return sum(len(cell.document.source.encode("utf-8", "surrogatepass")) for cell in self.cells if cell.is_python)


def cell_sources(notebook_json: str) -> list[str]:
    """The source of every cell of a notebook's JSON text (``ecolint``'s fixes write a string)."""
    sources = []
    for cell in json.loads(notebook_json)["cells"]:
        source = cell.get("source", "")
        sources.append("".join(source) if isinstance(source, list) else source)
    return sources
