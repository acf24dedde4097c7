"""The ecolint language server (``ecolint lsp``); needs the ``lsp`` extra (pygls)."""
