#!/usr/bin/env bash
# The main job on an embedded default, no broker needed: build a signed demo master APK with a Chinese label, write
# the channels in examples/channels.txt, verify every output with apksigner, and show one back through inspect.
set -euo pipefail
cd "$(dirname "$0")/.."
SUBPACK_SETUP_SERVICES=0 bash scripts/setup.sh
master=$(node -e "require('@subpack/testing').standardApk('chinese').then((p) => console.log(p))")
out=${SUBPACK_DEMO_OUT:-demo-out}
rm -rf "$out"
npx --no-install subpack inspect "$master"
echo
npx --no-install subpack pack "$master" --out "$out" --channels examples/channels.txt --extra source=demo
for apk in "$out"/*.apk; do
  apksigner verify "$apk" >/dev/null && echo "apksigner verify OK: $apk"
done
echo
first=$(ls "$out"/*.apk | head -n 1)
npx --no-install subpack inspect "$first"
