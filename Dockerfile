# Answerdesk: CPU torch, the int8 ONNX model exported at build time, run as a non-root user.
# Build with deploy/build-image.sh (BuildKit): it makes the wheels on the host (deploy/wheelhouse/,
# deploy/app-wheel/) and this file installs only from them, so the build itself needs no package index.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN python3 -m venv /opt/answerdesk/venv
# Dependencies first (keyed by pyproject.toml on the host), so a code change reuses this layer. The
# wheels are mounted, not copied: they never become a layer of their own.
RUN --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    /opt/answerdesk/venv/bin/pip install --no-index --find-links /wheelhouse -r /wheelhouse/requirements.txt
RUN --mount=type=bind,source=deploy/app-wheel,target=/app-wheel \
    /opt/answerdesk/venv/bin/pip install --no-index --no-deps /app-wheel/answerdesk-*.whl \
 && /opt/answerdesk/venv/bin/pip check
# The export takes tens of seconds; done here, a new container is ready in seconds.
RUN ANSWERDESK_MODEL_CACHE_DIR=/opt/answerdesk/models /opt/answerdesk/venv/bin/answerdesk model export \
 && rm -f /opt/answerdesk/models/*.lock

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title=answerdesk
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/answerdesk --create-home answerdesk
# One COPY of venv and model together: each layer of this size costs a minute to commit.
COPY --from=build /opt/answerdesk /opt/answerdesk
ENV PATH=/opt/answerdesk/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANSWERDESK_ENV=production \
    ANSWERDESK_DATA_DIR=/var/lib/answerdesk \
    ANSWERDESK_MODEL_CACHE_DIR=/opt/answerdesk/models \
    ANSWERDESK_HOST=0.0.0.0 \
    ANSWERDESK_PORT=8000 \
    ANSWERDESK_LOG_JSON=true
USER answerdesk
WORKDIR /var/lib/answerdesk
EXPOSE 8000
# Ready means the database answers and is migrated (see health.py); the port follows ANSWERDESK_PORT.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('ANSWERDESK_PORT', '8000'), timeout=4)"]
CMD ["answerdesk", "serve"]
