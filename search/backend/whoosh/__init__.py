"""The Whoosh backend: the only package that touches Whoosh's internals.

Whoosh (``whoosh-reloaded`` 2.7.5) is the store of record: segments, stored
fields, term dictionaries and postings.  Everything here that reaches below
Whoosh's public API (its segment writer, posting blocks, length columns) is
guarded by the version check below and by contract tests that compare with
Whoosh's own results.
"""
from __future__ import annotations

import sys

import whoosh

SUPPORTED_WHOOSH = (2, 7, 5)

if tuple(whoosh.__version__[:3]) != SUPPORTED_WHOOSH:  # pragma: no cover - guarded by the pin
    raise ImportError(
        f"Stichwort's Whoosh backend needs whoosh-reloaded {'.'.join(map(str, SUPPORTED_WHOOSH))}, "
        f"found {'.'.join(map(str, whoosh.__version__))}; install the version pinned in pyproject.toml")

from search.backend.whoosh import compat  # noqa: E402,F401 - fixes Whoosh's multi-segment column reader
from search.backend.whoosh import schema as _schema  # noqa: E402

# Indexes written before the package layout pickled their schema's field formats under this name.
sys.modules.setdefault("search.schema", _schema)
