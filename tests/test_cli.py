"""Command-line conventions: --version, colour only on a terminal and never with NO_COLOR, a closed
pipe ends quietly, unknown filter fields and bad config values are errors that name what is allowed."""
from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli

ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == "stichwort 0.1.0"


def _on_terminal(*args: str, no_color: bool) -> str:
    """stdout of ``stichwort ARGS`` written to a pseudo-terminal."""
    master, slave = pty.openpty()
    env = dict(ENV)
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "search", *args], stdout=slave, stderr=subprocess.PIPE,
                            cwd=ROOT, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(120)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return out.decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(demo_index):
    args = ("search", "--index-dir", str(demo_index), "Bahnstreik")
    assert "\033[1m" in _on_terminal(*args, no_color=False)
    assert "\033[" not in _on_terminal(*args, no_color=True)
    piped = run_cli(*args)
    assert piped.returncode == 0 and "Bahnstreik" in piped.stdout and "\033[" not in piped.stdout


def test_closed_pipe_ends_quietly(demo_index):
    """``stichwort search x | head``: the reader has gone; no traceback, exit 141 like a SIGPIPE."""
    proc = subprocess.Popen([sys.executable, "-m", "search", "search", "--index-dir", str(demo_index), "--json",
                             "--size", "50", "Berlin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env=ENV)
    proc.stdout.close()  # like head after its lines
    err = proc.stderr.read().decode()
    assert proc.wait(120) == 141
    assert err == "", err


def test_unknown_filter_field_names_the_known_ones(demo_index):
    out = run_cli("search", "--index-dir", str(demo_index), "--filter", "ort=Berlin", "Bahn")
    assert out.returncode == 2
    assert "unknown field 'ort'; known fields: location, source, category, language" in out.stderr
    assert run_cli("search", "--index-dir", str(demo_index), "--filter", "location=Berlin", "Bahn").returncode == 0


@pytest.mark.parametrize("yaml, key", [
    ("facets: 5\n", "'facets': 5 is not allowed"),
    ("facets: null\n", "'facets': None is not allowed"),
    ("facets: [ort]\n", "'facets': ['ort'] is not allowed"),
    ("indexing:\n  workers: 1.5\n", "'indexing.workers': 1.5 is not allowed; expected a whole number"),
    ("indexing:\n  batch_size: 10.5\n", "'indexing.batch_size': 10.5 is not allowed"),
    ("indexing:\n  max_record_mb: 0\n", "'indexing.max_record_mb': 0 is not allowed"),
    ("indexing:\n  follow_links: sometimes\n", "'indexing.follow_links' must be true or false"),
])
def test_bad_config_values_are_errors_naming_the_key(tmp_path, yaml, key):
    config = tmp_path / "c.yaml"
    config.write_text(yaml, "utf-8")
    out = run_cli("stats", "--config", str(config), "--index-dir", str(tmp_path))
    assert out.returncode == 2 and key in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_evaluation_leaves_the_callers_config_alone(tmp_path):
    from search.config import load_config
    from search.evaluate import build_index
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "1", "title": "", "body": "Ein Text über Köln."}\n', "utf-8")
    config = load_config(index_dir=tmp_path / "mine")
    assert build_index([corpus], config, tmp_path / "scratch") == 1
    assert config.index_dir == tmp_path / "mine"
