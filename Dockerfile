# syntax=docker/dockerfile:1
# Article QA: the HTTP service with its index built into the image. Every setting is a QA_* environment variable.
#   docker build -t article-qa .
#   docker run --rm -p 8000:8000 -e QA_API_KEYS=secret article-qa

FROM python:3.11-slim AS build
# DL3064 takes TOKENIZERS_PARALLELISM for a secret; no ENV here holds one (keys come at `docker run -e`).
# hadolint ignore=DL3064
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    PATH=/opt/venv/bin:$PATH
# The CPU build of torch first (as in the Makefile): a plain `torch` requirement would pull a multi-GB CUDA build.
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /app
# The Python client (qa.client re-exports it) is its own distribution: install it before the server.
COPY clients/python ./clients/python
RUN pip install --no-cache-dir ./clients/python && rm -rf clients/python/build clients/python/*.egg-info
COPY pyproject.toml README.md ./
COPY qa ./qa
RUN pip install --no-cache-dir . && rm -rf build ./*.egg-info
COPY seeds ./seeds
# The index is built now, so that a container is ready seconds after it starts. It lives in /app/data, which the
# qa user owns: /admin/reindex writes the new index beside the old one and swaps it in by rename.
RUN qa index build --seeds-dir /app/seeds --index-dir /app/data/index --library-dir /app/data/library

FROM python:3.11-slim AS runtime
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    PATH=/opt/venv/bin:$PATH \
    QA_SEEDS_DIR=/app/seeds \
    QA_INDEX_DIR=/app/data/index \
    QA_LIBRARY_DIR=/app/data/library \
    QA_LOG_FORMAT=json \
    QA_RATE_LIMIT_RPS=10 \
    QA_RATE_LIMIT_BURST=40
# libgomp1: LightGBM's OpenMP runtime, for the learned evidence step (QA_EVIDENCE=learned).
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin qa \
    && install -d -o qa -g qa /app/data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=qa:qa /app/seeds /app/seeds
COPY --from=build --chown=qa:qa /app/data/index /app/data/index
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4)"]
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
