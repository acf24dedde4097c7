"""The hash a file's content is known by: in the cache's entries and their ``uses``, and in the project index."""

from __future__ import annotations

import hashlib


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()
