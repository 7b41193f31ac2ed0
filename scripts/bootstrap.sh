#!/usr/bin/env bash
# Create or reuse the virtual environment at .venv and install what gradelab needs on this machine.
#   scripts/bootstrap.sh          packages for running the service (bubblewrap, sandbox runtime)
#   scripts/bootstrap.sh --test   also what the test suite needs (chromium, docker-compose)
# Idempotent: a second run only checks. Debian packages need root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

log() { printf '[bootstrap] %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root for: $*"; return 1; fi
}

# --- Debian packages ---------------------------------------------------------------------------
pkgs=()
command -v bwrap >/dev/null 2>&1 || pkgs+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 || pkgs+=(util-linux)
if [[ $want_test -eq 1 ]]; then
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
  command -v docker-compose >/dev/null 2>&1 || pkgs+=(docker-compose)
fi
if [[ ${#pkgs[@]} -gt 0 ]]; then
  if command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${pkgs[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    log "please install: ${pkgs[*]} (no apt-get on this machine)"
    exit 1
  fi
fi

# --- Python virtual environment -----------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.gradelab-installed
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$digest" ]]; then
  log "installing gradelab and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$digest" > "$stamp"
fi

# --- the sandbox's own, world-readable Python runtime ---------------------------------------------
if [[ -x scripts/setup-sandbox-runtime.sh ]]; then
  scripts/setup-sandbox-runtime.sh
fi
log "ready"
