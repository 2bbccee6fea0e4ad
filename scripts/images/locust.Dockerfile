# A stand-in for locustio/locust:<version> where no registry is reachable (the local test
# cluster, scripts/locust-image.sh): the pinned Python base (or its local stand-in,
# scripts/make-base-image.sh) plus the pinned locust, laid out as the official image and the
# deliveryhero/locust chart 0.35.0 expect it: `locust` as the entrypoint (the chart passes only
# arguments), user `locust` (UID and GID 1000) with its home as the working directory, ports 8089/5557.
# The chart mounts the locustfile and lib ConfigMaps at /mnt/locust and /mnt/locust/lib and its
# config at /config; `kubectl cp` of the master's CSVs needs tar, which the base has.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ARG LOCUST_VERSION
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN test -n "${LOCUST_VERSION}" \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir "locust==${LOCUST_VERSION}"

FROM ${PYTHON_IMAGE}
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 1000 --shell /bin/bash locust
USER 1000:1000
WORKDIR /home/locust
EXPOSE 8089 5557
ENTRYPOINT ["locust"]
