#!/usr/bin/env bash
# Set everything up, then run the whole test suite: lint, types, and every test
# (unit, integration against real servers on 127.0.0.1, attacks).
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
echo "== ruff"; .venv/bin/ruff check src tests bench
echo "== ruff format"; .venv/bin/ruff format --check src tests bench
echo "== mypy --strict"; .venv/bin/mypy
echo "== web: tsc --strict --checkJs, node --test"; (cd web && npm run --silent check && node --test test/)
echo "== pytest"
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" "$@"
