# One image for the seven services and the console; docker-compose.yml picks the service with
# `command: ["python", "-m", "<package>"]`. No `# syntax=` line: BuildKit would fetch that
# frontend from a registry, and the stand-in route (scripts/compose-images.sh) has none.

# The base image: python:3.11-slim, or the stand-in compose-images.sh builds (PYTHON_IMAGE).
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: install the project and its dependencies into a virtualenv -----------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src
# Every dependency ships manylinux wheels (psycopg[binary], uvloop, pymongo...), so the slim
# image needs no compiler.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY fleetctl ./fleetctl
COPY event_service ./event_service
COPY reservation_service ./reservation_service
COPY payment_service ./payment_service
COPY analytics_service ./analytics_service
COPY event_store_service ./event_store_service
COPY saga_orchestrator ./saga_orchestrator
COPY notification_service ./notification_service
COPY console ./console
# A regular (non-editable) install: the packages and their Alembic migrations (package data)
# land in the venv's site-packages, so the final stage needs nothing from /src.
RUN pip install --upgrade pip && pip install .

# --- final: the venv on a clean slim image, run as an unprivileged user ------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app && chown app:app /app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER app

EXPOSE 8080 3000 5000 8081 3001 3002 5001 8090

# Overridden per service by docker-compose.yml.
CMD ["python", "-m", "event_service"]
