"""WSGI entry point for gunicorn: ``gunicorn web.wsgi:app``.

The index directory comes from the environment variable ``STICHWORT_INDEX_DIR``
(default ``index_data/index``, relative to the working directory).  The engine is
opened and warmed up on import, so the first search after a start finds its
arrays read.
"""
from __future__ import annotations

import os

from . import DEFAULT_INDEX_DIR, create_app
from .core import EXTENSION_KEY

app = create_app(index_dir=os.environ.get("STICHWORT_INDEX_DIR") or DEFAULT_INDEX_DIR)
app.extensions[EXTENSION_KEY]["engine"].warm_up()
