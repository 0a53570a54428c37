"""Two fixes to whoosh-reloaded 2.7.5 that every reader of our indexes needs (applied on import).

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

from io import BytesIO

from whoosh import columns
from whoosh.filedb.structfile import BufferFile
from whoosh.reading import MultiReader


def _column_reader(self, fieldname, column=None, reverse=False, translate=True):
    readers = [r.column_reader(fieldname, column=column, reverse=reverse, translate=translate)
               for r in self.readers]
    return columns.MultiColumnReader(readers, list(self.doc_offsets))


MultiReader.column_reader = _column_reader


# ``BufferFile`` (a file inside a memory-mapped compound segment) copies its whole slice into a ``BytesIO``
# when it is opened, although the column readers only ``get`` slices of the buffer: opening the stored-field
# column of a 100 MB segment copied it, a tenth of a second per segment at the first search after a start.
# The ``BytesIO`` is made when a caller reads the file sequentially, not before.

class _LazyFile:
    """``BufferFile.file``: the ``BytesIO`` over the buffer, made on first use and then kept as the instance's
    own attribute (which takes precedence over this non-data descriptor)."""

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        obj.file = BytesIO(obj._buf)
        return obj.file


def _buffer_file_init(self, buf, name=None, onclose=None):
    self._buf = buf
    self._name = name
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def _buffer_file_close(self):
    if self.is_closed:
        raise Exception("This file is already closed")
    if self.onclose:
        self.onclose(self)
    if "file" in self.__dict__:  # closing a file never read sequentially makes no copy to close
        self.file.close()
    self.is_closed = True


BufferFile.file = _LazyFile()
BufferFile.__init__ = _buffer_file_init
BufferFile.close = _buffer_file_close
BufferFile.flush = lambda self: None  # read-only
