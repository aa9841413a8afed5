#!/usr/bin/env bash
# End-to-end tests of the distributed stack: the services run as real processes against the local RabbitMQ and Redis,
# each test file in its own vhost and Redis prefix. Expects the workspace built (npx tsc -b tsconfig.json); builds the
# e2e package itself. Files run one at a time. Tests that stop or kill a broker or Redis node use nodes of their own.
set -euo pipefail
cd "$(dirname "$0")/.."

# setup.sh is idempotent but ends with a full build: call it only when a tool or a server is missing.
needs_setup=0
for tool in aapt apksigner zipalign keytool rabbitmqctl redis-cli; do
  command -v "$tool" >/dev/null || needs_setup=1
done
[ -f /usr/share/android-framework-res/framework-res.apk ] || needs_setup=1
if [ "$needs_setup" = 0 ]; then
  redis-cli -p 6379 ping >/dev/null 2>&1 || needs_setup=1
  rabbitmq-diagnostics -q ping >/dev/null 2>&1 || needs_setup=1
fi
if [ "$needs_setup" = 1 ]; then
  echo "e2e: Android tools, RabbitMQ or Redis missing: running scripts/setup.sh" >&2
  bash scripts/setup.sh
fi

for entry in services/packer services/uploader services/retry-scheduler cli; do
  main="$entry/dist/main.js"
  [ -f "$main" ] || { echo "e2e: $main is missing: build the workspace first (npx tsc -b tsconfig.json)" >&2; exit 1; }
done

npx tsc -b e2e
# tsc never deletes output: a renamed or removed test file would otherwise keep running from its old compiled copy.
for compiled in e2e/dist/*.test.js; do
  name="$(basename "$compiled" .js)"
  [ -f "e2e/src/$name.ts" ] || rm -f "e2e/dist/$name".*
done
node --test --test-concurrency=1 e2e/dist
