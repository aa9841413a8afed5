// docker-compose.yml against the Compose specification's schema and against the code it runs: every service runs,
// with a real entry point, every variable it sets is one the service reads, every required one is set, and the
// start order waits on health checks that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  composeEnv,
  composeSubpackServices,
  loadCompose,
  loadYamlDocuments,
  ROOT,
  serviceCommand,
  serviceNames,
  type ComposeFile,
  type ComposeService,
} from './repo';
import { validateCompose } from './schemas';
import { longestDeliveryMs, readsVariable, serviceVariables } from './service-config';

const compose = loadCompose();

/** Which service an entry-point command runs, or undefined when it runs none that exists. */
function serviceOf(command: ComposeService['command']): string | undefined {
  return serviceNames().find((name) => JSON.stringify(command) === JSON.stringify(serviceCommand(name)));
}

test('docker-compose.yml is valid against the Compose specification schema', () => {
  assert.deepEqual(validateCompose(compose), []);
});

test('the schema check rejects a misspelt key and a wrong depends_on condition', () => {
  const broken = loadYamlDocuments('broken', readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'))[0] as ComposeFile;
  (broken.services.redis as Record<string, unknown>).helthcheck = {};
  (broken.services.packer!.depends_on as Record<string, { condition: string }>).redis = { condition: 'healthy' };
  const errors = validateCompose(broken);
  assert.ok(errors.some((e) => e.includes('/services/redis') && e.includes('helthcheck')), errors.join('\n'));
  assert.ok(errors.some((e) => e.includes('/services/packer/depends_on/redis/condition')), errors.join('\n'));
});

test('every service runs from the image with its real entry point', () => {
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

test('each service gets only variables it reads, and every variable it requires', () => {
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

/** A compose duration such as 45s, 1m30s or 500ms, in milliseconds. */
function composeDurationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}

test("each service's stop grace period outlasts its longest delivery, and the broker's consumer_timeout too", () => {
  const problems: string[] = [];
  const erlArgs = composeEnv(compose.services.rabbitmq ?? {}).RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS ?? '';
  const consumerTimeout = Number(/-rabbit consumer_timeout (\d+)/.exec(erlArgs)?.[1] ?? 1_800_000);
  for (const [name, service] of composeSubpackServices(compose)) {
    const deliveryMs = longestDeliveryMs(serviceOf(service.command)!, composeEnv(service));
    const grace = composeDurationMs(service.stop_grace_period ?? '10s');
    if (grace <= deliveryMs + 5000) problems.push(`compose ${name}: stop_grace_period ${service.stop_grace_period ?? '10s (default)'} must outlast ${deliveryMs} ms (+5 s)`);
    if (consumerTimeout <= deliveryMs) problems.push(`compose ${name}: RabbitMQ consumer_timeout ${consumerTimeout} must exceed ${deliveryMs} ms`);
  }
  assert.deepEqual(problems, []);
});

test('hosts in URLs are compose services, and depends_on waits on health checks that exist', () => {
  const problems: string[] = [];
  const names = Object.keys(compose.services);
  for (const [name, service] of Object.entries(compose.services)) {
    for (const [key, value] of Object.entries(composeEnv(service))) {
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) continue;
      // Storage URLs (roots, masters) name paths and buckets, not hosts.
      if (/^(file|s3|oss):/i.test(value)) continue;
      const host = new URL(value).hostname;
      if (!names.includes(host)) problems.push(`compose ${name}: ${key} points at ${host}, which is no compose service`);
    }
    const dependsOn = service.depends_on ?? {};
    const conditions = Array.isArray(dependsOn) ? Object.fromEntries(dependsOn.map((d) => [d, { condition: 'service_started' }])) : dependsOn;
    for (const [target, { condition }] of Object.entries(conditions)) {
      const dep = compose.services[target];
      if (!dep) problems.push(`compose ${name}: depends on ${target}, which does not exist`);
      else if (condition === 'service_healthy' && !dep.healthcheck?.test) problems.push(`compose ${name}: waits for ${target} to be healthy, but it has no healthcheck`);
      else if (condition === 'service_completed_successfully' && dep.restart && dep.restart !== 'no') {
        problems.push(`compose ${name}: waits for ${target} to complete, but it restarts`);
      }
    }
  }
  for (const [name, service] of composeSubpackServices(compose)) {
    const deps = service.depends_on as Record<string, { condition: string }> | undefined;
    for (const infra of ['rabbitmq', 'redis']) {
      if (deps?.[infra]?.condition !== 'service_healthy') problems.push(`compose ${name}: must wait for ${infra} to be healthy`);
    }
  }
  assert.deepEqual(problems, []);
});

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
