// What the deployment checks read from the repository: its root, the services it has, and YAML files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, type ScalarTag } from 'yaml';

/** The repository root: this file compiles to deploy/dist/repo.js. */
export const ROOT = resolve(__dirname, '..', '..');

/** Every deployable service: each folder of services/ with a src/main.ts, so a service added later is checked too. */
export function serviceNames(): string[] {
  return readdirSync(join(ROOT, 'services'))
    .filter((name) => existsSync(join(ROOT, 'services', name, 'src', 'main.ts')))
    .sort();
}

/** The command that runs a service in the image, as compose and the manifests must write it. */
export function serviceCommand(name: string): string[] {
  return ['node', `services/${name}/dist/main.js`];
}

/** Compose's `!reset` (an override file removes what the files before it set), read as this marker. */
export class ComposeReset {}

const COMPOSE_TAGS: ScalarTag[] = [{ tag: '!reset', identify: (v) => v instanceof ComposeReset, resolve: () => new ComposeReset() }];

/** Every document of a YAML file, with merge keys (`<<: *anchor`) resolved; a syntax error names the file. */
export function loadYamlDocuments(file: string, text = readFileSync(file, 'utf8')): unknown[] {
  return parseAllDocuments(text, { merge: true, customTags: COMPOSE_TAGS }).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  stop_grace_period?: string;
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  [key: string]: unknown;
}

export const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

export function loadCompose(): ComposeFile {
  return loadYamlDocuments(COMPOSE_FILE)[0] as ComposeFile;
}

/** The high-availability stack: merged on top of docker-compose.yml (`docker compose -f docker-compose.yml -f ...`). */
export const COMPOSE_HA_FILE = join(ROOT, 'docker-compose.ha.yml');

/** The application model `docker compose -f <first> -f <second> ...` runs: each file merged onto the ones before it. */
export function loadComposeFiles(files: readonly string[]): ComposeFile {
  const [first, ...rest] = files.map((file) => loadYamlDocuments(file)[0] as ComposeFile);
  return rest.reduce((model, override) => mergeCompose(model, override), withoutResets(first!) as ComposeFile);
}

type Yaml = unknown;
const isMap = (v: Yaml): v is Record<string, Yaml> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof ComposeReset);

/** A file's own `!reset` entries mean "unset" when nothing is below them. */
function withoutResets(value: Yaml): Yaml {
  if (Array.isArray(value)) return value.filter((v) => !(v instanceof ComposeReset)).map(withoutResets);
  if (!isMap(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => !(v instanceof ComposeReset)).map(([k, v]) => [k, withoutResets(v)]));
}

/** Sequences whose entries are unique by their target (compose's merge rules): a later entry replaces an earlier one. */
const UNIQUE_BY_TARGET = new Set(['volumes', 'secrets', 'configs']);
/** Attributes a later file replaces rather than appends to. */
const REPLACED = new Set(['command', 'entrypoint', 'test']);

function targetOf(entry: Yaml): string {
  if (isMap(entry)) return typeof entry.target === 'string' ? entry.target : '';
  const parts = String(entry).split(':');
  return parts.length > 1 ? parts[1]! : parts[0]!;
}

/** A service's environment as a map, as compose merges it whichever form a file wrote. */
function environmentMap(env: Yaml): Yaml {
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => {
    const text = String(entry);
    const i = text.indexOf('=');
    return i < 0 ? [text, null] : [text.slice(0, i), text.slice(i + 1)];
  }));
}

/**
 * Compose's merge of an override onto a model (the Compose specification, "Merge"): mappings merge key by key,
 * sequences append, except command, entrypoint and healthcheck test (replaced) and volumes, secrets and configs
 * (unique by target); `!reset` removes the value.
 */
function mergeValue(key: string, base: Yaml, over: Yaml): Yaml {
  if (over instanceof ComposeReset) return undefined;
  if (base === undefined || REPLACED.has(key)) return withoutResets(over);
  if (key === 'environment') return mergeValue('', environmentMap(base), environmentMap(over));
  if (Array.isArray(base) && Array.isArray(over)) {
    if (!UNIQUE_BY_TARGET.has(key)) return [...(base as Yaml[]), ...(withoutResets(over) as Yaml[])];
    const merged = new Map(base.map((entry) => [targetOf(entry), entry]));
    for (const entry of over) merged.set(targetOf(entry), entry);
    return [...merged.values()];
  }
  if (isMap(base) && isMap(over)) {
    const out: Record<string, Yaml> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const value = mergeValue(k, base[k], v);
      if (value === undefined) delete out[k];
      else out[k] = value;
    }
    return out;
  }
  return withoutResets(over);
}

function mergeCompose(base: ComposeFile, override: ComposeFile): ComposeFile {
  return mergeValue('', base, override) as ComposeFile;
}

/** A compose service's environment as a map, from either the map or the `NAME=value` list form. */
export function composeEnv(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const i = entry.indexOf('=');
      return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Compose services built from this repository's Dockerfile: the subpack services. */
export function composeSubpackServices(compose: ComposeFile): [string, ComposeService][] {
  return Object.entries(compose.services).filter(([, s]) => {
    const context = typeof s.build === 'string' ? s.build : s.build?.context;
    return context === '.' || context === './';
  });
}
