#!/usr/bin/env bash
# gradelab autograder for "{title}" ({slug}): Gradescope's setup.sh, run once when the
# autograder image is built (Gradescope base image: Ubuntu 22.04 or 24.04, as root).
# Installs Python, bubblewrap (the sandbox) and the grading dependencies; builds the sandbox's
# world-readable Python runtime with numpy {numpy_version}.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip bubblewrap util-linux
SRC="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
python3 -m venv /autograder/gradelab-venv
/autograder/gradelab-venv/bin/pip install -q --upgrade pip
/autograder/gradelab-venv/bin/pip install -q -r "$SRC/gradelab/requirements.txt"
python3 -m venv /opt/gradelab/sandbox-runtime
/opt/gradelab/sandbox-runtime/bin/pip install -q "numpy=={numpy_version}"
chmod -R a+rX /opt/gradelab
# The sandbox needs unprivileged user namespaces; gradelab refuses to grade without it.
if bwrap --unshare-all --die-with-parent --ro-bind / / true; then
  echo "gradelab: bubblewrap works in this image"
else
  echo "gradelab: WARNING: bubblewrap cannot start here; every submission will be reported" \
       "as not gradable (student code never runs without the sandbox)" >&2
fi
