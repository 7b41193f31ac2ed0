#!/usr/bin/env bash
# Run gradelab: the web app (gunicorn), one Celery worker and Celery beat, in the foreground.
#
#   scripts/run.sh                      SQLite in instance/ and an embedded broker (kombu's
#                                       SQLAlchemy transport on instance/broker.sqlite3): no Redis
#   DATABASE_URL=postgresql://... REDIS_URL=redis://... scripts/run.sh     PostgreSQL and Redis
#
# Environment (all optional):
#   GRADELAB_PORT (8000)  GRADELAB_BIND (127.0.0.1)  GRADELAB_WEB_WORKERS (2)
#   GRADELAB_WORKER_CONCURRENCY (2)   GRADELAB_BEAT_SCHEDULE (instance/celerybeat-schedule)
#   GRADELAB_SECRET_KEY, GRADELAB_SEED_KEY (else made once and kept in instance/)
#   GRADELAB_SKIP_BOOTSTRAP=1         do not run scripts/bootstrap.sh first
# Ctrl-C (or SIGTERM) stops all three; if one of them dies, the others are stopped too.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[run] %s\n' "$*" >&2; }

[[ "${GRADELAB_SKIP_BOOTSTRAP:-0}" == 1 ]] || scripts/bootstrap.sh
PY=.venv/bin/python
export PATH="$PWD/.venv/bin:$PATH"

mkdir -p instance
# Secrets made once and kept in instance/ (mode 600) unless given in the environment:
# the session key of the web app and the key that seeds the hidden tests' inputs.
keep_secret() {  # keep_secret VAR FILE
  if [[ -z "${!1:-}" ]]; then
    if [[ ! -s "$2" ]]; then
      (umask 077; "$PY" -c 'import secrets; print(secrets.token_hex(32))' > "$2")
    fi
    export "$1=$(cat "$2")"
  fi
}
keep_secret GRADELAB_SECRET_KEY instance/secret_key
keep_secret GRADELAB_SEED_KEY instance/seed_key

log "database: ${DATABASE_URL:+\$DATABASE_URL}${DATABASE_URL:-SQLite in instance/}"
log "broker:   ${REDIS_URL:+\$REDIS_URL}${REDIS_URL:-embedded (instance/broker.sqlite3)}"
"$PY" -m grader db upgrade
"$PY" -m grader sync-assignments

pids=()
stop_all() {
  trap - INT TERM
  log "stopping (the worker finishes its current job first)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # The worker may need up to its job's hard time limit. One whose pool processes are all gone
  # but which does not exit (a deadlock at exit) is killed after 15 s.
  local idle=0
  while kill -0 "$worker_pid" 2>/dev/null; do
    if pgrep -P "$worker_pid" >/dev/null; then idle=0; else idle=$((idle + 1)); fi
    if (( idle >= 15 )); then
      log "the worker's pool has stopped but the worker hangs; killing it"
      kill -KILL "$worker_pid" 2>/dev/null || true
    fi
    sleep 1
  done
  wait || true
}
trap 'stop_all; exit 0' INT TERM

gunicorn --bind "${GRADELAB_BIND:-127.0.0.1}:${GRADELAB_PORT:-8000}" \
  --workers "${GRADELAB_WEB_WORKERS:-2}" --timeout 60 --access-logfile - \
  "grader:create_app()" &
pids+=($!)
# The worker gets its own session: only this script signals it, once (two SIGTERMs in a row can
# deadlock Celery's signal handler, and a SIGTERM that also reaches the pool processes can
# deadlock billiard at exit).
setsid celery -A worker.make_celery worker --loglevel INFO \
  --concurrency "${GRADELAB_WORKER_CONCURRENCY:-2}" --queues grading,maintenance \
  --hostname "worker@%h" &
worker_pid=$!
pids+=($worker_pid)
celery -A worker.make_celery beat --loglevel INFO \
  --schedule "${GRADELAB_BEAT_SCHEDULE:-instance/celerybeat-schedule}" &
pids+=($!)
log "web on http://${GRADELAB_BIND:-127.0.0.1}:${GRADELAB_PORT:-8000}/ (pids ${pids[*]}); Ctrl-C stops"

set +e
wait -n "${pids[@]}"
status=$?
log "a process exited (status $status); stopping the others"
stop_all
exit "$status"
