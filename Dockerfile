# Celsiusify API image: one uvicorn process, non-root, read-only-root-filesystem ready.
# Air-gapped machines: `scripts/images/base.sh` makes a local stand-in for the base.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- builder: a virtual environment with the runtime pins only ---------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- runtime -------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" celsiusify \
    && useradd --system --uid "${APP_UID}" --gid celsiusify --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin celsiusify
COPY --from=builder /opt/venv /opt/venv
WORKDIR /srv
COPY app/ /srv/app/
# Byte-compile now: with a read-only root filesystem nothing can be written later.
RUN /opt/venv/bin/python -m compileall -q /srv/app
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER ${APP_UID}:${APP_GID}
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
# SIGTERM: /readyz answers 503 for --shutdown-delay, then in-flight requests get
# --timeout-graceful-shutdown, then exit 0 (well inside docker stop's 10 s).
CMD ["python", "-m", "app", "--host", "0.0.0.0", "--port", "8080", \
     "--proxy-headers", "--forwarded-allow-ips", "*", \
     "--shutdown-delay", "2", "--timeout-graceful-shutdown", "5"]
