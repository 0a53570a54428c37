"""A small JSON client for a local OpenSearch node (standard library only).

Proxies from the environment are ignored: the cluster is on loopback, and an
``http_proxy`` set for package downloads must never see its traffic.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HTTPError(Exception):
    def __init__(self, status: int, body: Any, method: str, url: str):
        self.status, self.body, self.method, self.url = status, body, method, url
        reason = body
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            err = body["error"]
            reason = f"{err.get('type')}: {err.get('reason')}"
        super().__init__(f"{method} {url} -> {status} {str(reason)[:500]}")


def request(method: str, url: str, body: Any = None, *, timeout: float = 30.0,
            ndjson: bool = False) -> Any:
    """Send one request; returns the decoded JSON body (or text), raises HTTPError for 4xx/5xx
    and OSError (URLError, ConnectionRefusedError, timeout) when nothing answers."""
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        if ndjson:
            lines = body if isinstance(body, list) else [body]
            data = ("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)).encode()
            headers["Content-Type"] = "application/x-ndjson"
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
            headers["Content-Type"] = "application/json"
        else:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            raw = resp.read()
            return _decode(raw)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        raise HTTPError(exc.code, _decode(raw), method, url) from None


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return text


def try_get(url: str, timeout: float = 2.0) -> Any | None:
    """GET that returns None instead of raising when the node does not answer (or answers an error)."""
    try:
        return request("GET", url, timeout=timeout)
    except (OSError, HTTPError):
        return None


def wait_until(predicate, timeout: float, interval: float = 0.5):
    """Call predicate() until it returns something truthy or timeout seconds pass; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= end:
            return value
        time.sleep(interval)
