// Every Kustomize overlay, rendered as `kubectl apply -k` would send it, against the schemas and against the code it
// deploys: each service runs with its real entry point, probes and port, gets only variables it reads and all it
// requires, outlasts its drain on SIGTERM, has a disruption budget, a network policy and scraping; packers and
// uploaders scale on the queues they consume.
import { before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { QUEUES } from '@subpack/rules';
import { DEPLOY_DIR, overlayNames, renderKustomization, selects, validateObject, type K8sObject, type LabelSelector } from './kubernetes';
import { ROOT, serviceCommand, serviceNames } from './repo';
import { configProblems, DELIVERY_TIME_VARIABLES, effectiveValue, longestDeliveryMs, readsVariable, serviceVariables } from './service-config';
import { readFileSync } from 'node:fs';

interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string }; configMap?: { name: string } }[];
}
interface Workload extends K8sObject {
  spec: { replicas?: number; selector: LabelSelector; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } };
}
interface ScaledObject extends K8sObject {
  spec: {
    scaleTargetRef: { name: string; kind?: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    cooldownPeriod?: number;
    triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
  };
}
interface NetworkPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
interface NetworkPolicy extends K8sObject {
  spec: { podSelector: LabelSelector; policyTypes?: string[]; egress?: { to?: NetworkPeer[]; ports?: { port: number }[] }[] };
}

interface BrokerPermissions {
  user: string;
  vhost: string;
  configure?: string;
  exchange?: string;
  write: string;
  read: string;
}
/** deploy/rabbitmq/definitions.json: the broker users compose loads, and the one home of their permissions. */
interface BrokerDefinitions {
  users: { name: string; tags: string[] }[];
  permissions: BrokerPermissions[];
  topic_permissions: BrokerPermissions[];
}
interface BrokerUser extends K8sObject {
  spec: { tags?: string[]; importCredentialsSecret?: { name: string } };
}
interface BrokerGrant extends K8sObject {
  spec: { vhost: string; user?: string; userReference?: { name: string }; permissions: Record<string, string> };
}

/** Services that may reach addresses outside the cluster: the object store (packer, uploader, serve, api) or webhooks (notifier). */
const REACH_OUTSIDE = new Set(['packer', 'uploader', 'notifier', 'serve', 'api']);

class Rendered {
  constructor(
    readonly overlay: string,
    readonly objects: K8sObject[],
  ) {}

  ofKind<T extends K8sObject>(kind: string): T[] {
    return this.objects.filter((o) => o.kind === kind) as T[];
  }

  named<T extends K8sObject>(kind: string, name: string): T | undefined {
    return this.objects.find((o) => o.kind === kind && o.metadata.name === name) as T | undefined;
  }

  /** The Deployment that runs a service, by its container command. */
  deploymentOf(service: string): Workload | undefined {
    return this.ofKind<Workload>('Deployment').find((d) =>
      d.spec.template.spec.containers.some((c) => JSON.stringify(c.command) === JSON.stringify(serviceCommand(service))),
    );
  }

  /** Keys of a ConfigMap or Secret (data and stringData). */
  keysOf(kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
    const obj = this.named<K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> }>(kind, name);
    if (!obj) return undefined;
    const data = Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v]));
    return { ...data, ...obj.stringData };
  }

  /** A container's environment as Kubernetes assembles it, with the problems of unresolved references. */
  environment(container: Container): { env: Record<string, string>; problems: string[] } {
    const env: Record<string, string> = {};
    const problems: string[] = [];
    for (const from of container.envFrom ?? []) {
      const [kind, ref] = from.configMapRef ? (['ConfigMap', from.configMapRef] as const) : (['Secret', from.secretRef!] as const);
      const keys = this.keysOf(kind, ref.name);
      if (!keys) problems.push(`envFrom ${kind} ${ref.name} does not exist`);
      else Object.assign(env, keys);
    }
    for (const e of container.env ?? []) {
      if ((container.env ?? []).filter((x) => x.name === e.name).length > 1) problems.push(`${e.name} is set more than once`);
      const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
      if (ref) {
        const value = this.keysOf(e.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name)?.[ref.key];
        if (value === undefined) problems.push(`${e.name} refers to ${ref.name}/${ref.key}, which does not exist`);
        env[e.name] = value ?? '';
      } else env[e.name] = e.value ?? '';
    }
    return { env, problems };
  }
}

/** The value a service runs with; the service must read the variable. */
function effective(service: string, env: Record<string, string>, name: string): string {
  const value = effectiveValue(service, env, name);
  assert.ok(value !== undefined, `${service} does not read ${name}, or it has no default`);
  return value;
}

/** The queues a service consumes, from the QUEUES keys its sources use. */
function queuesConsumedBy(service: string): string[] {
  const dir = join(ROOT, 'services', service, 'src');
  const code = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  const queues: [string, string][] = Object.entries<string>({ ...QUEUES });
  return queues
    .filter(([key]) => new RegExp(`QUEUES\\.${key}\\b`).test(code))
    .map(([, queue]) => queue);
}

const rendered = new Map<string, Rendered>();
before(() => {
  for (const overlay of overlayNames()) rendered.set(overlay, new Rendered(overlay, renderKustomization(join(DEPLOY_DIR, 'overlays', overlay))));
});

test('there are dev, prod and ha overlays, and every component is used by one', () => {
  assert.ok(['dev', 'prod', 'ha'].every((o) => overlayNames().includes(o)), overlayNames().join(', '));
  const used = overlayNames().flatMap((o) => [...readFileSync(join(DEPLOY_DIR, 'overlays', o, 'kustomization.yaml'), 'utf8').matchAll(/components\/([\w-]+)/g)].map((m) => m[1]!));
  const unused = readdirSync(join(DEPLOY_DIR, 'components')).filter((c) => existsSync(join(DEPLOY_DIR, 'components', c, 'kustomization.yaml')) && !used.includes(c));
  assert.deepEqual(unused, [], 'components no overlay renders (so nothing validates them)');
});

describe('the schema check', () => {
  it('rejects an unknown field, a wrong type and a number where KEDA wants a string', async () => {
    const deployment = structuredClone(rendered.get('prod')!.deploymentOf('packer')!);
    (deployment.spec.template.spec.containers[0] as unknown as Record<string, unknown>).livenesProbe = {};
    (deployment.spec as Record<string, unknown>).replicas = '2';
    const problems = await validateObject(deployment);
    assert.ok(problems.some((p) => p.includes('/spec/template/spec/containers/0/livenesProbe: unknown field')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('replicas must be integer')), problems.join('\n'));
    const scaled = structuredClone(rendered.get('prod')!.ofKind<ScaledObject>('ScaledObject')[0]!);
    (scaled.spec.triggers[0]!.metadata as Record<string, unknown>).value = 10;
    assert.ok((await validateObject(scaled)).some((p) => p.includes('metadata/value must be string')));
  });

  it('rejects a Permission with a topic permission\'s field, a TopicPermission without its exchange, and a User without its cluster', async () => {
    const prod = rendered.get('prod')!;
    const permission = structuredClone(prod.ofKind<BrokerGrant>('Permission')[0]!);
    permission.spec.permissions.exchange = 'subpack';
    assert.ok((await validateObject(permission)).some((p) => p.includes('additional properties: exchange')));
    const topic = structuredClone(prod.ofKind<BrokerGrant>('TopicPermission')[0]!);
    delete topic.spec.permissions.exchange;
    assert.ok((await validateObject(topic)).some((p) => p.includes("must have required property 'exchange'")));
    const user = structuredClone(prod.ofKind<BrokerUser>('User')[0]!) as K8sObject & { spec: Record<string, unknown> };
    delete user.spec.rabbitmqClusterReference;
    assert.ok((await validateObject(user)).some((p) => p.includes("must have required property 'rabbitmqClusterReference'")));
  });

  it('rejects an unknown RabbitmqCluster field and an object of a kind it has no schema for', async () => {
    const cluster = structuredClone(rendered.get('prod')!.ofKind('RabbitmqCluster')[0]!) as K8sObject & { spec: Record<string, unknown> };
    cluster.spec.replica = 3;
    assert.ok((await validateObject(cluster)).some((p) => p.includes('additional properties: replica')));
    assert.deepEqual(await validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), ['Widget/w: no schema for example.com/v1 Widget']);
  });
});

for (const overlay of overlayNames()) {
  describe(`overlay ${overlay}`, () => {
    const r = (): Rendered => rendered.get(overlay)!;

    it('every object is valid against the Kubernetes, KEDA, Prometheus operator and RabbitMQ operator schemas', async () => {
      const problems = (await Promise.all(r().objects.map((o) => validateObject(o)))).flat();
      assert.deepEqual(problems, []);
    });

    it('every service runs its entry point with probes on its HTTP port, resources and a grace period past its drain', () => {
      const problems: string[] = [];
      for (const service of serviceNames()) {
        const d = r().deploymentOf(service);
        if (!d) {
          problems.push(`${service}: no Deployment runs ${serviceCommand(service).join(' ')}`);
          continue;
        }
        const c = d.spec.template.spec.containers.find((x) => JSON.stringify(x.command) === JSON.stringify(serviceCommand(service)))!;
        const { env } = r().environment(c);
        const port = Number(effective(service, env, 'HTTP_PORT'));
        const portOf = (p: string | number | undefined): number | undefined => (typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort);
        if (c.livenessProbe?.httpGet?.path !== '/health/live' || portOf(c.livenessProbe.httpGet.port) !== port) problems.push(`${service}: liveness must GET /health/live on ${port}`);
        if (c.readinessProbe?.httpGet?.path !== '/health/ready' || portOf(c.readinessProbe.httpGet.port) !== port) problems.push(`${service}: readiness must GET /health/ready on ${port}`);
        if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory) problems.push(`${service}: cpu and memory requests and a memory limit`);
        const deliveryMs = longestDeliveryMs(service, env);
        const grace = d.spec.template.spec.terminationGracePeriodSeconds ?? 30;
        if (grace * 1000 <= deliveryMs + 5000) {
          problems.push(`${service}: terminationGracePeriodSeconds ${grace} must outlast its longest delivery, ${deliveryMs} ms (${DELIVERY_TIME_VARIABLES.join(', ')}), +5 s to close`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it('each service gets only variables it reads, every one it requires, and references that resolve', () => {
      const problems: string[] = [];
      for (const service of serviceNames()) {
        const d = r().deploymentOf(service);
        if (!d) continue;
        for (const c of d.spec.template.spec.containers) {
          const { env, problems: refs } = r().environment(c);
          problems.push(...refs.map((p) => `${service}: ${p}`));
          const variables = serviceVariables(service);
          for (const key of Object.keys(env)) if (!readsVariable(variables, key)) problems.push(`${service}: ${key} is not read by ${service}`);
          for (const v of variables.filter((x) => x.required)) if (!env[v.env]) problems.push(`${service}: ${v.env} is required (${v.describe}) but not set`);
        }
        for (const v of d.spec.template.spec.volumes ?? []) {
          if (v.persistentVolumeClaim && !r().named('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)) problems.push(`${service}: no PVC ${v.persistentVolumeClaim.claimName}`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it("each service's own start-up check accepts the configuration its Deployment gives it", () => {
      const problems: string[] = [];
      for (const service of serviceNames()) {
        for (const c of r().deploymentOf(service)?.spec.template.spec.containers ?? []) {
          problems.push(...configProblems(service, r().environment(c).env).map((p) => `${service}: ${p}`));
        }
      }
      assert.deepEqual(problems, []);
    });

    it('hosts in the services URLs are Services of this overlay (or the broker cluster, whose Service has its name)', () => {
      const names = new Set(r().objects.filter((o) => o.kind === 'Service' || o.kind === 'RabbitmqCluster').map((o) => o.metadata.name));
      const problems: string[] = [];
      for (const service of serviceNames()) {
        const d = r().deploymentOf(service);
        for (const c of d?.spec.template.spec.containers ?? []) {
          for (const [key, value] of Object.entries(r().environment(c).env)) {
            if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) continue;
            // Storage URLs (roots, masters) name paths and buckets, not hosts.
            if (/^(file|s3|oss):/i.test(value)) continue;
            const host = new URL(value).hostname;
            // A dotted name is outside the overlay (a managed service or another namespace): the operator's choice.
            if (!host.includes('.') && !names.has(host)) problems.push(`${service}: ${key} points at ${host}, which this overlay does not create`);
          }
        }
      }
      assert.deepEqual(problems, []);
    });

    it('every service has a PodDisruptionBudget, network policies limiting its egress, and Prometheus scraping', () => {
      const problems: string[] = [];
      const pdbs = r().ofKind<K8sObject & { spec: { selector: LabelSelector } }>('PodDisruptionBudget');
      const policies = r().ofKind<NetworkPolicy>('NetworkPolicy');
      const monitors = r().ofKind<K8sObject & { spec: { selector: LabelSelector; podMetricsEndpoints: { port?: string; path?: string }[] } }>('PodMonitor');
      const broker = r().ofKind('RabbitmqCluster')[0]?.metadata.name;
      for (const service of serviceNames()) {
        const d = r().deploymentOf(service);
        if (!d) continue;
        const labels = d.spec.template.metadata.labels;
        if (!pdbs.some((p) => selects(p.spec.selector, labels))) problems.push(`${service}: no PodDisruptionBudget selects its pods`);
        const mine = policies.filter((p) => selects(p.spec.podSelector, labels) && (p.spec.policyTypes ?? []).includes('Egress'));
        if (mine.length === 0) problems.push(`${service}: no NetworkPolicy limits its egress`);
        const rules = mine.flatMap((p) => p.spec.egress ?? []);
        const reaches = (label: string | undefined, port: number): boolean =>
          rules.some((rule) => (rule.ports ?? []).some((p) => p.port === port) && (rule.to ?? []).some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === label));
        if (!reaches(broker, 5672)) problems.push(`${service}: egress to the broker (${broker}:5672) is not allowed`);
        if (!reaches('subpack-redis', 6379)) problems.push(`${service}: egress to Redis (:6379) is not allowed`);
        const outside = rules.some((rule) => (rule.to ?? []).some((peer) => peer.ipBlock) || !rule.to);
        if (outside && !REACH_OUTSIDE.has(service)) problems.push(`${service}: may reach addresses outside the cluster, which it has no need for`);
        const c = d.spec.template.spec.containers[0]!;
        const annotated = d.spec.template.metadata.annotations?.['prometheus.io/scrape'] === 'true';
        const monitored = monitors.some((m) => selects(m.spec.selector, labels) && m.spec.podMetricsEndpoints.some((e) => e.path === '/metrics' && c.ports?.some((p) => p.name === e.port)));
        if (!annotated && !monitored) problems.push(`${service}: not scraped (no prometheus.io annotations or PodMonitor)`);
      }
      assert.deepEqual(problems, []);
    });

    it('packers and uploaders scale with KEDA on the queues they consume, or with an HPA, never both', () => {
      const problems: string[] = [];
      const scaled = r().ofKind<ScaledObject>('ScaledObject');
      const hpas = r().ofKind<K8sObject & { spec: { scaleTargetRef: { name: string }; minReplicas?: number; maxReplicas: number } }>('HorizontalPodAutoscaler');
      for (const service of ['packer', 'uploader']) {
        const d = r().deploymentOf(service);
        if (!d) continue;
        const so = scaled.filter((s) => s.spec.scaleTargetRef.name === d.metadata.name);
        const hpa = hpas.filter((h) => h.spec.scaleTargetRef.name === d.metadata.name);
        if (so.length + hpa.length !== 1) problems.push(`${service}: ${so.length} ScaledObjects and ${hpa.length} HPAs (exactly one autoscaler)`);
        if (d.spec.replicas !== undefined && so.length + hpa.length > 0) problems.push(`${service}: a fixed replica count fights the autoscaler on every apply`);
        for (const s of so) {
          const { minReplicaCount: min, maxReplicaCount: max, cooldownPeriod } = s.spec;
          if (min === undefined || max === undefined || min > max || cooldownPeriod === undefined) problems.push(`${service}: min/max replicas and a cooldown`);
          const consumed = queuesConsumedBy(service);
          for (const t of s.spec.triggers) {
            if (t.type !== 'rabbitmq' || t.metadata.mode !== 'QueueLength') problems.push(`${service}: trigger ${t.type} ${t.metadata.mode} (want rabbitmq QueueLength)`);
            if (!consumed.includes(t.metadata.queueName ?? '')) problems.push(`${service}: scales on ${t.metadata.queueName}, but consumes ${consumed.join(', ')}`);
            if (!(Number(t.metadata.value) > 0)) problems.push(`${service}: trigger value ${t.metadata.value}`);
            if (t.metadata.host) problems.push(`${service}: the broker host (with credentials) belongs in a TriggerAuthentication`);
            const auth = t.authenticationRef && r().named<K8sObject & { spec: { secretTargetRef: { parameter: string; name: string; key: string }[] } }>('TriggerAuthentication', t.authenticationRef.name);
            const host = auth?.spec.secretTargetRef.find((x) => x.parameter === 'host');
            if (!host) problems.push(`${service}: trigger has no TriggerAuthentication with a host`);
            else if (r().keysOf('Secret', host.name)?.[host.key] === undefined) problems.push(`${service}: TriggerAuthentication host ${host.name}/${host.key} does not exist`);
          }
        }
      }
      assert.deepEqual(problems, []);
    });

    it('the broker users and their (topic) permissions are those of deploy/rabbitmq/definitions.json, and each service connects as its own user', () => {
      const defs = JSON.parse(readFileSync(join(DEPLOY_DIR, 'rabbitmq', 'definitions.json'), 'utf8')) as BrokerDefinitions;
      // The administrator is the operator's default user (subpack-rabbitmq-default-user), not a User object.
      const admins = new Set(defs.users.filter((u) => u.tags.includes('administrator')).map((u) => u.name));
      const byName = <T extends { user?: string; name?: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.user ?? a.name ?? '').localeCompare(b.user ?? b.name ?? ''));
      const credentials = (user: BrokerUser | undefined): Record<string, string> | undefined =>
        user?.spec.importCredentialsSecret && r().keysOf('Secret', user.spec.importCredentialsSecret.name);
      const users = r().ofKind<BrokerUser>('User');
      const usernameOf = (grant: BrokerGrant): string | undefined =>
        grant.spec.user ?? credentials(users.find((u) => u.metadata.name === grant.spec.userReference?.name))?.username;
      const grants = (kind: string): BrokerPermissions[] =>
        byName(r().ofKind<BrokerGrant>(kind).map((g) => ({ user: usernameOf(g) ?? `${g.metadata.name} (no user)`, vhost: g.spec.vhost, ...g.spec.permissions }) as BrokerPermissions));
      const notAdmin = (p: { user?: string; name?: string }): boolean => !admins.has(p.user ?? p.name ?? '');
      assert.deepEqual(
        byName(users.map((u) => ({ name: credentials(u)?.username ?? `${u.metadata.name} (no credentials)`, tags: u.spec.tags ?? [] }))),
        byName(defs.users.filter(notAdmin).map((u) => ({ name: u.name, tags: u.tags }))),
      );
      assert.deepEqual(grants('Permission'), byName(defs.permissions.filter(notAdmin)));
      assert.deepEqual(grants('TopicPermission'), byName(defs.topic_permissions.filter(notAdmin)));
      const problems: string[] = [];
      for (const service of serviceNames()) {
        const container = r().deploymentOf(service)?.spec.template.spec.containers[0];
        const amqpUrl = container && r().environment(container).env.AMQP_URL;
        // A service without the broker (serve) has neither a user nor an AMQP_URL.
        const hasUser = users.some((u) => credentials(u)?.username === `subpack-${service}`);
        if (amqpUrl === undefined && !hasUser) continue;
        const secret = container?.env?.find((e) => e.name === 'AMQP_URL')?.valueFrom?.secretKeyRef?.name;
        const own = credentials(users.find((u) => u.spec.importCredentialsSecret?.name === secret));
        const url = new URL(amqpUrl ?? 'amqp://missing');
        if (!own || own.username !== `subpack-${service}`) problems.push(`${service}: AMQP_URL is not from the Secret of User subpack-${service}`);
        else if (decodeURIComponent(url.username) !== own.username || decodeURIComponent(url.password) !== own.password) problems.push(`${service}: AMQP_URL does not carry its user's username and password`);
      }
      assert.deepEqual(problems, []);
    });

    it("the broker is a RabbitmqCluster with a consumer_timeout past every service's longest delivery, and in-cluster Redis keeps an AOF", () => {
      const clusters = r().ofKind<K8sObject & { spec: { rabbitmq?: { additionalConfig?: string } } }>('RabbitmqCluster');
      assert.equal(clusters.length, 1);
      const timeout = /^consumer_timeout\s*=\s*(\d+)\s*$/m.exec(clusters[0]!.spec.rabbitmq?.additionalConfig ?? '');
      assert.ok(timeout, 'consumer_timeout in additionalConfig');
      for (const service of serviceNames()) {
        const c = r().deploymentOf(service)?.spec.template.spec.containers[0];
        const deliveryMs = c ? longestDeliveryMs(service, r().environment(c).env) : 0;
        assert.ok(Number(timeout[1]) > deliveryMs, `consumer_timeout ${timeout[1]} must exceed ${service}'s longest delivery, ${deliveryMs} ms`);
      }
      const redis = r().named<Workload>('StatefulSet', 'subpack-redis');
      if (redis) {
        const args = (redis.spec.template.spec.containers[0] as Container & { args?: string[] }).args ?? [];
        assert.equal(args[args.indexOf('--appendonly') + 1], 'yes');
      }
    });
  });
}

test('both autoscaling paths are rendered: KEDA in one overlay, the HPA fallback in another', () => {
  const kinds = [...rendered.values()].map((r) => new Set(r.objects.map((o) => o.kind)));
  assert.ok(kinds.some((k) => k.has('ScaledObject') && k.has('TriggerAuthentication')));
  assert.ok(kinds.some((k) => k.has('HorizontalPodAutoscaler')));
});

describe('overlay ha', () => {
  const r = (): Rendered => {
    const ha = rendered.get('ha');
    assert.ok(ha, `no overlays/ha (overlays: ${overlayNames().join(', ')})`);
    return ha;
  };
  const subpackContainers = (): [string, Container][] =>
    serviceNames().flatMap((service) => (r().deploymentOf(service)?.spec.template.spec.containers ?? []).map((c) => [service, c] as [string, Container]));
  const redis = (): Workload & { spec: { serviceName: string } } => {
    const sts = r().named<Workload & { spec: { serviceName: string } }>('StatefulSet', 'subpack-redis');
    assert.ok(sts, 'StatefulSet subpack-redis');
    return sts;
  };
  const container = (name: string): Container & { args?: string[] } => {
    const c = redis().spec.template.spec.containers.find((x) => x.name === name);
    assert.ok(c, `subpack-redis has a ${name} container`);
    return c;
  };
  /** The start script the Redis pods run, from the ConfigMap mounted at /scripts. */
  const script = (): string => {
    const volume = redis().spec.template.spec.volumes?.find((v) => v.name === 'scripts');
    const text = volume?.configMap && r().keysOf('ConfigMap', volume.configMap.name)?.['redis-sentinel.sh'];
    assert.ok(text, 'the Redis pods mount redis-sentinel.sh from a ConfigMap of this overlay');
    return text;
  };

  it('runs a three-node RabbitmqCluster, which every service reaches through its Service or by every node', () => {
    const clusters = r().ofKind<K8sObject & { spec: { replicas?: number } }>('RabbitmqCluster');
    assert.equal(clusters.length, 1);
    const { metadata: { name }, spec: { replicas } } = clusters[0]!;
    assert.equal(replicas, 3);
    const nodes = Array.from({ length: replicas }, (_, i) => `${name}-server-${i}.${name}-nodes`);
    const problems: string[] = [];
    for (const [service, c] of subpackContainers()) {
      const amqp = r().environment(c).env.AMQP_URL;
      if (amqp === undefined) continue;
      const hosts = amqp.split(',').map((u) => new URL(u).hostname).sort();
      if (JSON.stringify(hosts) !== JSON.stringify([name]) && JSON.stringify(hosts) !== JSON.stringify(nodes)) problems.push(`${service}: AMQP_URL names ${hosts.join(', ')}: the Service ${name} or all of ${nodes.join(', ')}`);
    }
    assert.deepEqual(problems, []);
  });

  it('runs Redis as three pods, each a Redis with AOF and a sentinel, named through a headless Service', () => {
    const sts = redis();
    assert.equal(sts.spec.replicas, 3);
    const service = r().named<K8sObject & { spec: { clusterIP?: string; publishNotReadyAddresses?: boolean; selector: Record<string, string>; ports: { port: number; targetPort: string }[] } }>('Service', sts.spec.serviceName);
    assert.ok(service, `the StatefulSet's Service ${sts.spec.serviceName}`);
    assert.equal(service.spec.clusterIP, 'None', 'headless: one DNS name per pod');
    assert.equal(service.spec.publishNotReadyAddresses, true, 'a starting pod finds the others before they are ready');
    assert.ok(selects({ matchLabels: service.spec.selector }, sts.spec.template.metadata.labels));
    for (const [name, port] of [['redis', 6379], ['sentinel', 26379]] as const) {
      const c = container(name);
      assert.ok(c.ports?.some((p) => p.containerPort === port), `${name} listens on ${port}`);
      assert.ok(service.spec.ports.some((p) => p.port === port && c.ports?.some((cp) => cp.name === p.targetPort)), `the Service forwards ${port} to ${name}`);
      assert.deepEqual(c.command?.slice(-2), ['/scripts/redis-sentinel.sh', name]);
    }
    const args = container('redis').args ?? [];
    assert.equal(args[args.indexOf('--appendonly') + 1], 'yes');
    // The script names the same pods as the StatefulSet.
    assert.equal(/^service=(\S+)$/m.exec(script())?.[1], sts.spec.serviceName);
    assert.equal(Number(/^pods=(\d+)$/m.exec(script())?.[1]), sts.spec.replicas);
  });

  it('the sentinels monitor the master name the services use with a majority quorum; every service lists every sentinel, and no REDIS_URL', () => {
    const sts = redis();
    const replicas = sts.spec.replicas!;
    const monitor = /^sentinel monitor \$REDIS_SENTINEL_MASTER \$primary 6379 (\d+)$/m.exec(script());
    assert.ok(monitor, 'sentinel monitor $REDIS_SENTINEL_MASTER $primary 6379 <quorum>');
    const quorum = Number(monitor[1]);
    assert.ok(quorum > replicas / 2 && quorum <= replicas, `quorum ${quorum} of ${replicas} sentinels`);
    const sentinelEnv = r().environment(container('sentinel')).env;
    const redisEnv = r().environment(container('redis')).env;
    assert.ok(sentinelEnv.REDIS_SENTINEL_MASTER, 'the sentinels get the master name');
    const sentinels = Array.from({ length: replicas }, (_, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}:26379`);
    const problems: string[] = [];
    for (const [service, c] of subpackContainers()) {
      const { env } = r().environment(c);
      if ('REDIS_URL' in env) problems.push(`${service}: REDIS_URL is set beside REDIS_SENTINELS`);
      if (JSON.stringify((env.REDIS_SENTINELS ?? '').split(',').sort()) !== JSON.stringify(sentinels)) problems.push(`${service}: REDIS_SENTINELS ${env.REDIS_SENTINELS} is not ${sentinels.join(',')}`);
      if (env.REDIS_SENTINEL_MASTER !== sentinelEnv.REDIS_SENTINEL_MASTER) problems.push(`${service}: REDIS_SENTINEL_MASTER ${env.REDIS_SENTINEL_MASTER} is not the name the sentinels monitor`);
      if (env.REDIS_PASSWORD !== redisEnv.REDIS_PASSWORD) problems.push(`${service}: REDIS_PASSWORD is not the password Redis requires`);
      if (env.REDIS_SENTINEL_PASSWORD !== sentinelEnv.REDIS_SENTINEL_PASSWORD) problems.push(`${service}: REDIS_SENTINEL_PASSWORD is not the sentinels' password`);
      for (const key of ['REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD']) {
        const literal = c.env?.some((e) => e.name === key && e.value !== undefined) === true;
        const fromConfigMap = (c.envFrom ?? []).some((f) => f.configMapRef && r().keysOf('ConfigMap', f.configMapRef.name)?.[key] !== undefined);
        if (literal || fromConfigMap || !env[key]) problems.push(`${service}: ${key} must come from a Secret`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('lets the services reach Redis and the sentinels, and the Redis pods reach each other', () => {
    const policies = r().ofKind<NetworkPolicy & { spec: { ingress?: { from?: NetworkPeer[]; ports?: { port: number }[] }[] } }>('NetworkPolicy');
    const redisLabels = redis().spec.template.metadata.labels;
    const problems: string[] = [];
    for (const service of serviceNames()) {
      const labels = r().deploymentOf(service)?.spec.template.metadata.labels;
      if (!labels) continue;
      const egress = policies.filter((p) => selects(p.spec.podSelector, labels)).flatMap((p) => p.spec.egress ?? []);
      const ingress = policies.filter((p) => selects(p.spec.podSelector, redisLabels)).flatMap((p) => p.spec.ingress ?? []);
      for (const port of [6379, 26379]) {
        if (!egress.some((rule) => rule.ports?.some((p) => p.port === port) && rule.to?.some((peer) => selects(peer.podSelector, redisLabels)))) problems.push(`${service}: no egress to Redis pods on ${port}`);
        if (!ingress.some((rule) => rule.ports?.some((p) => p.port === port) && rule.from?.some((peer) => selects(peer.podSelector, labels)))) problems.push(`Redis pods: no ingress from ${service} on ${port}`);
      }
    }
    const ingress = policies.filter((p) => selects(p.spec.podSelector, redisLabels)).flatMap((p) => p.spec.ingress ?? []);
    for (const port of [6379, 26379]) {
      if (!ingress.some((rule) => rule.ports?.some((p) => p.port === port) && rule.from?.some((peer) => selects(peer.podSelector, redisLabels)))) problems.push(`Redis pods: no ingress from each other on ${port}`);
    }
    assert.deepEqual(problems, []);
  });
});
