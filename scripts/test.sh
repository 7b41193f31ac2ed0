#!/usr/bin/env bash
# Check the import contract, then run the whole test suite (slow, PostgreSQL, Redis and
# browser tests included).
# Creates or reuses .venv first. Extra arguments go to pytest, e.g. scripts/test.sh -k gradcheck
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
scripts/services.sh
# The import contract (.importlinter): a new import circle or a layer crossed fails here.
.venv/bin/lint-imports
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $rc
