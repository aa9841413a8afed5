// What the deployment checks read from the repository: its root, the services it has, and YAML files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

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

/** Every document of a YAML file, with merge keys (`<<: *anchor`) resolved; a syntax error names the file. */
export function loadYamlDocuments(file: string, text = readFileSync(file, 'utf8')): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((doc, i) => {
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

/**
 * The services `docker compose --profile <p> ...` runs: those without `profiles` always, the others when one of their
 * profiles is enabled (the Compose specification, "Using profiles").
 */
export function composeWithProfiles(compose: ComposeFile, profiles: readonly string[]): ComposeFile {
  const enabled = (s: ComposeService): boolean => {
    const own = Array.isArray(s.profiles) ? (s.profiles as unknown[]).map(String) : [];
    return own.length === 0 || own.some((p) => profiles.includes(p));
  };
  return { ...compose, services: Object.fromEntries(Object.entries(compose.services).filter(([, s]) => enabled(s))) };
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
