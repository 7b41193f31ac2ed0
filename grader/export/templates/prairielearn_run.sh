#!/usr/bin/env bash
# gradelab external grader for "{title}" ({slug}): PrairieLearn's entrypoint
# (info.json: externalGradingOptions.entrypoint = /grade/tests/run.sh).
# Grades /grade/student and writes /grade/results/results.json.
set -euo pipefail
ROOT="${{GRADELAB_AUTOGRADER_ROOT:-/grade}}"
PY="${{GRADELAB_PYTHON:-/opt/gradelab/venv/bin/python}}"
export PYTHONPATH="$ROOT/tests/gradelab"
exec "$PY" -m grader.export.runner prairielearn --root "$ROOT"
