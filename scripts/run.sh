#!/usr/bin/env bash
# Run gradelab: the web app (gunicorn), one Celery worker and Celery beat, in the foreground.
#
#   scripts/run.sh                      SQLite in instance/ and an embedded broker (kombu's
#                                       SQLAlchemy transport on instance/broker.sqlite3): no Redis
#   DATABASE_URL=postgresql://... REDIS_URL=redis://... scripts/run.sh     PostgreSQL and Redis
#
# Environment (all optional):
#   GRADELAB_PORT (8000)  GRADELAB_BIND (127.0.0.1)
#   GRADELAB_WEB_THREADS (8)          threads of the ONE gunicorn process (gthread)
#   GRADELAB_WEB_WORKERS (1)          gunicorn processes; more than one needs the login rate limit
#                                     in Redis (REDIS_URL or GRADELAB_RATELIMIT_STORAGE_URI), else
#                                     each process counts login attempts on its own (warned)
#   GRADELAB_WORKER_CONCURRENCY (2)   GRADELAB_BEAT_SCHEDULE (instance/celerybeat-schedule)
#   GRADELAB_WORKER_STOP_SECONDS (330) how long a stop waits for the worker's current job (the
#                                     longest hard time limit of the shipped assignments is 300 s)
#                                     before it SIGKILLs the worker (the job is then re-sent)
#   GRADELAB_SECRET_KEY, GRADELAB_SEED_KEY (else made once and kept in instance/)
#   GRADELAB_SKIP_BOOTSTRAP=1         do not run scripts/bootstrap.sh first
#   GRADELAB_RESTART_MAX_DELAY (60)   longest back-off, seconds, before a dead worker/beat restarts
# Ctrl-C (or SIGTERM to this script or to its process group) stops all three: SIGTERM to each,
# then SIGKILL to what is still running after its window (web and beat: 40 s; the worker:
# GRADELAB_WORKER_STOP_SECONDS). A second Ctrl-C/SIGTERM kills what is left at once.
# Supervision: a worker or beat that dies is restarted (the dead worker's leftover pool and
# sandbox processes are killed first) after a back-off of 1 s, doubled for each death within
# 60 s of its start, up to GRADELAB_RESTART_MAX_DELAY; the web keeps serving meanwhile. Jobs of
# a dead worker are taken over when their lease expires (docs/operations.md). If the web dies,
# the others are stopped and the script exits with its status.
set -euo pipefail
log() { printf '[run] %s\n' "$*" >&2; }

# gunicorn's options, in WEB_ARGS. One process with threads by default, so that the login rate
# limit's memory:// storage is exact; several processes only on request (then warn unless the
# limit is kept in Redis, which every process shares).
web_args() {
  local storage="${GRADELAB_RATELIMIT_STORAGE_URI:-${GRADELAB_REDIS_URL:-${REDIS_URL:-memory://}}}"
  local workers="${GRADELAB_WEB_WORKERS:-1}" threads="${GRADELAB_WEB_THREADS:-8}"
  if [[ ! "$workers" =~ ^[1-9][0-9]*$ || ! "$threads" =~ ^[1-9][0-9]*$ ]]; then
    log "GRADELAB_WEB_WORKERS and GRADELAB_WEB_THREADS must be positive integers"
    return 2
  fi
  if (( workers > 1 )) && [[ "$storage" == memory://* ]]; then
    log "WARNING: $workers web processes but the login rate limit is kept in memory://: each" \
      "process counts on its own (up to $workers x GRADELAB_LOGIN_RATE_LIMIT). Set REDIS_URL or" \
      "GRADELAB_RATELIMIT_STORAGE_URI=redis://..., or leave GRADELAB_WEB_WORKERS unset (1)."
  fi
  # --no-control-socket: gunicorn >= 25.1 otherwise opens $HOME/.gunicorn/gunicorn.ctl, one path
  # shared by every gunicorn of the same user on the machine.
  WEB_ARGS=(--bind "${GRADELAB_BIND:-127.0.0.1}:${GRADELAB_PORT:-8000}"
            --workers "$workers" --worker-class gthread --threads "$threads"
            --timeout 60 --no-control-socket --access-logfile -)
  log "web: gunicorn, $workers process(es) x $threads threads; login rate limit storage:" \
    "$([[ "$storage" == memory://* ]] && echo memory:// || echo Redis)"
}

# Processes started (parallel arrays) and the worker's pid (its own session and process group).
pids=()
names=()
started=()   # $SECONDS at each one's (re)start
delays=()    # its current restart back-off, seconds
worker_pid=""
sleeper_pid=""  # the back-off sleep of a pending restart
RESTART_MAX_DELAY="${GRADELAB_RESTART_MAX_DELAY:-60}"
RESTART_RESET_SECONDS=60  # a process that ran this long restarts after 1 s again
force_stop=0
WORKER_STOP_SECONDS="${GRADELAB_WORKER_STOP_SECONDS:-330}"
OTHER_STOP_SECONDS=40  # gunicorn's graceful timeout is 30 s

kill_hard() {  # kill_hard PID: SIGKILL the process and what it started
  local pid=$1
  if [[ "$pid" == "$worker_pid" ]]; then
    kill -KILL -- "-$pid" 2>/dev/null || true  # the worker's group: main process and pool
  else
    pkill -KILL -P "$pid" 2>/dev/null || true
  fi
  kill -KILL "$pid" 2>/dev/null || true
}

# Stop everything started: SIGTERM once to each (the worker is signalled only here, once: two
# SIGTERMs in a row can deadlock Celery's signal handler), then SIGKILL what outlives its window.
stop_all() {
  trap 'force_stop=1; log "second signal: killing what is still running now"' INT TERM HUP
  local i pid limit idle=0 left start=$SECONDS
  [[ -z "$sleeper_pid" ]] || kill "$sleeper_pid" 2>/dev/null || true
  for i in "${!pids[@]}"; do
    log "stopping ${names[$i]} (pid ${pids[$i]}): SIGTERM"
    kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
    log "the worker finishes its current job first: up to ${WORKER_STOP_SECONDS} s" \
      "(GRADELAB_WORKER_STOP_SECONDS), then SIGKILL; Ctrl-C again to kill it now"
  fi
  while :; do
    left=0
    for i in "${!pids[@]}"; do
      pid=${pids[$i]}
      kill -0 "$pid" 2>/dev/null || continue
      limit=$OTHER_STOP_SECONDS
      [[ "$pid" == "$worker_pid" ]] && limit=$WORKER_STOP_SECONDS
      if (( force_stop || SECONDS - start >= limit )); then
        log "${names[$i]} (pid $pid) still running after $((SECONDS - start)) s: SIGKILL"
        kill_hard "$pid"
      else
        left=1
      fi
    done
    # A worker whose pool processes are all gone but which does not exit (a deadlock at exit).
    if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
      if pgrep -P "$worker_pid" >/dev/null; then idle=0; else idle=$((idle + 1)); fi
      if (( idle >= 15 )); then
        log "the worker's pool has stopped but the worker hangs: SIGKILL"
        kill_hard "$worker_pid"
      fi
    fi
    (( left )) || break
    sleep 1
  done
  wait || true
  log "stopped (after $((SECONDS - start)) s)"
}

# launch NAME: run start_NAME (which starts the process and sets LAUNCHED_PID) and record the
# pid, in place of the dead one when NAME was started before.
launch() {
  local name=$1 i
  "start_$name"
  for i in "${!names[@]}"; do
    if [[ "${names[$i]}" == "$name" ]]; then
      pids[$i]=$LAUNCHED_PID started[$i]=$SECONDS
      return 0
    fi
  done
  pids+=("$LAUNCHED_PID") names+=("$name") started+=("$SECONDS") delays+=(0)
}

# restart I STATUS: start process I again after its back-off (signals still stop everything).
restart() {
  local i=$1 status=$2 name=${names[$1]} pid=${pids[$1]}
  local ran=$((SECONDS - ${started[$1]:-0})) delay=${delays[$1]:-0}
  if (( ran >= RESTART_RESET_SECONDS || delay < 1 )); then
    delay=1
  else
    delay=$((delay * 2 > RESTART_MAX_DELAY ? RESTART_MAX_DELAY : delay * 2))
  fi
  delays[$i]=$delay
  if [[ "$pid" == "$worker_pid" ]]; then
    kill -KILL -- "-$pid" 2>/dev/null || true  # leftover pool and sandbox processes
  fi
  log "$name (pid $pid) exited (status $status) after $ran s; restarting it in $delay s" \
    "(the web keeps serving)"
  sleep "$delay" &
  sleeper_pid=$!
  wait "$sleeper_pid"
  sleeper_pid=""
  launch "$name"
  log "restarted $name (pid ${pids[$i]})"
}

# Wait until a process exits or a signal comes. A worker or beat (anything with a start_NAME
# function but the web) is restarted with back-off; when the web (or a process without one)
# exits, stop all and exit with its status. A signal stops all; exit status 0.
supervise() {
  trap 'stop_all; exit 0' INT TERM HUP
  set +e
  local pid status i found
  while :; do
    pid=""
    wait -n -p pid "${pids[@]}"
    status=$?
    found=""
    for i in "${!pids[@]}"; do
      [[ "${pids[$i]}" == "$pid" ]] && found=$i
    done
    [[ -n "$found" ]] || continue
    if [[ "${names[$found]}" != web ]] && declare -F "start_${names[$found]}" >/dev/null; then
      restart "$found" "$status"
      continue
    fi
    log "${names[$found]} exited (status $status); stopping the others"
    stop_all
    exit "$status"
  done
}

# Sourced (by the tests): the functions only.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then return 0; fi

cd "$(dirname "$0")/.."
URL="http://${GRADELAB_BIND:-127.0.0.1}:${GRADELAB_PORT:-8000}/"
log "gradelab stays in the foreground here (Ctrl-C stops it) and will serve $URL"
log "before serving, the first run installs what is missing (scripts/bootstrap.sh): about a" \
  "minute; later runs start in seconds"
log "first instructor account, from another terminal in $PWD:"
log "  .venv/bin/python -m grader create-user prof --role instructor   (asks for a password)"

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
# Prometheus samples of every web, worker and pool process (prometheus-client's multiprocess
# mode), read by the web app's /metrics; emptied at each start (counters begin at 0).
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/instance/prometheus}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

# The names only, not the URLs (they may hold passwords).
db_name='SQLite in instance/' broker_name='embedded (instance/broker.sqlite3)'
[[ -z "${DATABASE_URL:-}" ]] || db_name='$DATABASE_URL'
[[ -z "${REDIS_URL:-}" ]] || broker_name='$REDIS_URL'
log "database: $db_name"
log "broker:   $broker_name"
web_args
"$PY" -m grader db upgrade
"$PY" -m grader sync-assignments

start_web() {
  gunicorn "${WEB_ARGS[@]}" "grader:create_app()" &
  LAUNCHED_PID=$!
}
# The worker gets its own session: only this script signals it, once (two SIGTERMs in a row can
# deadlock Celery's signal handler, and a SIGTERM that also reaches the pool processes can
# deadlock billiard at exit).
start_worker() {
  setsid celery -A worker.make_celery worker --loglevel INFO \
    --concurrency "${GRADELAB_WORKER_CONCURRENCY:-2}" --queues grading_resume,maintenance,grading \
    --hostname "worker@%h" &
  LAUNCHED_PID=$! worker_pid=$!
}
start_beat() {
  celery -A worker.make_celery beat --loglevel INFO \
    --schedule "${GRADELAB_BEAT_SCHEDULE:-instance/celerybeat-schedule}" &
  LAUNCHED_PID=$!
}

trap 'stop_all; exit 0' INT TERM HUP
launch web
launch worker
launch beat
log "web on $URL (pids ${pids[*]}); Ctrl-C stops"
log "no account yet? .venv/bin/python -m grader create-user prof --role instructor"
supervise
