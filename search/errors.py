"""Exceptions with messages a user can act on.

The web layer maps them to HTTP statuses: ``BadRequest`` -> 400,
``NotFound`` -> 404, ``Unavailable`` -> 503; anything else is a bug.
"""
from __future__ import annotations


class StichwortError(Exception):
    """Base class: every error the engine raises on purpose."""


class ConfigError(StichwortError):
    """A configuration value is wrong; the message names the key and what is allowed."""


class BadRequest(StichwortError):
    """A search parameter is invalid (size too large, malformed date, tampered cursor...)."""

    def __init__(self, reason: str, param: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.param = param


class NotFound(StichwortError):
    """No article with this id."""


class IndexLocked(StichwortError):
    """Another indexer holds the write lock."""


class Unavailable(StichwortError):
    """The engine cannot answer now (a search over its time budget, a backend that is down); try again."""

    def __init__(self, reason: str, retry_after: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
