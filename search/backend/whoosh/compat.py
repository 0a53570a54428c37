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

from whoosh import columns
from whoosh.filedb.structfile import BufferFile
from whoosh.reading import MultiReader


def _column_reader(self, fieldname, column=None, reverse=False, translate=True):
    readers = [r.column_reader(fieldname, column=column, reverse=reverse, translate=translate)
               for r in self.readers]
    return columns.MultiColumnReader(readers, list(self.doc_offsets))


MultiReader.column_reader = _column_reader


# ``BufferFile`` (a file inside a memory-mapped compound segment) copies its whole slice into a ``BytesIO``
# when it is opened, although most readers only ``get`` slices of the buffer: opening the stored-field column
# of a 100 MB segment copied it, and a term table's reader, which reads a few bytes at its start and end,
# copied the whole table (half a second for the 20 segments of 100,000 articles at a server's start).  Here a
# sequential read reads from the buffer itself, through a cursor made on first use.

class _Cursor:
    """A read-only file over a buffer (``bytes``, ``mmap`` or ``memoryview``) that copies only what is read."""

    def __init__(self, buf):
        self._buf = buf
        self._pos = 0
        self._len = len(buf)

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = self._len if size is None or size < 0 else min(self._len, start + size)
        self._pos = max(start, end)
        return bytes(self._buf[start:end])

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        end = self._len if size is None or size < 0 else min(self._len, self._pos + size)
        at = self._pos
        while at < end:  # in steps: a memoryview has no find
            chunk = bytes(self._buf[at:min(end, at + 4096)])
            newline = chunk.find(b"\n")
            if newline >= 0:
                return self.read(at + newline + 1 - self._pos)
            at += len(chunk)
        return self.read(end - self._pos)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def seek(self, pos: int, whence: int = 0) -> int:
        base = 0 if whence == 0 else self._pos if whence == 1 else self._len
        if base + pos < 0:
            raise ValueError("negative seek position")
        self._pos = base + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._buf = b""


class _LazyFile:
    """``BufferFile.file``: a ``_Cursor`` over the buffer, made on first use and then kept as the instance's
    own attribute (which takes precedence over this non-data descriptor)."""

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        obj.file = _Cursor(obj._buf)
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
    if "file" in self.__dict__:  # a file never read sequentially has no cursor to close
        self.file.close()
    self.is_closed = True


BufferFile.file = _LazyFile()
BufferFile.__init__ = _buffer_file_init
BufferFile.close = _buffer_file_close
BufferFile.flush = lambda self: None  # read-only
