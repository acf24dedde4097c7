"""The programs the editor tests drive (nvim, node, npm): skipped without them, except in CI.

CI (``CI`` set, or ``ECOLINT_REQUIRE_EDITORS`` as ``.ci/run`` sets it) installs them, so there a
missing program is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
import shutil

import pytest


def required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("ECOLINT_REQUIRE_EDITORS"))


def program(name: str, install: str) -> str:
    """The path of ``name``; a skip (or in CI a failure) that says how to install it when it is missing."""
    found = shutil.which(name)
    if found is None:
        if required():
            pytest.fail(f"{name} is not installed; CI installs it ({install}, in .ci/run)")
        pytest.skip(f"{name} is not installed ({install})")
    return found
