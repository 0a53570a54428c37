"""The gunicorn worker that serves Stichwort: gevent, so slow clients cost a greenlet, not a worker.

A threaded worker reads a request in one of its threads: sixteen clients that
send one byte every two seconds (slowloris) occupy all of them and nobody else
is served.  Under gevent each connection waits in its own greenlet; searches
themselves are short and bounded (``search.timeout_seconds``), so a worker is
never stuck for long either.  gunicorn answers some malformed requests itself
(400, 414 request line too long, 431 headers too large) with a bare page; here
those pages carry the same security headers as the app's (``web.SECURITY_HEADERS``).
"""
from __future__ import annotations

import html

from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from web import SECURITY_HEADERS


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` with the app's security headers."""
    body = (f"<!doctype html><html><head><title>{html.escape(reason)}</title></head>"
            f"<body><h1>{html.escape(reason)}</h1><p>{html.escape(mesg)}</p></body></html>").encode()
    headers = "".join(f"{name}: {value}\r\n" for name, value in SECURITY_HEADERS.items())
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


class Worker(GeventWorker):
    """gunicorn's gevent worker whose own error pages carry the security headers."""

    def init_process(self) -> None:
        util.write_error = write_error  # the module attribute gunicorn's workers call
        super().init_process()
