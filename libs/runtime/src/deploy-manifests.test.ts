// Static checks of deploy/k8s (docker-compose.yml is checked in deploy/): no Docker engine or cluster runs here, so the manifests are
// checked against the code they deploy: entry points exist, env vars are ones the services read, probes hit real routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { COMMON_CONFIG } from './service-host';

const ROOT = resolve(__dirname, '..', '..', '..');

function knownEnv(): Set<string> {
  const names = new Set<string>(Object.values(COMMON_CONFIG).map((f) => f.env));
  names.add('LOG_LEVEL');
  for (const service of readdirSync(join(ROOT, 'services'))) {
    const main = join(ROOT, 'services', service, 'src', 'main.ts');
    if (!existsSync(main)) continue;
    for (const m of readFileSync(main, 'utf8').matchAll(/\(\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]!);
  }
  return names;
}

type Doc = Record<string, unknown>;

function load(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`);
    return d.toJS() as Doc;
  });
}

function entryPoint(command: unknown, where: string): void {
  assert.ok(Array.isArray(command) && command[0] === 'node', `${where}: command must run node`);
  const script = String(command[1]);
  const m = /^services\/([a-z-]+)\/dist\/main\.js$/.exec(script);
  assert.ok(m, `${where}: ${script} is not a service entry point`);
  assert.ok(existsSync(join(ROOT, 'services', m[1]!, 'src', 'main.ts')), `${where}: no service ${m[1]}`);
}

test('kustomization lists existing files, every deployment runs a real service with real probes and known env', () => {
  const dir = join(ROOT, 'deploy', 'k8s');
  const kustomization = load(join(dir, 'kustomization.yaml'))[0] as { resources: string[] };
  const env = knownEnv();
  let deployments = 0;
  for (const file of kustomization.resources) {
    assert.ok(existsSync(join(dir, file)), `kustomization lists missing ${file}`);
    for (const doc of load(join(dir, file))) {
      assert.ok(typeof doc.apiVersion === 'string' && typeof doc.kind === 'string', `${file}: apiVersion and kind`);
      if (doc.kind === 'ConfigMap') {
        for (const key of Object.keys(doc.data as Doc)) assert.ok(env.has(key), `${file}: ${key} is not read by any service`);
      }
      if (doc.kind !== 'Deployment') continue;
      deployments++;
      const spec = (doc.spec as { template: { spec: { containers: Doc[] } } }).template.spec;
      for (const c of spec.containers) {
        entryPoint(c.command, `${file}`);
        const live = c.livenessProbe as { httpGet: { path: string } };
        const ready = c.readinessProbe as { httpGet: { path: string } };
        assert.equal(live.httpGet.path, '/health/live');
        assert.equal(ready.httpGet.path, '/health/ready');
      }
    }
  }
  assert.ok(deployments >= 4, 'packer, uploader, retry-scheduler and list-bridge are deployed');
});
