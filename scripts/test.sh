#!/usr/bin/env bash
# Check the import contract, then run the whole test suite (slow, PostgreSQL, Redis and
# browser tests included).
# Creates or reuses .venv first. Extra arguments go to pytest, e.g. scripts/test.sh -k gradcheck
# (or -n 0 to run the tests in one process).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
scripts/services.sh
# The import contract (.importlinter): a new import circle or a layer crossed fails here.
.venv/bin/lint-imports
# pytest-xdist: one test process per core (at most 4; GRADELAB_TEST_PROCESSES=0 runs all in one).
# Tests that share a module-scoped fixture stay on one process (tests/conftest.py); each process
# has its own PostgreSQL database, Redis db (GRADELAB_TEST_REDIS_DB + its index, 11 by default)
# and sandbox uid range.
set +e
.venv/bin/python -m pytest -n "${GRADELAB_TEST_PROCESSES:-auto}" --maxprocesses 4 \
  --dist loadgroup "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $rc
