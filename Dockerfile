# Vigil application image: the `vigil` CLI (worker, simulate, replay, topics). Used by docker-compose.yml.
#   docker build -t vigil:0.1.0 .
#   docker build -t vigil:0.1.0-rocksdb --build-arg VIGIL_EXTRAS=rocksdb .   # for VIGIL_STORE=rocksdb://
FROM python:3.11-slim

ARG VIGIL_EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The city's time zone (Asia/Shanghai) comes from the system tz database (zoneinfo).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/vigil --create-home \
       --shell /usr/sbin/nologin vigil \
    && install -d -o vigil -g vigil -m 0755 /pki  # the secure option's certificates and passwords volume

# Only what `pip install .` needs (.dockerignore keeps everything else out of the context).
COPY pyproject.toml README.md /src/
COPY vigil /src/vigil
COPY streams /src/streams
COPY producers /src/producers
COPY alerting /src/alerting
COPY dashboards /src/dashboards
COPY benchmarks /src/benchmarks
RUN pip install "/src${VIGIL_EXTRAS:+[$VIGIL_EXTRAS]}" && rm -rf /src

USER vigil
WORKDIR /var/lib/vigil
# In a container the worker must listen beyond loopback for Prometheus to scrape it.
ENV VIGIL_STATE_DIR=/var/lib/vigil \
    VIGIL_WORKER_HOST=0.0.0.0
EXPOSE 6066
ENTRYPOINT ["vigil"]
CMD ["--help"]
