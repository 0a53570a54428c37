"""Bytes -> text for archive files whose encoding nobody wrote down.

Archives mix UTF-8, UTF-16 exports (with or without a byte order mark) and
old Windows (cp1252) files.  Guessing
wrong silently corrupts every umlaut, so this module decodes strictly and
reports damaged or binary files instead of papering over them.
"""
from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

from search.ingest.article import ReadError

#: BOMs that switch to a wide encoding; UTF-32 first, its BOM starts like UTF-16's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: A well-formed UTF-8 multibyte sequence; finding one means the file is UTF-8.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)

#: Typographic characters cp1252 text uses besides letters.
_WESTERN_PUNCTUATION = frozenset("\xa0\xad„“”‚‘’«»‹›–—…•·€£¥¢§°©®™¶†‡‰×÷±¹²³¼½¾¡¿¦¨¯´¸ªº¬µ¤")

#: Above this share of non-ASCII letters a cp1252 reading is probably another script.
_MAX_NON_ASCII_LETTER_SHARE = 0.3


def decode(data: bytes) -> str:
    """Decode file bytes to NFC text with LF newlines, or raise ReadError."""
    return require_content(normalize_text(_decode_raw(data)))


def normalize_text(text: str) -> str:
    """NFC + LF newlines, so equal-looking text compares and tokenises equally."""
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")


def require_content(text: str) -> str:
    """Reject blank text: a whitespace-only file is as useless as an empty one."""
    if not text.strip():
        raise ReadError("empty file")
    return text


def _decode_raw(data: bytes) -> str:
    codec = wide_codec(data)
    if codec:
        return _decode_strict(data, codec)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ReadError(f"binary file (NUL byte at offset {nul})")
    has_bom = data.startswith(codecs.BOM_UTF8)
    try:
        return data[3:].decode("utf-8") if has_bom else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if has_bom or _UTF8_MULTIBYTE.search(data):
            at = exc.start + (3 if has_bom else 0)
            line = data.count(b"\n", 0, at) + 1
            raise ReadError(f"invalid UTF-8 at byte {at} (line {line})") from None
    return _decode_legacy(data)


def wide_codec(data: bytes) -> str | None:
    """The codec of a UTF-16/32 file: named by its byte order mark, or UTF-16 without one
    (some Windows exports), where mostly-Latin text has a NUL in every other byte."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            return codec
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, others, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.6 * len(zeros) and others.count(0) <= 0.02 * len(others):
            try:
                data[: len(data) // 2 * 2].decode(codec)
            except UnicodeDecodeError:
                return None
            return codec
    return None


def decode_line(raw: bytes, *, legacy: bool) -> str:
    """One line of a JSON Lines file (UTF-8 by definition) as NFC text.

    ``legacy`` says the whole file has no UTF-8 anywhere: it was written as cp1252,
    and every line is read that way.  In a UTF-8 file a line that is not UTF-8 is
    reported (with what it looks like), never guessed: its neighbours show the
    file's encoding.
    """
    try:
        return normalize_text(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        if legacy or not _UTF8_MULTIBYTE.search(raw):
            western = _as_western(raw)
            if western is not None and legacy:
                return normalize_text(western)
            if western is not None:
                raise ReadError(f"not UTF-8 (byte {exc.start} of the line): the line reads as cp1252 (Windows-1252) "
                                "while the rest of the file is UTF-8; JSON Lines must be UTF-8") from None
        raise ReadError(f"invalid UTF-8 at byte {exc.start} of the line") from None


def has_utf8(data: bytes) -> bool:
    """Whether ``data`` holds any UTF-8 multibyte sequence (then a file is UTF-8, not cp1252)."""
    return _UTF8_MULTIBYTE.search(data) is not None


def _decode_strict(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ReadError(f"invalid {codec.upper()} at byte {exc.start}") from None


def _decode_legacy(data: bytes) -> str:
    """Non-UTF-8 text: cp1252 if it reads like Western text, else ask charset_normalizer."""
    western = _as_western(data)
    if western is not None:
        return western
    best = from_bytes(data).best()
    if best is None:
        raise ReadError("cannot determine text encoding")
    return str(best)


def _as_western(data: bytes) -> str | None:
    """cp1252 reading of data, or None when it looks like mojibake of another script.

    charset_normalizer is unreliable on short texts (b"Pr\\xe4sident" comes back as
    cp1006), and German archives are overwhelmingly cp1252, so check it first.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = non_ascii_letters = 0
    for char in text:
        if char.isalpha():
            letters += 1
            non_ascii_letters += not char.isascii()
        elif not char.isascii() and char not in _WESTERN_PUNCTUATION:
            return None
    if non_ascii_letters > letters * _MAX_NON_ASCII_LETTER_SHARE:
        return None
    return text
