"""Configuration: one YAML file, documented defaults, errors that name the key.

Looked up in this order: ``--config FILE``, ``$STICHWORT_CONFIG``,
``./stichwort.yaml``; every key is optional.  See README "Configuration".
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from search.analysis import LANGUAGES
from search.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "index_dir": "index_data/index",
    "languages": list(LANGUAGES),
    "boosts": {"title": 4.0, "teaser": 2.0, "body": 1.0, "location": 0.7, "sources": 0.5, "exact": 0.3},
    "facets": ["location", "source", "category", "language"],
    "recency": {"enabled": False, "half_life_days": 365, "weight": 0.3, "relative_to": "today"},
    "indexing": {"max_file_mb": 32, "max_record_mb": 8, "workers": 2, "batch_size": 10000, "follow_links": False},
    "stories": {"window_days": 3, "threshold": 0.4},
    "search": {"timeout_seconds": 10.0, "max_expansions": 50, "cache_mb": 256},
    "server": {"host": "127.0.0.1", "port": 8080, "workers": None, "public_url": None},
    "backend": "whoosh",
    # url: one node or several, comma-separated (default $STICHWORT_OPENSEARCH_URL, else 127.0.0.1:9200);
    # credentials come from $STICHWORT_OPENSEARCH_USER and $STICHWORT_OPENSEARCH_PASSWORD; keep_alive: how long
    # a point in time that cursor paging opened stays open after its last page was asked for
    "opensearch": {"url": None, "index": "stichwort", "shards": 3, "replicas": 1, "timeout": 30.0,
                   "verify_tls": True, "keep_alive": "10m"},
}
BACKENDS = ("whoosh", "opensearch")
MIN_KEEP_ALIVE, MAX_KEEP_ALIVE = 10, 24 * 3600  # seconds: opensearch.keep_alive (24 h: OpenSearch's own limit)
FACETS = ("location", "source", "category", "language")


def _check_number(key: str, value: Any, low: float, high: float | None = None, whole: bool = False) -> float:
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < low or (high is not None and value > high):
        allowed = f"{'a whole number' if whole else 'a number'} >= {low}"
        allowed += f" and <= {high}" if high is not None else ""
        raise ConfigError(f"config key '{key}': {value!r} is not allowed; expected {allowed}")
    return value


def _check_bool(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"config key '{key}' must be true or false, got {value!r}")


@dataclass
class Config:
    """Validated settings; build with :func:`load_config`."""

    data: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    source: str = "defaults"

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def index_dir(self) -> Path:
        return Path(self.data["index_dir"])

    @property
    def boosts(self) -> dict[str, float]:
        return self.data["boosts"]


def _merge(base: dict, override: dict, prefix: str = "") -> dict:
    for key, value in override.items():
        name = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"unknown config key '{name}'; known keys: {', '.join(sorted(base))}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{name}' must be a mapping of {', '.join(sorted(base[key]))}")
            _merge(base[key], value, name + ".")
        else:
            base[key] = value
    return base


def validate(data: dict[str, Any]) -> None:
    langs = data["languages"]
    if not isinstance(langs, list) or not langs or any(lang not in LANGUAGES for lang in langs):
        raise ConfigError(f"config key 'languages': {langs!r} is not allowed; "
                          f"expected a list of: {', '.join(LANGUAGES)}")
    for name, boost in data["boosts"].items():
        _check_number(f"boosts.{name}", boost, 0, 100)
    facets = data["facets"]
    if not isinstance(facets, list) or any(not isinstance(f, str) or f not in FACETS for f in facets):
        raise ConfigError(f"config key 'facets': {facets!r} is not allowed; expected a list of some of: "
                          f"{', '.join(FACETS)}")
    _check_bool("recency.enabled", data["recency"]["enabled"])
    _check_number("recency.half_life_days", data["recency"]["half_life_days"], 1)
    _check_number("recency.weight", data["recency"]["weight"], 0, 10)
    if data["recency"]["relative_to"] not in ("today", "newest"):
        raise ConfigError(f"config key 'recency.relative_to': {data['recency']['relative_to']!r} is not allowed; "
                          "expected today (ages count from the clock) or newest (from the newest article: an archive "
                          "that stopped growing keeps its ranking)")
    _check_number("indexing.max_file_mb", data["indexing"]["max_file_mb"], 0.001, 4096)
    _check_number("indexing.max_record_mb", data["indexing"]["max_record_mb"], 0.001, 4096)
    _check_number("indexing.workers", data["indexing"]["workers"], 1, 64, whole=True)
    _check_number("indexing.batch_size", data["indexing"]["batch_size"], 1, 100000, whole=True)
    _check_bool("indexing.follow_links", data["indexing"]["follow_links"])
    _check_number("stories.window_days", data["stories"]["window_days"], 0, 365)
    _check_number("stories.threshold", data["stories"]["threshold"], 0.01, 1)
    _check_number("search.timeout_seconds", data["search"]["timeout_seconds"], 0.1, 600)
    _check_number("search.max_expansions", data["search"]["max_expansions"], 1, 10000, whole=True)
    _check_number("search.cache_mb", data["search"]["cache_mb"], 16, 65536)
    _check_number("server.port", data["server"]["port"], 1, 65535, whole=True)
    public = data["server"]["public_url"]
    if public is not None and not (isinstance(public, str) and re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", public)):
        raise ConfigError(f"config key 'server.public_url': {public!r} is not allowed; expected an http(s) URL "
                          "such as https://archiv.example.org")
    if data["server"]["workers"] is not None:
        _check_number("server.workers", data["server"]["workers"], 1, 64, whole=True)
    if data["backend"] not in BACKENDS:
        raise ConfigError(f"config key 'backend': {data['backend']!r} is not allowed; expected one of: "
                          f"{', '.join(BACKENDS)}")
    _check_opensearch(data["opensearch"])
    if not isinstance(data["index_dir"], str) or not data["index_dir"]:
        raise ConfigError("config key 'index_dir' must be a directory path")


def _check_opensearch(conf: dict[str, Any]) -> None:
    url = conf["url"]
    urls = [u.strip() for u in url.split(",")] if isinstance(url, str) else None
    if url is not None and (not urls or not all(re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", u) for u in urls)):
        raise ConfigError(f"config key 'opensearch.url': {url!r} is not allowed; expected an http(s) URL of a node "
                          "such as https://search.example.org:9200, or several separated by commas")
    index = conf["index"]
    if not isinstance(index, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,200}", index):
        raise ConfigError(f"config key 'opensearch.index': {index!r} is not allowed; expected an index name of "
                          "lower-case letters, digits, '-', '_' and '.', not starting with one of those signs")
    _check_number("opensearch.shards", conf["shards"], 1, 1024, whole=True)
    _check_number("opensearch.replicas", conf["replicas"], 0, 16, whole=True)
    _check_number("opensearch.timeout", conf["timeout"], 0.1, 3600)
    _check_bool("opensearch.verify_tls", conf["verify_tls"])
    keep = conf["keep_alive"]
    found = re.fullmatch(r"([1-9][0-9]{0,5})([smh])", keep) if isinstance(keep, str) else None
    seconds = int(found[1]) * {"s": 1, "m": 60, "h": 3600}[found[2]] if found else 0
    if not MIN_KEEP_ALIVE <= seconds <= MAX_KEEP_ALIVE:
        raise ConfigError(f"config key 'opensearch.keep_alive': {keep!r} is not allowed; expected a duration such "
                          f"as 10m (s, m or h) from {MIN_KEEP_ALIVE} s to {MAX_KEEP_ALIVE // 3600} h (the cluster's "
                          "point_in_time.max_keep_alive)")


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> Config:
    """Defaults, then the YAML file, then non-None ``overrides`` (from the command line)."""
    data = copy.deepcopy(DEFAULTS)
    source = "defaults"
    local = "stichwort.yaml" if Path("stichwort.yaml").is_file() else None
    path = path or os.environ.get("STICHWORT_CONFIG") or local
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must be a mapping of keys: {', '.join(DEFAULTS)}")
        _merge(data, loaded)
        source = str(path)
    for key, value in overrides.items():
        if isinstance(value, dict):  # some keys of a section, e.g. indexing={"max_file_mb": 64}
            _merge(data[key], value, key + ".")
        elif value is not None:
            data[key] = str(value) if key == "index_dir" else value
    validate(data)
    return Config(data, source)
