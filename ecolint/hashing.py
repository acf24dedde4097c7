"""The hash a file's content is known by: in the cache's entries and their ``uses``, and in the project index."""

from __future__ import annotations


def content_hash(data: bytes) -> str:
    from hashlib import blake2b  # loaded on first use (OpenSSL): a run without the cache may never hash

    return blake2b(data, digest_size=12).hexdigest()
