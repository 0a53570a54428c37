"""A small HTTP client for OpenSearch's REST API, on the standard library.

Why not ``opensearch-py``: the backend needs a dozen endpoints, JSON in and
out, failover between the nodes of one cluster and retries on back-pressure;
``http.client`` does that without a dependency to pin.  Connections are kept
alive per thread.  A node that refuses or times out is skipped for the next
one; when none answers, :class:`search.errors.Unavailable` tells the reader to
try again (the web layer answers 503).
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import threading
import time
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from search.errors import StichwortError, Unavailable

USER_ENV = "STICHWORT_OPENSEARCH_USER"
PASSWORD_ENV = "STICHWORT_OPENSEARCH_PASSWORD"
URL_ENV = "STICHWORT_OPENSEARCH_URL"
RETRY_STATUSES = (429, 502, 503, 504)


class RequestError(StichwortError):
    """OpenSearch refused a request; the message carries its reason."""

    def __init__(self, status: int, reason: str, body: Any = None):
        super().__init__(f"OpenSearch answered {status}: {reason}")
        self.status = status
        self.reason = reason
        self.body = body


class Client:
    """JSON over HTTP(S) to one cluster, given as one or more node URLs (comma-separated)."""

    def __init__(self, urls: str | list[str], timeout: float = 30.0, verify_tls: bool = True,
                 user: str | None = None, password: str | None = None, retries: int = 6):
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",") if u.strip()]
        self.urls = [u.rstrip("/") for u in urls]
        if not self.urls:
            raise StichwortError("no OpenSearch URL configured (opensearch.url or $STICHWORT_OPENSEARCH_URL)")
        self.timeout = timeout
        self.retries = retries
        user = user if user is not None else os.environ.get(USER_ENV)
        password = password if password is not None else os.environ.get(PASSWORD_ENV)
        self._auth = ("Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()) if user else None
        self._tls = ssl.create_default_context()
        if not verify_tls:
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE
        self._local = threading.local()
        self._preferred = 0

    # -- connections ------------------------------------------------------------------------------------------
    def _connection(self, i: int, timeout: float) -> http.client.HTTPConnection:
        if self._local.__dict__.get("pid") != os.getpid():  # forked (gunicorn --preload): never share sockets
            self._local.__dict__.update(pool={}, pid=os.getpid())
        pool = self._local.__dict__["pool"]
        conn = pool.get(i)
        if conn is None:
            parts = urlsplit(self.urls[i])
            host = parts.hostname or "127.0.0.1"
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(host, parts.port or 443, timeout=timeout,
                                                   context=self._tls)
            else:
                conn = http.client.HTTPConnection(host, parts.port or 80, timeout=timeout)
            pool[i] = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop(self, i: int) -> None:
        conn = self._local.__dict__.get("pool", {}).pop(i, None)
        if conn is not None:
            conn.close()

    # -- requests ---------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                ok: tuple[int, ...] = (), timeout: float | None = None, retry: bool = True) -> Any:
        """The decoded JSON answer; raises ``RequestError`` for an error status not in ``ok`` and
        ``Unavailable`` when no node answers.  429 and 50x are retried with backoff when ``retry``."""
        if params:
            path += "?" + urlencode({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()})
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            if isinstance(body, (bytes, str)):  # NDJSON (bulk, msearch)
                data = body.encode("utf-8") if isinstance(body, str) else body
                headers["Content-Type"] = "application/x-ndjson"
            else:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                headers["Content-Type"] = "application/json"
        if self._auth:
            headers["Authorization"] = self._auth
        timeout = timeout or self.timeout
        delay = 0.2
        last_error = ""
        unreachable = 0
        for attempt in range(self.retries + 1):
            status, payload, last_error = self._once(method, path, data, headers, timeout)
            unreachable += status is None
            if status is None and (not retry or unreachable > 2 or "timed out" in last_error):
                raise Unavailable(f"the search cluster does not answer ({last_error}); try again shortly",
                                  retry_after=10)
            if status is None or (retry and status in RETRY_STATUSES):
                if attempt < self.retries:
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                if status is None:
                    raise Unavailable(f"the search cluster does not answer ({last_error}); try again shortly",
                                      retry_after=10)
            if status >= 400 and status not in ok:
                if status in RETRY_STATUSES:
                    raise Unavailable(f"the search cluster is overloaded or recovering ({status}); try again",
                                      retry_after=5)
                raise RequestError(status, _reason(payload), payload)
            return payload
        raise Unavailable(f"the search cluster does not answer ({last_error})", retry_after=10)  # pragma: no cover

    def _once(self, method: str, path: str, data: bytes | None, headers: dict,
              timeout: float) -> tuple[int | None, Any, str]:
        """One try on each node in turn, from the one that answered last: (status, JSON, error)."""
        error = ""
        n = len(self.urls)
        start = self._preferred
        for k in range(n):
            i = (start + k) % n
            prefix = urlsplit(self.urls[i]).path.rstrip("/")
            for reuse in (True, False):  # a kept-alive connection the server closed: reconnect once
                conn = self._connection(i, timeout)
                try:
                    conn.request(method, prefix + path, body=data, headers=headers)
                    resp = conn.getresponse()
                    raw = resp.read()
                except (ConnectionError, TimeoutError, OSError, http.client.HTTPException) as exc:
                    self._drop(i)
                    error = f"{self.urls[i]}: {type(exc).__name__}: {exc}"
                    if reuse and isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                                  ConnectionResetError)):
                        continue
                    break
                self._preferred = i
                try:
                    payload = json.loads(raw) if raw else {}
                except ValueError:
                    payload = {"error": raw[:500].decode("utf-8", "replace")}
                return resp.status, payload, ""
        return None, None, error

    # -- helpers ----------------------------------------------------------------------------------------------
    def health(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.request("GET", "/_cluster/health", timeout=timeout, retry=False)

    def close(self) -> None:
        for i in list(self._local.__dict__.get("pool", {})):
            self._drop(i)


def path(*parts: str) -> str:
    """An URL path of quoted segments: document ids may hold any character."""
    return "/" + "/".join(quote(p, safe="") for p in parts)


def ndjson(lines: list[Any]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)


def _reason(payload: Any) -> str:
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict):
            root = (err.get("root_cause") or [err])[0]
            return f"{root.get('type', '')}: {root.get('reason', '')}".strip(": ")
        if err:
            return str(err)[:500]
    return str(payload)[:500]


def from_config(config: Any) -> Client:
    """The client ``config["opensearch"]`` describes; without ``url``, ``$STICHWORT_OPENSEARCH_URL`` or a
    node on this machine."""
    os_conf = config["opensearch"]
    url = os_conf["url"] or os.environ.get(URL_ENV) or "http://127.0.0.1:9200"
    return Client(url, timeout=float(os_conf["timeout"]), verify_tls=bool(os_conf["verify_tls"]))
