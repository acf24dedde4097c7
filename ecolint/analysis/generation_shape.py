"""Calls that are text generation although what they call cannot be resolved.

A text-generation pipeline or a generator often reaches the code that runs it as a function parameter,
from another module's loader or from a settings dict: ``out = generator(prompt, max_new_tokens=150)``.
The call itself still tells: the keywords only generation takes (``max_new_tokens``,
``num_return_sequences``, ...) and the pipeline's result shape, ``call(...)[0]["generated_text"]``.
Clients of remote servers take the same keywords (``InferenceClient.text_generation``, TGI's
``Client``): a callee named or created like a client is left out, and so is one this module or
the analysis can resolve (a local function is judged by its body, see ``helpers``).
"""

from __future__ import annotations

import re

import libcst as cst

from ecolint.analysis.scopes import dotted_name
from ecolint.candidates import GENERATION_ONLY_KEYWORDS, RESULT_KEYS

# Words in a callee's text that name a remote client or an API wrapper, not a model in this process.
CLIENT_WORDS = ("client", "api", "endpoint", "remote", "server", "session", "request", "http", "openai",
                "anthropic", "completion", "async", "aio", "url")
# Methods of remote clients that take generation keywords.
CLIENT_METHODS = frozenset({"text_generation", "create", "post", "invoke", "ainvoke", "acreate", "agenerate",
                            "stream", "submit", "send"})


def read_as_generated_text(node: cst.Subscript) -> cst.Call | None:
    """The call whose result this subscript reads as a generation pipeline's: ``call(...)[0]["generated_text"]``
    (the collector records these as it walks the module)."""
    inner = node.value
    if (_string_index(node) in RESULT_KEYS and isinstance(inner, cst.Subscript)
            and _integer_index(inner) == 0 and isinstance(inner.value, cst.Call)):
        return inner.value
    return None


def _single_index(node: cst.Subscript) -> cst.BaseExpression | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    return node.slice[0].slice.value


def _integer_index(node: cst.Subscript) -> int | None:
    value = _single_index(node)
    return int(value.value) if isinstance(value, cst.Integer) and value.value.isdigit() else None


def _string_index(node: cst.Subscript) -> str | None:
    value = _single_index(node)
    return value.evaluated_value if isinstance(value, cst.SimpleString) else None


def callee_words(func: cst.BaseExpression) -> str:
    """The names a callee is written with: ``self.generator``, ``settings["inference_fn"]``."""
    if isinstance(func, cst.Subscript):
        base = callee_words(func.value)
        key = _string_index(func)
        return f"{base}.{key}" if key else base
    return dotted_name(func) or ""


def generation_signals(call: cst.Call, shaped: set[int]) -> bool:
    """The call passes a keyword only generation takes, or its result is read as ``[0]["generated_text"]``."""
    if id(call) in shaped:
        return True
    return any(arg.keyword is not None and arg.keyword.value in GENERATION_ONLY_KEYWORDS for arg in call.args)


def named_like_a_client(func: cst.BaseExpression) -> bool:
    words = callee_words(func).lower()
    if not words:
        return True  # a call of a call's result, a lambda: nothing to go on
    method = words.rsplit(".", 1)[-1]
    tokens = re.split(r"[._]", words)
    return method in CLIENT_METHODS or any(
        token.startswith(word) or token.endswith(word) for token in tokens for word in CLIENT_WORDS)
