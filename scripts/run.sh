#!/usr/bin/env bash
# Run gradelab: the web app (gunicorn), one Celery worker and Celery beat, in the foreground.
#
#   scripts/run.sh                      SQLite in instance/ and an embedded broker (kombu's
#                                       SQLAlchemy transport on instance/broker.sqlite3): no Redis
#   DATABASE_URL=postgresql://... REDIS_URL=redis://... scripts/run.sh     PostgreSQL and Redis
#
# Environment (all optional):
#   GRADELAB_PORT (8000)  GRADELAB_BIND (127.0.0.1)  GRADELAB_WEB_WORKERS (2)
#   GRADELAB_WORKER_CONCURRENCY (2)   GRADELAB_SECRET_KEY (else kept in instance/secret_key)
#   GRADELAB_SKIP_BOOTSTRAP=1         do not run scripts/bootstrap.sh first
# Ctrl-C (or SIGTERM) stops all three; if one of them dies, the others are stopped too.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[run] %s\n' "$*" >&2; }

[[ "${GRADELAB_SKIP_BOOTSTRAP:-0}" == 1 ]] || scripts/bootstrap.sh
PY=.venv/bin/python
export PATH="$PWD/.venv/bin:$PATH"

mkdir -p instance
if [[ -z "${GRADELAB_SECRET_KEY:-}" ]]; then
  if [[ ! -s instance/secret_key ]]; then
    (umask 077; "$PY" -c 'import secrets; print(secrets.token_hex(32))' > instance/secret_key)
  fi
  GRADELAB_SECRET_KEY=$(cat instance/secret_key)
  export GRADELAB_SECRET_KEY
fi

log "database: ${DATABASE_URL:+PostgreSQL/\$DATABASE_URL}${DATABASE_URL:-SQLite in instance/}"
log "broker:   ${REDIS_URL:+Redis/\$REDIS_URL}${REDIS_URL:-embedded (instance/broker.sqlite3)}"
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
celery -A worker.make_celery beat --loglevel INFO --schedule instance/celerybeat-schedule &
pids+=($!)
log "web on http://${GRADELAB_BIND:-127.0.0.1}:${GRADELAB_PORT:-8000}/ (pids ${pids[*]}); Ctrl-C stops"

set +e
wait -n "${pids[@]}"
status=$?
log "a process exited (status $status); stopping the others"
stop_all
exit "$status"
