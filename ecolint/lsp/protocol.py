"""The server's side of the protocol: a request whose params do not fit its type is answered.

pygls drops such a request after logging it, and the client would wait for ever; here it gets
an ``InvalidParams`` error that says which field is wrong.
"""

from __future__ import annotations

from typing import Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

_ANSWERED = object()  # a request already answered with an error: nothing more to do


class EcolintProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if not ("jsonrpc" in data and "id" in data and "method" in data):
                raise  # a notification or a response: there is no one to answer
            if isinstance(error, JsonRpcInvalidParams):
                error = JsonRpcInvalidParams(f"invalid params for {data['method']}: {_reason(error)}")
            self._send_response(data["id"], error=error.to_response_error())
            return _ANSWERED

    def handle_message(self, message) -> None:
        if message is _ANSWERED:
            return
        super().handle_message(message)


def _reason(error: Exception) -> str:
    """Where the params went wrong, from cattrs' validation error (``$.params.range.start``)."""
    cause = error.__cause__
    try:
        from cattrs import transform_error

        details = transform_error(cause) if cause is not None else []
    except Exception:  # not a cattrs validation error
        details = []
    return "; ".join(details[:3]) or "they do not match the request's type"
