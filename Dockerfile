# Vigil application image: the `vigil` CLI (worker, simulator, replay, topics).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY vigil ./vigil
COPY streams ./streams
COPY producers ./producers
COPY alerting ./alerting
COPY dashboards ./dashboards
RUN pip install . && useradd --system --uid 10001 --home /var/lib/vigil --create-home vigil

USER vigil
ENV VIGIL_STATE_DIR=/var/lib/vigil
EXPOSE 6066
ENTRYPOINT ["vigil"]
CMD ["--help"]
