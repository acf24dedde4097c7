"""One worker process for the language server's analyses, so the server's event loop never waits.

The libcst parser holds the interpreter lock for as long as it parses, so a thread would not
keep the server answering; a process does, and it can be stopped: an analysis that no longer
matters (its document changed) is cancelled by ending the process, which is started again for
the next call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from typing import Any


class Cancelled(Exception):
    """The call was cancelled (or the worker closed) before it finished."""


class WorkerError(Exception):
    """The call raised in the worker; the message is the exception's ``repr``."""


def _serve(connection, parent: int) -> None:
    """In the worker: run each ``(function, args)`` received and send back its outcome."""
    from ecolint.workspace.pool import _start_worker

    _start_worker(parent)
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            outcome = ("ok", function(*args))
        except Exception as error:  # reported to the caller, the worker keeps serving
            outcome = ("error", repr(error))
        connection.send(outcome)


class AnalysisWorker:
    """Runs one call at a time in a child process; ``cancel`` ends the call under way."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process = None
        self._connection = None
        self._lock = asyncio.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the process now (it is otherwise started by the first call)."""
        if self._process is None and not self._closed:
            ours, theirs = self._context.Pipe()
            process = self._context.Process(target=_serve, args=(theirs, os.getpid()), daemon=True,
                                            name="ecolint-lsp-worker")
            process.start()
            theirs.close()
            self._process, self._connection = process, ours

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in the worker; ``Cancelled`` if the call is cancelled or the worker dies."""
        async with self._lock:
            if self._closed:
                raise Cancelled("the worker is closed")
            self.start()
            connection = self._connection
            status, value = await asyncio.get_running_loop().run_in_executor(
                None, self._exchange, connection, (function, args))
        if status == "cancelled":
            raise Cancelled("the call was cancelled")
        if status == "error":
            raise WorkerError(value)
        return value

    @staticmethod
    def _exchange(connection, message) -> tuple[str, Any]:
        try:
            connection.send(message)
            return connection.recv()
        except (EOFError, OSError):  # the process was ended by ``cancel``
            connection.close()
            return "cancelled", None

    def cancel(self) -> None:
        """End the call under way, if any (the process is started again for the next call)."""
        process = self._process
        self._process = self._connection = None
        if process is not None:
            process.kill()  # the call waiting on its answer sees the pipe close
            process.join(timeout=5)

    def close(self) -> None:
        self._closed = True
        self.cancel()
