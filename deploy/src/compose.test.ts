// docker-compose.yml, as `docker compose up` and as `docker compose --profile ha up` run it, against the Compose
// specification's schema and against the code it runs: every service runs, with a real entry point, every variable it
// sets is one the service reads, every required one is set, its own start-up check accepts what it gets, and the start
// order waits on health checks that exist. Every service gets every broker node and every sentinel; the profile adds
// the nodes, which form one cluster and one monitored primary.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  composeEnv,
  composeSubpackServices,
  composeWithProfiles,
  loadCompose,
  loadYamlDocuments,
  ROOT,
  serviceCommand,
  serviceNames,
  type ComposeFile,
  type ComposeService,
} from './repo';
import { validateCompose } from './schemas';
import { configProblems, longestDeliveryMs, readsVariable, serviceVariables } from './service-config';

const file = loadCompose();
/** What `docker compose up` runs. */
const compose = composeWithProfiles(file, []);
/** What `docker compose --profile ha up` runs. */
const composeHa = composeWithProfiles(file, ['ha']);
const MODELS: [string, ComposeFile][] = [
  ['docker compose up', compose],
  ['docker compose --profile ha up', composeHa],
];

/** Which service an entry-point command runs, or undefined when it runs none that exists. */
function serviceOf(command: ComposeService['command']): string | undefined {
  return serviceNames().find((name) => JSON.stringify(command) === JSON.stringify(serviceCommand(name)));
}

test('docker-compose.yml is valid against the Compose specification schema', () => {
  assert.deepEqual(validateCompose(file), []);
});

test('the schema check rejects a misspelt key and a wrong depends_on condition', () => {
  const broken = loadYamlDocuments('broken', readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'))[0] as ComposeFile;
  (broken.services.redis as Record<string, unknown>).helthcheck = {};
  (broken.services.packer!.depends_on as Record<string, { condition: string }>).redis = { condition: 'healthy' };
  const errors = validateCompose(broken);
  assert.ok(errors.some((e) => e.includes('/services/redis') && e.includes('helthcheck')), errors.join('\n'));
  assert.ok(errors.some((e) => e.includes('/services/packer/depends_on/redis/condition')), errors.join('\n'));
});

/** The RabbitMQ services (the single broker, or each node of the cluster). */
function brokerNodes(model: ComposeFile): [string, ComposeService][] {
  return Object.entries(model.services).filter(([, s]) => /^rabbitmq:/.test(String(s.image)));
}

/** A node's consumer_timeout (ms), as its Erlang arguments set it, or RabbitMQ's default. */
function consumerTimeoutMs(broker: ComposeService): number {
  const erlArgs = composeEnv(broker).RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS ?? '';
  return Number(/-rabbit consumer_timeout (\d+)/.exec(erlArgs)?.[1] ?? 1_800_000);
}

/**
 * The hosts a variable points at: each URL of a comma-separated list (storage URLs name paths and buckets, not
 * hosts), or each entry of a host:port list (REDIS_SENTINELS).
 */
function hostsIn(key: string, value: string): string[] {
  if (key === 'REDIS_SENTINELS') return value.split(',').map((entry) => entry.trim().replace(/:\d+$/, ''));
  return value
    .split(',')
    .filter((item) => /^[a-z][a-z0-9+.-]*:\/\//i.test(item) && !/^(file|s3|oss):/i.test(item))
    .map((item) => new URL(item).hostname);
}

/** A compose duration such as 45s, 1m30s or 500ms, in milliseconds. */
function composeDurationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}

for (const [label, compose] of MODELS) {
  describe(label, () => {
    it('every service runs from the image with its real entry point', () => {
      const ours = composeSubpackServices(compose);
      for (const [name, service] of ours) {
        assert.ok(serviceOf(service.command), `compose ${name}: ${JSON.stringify(service.command)} is not a service entry point`);
        const main = join(ROOT, String((service.command as string[])[1]).replace('/dist/', '/src/').replace(/\.js$/, '.ts'));
        assert.ok(existsSync(main), `compose ${name}: no ${main}`);
      }
      const deployed = new Set(ours.map(([, s]) => serviceOf(s.command)));
      const missing = serviceNames().filter((name) => !deployed.has(name));
      assert.deepEqual(missing, [], 'services with no compose entry');
    });

    it('each service gets only variables it reads, and every variable it requires', () => {
      const problems: string[] = [];
      for (const [name, service] of composeSubpackServices(compose)) {
        const variables = serviceVariables(serviceOf(service.command)!);
        const env = composeEnv(service);
        for (const key of Object.keys(env)) {
          if (!readsVariable(variables, key)) problems.push(`compose ${name}: ${key} is not read by ${serviceOf(service.command)}`);
        }
        for (const v of variables.filter((x) => x.required)) {
          if (!env[v.env]) problems.push(`compose ${name}: ${v.env} is required (${v.describe}) but not set`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it("each service's stop grace period outlasts its longest delivery, and the broker's consumer_timeout too", () => {
      const problems: string[] = [];
      const brokers = brokerNodes(compose);
      assert.ok(brokers.length > 0, 'a RabbitMQ service');
      for (const [name, service] of composeSubpackServices(compose)) {
        const deliveryMs = longestDeliveryMs(serviceOf(service.command)!, composeEnv(service));
        const grace = composeDurationMs(service.stop_grace_period ?? '10s');
        if (grace <= deliveryMs + 5000) problems.push(`compose ${name}: stop_grace_period ${service.stop_grace_period ?? '10s (default)'} must outlast ${deliveryMs} ms (+5 s)`);
        for (const [node, broker] of brokers) {
          const consumerTimeout = consumerTimeoutMs(broker);
          if (consumerTimeout <= deliveryMs) problems.push(`compose ${name}: RabbitMQ ${node} consumer_timeout ${consumerTimeout} must exceed ${deliveryMs} ms`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it('hosts in URLs are compose services, some of each list runs, and depends_on waits on health checks that exist', () => {
      const problems: string[] = [];
      const names = Object.keys(compose.services);
      for (const [name, service] of Object.entries(compose.services)) {
        for (const [key, value] of Object.entries(composeEnv(service))) {
          const hosts = hostsIn(key, value);
          for (const host of hosts.filter((h) => !file.services[h])) problems.push(`compose ${name}: ${key} points at ${host}, which is no compose service`);
          // A list may name nodes of another profile (they are skipped while absent), but never only those.
          if (hosts.length > 0 && !hosts.some((host) => names.includes(host))) problems.push(`compose ${name}: ${key} names no service that runs here (${hosts.join(', ')})`);
        }
        const dependsOn = service.depends_on ?? {};
        const conditions = Array.isArray(dependsOn) ? Object.fromEntries(dependsOn.map((d) => [d, { condition: 'service_started' }])) : dependsOn;
        for (const [target, { condition }] of Object.entries(conditions)) {
          const dep = compose.services[target];
          // Compose refuses to start a service whose dependency is in a profile that is not enabled.
          if (!dep) problems.push(`compose ${name}: depends on ${target}, which does not run here`);
          else if (condition === 'service_healthy' && !dep.healthcheck?.test) problems.push(`compose ${name}: waits for ${target} to be healthy, but it has no healthcheck`);
          else if (condition === 'service_completed_successfully' && dep.restart && dep.restart !== 'no') {
            problems.push(`compose ${name}: waits for ${target} to complete, but it restarts`);
          }
        }
      }
      for (const [name, service] of composeSubpackServices(compose)) {
        const deps = service.depends_on as Record<string, { condition: string }> | undefined;
        for (const infra of ['rabbitmq', 'redis', 'redis-sentinel']) {
          if (deps?.[infra]?.condition !== 'service_healthy') problems.push(`compose ${name}: must wait for ${infra} to be healthy`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it("each service's own start-up check accepts the configuration it gets", () => {
      const problems = composeSubpackServices(compose).flatMap(([name, service]) =>
        configProblems(serviceOf(service.command)!, composeEnv(service)).map((p) => `compose ${name}: ${p}`),
      );
      assert.deepEqual(problems, []);
    });
  });
}

test('the stack has the broker with its management UI, Redis with AOF, and object storage with its bucket', () => {
  const { rabbitmq, redis, minio } = compose.services;
  assert.match(String(rabbitmq?.image), /^rabbitmq:[\w.-]*management/);
  const redisCommand = (redis?.command as string[] | undefined) ?? [];
  assert.equal(redisCommand[redisCommand.indexOf('--appendonly') + 1], 'yes', 'redis-server --appendonly yes');
  assert.ok(minio, 'a MinIO service');
  const init = Object.entries(compose.services).find(([, s]) => JSON.stringify(s.command ?? '').includes('mc mb'));
  assert.ok(init, 'a service that creates the bucket');
  assert.equal((init[1].depends_on as Record<string, { condition: string }>).minio?.condition, 'service_healthy');
});

describe('the ha profile', () => {
  const nodes = brokerNodes(composeHa);
  const redisServers = Object.entries(composeHa.services).filter(([, s]) => /^redis:/.test(String(s.image)) && (s.command as string[])[0] === 'redis-server');
  /** `sentinel monitor <name> <host> <port> <quorum>` of each sentinel service, from the configuration it starts with. */
  const sentinelsOf = (model: ComposeFile) =>
    Object.entries(model.services).flatMap(([name, s]) => {
      const text = [s.command ?? ''].flat().join('\n');
      const m = /^\s*sentinel monitor (\S+) (\S+) (\d+) (\d+)\s*$/m.exec(text);
      return m ? [{ name, master: m[1]!, host: m[2]!, port: Number(m[3]), quorum: Number(m[4]), port26379: /^\s*port 26379\s*$/m.test(text) }] : [];
    });
  const sentinels = sentinelsOf(composeHa);

  it('only adds engine nodes: without it one broker, one Redis and one sentinel run, and every subpack service runs in both', () => {
    assert.equal(brokerNodes(compose).length, 1);
    assert.deepEqual(Object.keys(compose.services).filter((n) => /^redis/.test(n)).sort(), ['redis', 'redis-sentinel']);
    const added = Object.keys(composeHa.services).filter((n) => !compose.services[n]);
    for (const name of added) assert.match(String(composeHa.services[name]!.image), /^(rabbitmq|redis):/, `${name}: the profile adds only engine nodes`);
    assert.deepEqual(composeSubpackServices(composeHa).map(([n]) => n), composeSubpackServices(compose).map(([n]) => n));
  });

  it('runs a three-node RabbitMQ cluster: one Erlang cookie, every node joining the first, the users of definitions.json', () => {
    assert.equal(nodes.length, 3, nodes.map(([n]) => n).join(', '));
    const first = compose.services.rabbitmq!;
    const cookies = new Set(nodes.map(([, s]) => composeEnv(s).RABBITMQ_ERLANG_COOKIE));
    assert.equal(cookies.size, 1, 'one shared Erlang cookie');
    assert.ok([...cookies][0], 'a cookie is set');
    const mounts = (s: ComposeService): string[] => (s.volumes as string[]).map(String);
    const discovered = new Set<string>();
    for (const [name, node] of nodes) {
      assert.equal(node.image, first.image, `${name}: the image of the first node`);
      assert.equal(node.hostname, name, `${name}: the node name rabbit@<hostname> resolves to this service`);
      for (const mount of mounts(first).filter((m) => m.includes('/etc/rabbitmq/'))) assert.ok(mounts(node).includes(mount), `${name}: mounts ${mount}`);
      for (const key of ['RABBITMQ_DEFAULT_USER', 'RABBITMQ_DEFAULT_PASS', 'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS']) assert.equal(composeEnv(node)[key], composeEnv(first)[key], `${name}: ${key}`);
      const conf = mounts(node).find((m) => m.endsWith(':ro') && m.includes('/etc/rabbitmq/conf.d/') && readFileSync(join(ROOT, m.split(':')[0]!), 'utf8').includes('classic_config'));
      assert.ok(conf, `${name}: classic-config peer discovery`);
      const text = readFileSync(join(ROOT, conf.split(':')[0]!), 'utf8');
      assert.match(text, /^cluster_formation\.peer_discovery_backend\s*=\s*classic_config$/m);
      // The services start without waiting for the nodes the profile adds: the broker gives the queues they declared
      // on the first node members on the others once those join.
      assert.match(text, /^quorum_queue\.continuous_membership_reconciliation\.enabled\s*=\s*true$/m);
      assert.match(text, /^quorum_queue\.continuous_membership_reconciliation\.target_group_size\s*=\s*3$/m);
      for (const m of text.matchAll(/^cluster_formation\.classic_config\.nodes\.\d+\s*=\s*rabbit@(\S+)$/gm)) discovered.add(m[1]!);
    }
    // Every node joins the one that runs without the profile, and the others start only once it is up to be joined:
    // a node never looks for nodes the one-host stack lacks, and never starts a cluster of its own beside it.
    assert.deepEqual([...discovered], [String(first.hostname)], 'the peer list names the first node only');
    for (const [name, node] of nodes.filter(([n]) => n !== 'rabbitmq')) {
      assert.equal((node.depends_on as Record<string, { condition: string }> | undefined)?.rabbitmq?.condition, 'service_healthy', `${name}: starts once rabbitmq is healthy`);
    }
    const data = nodes.map(([, s]) => mounts(s).find((m) => m.endsWith(':/var/lib/rabbitmq')));
    assert.equal(new Set(data).size, 3, `each node has a data volume of its own: ${data.join(', ')}`);
  });

  it('runs Redis as a primary with AOF, a replica of it and three sentinels that monitor it under one name', () => {
    const primaries = redisServers.filter(([, s]) => !(s.command as string[]).includes('--replicaof'));
    const replicas = redisServers.filter(([, s]) => (s.command as string[]).includes('--replicaof'));
    assert.deepEqual(primaries.map(([n]) => n), ['redis']);
    assert.ok(replicas.length >= 1, 'a replica');
    for (const [name, s] of redisServers) {
      const command = s.command as string[];
      assert.equal(command[command.indexOf('--appendonly') + 1], 'yes', `${name}: --appendonly yes`);
      assert.equal(command[command.indexOf('--replica-announce-ip') + 1], name, `${name}: announces its service name`);
    }
    for (const [name, s] of replicas) {
      const command = s.command as string[];
      assert.deepEqual(command.slice(command.indexOf('--replicaof') + 1, command.indexOf('--replicaof') + 3), ['redis', '6379'], name);
    }
    assert.equal(sentinels.length, 3, sentinels.map((s) => s.name).join(', '));
    assert.deepEqual(sentinelsOf(compose).map((s) => s.name), ['redis-sentinel'], 'one sentinel without the profile');
    assert.equal(new Set(sentinels.map((s) => s.master)).size, 1, 'one master name');
    for (const s of sentinels) {
      assert.deepEqual([s.host, s.port, s.port26379], ['redis', 6379, true], s.name);
      assert.ok(s.quorum > sentinels.length / 2 && s.quorum <= sentinels.length, `${s.name}: quorum ${s.quorum} is a majority of ${sentinels.length}`);
      assert.ok(composeHa.services[s.name]!.healthcheck?.test, `${s.name}: a health check`);
    }
  });

  it('every service lists all three broker nodes with its own user, the sentinels and their master name, and no REDIS_URL', () => {
    const problems: string[] = [];
    const nodeHosts = nodes.map(([, s]) => String(s.hostname)).sort();
    const users = new Map<string, string>();
    for (const [name, service] of composeSubpackServices(composeHa)) {
      const env = composeEnv(service);
      const urls = (env.AMQP_URL ?? '').split(',').map((u) => new URL(u));
      if (JSON.stringify(urls.map((u) => u.hostname).sort()) !== JSON.stringify(nodeHosts)) problems.push(`${name}: AMQP_URL names ${urls.map((u) => u.host).join(', ')}, not every node`);
      if (new Set(urls.map((u) => `${u.username}:${u.password}:${u.port}`)).size !== 1 || urls[0]!.port !== '5672') problems.push(`${name}: every AMQP_URL entry must carry the same user and port 5672`);
      users.set(name, urls[0]!.username);
      if ('REDIS_URL' in env) problems.push(`${name}: REDIS_URL is set beside REDIS_SENTINELS`);
      const listed = (env.REDIS_SENTINELS ?? '').split(',').sort();
      if (JSON.stringify(listed) !== JSON.stringify(sentinels.map((s) => `${s.name}:26379`).sort())) problems.push(`${name}: REDIS_SENTINELS ${env.REDIS_SENTINELS} are not the three sentinels`);
      if (env.REDIS_SENTINEL_MASTER !== sentinels[0]?.master) problems.push(`${name}: REDIS_SENTINEL_MASTER ${env.REDIS_SENTINEL_MASTER} is not the name the sentinels monitor`);
    }
    for (const [name, user] of users) {
      if (user !== 'subpack' && user !== `subpack-${name}`) problems.push(`${name}: broker user ${user} is another service's`);
    }
    assert.deepEqual(problems, []);
  });
});
