# Shared by scripts/serve and scripts/test: create .venv and install the project into it.
# Usage: . scripts/_setup.sh [EXTRAS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
STAMP=".venv/.installed-$1"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    if [ -n "$1" ]; then
        .venv/bin/python -m pip install --quiet -e ".[$1]"
    else
        .venv/bin/python -m pip install --quiet -e .
    fi
    touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
