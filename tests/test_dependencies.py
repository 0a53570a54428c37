"""The server runs on what ``pip install .`` brings, without the test or bench extras.

The test environment holds more than a reader's installation (pytest brings
``packaging``, for one), so a module the server imports but the project never
declares works in every test and fails on a fresh machine.  Here the web
application and the gunicorn worker are imported in a child process that can
import only the standard library, the project and the distributions its base
dependencies require, transitively.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: str, extras: tuple[str, ...] = ()) -> set[tuple[str, tuple[str, ...]]]:
    """(distribution, the extras asked of it) of the requirements of ``dist`` that apply on this machine."""
    out = set()
    for line in metadata.requires(dist) or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or ("",)):
            out.add((_norm(req.name), tuple(sorted(req.extras))))
    return out


def base_closure() -> set[str]:
    """The project's distribution and every distribution its base dependencies need."""
    seen, todo = set(), [("stichwort", ())]
    while todo:
        dist, extras = todo.pop()
        if (dist, extras) in seen:
            continue
        seen.add((dist, extras))
        todo.extend(_requirements(dist, extras))
    return {d for d, _ in seen}


CHILD = r"""
import json, sys
from importlib import metadata
allowed = set(json.loads(sys.argv[1]))
norm = lambda n: __import__("re").sub(r"[-_.]+", "-", n).lower()
owners = metadata.packages_distributions()

class Undeclared:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        dists = {norm(d) for d in owners.get(top, ())}
        if dists and not dists & allowed:
            raise ImportError(f"{top} comes from {sorted(dists)}, which the base dependencies do not declare")
        return None

sys.meta_path.insert(0, Undeclared())
import web, web.server, web.workers
web.create_app
print("ok")
"""


def test_the_server_imports_only_declared_dependencies():
    allowed = base_closure()
    assert {"flask", "gunicorn", "gevent", "numpy"} <= allowed
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(sorted(allowed))], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
