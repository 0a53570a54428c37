"""Paging cursors: an offset signed with the index's key, bound to one search.

A cursor is ``base64url(json {"o": offset, "f": fingerprint} + HMAC)``; the
fingerprint is a hash of everything that defines the result list, so a cursor
replayed against another search, or altered, is refused with a 400 instead of
silently returning another list's page.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any

from search.errors import BadRequest

_SIG = 12  # bytes of HMAC-SHA256 kept


class Cursors:
    """Signs and checks cursors with a key kept in the index directory (``cursor.key``)."""

    def __init__(self, index_dir: Path):
        self._key = _key(Path(index_dir))

    @staticmethod
    def fingerprint(*parts: Any) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def encode(self, offset: int, fingerprint: str) -> str:
        body = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
        sig = hmac.new(self._key, body, hashlib.sha256).digest()[:_SIG]
        return base64.urlsafe_b64encode(body + sig).decode().rstrip("=")

    def decode(self, cursor: str, fingerprint: str) -> int:
        """The offset a cursor stands for; BadRequest when it was altered or belongs to another search."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            body, sig = raw[:-_SIG], raw[-_SIG:]
            ok = hmac.compare_digest(sig, hmac.new(self._key, body, hashlib.sha256).digest()[:_SIG])
            data = json.loads(body) if ok else None
        except (ValueError, TypeError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("o"), int) or data["o"] < 0:
            raise BadRequest("cursor is invalid or was altered; start again without it", "cursor")
        if data.get("f") != fingerprint:
            raise BadRequest("cursor belongs to a different search; start again without it", "cursor")
        return data["o"]


def _key(index_dir: Path) -> bytes:
    path = index_dir / "cursor.key"
    try:
        if not path.exists():
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip().encode()
    except OSError:  # a read-only index: still tamper-evident, just not secret
        return hashlib.sha256(str(index_dir.resolve()).encode()).hexdigest().encode()
