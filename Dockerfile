# One image for every gradelab service (web, worker, beat, one-off grading commands).
#   docker compose build            # see docs/deploy.md
# Debian bookworm's own python3.11 is both the app's interpreter (in /app/.venv) and the base of
# the sandbox's world-readable runtime (/opt/gradelab/sandbox-runtime, numpy only).
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/app/.venv/bin:$PATH

RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      python3.11 python3.11-venv python3-pip bubblewrap util-linux ca-certificates curl \
      postgresql-client redis-tools \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, so that a source change does not reinstall them.
COPY pyproject.toml ./
RUN python3.11 -m venv /app/.venv \
 && mkdir -p grader worker && touch grader/__init__.py worker/__init__.py \
 && /app/.venv/bin/pip install -q . \
 && /app/.venv/bin/pip uninstall -q -y gradelab

COPY . .
RUN /app/.venv/bin/pip install -q --no-deps -e . \
 && { GRADELAB_SKIP_APT=1 scripts/setup-sandbox-runtime.sh \
      || test -x /opt/gradelab/sandbox-runtime/bin/python; } \
 && useradd --system --home /app --shell /usr/sbin/nologin gradelab \
 && mkdir -p /app/instance && chown gradelab /app/instance

ENV GRADELAB_ENVIRONMENT=production
USER gradelab
EXPOSE 8000
# web by default; docker-compose.yml overrides the command for worker and beat.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--no-control-socket", "--access-logfile", "-", \
     "grader:create_app()"]
