"""Paging cursors: an offset signed with the index's key, bound to one search, with a backend's state.

A cursor is ``base64url(json {"o": offset, "f": fingerprint} + HMAC)``; the
fingerprint is a hash of everything that defines the result list, so a cursor
replayed against another search, or altered, is refused with a 400 instead of
silently returning another list's page.  A backend that pages by more than an
offset (OpenSearch: a point in time and the sort values of the last hit) adds
its state as ``"s"``; such a body is zlib-compressed behind a ``STATE`` byte
(a point in time names every shard: compressed it stays far below the web
layer's cursor limit).  Cursors without state keep the first format: those
handed out before states existed still decode.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import zlib
from pathlib import Path
from typing import Any

from search.errors import BadRequest

_SIG = 12  # bytes of HMAC-SHA256 kept
STATE = b"\x01"  # first byte of a compressed body with a backend's state (a JSON body starts with "{")
MAX_BODY = 1 << 16  # bytes a compressed body may grow to (the web layer's cursors are far shorter)


class Cursors:
    """Signs and checks cursors with a key kept in the index directory (``cursor.key``)."""

    def __init__(self, index_dir: Path):
        self._key = _key(Path(index_dir))

    @staticmethod
    def fingerprint(*parts: Any) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def encode(self, offset: int, fingerprint: str, state: dict[str, Any] | None = None) -> str:
        """A cursor for the page at ``offset``; ``state`` (JSON values) is handed back by ``decode``."""
        data: dict[str, Any] = {"o": offset, "f": fingerprint}
        if state is not None:
            data["s"] = state
        body = json.dumps(data, separators=(",", ":")).encode()
        if state is not None:
            body = STATE + zlib.compress(body, 9)
        sig = hmac.new(self._key, body, hashlib.sha256).digest()[:_SIG]
        return base64.urlsafe_b64encode(body + sig).decode().rstrip("=")

    def decode(self, cursor: str, fingerprint: str) -> tuple[int, dict[str, Any] | None]:
        """The offset and backend state a cursor stands for (state None for a cursor without one);
        BadRequest when it was altered or belongs to another search."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            body, sig = raw[:-_SIG], raw[-_SIG:]
            ok = hmac.compare_digest(sig, hmac.new(self._key, body, hashlib.sha256).digest()[:_SIG])
            if ok and body[:1] == STATE:  # signed by us: the size limit only guards against a leaked key
                body = zlib.decompressobj().decompress(body[1:], MAX_BODY)
            data = json.loads(body) if ok else None
        except (ValueError, TypeError, zlib.error):
            data = None
        if (not isinstance(data, dict) or not isinstance(data.get("o"), int) or data["o"] < 0
                or not isinstance(data.get("s", {}), dict)):
            raise BadRequest("cursor is invalid or was altered; start again without it", "cursor")
        if data.get("f") != fingerprint:
            raise BadRequest("cursor belongs to a different search; start again without it", "cursor")
        return data["o"], data.get("s")


def _key(index_dir: Path) -> bytes:
    path = index_dir / "cursor.key"
    try:
        if not path.exists():
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip().encode()
    except OSError:  # a read-only index: still tamper-evident, just not secret
        return hashlib.sha256(str(index_dir.resolve()).encode()).hexdigest().encode()
