"""Indexing: files and articles in, records of the store out, with a summary a user can act on.

``indexer.Indexer`` runs a whole indexing run (orchestration only).  The parse
pool (``pool``) runs ``jobs`` on every core: read, parse, detect the
language, work out same-story terms.  ``ids`` decides duplicate ids,
``stories`` signs articles and groups the same event reported by several
outlets, ``records`` maps an article to what a backend stores, ``versions``
names which version of which file a document came from, and ``summary``
reports per file what happened.  How documents are stored is the backend's
business (``search.backend.base.IndexWriter``).  See docs/indexing.md.
"""
