#!/usr/bin/env bash
# Installs everything Vigil needs on a fresh Debian machine; safe to run any number of times.
#   - Debian packages: prometheus (+promtool), prometheus-alertmanager (+amtool), docker-compose (config check only),
#     chromium (headless, opens the drill report in a test)
#   - a Python 3.11 virtualenv in .venv with vigil and its dev extras
#   - the Kafka broker jars from Maven Central (into ~/.cache/vigil, outside the repo)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need_apt=()
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)  # the drill report's browser test
if ((${#need_apt[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
stamp=.venv/.installed-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  log "creating .venv and installing vigil[dev,dashboards,rocksdb]"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev,dashboards,rocksdb]'
  rm -f .venv/.installed-* && touch "$stamp"
fi

log "Kafka broker jars"
.venv/bin/vigil kafka fetch
log "ready"
