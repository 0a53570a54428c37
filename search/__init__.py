"""Stichwort: German-first full-text search for news archives (the engine library)."""
__version__ = "0.1.0"
