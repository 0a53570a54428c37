"""Indexing: articles in, documents of the store out, with a summary a user can act on.

``indexer.Indexer`` runs a whole indexing run (discover, read, detect the
language, sign, assign stories, write, commit); ``stories`` groups the same
event reported by several outlets.  How documents are stored is the backend's
business (``search.backend``).
"""
