#!/usr/bin/env bash
# The full suite: setup, typecheck/build, lint, unit + integration tests, broker end-to-end tests,
# and static checks of the deployment files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== lint" >&2
npx eslint .
echo "== package graph and layering" >&2
node --test tools/
echo "== unit and integration tests" >&2
NX_DAEMON=false npx nx run-many -t test --parallel=1 --outputStyle=stream
if [ -f scripts/e2e.sh ]; then
  echo "== end-to-end" >&2
  bash scripts/e2e.sh
fi
