#!/usr/bin/env bash
# Create (idempotently) the world-readable Python runtime that gradelab's sandbox runs student
# code with, and check that bubblewrap can start.
#
# Run as root on a fresh machine or clone (scripts/bootstrap.sh calls it). Safe to run again:
# it only rebuilds the runtime when the interpreter or the numpy version differ.
#
# Environment:
#   GRADELAB_SANDBOX_PYTHON   the runtime's bin/python, as the launcher reads it; the venv is
#                             built two levels up (default /opt/gradelab/sandbox-runtime/bin/python)
#   GRADELAB_SANDBOX_BASE_PYTHON  interpreter the venv is made from (default /usr/bin/python3.11)
#   GRADELAB_NUMPY_VERSION    numpy version to pin (default: the project's .venv numpy, else the
#                             newest numpy allowed by pyproject.toml)
#   GRADELAB_SKIP_APT=1       do not try to apt-get install bubblewrap / python3.11-venv
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SANDBOX_PY="${GRADELAB_SANDBOX_PYTHON:-/opt/gradelab/sandbox-runtime/bin/python}"
RUNTIME="$(dirname "$(dirname "$SANDBOX_PY")")"
BASE_PY="${GRADELAB_SANDBOX_BASE_PYTHON:-/usr/bin/python3.11}"

log() { echo "setup-sandbox-runtime: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo --preserve-env=GRADELAB_SANDBOX_PYTHON,GRADELAB_SANDBOX_BASE_PYTHON,GRADELAB_NUMPY_VERSION,GRADELAB_SKIP_APT "$0" "$@"
    fi
    log "needs root (it writes $RUNTIME and installs Debian packages); run it as root"
    exit 1
fi

need_apt=()
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
[ -x "$BASE_PY" ] || need_apt+=(python3.11)
"$BASE_PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3.11-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
    if [ "${GRADELAB_SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "missing: ${need_apt[*]}; install them (Debian packages) and run again"; exit 1
    fi
    log "installing ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if [ -z "${GRADELAB_NUMPY_VERSION:-}" ] && [ -x "$REPO/.venv/bin/python" ]; then
    GRADELAB_NUMPY_VERSION="$("$REPO/.venv/bin/python" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)"
fi
if [ -n "${GRADELAB_NUMPY_VERSION:-}" ]; then
    numpy_req="numpy==${GRADELAB_NUMPY_VERSION}"
else
    numpy_req="numpy>=1.26,<3"
fi

have_numpy="$("$RUNTIME/bin/python" -I -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)"
have_base="$(sed -n 's/^executable = //p' "$RUNTIME/pyvenv.cfg" 2>/dev/null || true)"
base_real="$(readlink -f "$BASE_PY")"
if [ -n "$have_numpy" ] && [ "$have_base" = "$base_real" ] \
   && { [ -z "${GRADELAB_NUMPY_VERSION:-}" ] || [ "$have_numpy" = "$GRADELAB_NUMPY_VERSION" ]; }; then
    log "runtime $RUNTIME is up to date (numpy $have_numpy)"
else
    log "building $RUNTIME from $BASE_PY with $numpy_req"
    rm -rf "$RUNTIME"
    mkdir -p "$(dirname "$RUNTIME")"
    "$BASE_PY" -m venv "$RUNTIME"
    "$RUNTIME/bin/python" -m pip install --quiet --no-cache-dir --disable-pip-version-check "$numpy_req"
    # pip and setuptools are not needed inside the sandbox.
    "$RUNTIME/bin/python" -m pip uninstall --quiet -y pip setuptools >/dev/null 2>&1 || true
fi

# World-readable, owned by root, writable by nobody else; the parents must be traversable.
chown -R root:root "$RUNTIME"
chmod -R u+rwX,go+rX,go-w "$RUNTIME"
d="$RUNTIME"
while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done

# Smoke test: the runtime imports numpy as uid 65534 inside bubblewrap.
if ! setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    bwrap --unshare-all --unshare-user --disable-userns --new-session --die-with-parent \
      --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin \
      --ro-bind "$RUNTIME" "$RUNTIME" --proc /proc --dev /dev --tmpfs /tmp --clearenv \
      "$RUNTIME/bin/python" -I -c 'import numpy; numpy.ones(3).sum()' ; then
    log "bubblewrap cannot start here. Inside a container the worker needs user namespaces:"
    log "  sysctl kernel.unprivileged_userns_clone=1 (Debian), and seccomp/apparmor profiles"
    log "  that allow unshare/clone(CLONE_NEWUSER) and mount (see docs/sandbox.md)"
    exit 1
fi
log "ok: $RUNTIME/bin/python (numpy $("$RUNTIME/bin/python" -I -c 'import numpy; print(numpy.__version__)'))"
