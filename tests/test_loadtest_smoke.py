"""scripts/loadtest.py, short: 4 clients, 5 s, at most 300 requests against a real gunicorn; no errors, no 5xx."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "loadtest.py"


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=timeout)


def test_short_load_has_no_errors(demo_index):
    result = run("--clients", "4", "--duration", "5", "--requests", "300", "--workers", "2", "--json",
                 "--index-dir", str(demo_index))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert 0 < report["requests"] <= 300
    assert report["errors"] == 0 and report["transport_errors"] == 0 and report["status_5xx"] == 0, report
    assert report["statuses"] == {"200": report["requests"]}
    assert report["server"]["log_errors"] == []
    assert len(report["by_kind"]) >= 6, report["by_kind"]  # a mix, not one kind of request
    assert report["wall_s"] < 5 + 30  # bounded by --duration (plus one request's timeout at most)
    lat = report["latency"]
    assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert report["throughput_rps"] > 0


def test_refuses_a_non_loopback_url():
    result = run("--url", "http://192.0.2.10:8080", "--duration", "1", timeout=30)
    assert result.returncode != 0
    assert "only loopback" in result.stderr
