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
  wait || true
}
trap 'stop_all; exit 0' INT TERM

gunicorn --bind "${GRADELAB_BIND:-127.0.0.1}:${GRADELAB_PORT:-8000}" \
  --workers "${GRADELAB_WEB_WORKERS:-2}" --timeout 60 --access-logfile - \
  "grader:create_app()" &
pids+=($!)
celery -A worker.make_celery worker --loglevel INFO \
  --concurrency "${GRADELAB_WORKER_CONCURRENCY:-2}" --queues grading,maintenance \
  --hostname "worker@%h" &
pids+=($!)
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
