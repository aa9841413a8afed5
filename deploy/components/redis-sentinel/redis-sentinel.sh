#!/bin/sh
# Starts the Redis or the sentinel of one pod of the subpack-redis StatefulSet:
#   redis-sentinel.sh redis [redis-server arguments]    or    redis-sentinel.sh sentinel
# Both start from the primary the sentinels currently name, so a pod that comes back after a failover replicates the
# promoted one instead of starting as a second primary. Only when no sentinel answers (the very first start) is
# subpack-redis-0 the primary. Pods are reached by their stable names <pod>.subpack-redis, which Redis and the
# sentinels announce instead of pod addresses, so a restarted pod is still found.
set -eu

role="$1"
shift
service=subpack-redis
pods=3
self="$(hostname).$service"

current_primary() {
  i=0
  while [ "$i" -lt "$pods" ]; do
    answer="$(redis-cli -h "$service-$i.$service" -p 26379 --no-auth-warning -a "$REDIS_SENTINEL_PASSWORD" \
      sentinel get-master-addr-by-name "$REDIS_SENTINEL_MASTER" 2>/dev/null | head -n 1 || true)"
    # Only one of the pods' names is an answer (an error such as NOAUTH is printed in its place).
    case "$answer" in
      "$service"-[0-9]*."$service")
        echo "$answer"
        return
        ;;
    esac
    i=$((i + 1))
  done
  echo "$service-0.$service"
}

primary="$(current_primary)"

case "$role" in
  redis)
    if [ "$primary" != "$self" ]; then
      set -- "$@" --replicaof "$primary" 6379
    fi
    exec redis-server "$@" --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" --replica-announce-ip "$self"
    ;;
  sentinel)
    # Sentinel rewrites its file as the topology changes: it lives on the pod's own volume, written anew at each start.
    cat > /sentinel/sentinel.conf <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $self
requirepass $REDIS_SENTINEL_PASSWORD
sentinel sentinel-pass $REDIS_SENTINEL_PASSWORD
sentinel monitor $REDIS_SENTINEL_MASTER $primary 6379 2
sentinel auth-pass $REDIS_SENTINEL_MASTER $REDIS_PASSWORD
sentinel down-after-milliseconds $REDIS_SENTINEL_MASTER 5000
sentinel failover-timeout $REDIS_SENTINEL_MASTER 60000
sentinel parallel-syncs $REDIS_SENTINEL_MASTER 1
CONF
    exec redis-sentinel /sentinel/sentinel.conf
    ;;
  *)
    echo "redis-sentinel.sh: unknown role \"$role\" (redis or sentinel)" >&2
    exit 64
    ;;
esac
