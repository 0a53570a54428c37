"""A fix to whoosh-reloaded 2.7.5 that every reader of our indexes needs (applied on import).

``MultiReader.column_reader`` leaves out the segments that have no file for a
column and keeps the document offsets of the others only, so a document
number of a later segment is looked up in the wrong segment's column: with an
oldest segment that holds only undated articles (no ``date`` column was ever
written for it), the date column of the whole index reads garbage
("unpack requires a buffer of 8 bytes"), sorting by date and the recency
boost break, and other columns (``month``) answer for the wrong documents.
Here every segment contributes a reader, the missing ones Whoosh's own
``EmptyColumnReader`` of default values, at its true offset.

The segment writer (``segments.Writer``) also writes every column into every
segment, so indexes written from now on are whole for any Whoosh reader.
"""
from __future__ import annotations

from whoosh import columns
from whoosh.reading import MultiReader


def _column_reader(self, fieldname, column=None, reverse=False, translate=True):
    readers = [r.column_reader(fieldname, column=column, reverse=reverse, translate=translate)
               for r in self.readers]
    return columns.MultiColumnReader(readers, list(self.doc_offsets))


MultiReader.column_reader = _column_reader
