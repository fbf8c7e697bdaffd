# syntax=docker/dockerfile:1
# civicpulse image: `docker compose up` runs the one-shot `migrate` service
# (`civicpulse db upgrade`) before `app`; this image never migrates in CMD.

########## builder: wheels for the project and all its dependencies ##########
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Whole build context (trimmed by .dockerignore): pyproject.toml, README,
# civicpulse_cli.py and the packages with their package data.
COPY . .

# One wheel per distribution (civicpulse itself + every dependency) in /wheels.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

########## runtime: installs from the built wheels only ##########
FROM python:3.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CIVICPULSE_ENVIRONMENT=production

# Fixed uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 civicpulse \
 && useradd --system --no-log-init --uid 10001 --gid civicpulse \
        --home-dir /app --no-create-home --shell /usr/sbin/nologin civicpulse

# No index: everything comes from the builder's wheels, which are bind-mounted
# (BuildKit) so they never land in an image layer.
# `pip wheel` put exactly civicpulse and its resolved dependencies in /wheels,
# so installing every wheel there is the pinned set.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl

WORKDIR /app
# The default SQLite URL and the dev secret live under ./var (relative to /app).
RUN install -d -o civicpulse -g civicpulse -m 0750 /app/var

# Numeric so Kubernetes' runAsNonRoot can verify it (uid 10001 = civicpulse).
USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["civicpulse", "serve", "--host", "0.0.0.0", "--port", "8000"]
