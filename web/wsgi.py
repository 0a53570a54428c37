"""WSGI entry point for gunicorn: ``gunicorn web.wsgi:app``.

The index directory comes from the environment variable ``STICHWORT_INDEX_DIR``
(default ``index_data/index``, relative to the working directory).
"""
from __future__ import annotations

import os

from . import DEFAULT_INDEX_DIR, create_app

app = create_app(index_dir=os.environ.get("STICHWORT_INDEX_DIR") or DEFAULT_INDEX_DIR)
