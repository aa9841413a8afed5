// Rendering the Kustomize overlays with kubectl's built-in kustomize, and validating every rendered object against its
// schema: Kubernetes, KEDA and Prometheus operator objects through the kubernetes-models packages, the RabbitMQ
// operators' RabbitmqCluster, User, Permission and TopicPermission through deploy/schemas. Unknown fields are errors, as with `kubectl apply --validate=strict`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { formatErrors } from './schemas';
import { loadYamlDocuments, ROOT } from './repo';

export const DEPLOY_DIR = join(ROOT, 'deploy');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Every overlay (a folder of deploy/overlays with a kustomization.yaml): what an operator applies. */
export function overlayNames(): string[] {
  return readdirSync(join(DEPLOY_DIR, 'overlays'))
    .filter((name) => existsSync(join(DEPLOY_DIR, 'overlays', name, 'kustomization.yaml')))
    .sort();
}

/** `kubectl kustomize <dir>`: the objects exactly as `kubectl apply -k <dir>` would send them. */
export function renderKustomization(dir: string): K8sObject[] {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new Error(`kubectl (with its built-in kustomize) is needed to render ${dir}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${run.stderr}`);
  return loadYamlDocuments(dir, run.stdout).filter((doc) => doc !== null) as K8sObject[];
}

/** Packages whose models cover an apiVersion, tried in order; each exports one class per kind. */
const MODEL_PACKAGES = ['kubernetes-models', '@kubernetes-models/keda', '@kubernetes-models/prometheus-operator'];

interface ModelClass {
  prototype: { validate(this: unknown): void };
}

async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  for (const pkg of MODEL_PACKAGES) {
    let module: Record<string, unknown>;
    try {
      module = (await import(`${pkg}/${apiVersion}`)) as Record<string, unknown>;
    } catch {
      continue;
    }
    const model = module[kind];
    if (typeof model === 'function') return model;
  }
  return undefined;
}

/** JSON schemas kept in deploy/schemas for custom resources no npm package has models for. */
const SCHEMA_FILES: Record<string, string> = {
  'rabbitmq.com/v1beta1/RabbitmqCluster': 'rabbitmqcluster-v1beta1.schema.json',
  'rabbitmq.com/v1beta1/User': 'user-v1beta1.schema.json',
  'rabbitmq.com/v1beta1/Permission': 'permission-v1beta1.schema.json',
  'rabbitmq.com/v1beta1/TopicPermission': 'topicpermission-v1beta1.schema.json',
};

const ajv = new Ajv({ strict: true, allErrors: true });
const schemaValidators = new Map<string, ValidateFunction>();

function schemaValidator(file: string): ValidateFunction {
  let validate = schemaValidators.get(file);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(join(DEPLOY_DIR, 'schemas', file), 'utf8')) as object);
    schemaValidators.set(file, validate);
  }
  return validate;
}

interface Touched {
  read: Set<string>;
  enumerated: Set<string>;
}

/**
 * A view of `value` that records which keys the validator reads and which objects it enumerates. The models'
 * validators read each property their schema knows and enumerate only maps, so a key that was neither read nor part
 * of an enumerated map is one the schema does not have.
 */
function recording(value: unknown, path: string, touched: Touched): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const v: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return v;
      touched.read.add(`${path}/${key}`);
      return recording(v, `${path}/${key}`, touched);
    },
    has(target, key) {
      if (typeof key === 'string') touched.read.add(`${path}/${key}`);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      touched.enumerated.add(path);
      return Reflect.ownKeys(target);
    },
  });
}

function unknownFields(value: unknown, path: string, touched: Touched, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}/${key}`;
    if (!Array.isArray(value) && !touched.enumerated.has(path) && !touched.read.has(childPath)) out.push(`${childPath}: unknown field`);
    unknownFields(child, childPath, touched, out);
  }
}

/**
 * Kustomize wraps long base64 Secret values over several lines; the API server's decoder (Go's base64) skips the
 * newlines, the models' "byte" format does not, so they are joined before validation.
 */
function asApiServerReads(obj: K8sObject): K8sObject {
  if (obj.apiVersion !== 'v1' || obj.kind !== 'Secret' || typeof obj.data !== 'object' || obj.data === null) return obj;
  const data = Object.fromEntries(Object.entries(obj.data).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]));
  return { ...obj, data };
}

/** Problems with one object against its schema; empty when it is valid. An object with no known schema is a problem. */
export async function validateObject(original: K8sObject): Promise<string[]> {
  const obj = asApiServerReads(original);
  const where = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
  const schemaFile = SCHEMA_FILES[`${obj.apiVersion}/${obj.kind}`];
  if (schemaFile) {
    const validate = schemaValidator(schemaFile);
    return validate(obj) ? [] : formatErrors(validate.errors).map((e) => `${where}: ${e}`);
  }
  const model = await modelFor(obj.apiVersion, obj.kind);
  if (!model) return [`${where}: no schema for ${obj.apiVersion} ${obj.kind}`];
  const problems: string[] = [];
  const touched: Touched = { read: new Set(), enumerated: new Set() };
  try {
    model.prototype.validate.call(recording(obj, '', touched));
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  const unknown: string[] = [];
  unknownFields(obj, '', touched, unknown);
  return [...problems, ...unknown.map((u) => `${where}: ${u}`)];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Kubernetes label selector semantics; an empty selector matches everything. */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok = { In: inValues, NotIn: !inValues, Exists: has, DoesNotExist: !has }[e.operator];
    if (!ok) return false;
  }
  return true;
}
