#!/usr/bin/env bash
# Idempotent machine + workspace setup: Android tools, RabbitMQ/Redis running, npm deps, build.
# Safe to re-run; each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_pkgs=()
command -v aapt >/dev/null || need_pkgs+=(aapt)
command -v apksigner >/dev/null || need_pkgs+=(apksigner)
command -v zipalign >/dev/null || need_pkgs+=(zipalign)
command -v keytool >/dev/null || need_pkgs+=(default-jdk-headless)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v jq >/dev/null || need_pkgs+=(jq)
[ -f /usr/share/android-framework-res/framework-res.apk ] || need_pkgs+=(android-framework-res)
# The web console's browser tests drive Debian's chromium (no browser download), with CJK fonts so Chinese renders
# in their screenshots, and pngquant to keep the README's screenshots small.
if [ "${SUBPACK_SETUP_BROWSER:-1}" = 1 ]; then
  command -v chromium >/dev/null || need_pkgs+=(chromium)
  [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need_pkgs+=(fonts-noto-cjk)
  command -v pngquant >/dev/null || need_pkgs+=(pngquant)
fi
if [ "${SUBPACK_SETUP_SERVICES:-1}" = 1 ]; then
  command -v rabbitmq-server >/dev/null || need_pkgs+=(rabbitmq-server)
  command -v redis-server >/dev/null || need_pkgs+=(redis-server)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${need_pkgs[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if [ "${SUBPACK_SETUP_SERVICES:-1}" = 1 ]; then
  if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    echo "setup: starting redis-server" >&2
    $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  fi
  if ! $SUDO rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    echo "setup: starting rabbitmq-server" >&2
    $SUDO rabbitmq-server -detached >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
      $SUDO rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break
      sleep 1
    done
    $SUDO rabbitmq-diagnostics -q ping >/dev/null 2>&1 || { echo "setup: RabbitMQ did not start" >&2; exit 1; }
  fi
fi

# moto's S3 server is the S3 the object-storage tests run against.
if ! command -v moto_server >/dev/null; then
  echo "setup: installing moto[server] with pip" >&2
  python3 -m pip install --quiet 'moto[server]>=5,<6' || pip install --quiet 'moto[server]>=5,<6'
fi

# Reinstall npm deps only when the lockfile changed since the last install.
stamp=node_modules/.subpack-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# Every package, then the web console (console/dist, served by the API at /).
npm run build --silent
