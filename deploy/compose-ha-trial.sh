#!/usr/bin/env bash
# Tries the `ha` profile of docker-compose.yml on a Docker host: starts the stack with `--profile ha`, checks that the
# three broker nodes form one cluster with every quorum queue on all of them and that the sentinels see the replica,
# submits a task of TRIAL_CHANNELS channels (default 2000) and waits for it with `subpack submit --wait`, kills the
# broker node the services use and the Redis primary within the same second, and then checks that the task is done
# with every channel stored once, that no queue kept a message, and that the old primary came back as a replica.
# Prints the time from the kills to the next stored channel. The stack and its volumes are removed at the end, also
# when a check fails.
#
#   bash deploy/compose-ha-trial.sh          # needs Docker with compose, and the repository built (npm run build)
#
# COMPOSE_FILE picks another compose file (its ./data is used), TRIAL_PROJECT the compose project name.
set -euo pipefail
cd "$(dirname "$0")/.."
compose_file=$(realpath "${COMPOSE_FILE:-docker-compose.yml}")
project=${TRIAL_PROJECT:-subpack-ha-trial}
channels=${TRIAL_CHANNELS:-2000}
if docker compose version >/dev/null 2>&1; then dc=(docker compose); else dc=(docker-compose); fi
dc+=(-p "$project" -f "$compose_file" --profile ha)

# The services mount ./data beside the compose file and run as uid 1000: the trial works in a folder of its own there.
data_dir=$(dirname "$compose_file")/data
trial_dir=$data_dir/ha-trial
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'compose-ha-trial: %s\n' "$*" >&2; exit 1; }
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then "${dc[@]}" ps >&2 || true; fi
  "${dc[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$trial_dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

container() { "${dc[@]}" ps -q "$1"; }

# Waits until every container of the stack that has a health check is healthy (minio-init has run and exited).
wait_healthy() {
  local deadline=$((SECONDS + ${1:-300})) waiting
  while :; do
    waiting=""
    for id in $("${dc[@]}" ps -q); do
      state=$(docker inspect -f '{{.Name}} {{.State.Status}}/{{.State.ExitCode}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
      case "$state" in
        *" running/0/healthy" | *" exited/0/") ;;
        *) waiting="$waiting ${state%% *}" ;;
      esac
    done
    [ -z "$waiting" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && fail "not healthy in time:$waiting"
    sleep 2
  done
}

stored() { find "$trial_dir/out" -name '*.apk' 2>/dev/null | wc -l; }

mkdir -p "$data_dir"
if [ "$(stat -c %u "$data_dir")" != 1000 ] && [ "$(stat -c %a "$data_dir" | cut -c3)" != 7 ]; then
  fail "$data_dir must be writable for uid 1000, which the services run as: sudo chown 1000 $data_dir (README: docker compose)"
fi

step "starting the stack with --profile ha"
"${dc[@]}" up -d --build
wait_healthy 600

step "the broker is one cluster of three nodes, and every quorum queue has a member on each"
running=$("${dc[@]}" exec -T rabbitmq rabbitmqctl -q eval 'length(rabbit_nodes:list_running()).' | tr -d '\r')
[ "$running" = 3 ] || fail "the cluster runs $running nodes, not 3"
deadline=$((SECONDS + 120))
until short=$("${dc[@]}" exec -T rabbitmq rabbitmqctl -q list_queues name type members | awk -F'\t' '$2 == "quorum" && split($3, m, ",") < 3 { print $1 }' | tr '\n' ' ') && [ -z "$short" ]; do
  [ "$SECONDS" -ge "$deadline" ] && fail "quorum queues with fewer than 3 members: $short"
  sleep 3
done
echo "3 nodes running; every quorum queue on all three"
replicas=$("${dc[@]}" exec -T redis-sentinel redis-cli -p 26379 sentinel replicas subpack | grep -c '^redis-replica' || true)
[ "$replicas" -ge 1 ] || fail "the sentinels see no replica of subpack"
echo "the sentinels see the primary redis and its replica"

step "a task of $channels channels"
mkdir -p "$trial_dir/out"
chmod 0777 "$trial_dir" "$trial_dir/out"
master=${TRIAL_MASTER:-$(node -e "require('@subpack/testing').standardApk('v2Only').then((p) => console.log(p))")}
cp "$master" "$trial_dir/master.apk"
node -e "
const [count, file] = process.argv.slice(1);
const channels = Array.from({ length: Number(count) }, (_, i) => ({ id: 'ch' + String(i).padStart(5, '0') }));
require('node:fs').writeFileSync(file, JSON.stringify({ taskId: 'ha-trial-' + Date.now(), master: 'file:///data/ha-trial/master.apk', channels, target: 'file:///data/ha-trial/out/' }));
" "$channels" "$trial_dir/task.json"
chmod 0644 "$trial_dir/master.apk" "$trial_dir/task.json"
"${dc[@]}" exec -T serve node cli/bin/subpack.js submit /data/ha-trial/task.json --wait --timeout 900 > "$trial_dir/wait.log" 2>&1 &
waiter=$!

quarter=$((channels / 4))
deadline=$((SECONDS + 300))
until [ "$(stored)" -ge "$quarter" ]; do
  [ "$SECONDS" -ge "$deadline" ] && fail "fewer than $quarter channels stored after 5 minutes"
  sleep 0.2
done

step "killing the broker node rabbitmq and the Redis primary redis (SIGKILL)"
at_kill=$(stored)
killed_ms=$(date +%s%3N)
docker kill -s KILL "$(container rabbitmq)" >/dev/null
docker kill -s KILL "$(container redis)" >/dev/null
echo "killed with $at_kill of $channels stored"
# The next channel stored after both kills (a batch under way may still finish its file: wait for 2 more).
until [ "$(stored)" -ge $((at_kill + 2)) ] || [ "$(stored)" -ge "$channels" ]; do sleep 0.1; done
echo "kills -> next stored channel: $(( $(date +%s%3N) - killed_ms )) ms"

wait "$waiter" || { cat "$trial_dir/wait.log" >&2; fail "subpack submit --wait did not end with the task done"; }
cat "$trial_dir/wait.log"
grep -q ": done, $channels stored, 0 failed" "$trial_dir/wait.log" || fail "the task did not end done with $channels stored"
files=$(stored)
[ "$files" -eq "$channels" ] || fail "$files channel APKs in the target, not $channels"
echo "$files channel APKs, one per channel"
if command -v apksigner >/dev/null; then
  for apk in $(find "$trial_dir/out" -name '*.apk' | sort | awk -v n="$channels" 'NR % int(n / 20 + 1) == 1'); do
    apksigner verify "$apk" || fail "apksigner rejects $apk"
  done
  echo "apksigner verifies a sample of 20"
fi

step "the killed nodes come back: rabbitmq rejoins, redis becomes a replica of the promoted primary"
"${dc[@]}" start rabbitmq redis >/dev/null
wait_healthy 300
deadline=$((SECONDS + 120))
until [ "$("${dc[@]}" exec -T redis redis-cli role | head -n 1 | tr -d '\r')" = slave ]; do
  [ "$SECONDS" -ge "$deadline" ] && fail "redis did not come back as a replica"
  sleep 2
done
echo "redis is a replica of $("${dc[@]}" exec -T redis-sentinel redis-cli -p 26379 sentinel get-master-addr-by-name subpack | head -n 1 | tr -d '\r')"
# Copies sent again after the reconnects must drain from the work queues; subpack.events is the tap outside consumers
# read (nothing reads it here), so it keeps every event: the announcements are counted there.
deadline=$((SECONDS + 120))
until left=$("${dc[@]}" exec -T rabbitmq-2 rabbitmqctl -q list_queues --no-table-headers name messages | awk -F'\t' '$1 != "subpack.events" && $2 != "0" { print $1 "=" $2 }' | tr -d '\r' | tr '\n' ' ') && [ -z "$left" ]; do
  [ "$SECONDS" -ge "$deadline" ] && fail "messages left in work queues: $left"
  sleep 2
done
echo "no message left in any work queue"
task_id=$(node -e "console.log(JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8')).taskId)" "$trial_dir/task.json")
"${dc[@]}" exec -T serve node -e "
const [taskId, count] = process.argv.slice(1);
fetch('http://rabbitmq-2:15672/api/queues/%2F/subpack.events/get', {
  method: 'POST',
  headers: { authorization: 'Basic ' + btoa('subpack:subpack'), 'content-type': 'application/json' },
  body: JSON.stringify({ count: Number(count) * 2 + 100, ackmode: 'ack_requeue_true', encoding: 'auto' }),
}).then((r) => r.json()).then((messages) => {
  const ours = messages.filter((m) => JSON.parse(m.payload).taskId === taskId);
  const completed = ours.filter((m) => m.routing_key === 'event.task.completed').length;
  const stored = new Set(ours.filter((m) => m.routing_key === 'event.channel.stored').map((m) => m.properties.message_id)).size;
  console.log(completed + ' task.completed, ' + stored + ' channel.stored message ids');
  process.exit(completed === 1 && stored === Number(count) ? 0 : 1);
});
" "$task_id" "$channels" || fail "the task must be announced once, and each channel once"
echo
echo "compose-ha-trial: passed"
